"""End to end: the real CLI crawls a generated site served on 127.0.0.1 and writes the dataset."""

import collections
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.record import dataset_schema
from tests.crawl_helpers import crawl, crawl_cmd, mismatches, qa_rows

pytestmark = pytest.mark.slow

N_PAGES = 120


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    site = SampleSite(n_pages=N_PAGES, seed=7)
    out = tmp_path_factory.mktemp("crawl")
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), out, "-s", "QA_REPORT=True")
        yield site, server, out, proc, list(server.requests)


def test_crawl_exits_zero_and_prints_a_summary(crawled):
    proc = crawled[3]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pages fetched" in proc.stdout and f"new               {N_PAGES}\n" in proc.stdout
    # The report is drawn in the background: the crawl ends once the dataset is written.
    assert "report.html (being drawn in the background" in proc.stdout


def test_the_report_drawn_in_the_background_lands_in_the_folder(crawled):
    out = crawled[2]
    deadline = time.monotonic() + 120
    while not (out / "report.html").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = (out / ".qa-crawler" / "report.log").read_text()
    assert (out / "report.html").is_file(), log
    assert "report.html" in log  # `qa-crawler report` said where it wrote it
    assert "<!DOCTYPE html>" in (out / "report.html").read_text()[:100]


def test_an_export_ends_once_the_dataset_is_written_and_its_report_follows_in_the_background(
        crawled, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(crawled[2], out, symlinks=True)
    (out / "report.html").unlink()
    exported = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr[-2000:]
    assert "report.html (being drawn in the background" in exported.stdout
    deadline = time.monotonic() + 120
    while not (out / "report.html").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "<!DOCTYPE html>" in (out / "report.html").read_text()[:100]


def test_every_page_is_found_once_with_every_field_right(crawled):
    site, server, out, proc, requests = crawled
    rows = qa_rows(out)
    assert set(rows) == set(site.qa_ids())
    assert mismatches(site, server.base_url, rows) == []


def test_pages_reachable_only_through_similar_links_are_found(crawled):
    site, _, out, _, _ = crawled
    assert site.similar_only_ids(), "the generated site should have similar-only pages"
    assert set(site.similar_only_ids()) <= set(qa_rows(out))


def test_each_qa_page_is_fetched_once_whatever_url_variant_links_to_it(crawled):
    counts = collections.Counter(p.split("?")[0] for p in crawled[4] if "/article/" in p)
    assert counts and max(counts.values()) == 1


def test_robots_txt_is_obeyed_and_nothing_outside_the_site_language_is_fetched(crawled):
    requests = crawled[4]
    assert "/robots.txt" in requests
    assert not [p for p in requests if p.startswith(("/en/private", "/en/search"))]
    assert not [p for p in requests if p.startswith(("/zh/", "/static/"))]


def test_dataset_folder_is_complete(crawled):
    out = crawled[2]
    for name in ["qa.parquet", "similar.parquet", "related_topics.parquet", "qa.csv",
                 "similar.csv", "related_topics.csv", "manifest.json", "README.md",
                 "failures.csv"]:
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rows"]["qa"] == N_PAGES
    assert manifest["runs"][0]["finish_reason"] == "finished"


def test_a_second_crawl_on_the_same_folder_is_refused_while_one_runs(tmp_path):
    site = SampleSite(n_pages=30, seed=3)
    with SiteServer(site) as server:
        server.faults = {site.article_path(q): [{"delay": 3}] for q in site.qa_ids()[:2]}
        first = subprocess.Popen(crawl_cmd(server.url("/"), tmp_path), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 30
            while not list((tmp_path / ".qa-crawler").glob("lock*")) and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(1.0)
            second = crawl(server.url("/"), tmp_path)
        finally:
            first.communicate(timeout=120)
    assert second.returncode == 3
    assert "being crawled" in second.stderr and str(tmp_path) in second.stderr
    assert first.returncode == 0


def scrapy_feed_crawl(start_url: str, feed: Path):
    """``scrapy crawl qa -O FEED``, as a Scrapy user runs it from the checkout."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "qa", "-a", f"start_url={start_url}",
         "-O", str(feed), "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
         "-s", "QA_PROGRESS_INTERVAL=0", "-s", "LOG_LEVEL=WARNING"],
        capture_output=True, text=True, timeout=180, cwd=str(Path(__file__).parents[1]),
    )


def test_scrapy_crawl_with_a_parquet_feed_works_for_scrapy_users(tmp_path):
    import pyarrow.parquet as pq

    site = SampleSite(n_pages=20, seed=5)
    feed = tmp_path / "records.parquet"
    with SiteServer(site) as server:
        proc = scrapy_feed_crawl(server.url("/"), feed)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = pq.read_table(feed)
    assert sorted(table["qa_id"].to_pylist()) == sorted(site.qa_ids())
    assert table.schema.names == dataset_schema().names  # the columns of qa.parquet
    assert str(table.schema.field("asked_on").type) == "date32[day]"


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_scrapy_feeds_write_the_nested_lists_as_json_and_warn_of_nothing(tmp_path, fmt):
    import csv

    site = SampleSite(n_pages=6, seed=8)
    feed = tmp_path / f"records.{fmt}"
    with SiteServer(site) as server:
        proc = scrapy_feed_crawl(server.url("/"), feed)
        base = server.base_url
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]
    text = feed.read_text(encoding="utf-8")
    if fmt == "csv":
        rows = [{k: json.loads(v) if k in ("similar", "related_topics") else v for k, v in r.items()}
                for r in csv.DictReader(text.splitlines(keepends=True))]
    elif fmt == "json":
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines()]
    assert sorted(r["qa_id"] for r in rows) == sorted(site.qa_ids())
    for row in rows:
        want = site.expected_record(row["qa_id"], base)
        assert row["similar"] == want["similar"] and row["related_topics"] == want["related_topics"]


# What differs between two crawls of the same pages: when they were fetched, and where in
# which WARC file (named by the run's start) the raw response went.
RUN_COLUMNS = {"crawled_at", "first_seen", "last_seen", "changed_at", "warc_file", "warc_offset"}


def dataset_values(out: Path) -> dict[str, list]:
    import pyarrow.parquet as pq

    table = pq.read_table(out / "qa.parquet").sort_by("qa_id")
    return {name: table.column(name).to_pylist() for name in table.column_names
            if name not in RUN_COLUMNS}


def test_the_page_worker_on_and_off_gives_the_same_dataset_values(crawled, tmp_path):
    _, server, out, _, _ = crawled
    from qa_crawler.folder import merged_runs

    # The module's crawl lifts politeness, so "auto" read its pages in the worker.
    assert merged_runs(out)[-1]["stats"]["qa/page_worker/pages"] >= N_PAGES
    # The same server: the pages' links name its port.
    proc = crawl(server.url("/"), tmp_path / "here", "-s", "QA_PARSE_PROCESSES=0")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "qa/page_worker/pages" not in merged_runs(tmp_path / "here")[-1]["stats"]
    worker, here = dataset_values(out), dataset_values(tmp_path / "here")
    assert len(here["qa_id"]) == N_PAGES
    assert worker == here
    assert "Traceback" not in proc.stderr


def _worker_of(pid: int) -> int | None:
    """The page worker among the children of process ``pid``."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"qa_crawler.worker" in cmdline:
                return int(child)
    return None


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_a_page_worker_killed_mid_crawl_is_named_and_loses_no_page(tmp_path):
    import os
    import signal
    import threading

    site = SampleSite(n_pages=30, seed=17)
    held = site.article_path(site.qa_ids()[0])
    release = threading.Event()
    with SiteServer(site) as server:
        # One page is held back, so the crawl is still running when its worker is killed.
        server.faults[held] = [{"until": release}]
        proc = subprocess.Popen(crawl_cmd(server.url("/"), tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            worker = None
            for _ in range(600):  # until the held page is asked for and the worker is up
                if held in server.requests:
                    worker = _worker_of(proc.pid)
                    if worker is not None:
                        break
                time.sleep(0.05)
            assert worker is not None, "the crawl never asked for the held page"
            os.kill(worker, signal.SIGKILL)
        finally:
            release.set()
            stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, stderr[-3000:]
        assert re.search(rf"page worker +the page worker \(pid {worker}\) died \(killed by "
                         r"SIGKILL\) after reading \d+ pages; \d+ pages it was reading left "
                         r"pending, the rest read in the crawl's process", stdout), stdout
        # What the dead worker held is still pending: the next run fetches it, and the dataset
        # is whole.
        again = crawl(server.url("/"), tmp_path)
        base = server.base_url
    assert again.returncode == 0, again.stderr[-3000:]
    rows = qa_rows(tmp_path)
    assert set(rows) == set(site.qa_ids())
    assert mismatches(site, base, rows) == []


def test_contact_and_article_pattern_given_with_s_reach_the_server_the_ids_and_rebuild(tmp_path):
    site = SampleSite(n_pages=12, seed=21)
    pattern = r"/(?P<id>article/[0-9]+)$"
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), tmp_path, "-s", "QA_CONTACT=mailto:crawl-desk@example.org",
                     "-s", f"QA_ARTICLE_URL_PATTERN={pattern}")
        agents = {r.headers.get("User-Agent") for r in server.records}
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(agents) == 1 and "(+mailto:crawl-desk@example.org;" in agents.pop()
    want = {f"article/{q}" for q in site.qa_ids()}
    for _ in range(2):  # as crawled, then as rebuilt from the raw pages
        rows = qa_rows(tmp_path)
        assert set(rows) == want
        similar = [s["qa_id"] for r in rows.values() for s in r["similar"]]
        assert similar and set(similar) <= want
        rebuilt = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "rebuild", str(tmp_path),
                                  "--workers", "1"], capture_output=True, text=True, timeout=120)
        assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
        # Off a terminal (a log): plain lines, the last one the whole count, no carriage return.
        assert "\r" not in rebuilt.stderr
        assert re.fullmatch(r"rebuild: (\d+)/\1 pages parsed", rebuilt.stderr.splitlines()[-1])
        # The report is drawn after it in a process of its own, as after a crawl.
        assert "report.html (being drawn in the background" in rebuilt.stdout
