"""Work done in another process, so that the crawl's own heap never carries it.

- :func:`in_fresh_process`: run a function in a new interpreter and wait for its result. The closing export runs so: in the crawl's process, after hours of crawling, its
  Arrow and Python allocations land on a fragmented heap and the peak grew with the crawl (587 MB
  at 5,000 pages against 420 at 500, benchmarks/results.md); in a process of its own it costs
  what an export costs, and the crawl's process stays at what crawling costs.
- :func:`start_detached`: start a command that outlives the crawl (the report: a crawl's end
  waits only for the dataset), its output kept in a log file.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path


def in_fresh_process(fn, /, *args, blocked: tuple[str, ...] = (), **kwargs):
    """``fn(*args, **kwargs)`` in a new Python process; its result, or its exception raised here.

    ``fn`` (a module-level function), its arguments, its result and its exceptions must pickle.
    The child is ``python -c`` (not multiprocessing's spawn, which re-runs the caller's main
    script: a user's crawl script without an ``if __name__ == "__main__"`` guard would start
    again in it). A child that dies (killed, out of memory) raises RuntimeError saying so.
    ``blocked``: modules the child cannot import (as if not installed), for a library that
    imports an optional one it does not need."""
    with tempfile.TemporaryDirectory(prefix="qa-crawler-apart-") as tmp:
        call, result = Path(tmp) / "call.pickle", Path(tmp) / "result.pickle"
        # The caller's import path first, so that the child finds ``fn``'s module as it did.
        call.write_bytes(pickle.dumps((sys.path, tuple(blocked),
                                       pickle.dumps((fn, args, kwargs)))))
        proc = subprocess.run(
            [sys.executable, "-c", "from qa_crawler.apart import _child; _child()",
             str(call), str(result)], stdin=subprocess.DEVNULL, check=False)
        if not result.is_file():
            raise RuntimeError(f"the process running {fn.__name__} ended (status "
                               f"{proc.returncode}) before it finished: killed, or out of memory")
        ok, value = pickle.loads(result.read_bytes())
    if ok:
        return value
    raise value


def _child() -> None:
    """The child of :func:`in_fresh_process`: run the call, keep its result or its exception."""
    call, result = (Path(a) for a in sys.argv[1:3])
    path, blocked, payload = pickle.loads(call.read_bytes())
    sys.path[:] = path
    if blocked:
        sys.meta_path.insert(0, _Blocked(blocked))
    fn, args, kwargs = pickle.loads(payload)
    try:
        outcome = (True, fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - raised again in the parent
        exc.__traceback__ = None
        outcome = (False, exc)
    tmp = result.with_suffix(".tmp")
    try:
        tmp.write_bytes(pickle.dumps(outcome))
    except Exception as exc:  # an exception or result that does not pickle
        tmp.write_bytes(pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}"))))
    os.replace(tmp, result)
    # The caller waits for this process to end: not for its teardown too (an export's Arrow
    # pools and tables: 50-85 ms after a crawl of 5,000 pages).
    from qa_crawler.exits import exit_now

    exit_now(0)


class _Blocked:
    """An import finder that refuses ``names`` (and their submodules) as if not installed."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (not used here)", name=name)
        return None


_DETACHED: list[subprocess.Popen] = []


def start_detached(argv: list[str], log: Path) -> int:
    """Start ``argv`` in its own session (a Ctrl-C of the crawl does not reach it, and it goes on
    after the crawl exits), standard output and error appended to ``log``; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    _DETACHED.append(proc)  # not waited for, and not collected while it runs
    return proc.pid


def qa_crawler_command(*args: str) -> list[str]:
    """The ``qa-crawler`` command line of this interpreter, with ``args``."""
    return [sys.executable, "-m", "qa_crawler.cli", *args]


def start_report(folder: Path) -> tuple[int, Path]:
    """Start ``qa-crawler report FOLDER`` detached (after a crawl or a rebuild, which end once
    the dataset is written); its pid and its log, ``FOLDER/.qa-crawler/report.log``. OSError
    when it cannot start (the caller draws the report itself)."""
    from qa_crawler.state import STATE_DIRNAME

    log = Path(folder) / STATE_DIRNAME / "report.log"
    return start_detached(qa_crawler_command("report", str(folder)), log), log
