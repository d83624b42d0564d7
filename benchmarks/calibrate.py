"""How much a second process can gain on this machine right now: the ceiling of 2-vs-1 figures.

The same pure-CPU job (sha256 over a buffer) runs in one process, then in two at once. On an idle
2-core machine two processes do about twice the work per second; when other work keeps the
cores busy (tests running next to the benchmark), far less. Rebuild and distributed figures are
reported next to this ceiling, measured just before them.
"""

from __future__ import annotations

import sys

from benchmarks.measure import run_many

JOB = ("import hashlib; b = bytes(1 << 20)\n"
       "for _ in range({n}): hashlib.sha256(b).digest()")


def parallel_ceiling(n: int = 1500) -> dict:
    """Throughput of two concurrent CPU-bound processes over one (2.0 is a free second core)."""
    cmd = [sys.executable, "-c", JOB.format(n=n)]
    _, one = run_many([cmd])
    _, two = run_many([cmd, cmd])
    return {"ratio": round(2 * one / two, 2), "one_process_s": round(one, 2),
            "two_processes_s": round(two, 2)}
