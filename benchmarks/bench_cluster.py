"""Figure 6, distributed: two ``--redis`` workers against one, on the same loopback mirror.

Scaling out means a worker per machine. On one 2-core machine a single worker already keeps both
cores busy (the crawler and its page worker), so two unpinned workers only share the same two
cores: that comparison measures the machine, not the design. The figure therefore gives each
worker one core of its own, as if each were a one-core machine: worker k and all its processes
are pinned to core k (``taskset``, inherited by the page worker), so one worker has one core and
two workers two. The unpinned pair is measured too and reported beside it. The mirror server
and Redis are not pinned (they serve both configurations alike).

Each configuration crawls the whole mirror into a fresh folder with its own Redis key prefix,
politeness lifted (the cluster-wide budget too: no delay, 32 in flight) and the idle stop as
a user gets it (``QA_REDIS_IDLE_SECONDS``, 1 s; both configurations wait it once at the end).
The figure is the wall time from launching the workers to the last one's exit (1 and 2 workers
alternate, each side's fastest run counts: other work on the machine disturbs single runs);
``qa-crawler export`` afterwards is timed apart, as it is the same single-process step for both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.bench_crawl import REPO, crawl_cmd, qa_crawler
from benchmarks.calibrate import parallel_ceiling
from benchmarks.measure import Server, run_many, run_measured
from benchmarks.report import Figure, Measure
from qa_crawler import settings as project_settings

TARGET = 1.6
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_url(db: int) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_down(db: int) -> str | None:
    """Why Redis cannot be used (None when it answers PING)."""
    from qa_crawler.cluster import connect

    try:
        connect(redis_url(db)).close()
    except (ConnectionError, ValueError) as exc:
        return str(exc)
    return None


def _leftover_keys(db: int, prefix: str) -> int:
    """Delete what a run left under its prefix (nothing, when the last worker cleaned up)."""
    from qa_crawler.cluster import connect

    client = connect(redis_url(db))
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def usable_cores() -> list[int]:
    """The cores this process may run on, when ``taskset`` can pin a child to one of them."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return []
    probe = subprocess.run(["taskset", "-c", str(cores[-1]), "true"], capture_output=True)
    return cores if probe.returncode == 0 else []


def run_workers(server: Server, out: Path, n: int, db: int, log=print,
                cores: list[int] | None = None) -> dict:
    """``n`` workers crawling the mirror; with ``cores``, worker k runs on core ``cores[k]`` only."""
    shutil.rmtree(out, ignore_errors=True)
    prefix = f"qa-bench:{os.getpid()}:{time.time_ns()}"
    extra = [("QA_REDIS_PREFIX", prefix)]
    cmds = [crawl_cmd(server, out, warc=False, extra=[*extra, ("QA_WORKER", f"w{k + 1}")])
            + ["--redis", redis_url(db)] for k in range(n)]
    if cores:
        cmds = [["taskset", "-c", str(cores[k % len(cores)]), *cmd] for k, cmd in enumerate(cmds)]
    server.reset()
    runs, wall = run_many(cmds, cwd=str(REPO))
    for run in runs:
        run.check(ok=(0, 4))
    served = server.stats()["requests"]
    export = run_measured(qa_crawler() + ["export", str(out)], cwd=str(REPO)).check()
    manifest = json.loads((out / "manifest.json").read_text())
    result = {"workers": n, "cores": cores[:n] if cores else "unpinned", "wall_s": round(wall, 2), "requests": served,
              "pages_per_s": served / wall, "records": manifest["rows"]["qa"],
              "worker_walls_s": [round(r.wall, 2) for r in runs],
              "worker_cpu_s": [round(r.cpu, 2) for r in runs],
              "export_s": round(export.wall, 2), "leftover_redis_keys": _leftover_keys(db, prefix)}
    where = f" on core(s) {','.join(map(str, cores[:n]))}" if cores else " unpinned"
    log(f"  {n} worker(s){where}: {served} pages in {wall:.1f}s ({result['pages_per_s']:.0f}/s), "
        f"{result['records']} records; export {export.wall:.1f}s")
    return result


def run(server: Server, work: Path, db: int, repeats: int = 2, log=print) -> Figure:
    """1 and 2 workers in alternation, ``repeats`` times each, one core per worker (each side's
    fastest run counts); then one unpinned run of each."""
    title = "Distributed, 2 workers vs 1 (Redis), one core per worker"
    down = redis_down(db)
    if down:
        return Figure(key="distributed", title=title, target=TARGET, skipped=down)
    cores = usable_cores()
    if not cores:
        title = "Distributed, 2 workers vs 1 (Redis), unpinned (cores could not be pinned)"
    ceiling = parallel_ceiling()
    log(f"  machine's 2-vs-1 ceiling now: {ceiling['ratio']}")
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(repeats):
        for n in (1, 2):
            runs[n].append(run_workers(server, work / f"cluster-{n}", n, db, log, cores))
    one = max(runs[1], key=lambda r: r["pages_per_s"])
    two = max(runs[2], key=lambda r: r["pages_per_s"])
    unpinned = {}
    if cores:
        for n in (1, 2):
            unpinned[n] = run_workers(server, work / f"cluster-{n}", n, db, log)
    after = parallel_ceiling()
    extra = {}
    if unpinned:
        extra["unpinned (each worker on both cores), 2 vs 1"] = round(
            unpinned[2]["pages_per_s"] / unpinned[1]["pages_per_s"], 2)
    extra.update({"machine's 2-vs-1 ceiling before (CPU-bound calibration)": ceiling["ratio"],
                  "  after": after["ratio"]})
    return Figure(
        key="distributed", title=f"{title}, {one['records']:,} pages",
        ours=Measure("2 workers", two["pages_per_s"], "pages/s"),
        baseline=Measure("1 worker", one["pages_per_s"], "pages/s"),
        ratio=two["pages_per_s"] / one["pages_per_s"], target=TARGET,
        details={"runs": runs, "unpinned": unpinned, "cores": cores,
                 "idle_seconds": project_settings.QA_REDIS_IDLE_SECONDS, "redis": redis_url(db),
                 "parallel_ceiling_before": ceiling, "parallel_ceiling_after": after},
        extra=extra,
    )
