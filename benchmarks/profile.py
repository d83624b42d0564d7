"""Profiles behind the notes of missed targets (pyinstrument), written to ``output/bench/profiles``.

``python -m benchmarks.profile parse|crawl|export|all`` (after a ``python -m benchmarks`` run has
rendered the mirrors and built the export state):

- ``parse``: ``parse_page`` over 200 pages of the mirror, in this process;
- ``crawl``: ``qa-crawler crawl`` of the mirror, stopped after 1,000 records
  (``CLOSESPIDER_ITEMCOUNT``), run under ``pyinstrument -m``;
- ``export``: ``export_dataset`` of the cached state (the smallest one built).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.bench_crawl import REPO, crawl_cmd, mirror_server
from benchmarks.mirror import mirror_dir

WORK = REPO / "output" / "bench"
OUT = WORK / "profiles"


def _profiler():
    from pyinstrument import Profiler

    return Profiler(interval=0.001)


def profile_parse(mirror: Path) -> Path:
    from benchmarks.bench_parse import _ours, sample_pages

    pages = sample_pages(mirror, 200)
    prof = _profiler()
    prof.start()
    for url, body in pages:
        _ours(body, url)
    prof.stop()
    path = OUT / "parse.txt"
    path.write_text(prof.output_text(unicode=False))
    return path


def profile_crawl(mirror: Path) -> Path:
    path = OUT / "crawl.txt"
    out = WORK / "runs" / "crawl-profiled"
    shutil.rmtree(out, ignore_errors=True)
    with mirror_server(mirror) as server:
        cmd = crawl_cmd(server, out, extra=[("CLOSESPIDER_ITEMCOUNT", "1000")])
        # pyinstrument -m qa_crawler.cli crawl ... (the same arguments as qa-crawler crawl)
        cmd = [sys.executable, "-m", "pyinstrument", "-i", "0.002", "-r", "text", "-o", str(path),
               "-m", "qa_crawler.cli"] + cmd[cmd.index("crawl"):]
        subprocess.run(cmd, cwd=str(REPO), check=False, stdout=subprocess.DEVNULL)
    return path


def profile_export() -> Path:
    from pipelines.dataset import export_dataset

    states = sorted(WORK.glob("export-n*-kb*"), key=lambda p: int(p.name.split("-")[1][1:]))
    if not states:
        raise SystemExit("no export state: run python -m benchmarks --only export first")
    import pandas  # noqa: F401  (first-use import, not the export's cost)

    prof = _profiler()
    prof.start()
    export_dataset(states[0])
    prof.stop()
    path = OUT / "export.txt"
    path.write_text(prof.output_text(unicode=False))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    p.add_argument("what", choices=["parse", "crawl", "export", "all"])
    p.add_argument("--pages", type=int, default=5000, help="the mirror to use (its page count)")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    mirror = mirror_dir(WORK, args.pages, 28)
    jobs = {"parse": lambda: profile_parse(mirror), "crawl": lambda: profile_crawl(mirror),
            "export": profile_export}
    for name, job in jobs.items():
        if args.what in (name, "all"):
            print(f"{name}: {job()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
