"""Run a command as a child process and measure it: wall time, CPU time, peak RSS (wait4)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Run:
    cmd: list[str]
    returncode: int
    wall: float
    user: float
    sys: float
    max_rss_mb: float  # peak resident set of the child (ru_maxrss of wait4: this child only)
    stdout: str
    stderr: str


def run_measured(cmd: list[str], *, env: dict | None = None, cwd: str | None = None,
                 timeout: float | None = None) -> Run:
    """Run ``cmd``; its peak RSS comes from wait4 on its pid, so other children do not count."""
    out_path = f"/tmp/bench-{os.getpid()}-{time.monotonic_ns()}"
    with open(out_path + ".out", "w+") as out, open(out_path + ".err", "w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        deadline = None if timeout is None else began + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    os.unlink(out_path + ".out")
    os.unlink(out_path + ".err")
    return Run(cmd, proc.returncode, wall, usage.ru_utime, usage.ru_stime,
               usage.ru_maxrss / 1024, stdout, stderr)


class Server:
    """A server process started with ``cmd`` that prints ``PORT <n>``; a context manager."""

    def __init__(self, cmd: list[str], env: dict | None = None, ready_timeout: float = 120):
        self.cmd = cmd
        self.env = env
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def __enter__(self) -> "Server":
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=self.env, text=True)
        began = time.monotonic()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                raise RuntimeError(f"server {self.cmd} exited: {err[-2000:]}")
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                return self
            if "Serving" in line and "http://" in line:  # qa_crawler.demo.server's banner
                self.port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
                return self
            if time.monotonic() - began > self.ready_timeout:
                raise RuntimeError(f"server {self.cmd} not ready")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
