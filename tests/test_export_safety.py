"""Exports of one folder: one at a time under a lock, each in its own folder, published as a set."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from pipelines.dataset import PUBLISHED, SETS_DIRNAME, export_dataset, published_set
from qa_crawler.state import CrawlState
from tests.sample_dataset import state_from_pages

CASES = ["seed_semantic", "no_similar", "age_under_10"]


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_consistent_set(out):
    """Every published name resolves into one set, whose manifest matches its files."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    current = published_set(out)
    assert all((out / name).resolve() == current / name for name in PUBLISHED)
    for name, entry in manifest["files"].items():
        assert _sha256(out / name) == entry["sha256"], name
    return manifest


def sets_on_disk(out) -> list[str]:
    return sorted(p.name for p in (out / SETS_DIRNAME).iterdir() if not p.is_symlink())


def add_failure(out, n: int) -> None:
    """Change what the next export writes (one more row in failures)."""
    state = CrawlState(out)
    state.record_failure(f"https://doctorqna.com/en/article/9{n}", "http_error", status=503,
                         error="HTTP 503")
    state.close()


def export_cmd(out, *extra):
    return [sys.executable, "-m", "qa_crawler.cli", "export", str(out), *extra]


@pytest.fixture
def folder(tmp_path):
    out = state_from_pages(tmp_path / "ds", CASES)
    export_dataset(out)
    return out


def test_published_names_are_links_into_one_set_and_the_readers_follow_them(folder):
    import duckdb
    import polars as pl

    import qa_crawler

    manifest = assert_one_consistent_set(folder)
    assert all((folder / name).is_symlink() for name in PUBLISHED)
    assert manifest["rows"]["qa"] == len(CASES)
    assert len(qa_crawler.load_dataset(folder)) == len(CASES)
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{folder}/*.parquet'").fetchone()[0] > 0
    assert con.execute(f"SELECT count(*) FROM '{folder}/qa.parquet'").fetchone()[0] == len(CASES)
    assert pl.read_csv(folder / "qa.csv").height == len(CASES)


def test_a_folder_of_plain_files_from_before_becomes_links_on_its_next_export(folder, tmp_path):
    for name in PUBLISHED:  # the layout of exports before the sets: plain files in DIR
        data = (folder / name).read_bytes()
        (folder / name).unlink()
        (folder / name).write_bytes(data)
    add_failure(folder, 1)
    manifest = export_dataset(folder)
    assert manifest["rows"]["failures"] == 1
    assert_one_consistent_set(folder)
    assert all((folder / name).is_symlink() for name in PUBLISHED)


def test_two_exports_at_once_both_finish_and_leave_one_consistent_set(folder):
    add_failure(folder, 1)
    procs = [subprocess.Popen(export_cmd(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert [code for code, _ in results] == [0, 0], results
    manifest = assert_one_consistent_set(folder)
    assert manifest["rows"]["failures"] == 1
    # The one published and the one before it; nothing else, no shared temporary folder.
    assert len(sets_on_disk(folder)) == 2
    assert not (folder / ".qa-crawler" / "export-tmp").exists()


HOLD_LOCK = textwrap.dedent("""
    import sys
    from pathlib import Path
    from qa_crawler.state import hold_lock
    held = hold_lock(Path(sys.argv[1]) / ".qa-crawler" / "export.lock")
    print("held", flush=True)
    sys.stdin.read()
""")


def test_an_export_while_another_holds_the_lock_waits_then_is_refused_in_one_line(folder):
    before = published_set(folder)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = subprocess.run(export_cmd(folder, "--wait", "0.3"), capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 3
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"{folder} is being exported by pid {holder.pid}" in lines[0]
        assert published_set(folder) == before  # nothing written
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert subprocess.run(export_cmd(folder, "--wait", "0"), capture_output=True,
                          timeout=120).returncode == 0
    assert published_set(folder) != before


# A child export that SIGKILLs itself at a given step: after its set is written (before the
# switch), or at the switch itself (the rename of the `current` link).
KILLED_EXPORT = textwrap.dedent("""
    import os, signal, sys
    import pipelines.dataset as d
    where = sys.argv[2]
    if where == "written":
        real_fsync = d._fsync_folder
        def fsync_then_die(folder, **kwargs):
            real_fsync(folder, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        d._fsync_folder = fsync_then_die
    else:
        real_point = d._point
        def point(link, target):
            if link.name == "current":
                os.kill(os.getpid(), signal.SIGKILL)
            real_point(link, target)
        d._point = point
    d.export_dataset(sys.argv[1])
""")


@pytest.mark.parametrize("where", ["written", "switch"])
def test_a_killed_export_leaves_the_old_set_whole_and_the_next_one_cleans_up(folder, where):
    before = published_set(folder)
    old_manifest = assert_one_consistent_set(folder)
    add_failure(folder, 1)
    proc = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(folder), where],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert published_set(folder) == before
    assert assert_one_consistent_set(folder) == old_manifest
    assert len(sets_on_disk(folder)) == 2  # the published one and the killed export's

    manifest = export_dataset(folder)
    assert manifest["rows"]["failures"] == 1
    assert_one_consistent_set(folder)
    # The killed export's folder is gone; the published set and the one before it remain.
    assert sets_on_disk(folder) == sorted([before.name, published_set(folder).name])
    assert not [p for p in os.listdir(folder) if p.startswith(".") and "." in p[1:]]


def test_the_crawls_closing_export_takes_the_same_lock(tmp_path):
    from qa_crawler.demo.server import SiteServer
    from qa_crawler.demo.site import SampleSite
    from tests.crawl_helpers import crawl

    out = tmp_path / "out"
    (out / ".qa-crawler").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with SiteServer(SampleSite(n_pages=5, seed=1)) as server:
            proc = crawl(server.url("/"), out, "-s", "QA_EXPORT_LOCK_WAIT=0.3")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert proc.returncode == 3  # not 0 or 4: the dataset was not written
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("qa-crawler crawl:")]
    assert len(lines) == 1 and f"is being exported by pid {holder.pid}" in lines[0], proc.stderr
    assert not (out / "qa.parquet").exists()
    # What the crawl stored is kept: an export afterwards writes it.
    assert export_dataset(out)["rows"]["qa"] == 5


def test_the_collector_leaves_the_callers_objects_alone_during_an_export_and_after_it_as_before(
        folder, monkeypatch):
    import gc

    from pipelines import dataset

    seen = []
    write_set = dataset._write_set

    def watched(*args, **kwargs):
        seen.append(gc.get_freeze_count())
        return write_set(*args, **kwargs)

    monkeypatch.setattr(dataset, "_write_set", watched)
    before = gc.get_freeze_count()
    export_dataset(folder)
    assert seen and seen[0] > before  # frozen while the files are written
    assert gc.get_freeze_count() == before  # given back, as after an export that fails:
    monkeypatch.setattr(dataset, "_write_set", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        export_dataset(folder)
    assert gc.get_freeze_count() == before
    assert_one_consistent_set(folder)
    keep = [object()]  # a process that froze objects of its own (a forking server) keeps them
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        monkeypatch.setattr(dataset, "_write_set", write_set)
        export_dataset(folder)
        assert gc.get_freeze_count() > frozen // 2  # (frozen objects freed leave it)
    finally:
        gc.unfreeze()
    assert keep
