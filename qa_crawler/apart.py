"""Work done in another process, so that the crawl's own heap never carries it.

- :func:`in_fresh_process`: run a function in a new interpreter (``spawn``) and wait for its
  result. The closing export runs so: in the crawl's process, after hours of crawling, its
  Arrow and Python allocations land on a fragmented heap and the peak grew with the crawl (587 MB
  at 5,000 pages against 420 at 500, benchmarks/results.md); in a process of its own it costs
  what an export costs, and the crawl's process stays at what crawling costs.
- :func:`start_detached`: start a command that outlives the crawl (the report: a crawl's end
  waits only for the dataset), its output kept in a log file.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path


def in_fresh_process(fn, /, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a new Python process; its result, or its exception raised here.

    ``fn`` and its arguments must pickle. A process that dies (killed, out of memory) raises
    RuntimeError saying so."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(fn, *args, **kwargs).result()
        except BrokenProcessPool as exc:
            raise RuntimeError(f"the process running {fn.__name__} died before it finished "
                               "(killed, or out of memory)") from exc


def start_detached(argv: list[str], log: Path) -> int:
    """Start ``argv`` in its own session (a Ctrl-C of the crawl does not reach it, and it goes on
    after the crawl exits), standard output and error appended to ``log``; its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return proc.pid


def qa_crawler_command(*args: str) -> list[str]:
    """The ``qa-crawler`` command line of this interpreter, with ``args``."""
    return [sys.executable, "-m", "qa_crawler.cli", *args]
