"""Run commands as child processes and measure them: wall time, CPU time, peak RSS.

Each child's wall and CPU time come from ``wait4`` on its own pid, so the server process and
other children do not count. Memory is sampled every :data:`SAMPLE_SECONDS` with psutil over the
child and all its descendants: ``max_rss_mb``, the largest single process, ``max_tree_rss_mb``,
the peak of their summed RSS: what the machine must hold at once, e.g. a crawl and the export
child it waits for, and ``tree_hwm_mb``, the peak over the samples of the summed high-water
marks (``VmHWM``) of the processes alive at each: an upper bound of the tree's peak that a
sample cannot miss, since each mark holds a process's largest RSS so far (the sum of RSS catches
a peak of a second only when a sample falls in it). (Not ``wait4``'s ``ru_maxrss``: on Linux it
counts the pages the child had at the fork, so every child of a benchmark process that had grown
to 890 MB reported 890 MB.) :func:`run_many` starts several at once (the distributed figure) and
reports the wall time until the last one exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from typing import Self

import psutil


@dataclass
class Run:
    cmd: list[str]
    returncode: int
    wall: float
    user: float
    sys: float
    max_rss_mb: float  # the largest single process of the child's tree (sampled)
    stdout: str
    stderr: str
    max_tree_rss_mb: float = 0.0  # peak of the child's and its descendants' summed RSS
    tree_hwm_mb: float = 0.0  # peak of their summed high-water marks (VmHWM), an upper bound

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def json_line(self) -> dict:
        """The last line of stdout that is a JSON object (what our helper scripts print)."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"{self.cmd[:4]} printed no JSON: {self.stderr[-1500:]}")

    def check(self, ok=(0,)) -> Run:
        if self.returncode not in ok:
            raise RuntimeError(f"{' '.join(self.cmd)} exited {self.returncode}:\n"
                               f"{self.stdout[-1500:]}\n{self.stderr[-3000:]}")
        return self


# The closing export's peak, the largest part of a crawl's, lasts under a second at 5,000 pages:
# sampled every 0.2 s the tree's peak read 645-652 MB where samples every 0.03 s read 674 (at
# 15,000 pages, with a longer export, 680-686 and 689), which doubled the memory figure's slope;
# the figure had moved by ~40 MB between runs. A sample costs ~1 ms of the benchmark process.
SAMPLE_SECONDS = 0.05


def high_water_mark(pid: int) -> int:
    """A process's peak RSS so far in bytes (``VmHWM`` of /proc/PID/status); 0 where unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class _Child:
    def __init__(self, cmd: list[str], env: dict | None, cwd: str | None):
        self.cmd = cmd
        # Closed in poll(), once the child has exited and its output is read.
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.err = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.began = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, env=env, cwd=cwd)
        self.run: Run | None = None
        self.tree_peak = 0
        self.tree_hwm = 0
        self.process_peak = 0
        self.sampled_at = 0.0

    def sample(self) -> None:
        """Add up the RSS of the child's process tree, at most every SAMPLE_SECONDS."""
        now = time.perf_counter()
        if now - self.sampled_at < SAMPLE_SECONDS:
            return
        self.sampled_at = now
        try:
            root = psutil.Process(self.proc.pid)
            total = marks = 0
            for proc in [root, *root.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                marks += max(rss, high_water_mark(proc.pid))
                self.process_peak = max(self.process_peak, rss)
        except psutil.Error:
            return
        self.tree_peak = max(self.tree_peak, total)
        self.tree_hwm = max(self.tree_hwm, marks)

    def poll(self) -> bool:
        """Reap the child if it has exited; True once it has."""
        if self.run is not None:
            return True
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if not pid:
            self.sample()
            return False
        wall = time.perf_counter() - self.began
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.out.seek(0)
        self.err.seek(0)
        # A child that ended before its first sample: only ru_maxrss is left (an upper bound).
        largest = self.process_peak / 2**20 if self.process_peak else usage.ru_maxrss / 1024
        self.run = Run(self.cmd, self.proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                       largest, self.out.read(), self.err.read(),
                       max(self.tree_peak / 2**20, largest),
                       max(self.tree_hwm / 2**20, self.tree_peak / 2**20, largest))
        self.out.close()
        self.err.close()
        return True


def run_many(cmds: list[list[str]], *, env: dict | None = None, cwd: str | None = None,
             timeout: float | None = None) -> tuple[list[Run], float]:
    """Start every command at once; returns their runs and the wall time until the last exit."""
    began = time.perf_counter()
    children = [_Child(cmd, env, cwd) for cmd in cmds]
    while not all(c.poll() for c in children):
        if timeout is not None and time.perf_counter() - began > timeout:
            for c in children:
                if c.run is None:
                    c.proc.kill()
        time.sleep(0.02)
    return [c.run for c in children], time.perf_counter() - began


def run_measured(cmd: list[str], *, env: dict | None = None, cwd: str | None = None,
                 timeout: float | None = None) -> Run:
    """Run ``cmd`` to its end and measure it."""
    runs, _ = run_many([cmd], env=env, cwd=cwd, timeout=timeout)
    return runs[0]


class Server:
    """A server process started with ``cmd`` that prints ``PORT <n>``; a context manager."""

    def __init__(self, cmd: list[str], env: dict | None = None, cwd: str | None = None,
                 ready_timeout: float = 120):
        self.cmd = cmd
        self.env = env
        self.cwd = cwd
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> Self:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env, cwd=self.cwd, text=True)
        began = time.monotonic()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                raise RuntimeError(f"server {self.cmd} exited: {err[-2000:]}")
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return self
            if time.monotonic() - began > self.ready_timeout:
                raise RuntimeError(f"server {self.cmd} not ready")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        """Zero the server's request counters (benchmarks.static_server)."""
        self._get("/__bench__/reset")

    def stats(self) -> dict:
        """Requests answered since the last reset, by status."""
        return self._get("/__bench__/stats")

    def __exit__(self, *exc) -> None:
        stop_server(self.proc)


def stop_server(proc: subprocess.Popen | None) -> None:
    """Terminate a server process (kill it after 10 s) and close its pipes."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
