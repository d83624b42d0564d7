"""Truthful ends: a folder that cannot be written stops the crawl (exit 3, one line naming the
file and the cause); a damaged or emptied state database is refused, never started afresh."""

import sqlite3
import subprocess
import sys

import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.crawl_helpers import crawl, qa_rows

pytestmark = pytest.mark.slow


def stored_urls(out) -> set[str]:
    """The paths of the pages the state holds."""
    db = sqlite3.connect(out / ".qa-crawler" / "state-main.sqlite")
    try:
        return {url.split("/", 3)[3] for (url,) in db.execute("SELECT url FROM urls")}
    finally:
        db.close()


def command_lines(stderr: str, command: str = "crawl") -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"qa-crawler {command}:")]


@pytest.fixture
def small_disk(mount_small_disk):
    """A 1 MB file system (tmpfs; root only), unmounted afterwards."""
    return mount_small_disk("1m")


# Without WARC the state database is the first file to fill the disk; with it, a WARC file.
@pytest.mark.parametrize("warc", [True, False], ids=["warc-full", "state-full"])
def test_a_full_disk_stops_the_crawl_in_one_line_and_the_next_run_goes_on(small_disk, warc):
    site = SampleSite(n_pages=150, seed=3)
    out = small_disk / "out"
    extra = () if warc else ("--no-warc",)
    with SiteServer(site) as server:
        full = crawl(server.url("/"), out, *extra)
        kept = stored_urls(out)
        dataset_written = (out / "qa.parquet").exists()
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        server.clear_log()
        again = crawl(server.url("/"), out, *extra)
        fetched_again = kept & {p.lstrip("/") for p in server.requests}
    assert full.returncode == 3, full.stderr[-3000:]
    assert "Traceback" not in full.stderr
    lines = command_lines(full.stderr)
    # With WARC on, either the archive or the state database is the first to hit the limit.
    file = ".qa-crawler/" if warc else ".qa-crawler/state-main.sqlite"
    assert len(lines) == 1 and f"cannot write {out}/{file}" in lines[0], full.stderr[-3000:]
    assert "No space left on device" in lines[0]
    assert "network_error" not in full.stdout and "failed            0\n" in full.stdout
    assert not dataset_written  # and exit status 3 says so
    assert kept  # what was stored before the disk filled is kept

    assert again.returncode == 0, again.stderr[-3000:]
    rows = qa_rows(out)
    assert len(rows) >= len(kept) and {r["url"].split("/", 3)[3] for r in rows.values()} >= kept
    assert not fetched_again  # what was stored is not fetched again
    assert set(rows) == set(site.qa_ids())  # and nothing found before the stop is lost


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A finished crawl (with its WARC files) of a small site, and the server still serving it."""
    site = SampleSite(n_pages=20, seed=4)
    out = tmp_path_factory.mktemp("crawled")
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), out)
        assert proc.returncode == 0, proc.stderr[-3000:]
        yield site, server, out


def damage(path, how: str) -> bytes:
    path.write_bytes(b"" if how == "emptied" else b"not a database, just garbage\x00" * 400)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path.read_bytes()


@pytest.mark.parametrize("how", ["garbage", "emptied"])
def test_a_damaged_state_is_refused_by_crawl_and_export_naming_the_file_and_the_remedy(
        crawled, tmp_path, how):
    import shutil

    site, server, original = crawled
    out = tmp_path / "copy"
    shutil.copytree(original, out, symlinks=True)
    state = out / ".qa-crawler" / "state-main.sqlite"
    before = damage(state, how)
    manifest = (out / "manifest.json").read_bytes()

    proc = crawl(server.url("/"), out)
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    lines = command_lines(proc.stderr)
    assert len(lines) == 1 and str(state) in lines[0], proc.stderr
    assert f"qa-crawler rebuild {out}" in lines[0] and "restore a copy" in lines[0]
    assert ("0 bytes" if how == "emptied" else "not a database") in lines[0]
    # Nothing was started afresh over the folder's history, nor fetched.
    assert state.read_bytes() == before
    assert (out / "manifest.json").read_bytes() == manifest

    export = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert export.returncode == 3 and "Traceback" not in export.stderr
    assert len(command_lines(export.stderr, "export")) == 1 and str(state) in export.stderr


def test_rebuild_remakes_a_damaged_state_from_the_raw_pages_and_the_crawl_goes_on(
        crawled, tmp_path):
    import shutil

    site, server, original = crawled
    out = tmp_path / "copy"
    shutil.copytree(original, out, symlinks=True)
    damage(out / ".qa-crawler" / "state-main.sqlite", "garbage")
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "rebuild", str(out),
                           "--workers", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "damaged crawl state was set aside" in proc.stdout
    assert list((out / ".qa-crawler").glob("state-main.sqlite.damaged-*"))
    assert set(qa_rows(out)) == set(site.qa_ids())

    server.clear_log()
    again = crawl(server.url("/"), out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert not [p for p in server.requests if "/article/" in p]  # nothing fetched again


def test_an_export_on_a_full_disk_says_so_and_leaves_the_published_set_whole(small_disk):
    import json

    from pipelines.dataset import published_set
    from tests.sample_dataset import state_from_pages
    from tests.test_export_safety import CASES, add_failure, assert_one_consistent_set

    out = state_from_pages(small_disk / "out", CASES)
    first = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    before = published_set(out)
    manifest = json.loads((out / "manifest.json").read_text())
    add_failure(out, 1)
    with open(small_disk / "filler", "wb") as fh:  # take the rest of the disk
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError:
            pass
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    lines = command_lines(proc.stderr, "export")
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and f"cannot write {out}/" in lines[0], proc.stderr
    assert "No space left on device" in lines[0]
    assert published_set(out) == before and assert_one_consistent_set(out) == manifest
    # The failed export's own folder is gone (it would hold the disk's last bytes).
    assert sorted(p.name for p in (out / ".qa-dataset").iterdir() if not p.is_symlink()) == [
        before.name]


def test_a_read_only_folder_is_refused_in_one_line_naming_the_file(small_disk):
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    site = SampleSite(n_pages=10, seed=3)
    out = small_disk / "out"
    with SiteServer(site) as server:
        assert crawl(server.url("/"), out).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        server.clear_log()
        proc = crawl(server.url("/"), out)
        assert not [p for p in server.requests if "/article/" in p]
    export = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                            capture_output=True, text=True, timeout=120)
    for command, ran in (("crawl", proc), ("export", export)):
        assert ran.returncode == 3
        lines = command_lines(ran.stderr, command)
        assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
        assert f"cannot write {out}/.qa-crawler/" in lines[0]
        assert "Read-only file system" in lines[0]
