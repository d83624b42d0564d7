"""The durable frontier: what a crawl scheduled and did not finish survives any stop of it.

Unit tests of the state's frontier and of the store's finishing of a page (its links are
committed in the transaction that finishes it, or nothing is), then crawls of a sample site where most Q&A pages are
linked only from other Q&A pages' Similar Q&A, stopped again and again (SIGKILL, SIGINT, a
full disk) and resumed: every page ends up stored once and no stored page is fetched again.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

import qa_crawler.settings as project_settings
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from pipelines.store import NotStoredItem, StorePipeline
from qa_crawler.fetched import FetchedPage, NotModified, Visited
from qa_crawler.spiders.qa import QASpider
from qa_crawler.state import CrawlState, StorageError
from qa_crawler.folder import pending_urls
from tests.crawl_helpers import crawl, crawl_cmd, mismatches, qa_rows
from tests.sample_dataset import sample_site_pages, store_pages

BASE = "http://127.0.0.1:8999"
# Three pages in four are linked only from the Similar Q&A of the page before them.
MOSTLY_SIMILAR_ONLY = 750


# -- the state's frontier ------------------------------------------------------------------------

def test_pending_is_what_was_scheduled_and_not_finished_and_survives_reopening(tmp_path):
    state = CrawlState(tmp_path)
    state.add_pending([f"{BASE}/en/article/{n}" for n in range(5)] + [f"{BASE}/en/faq/"])
    state.mark_done([f"{BASE}/en/article/0", f"{BASE}/en/faq/"])
    record = {"qa_id": "1", "url": f"{BASE}/en/article/1", "title": "t"}
    state.upsert(record, f"{BASE}/en/article/1")  # stored, not marked done: a kill in between
    # Scheduling again what is finished leaves it finished: its links are in the frontier.
    state.add_pending([f"{BASE}/en/article/0"])
    state.close()

    assert pending_urls(tmp_path) == {f"{BASE}/en/article/{n}" for n in (2, 3, 4)}
    reopened = CrawlState(tmp_path)
    reopened.mark_done([f"{BASE}/en/article/2"])
    assert pending_urls(tmp_path) == {f"{BASE}/en/article/3", f"{BASE}/en/article/4"}
    reopened.close()


def test_a_pages_links_are_committed_in_one_transaction_or_not_at_all(tmp_path):
    state = CrawlState(tmp_path)
    statements = []
    state.db.set_trace_callback(statements.append)
    state.add_pending(f"{BASE}/en/article/{n}" for n in range(200))
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE", "COMMIT"]
    assert len(pending_urls(tmp_path)) == 200

    def broken():
        yield f"{BASE}/en/article/x"
        raise OSError("disk full")

    with pytest.raises(OSError):
        state.add_pending(broken())
    assert f"{BASE}/en/article/x" not in pending_urls(tmp_path)
    assert not state.db.in_transaction
    state.close()


def test_the_folder_frontier_merges_workers_and_skips_state_files_without_one(tmp_path):
    a, b = CrawlState(tmp_path, worker="a"), CrawlState(tmp_path, worker="b")
    a.add_pending([f"{BASE}/x", f"{BASE}/y", f"{BASE}/en/article/7", f"{BASE}/z"])
    b.mark_done([f"{BASE}/x"])  # worker b fetched what a had scheduled
    b.upsert({"qa_id": "7", "url": f"{BASE}/en/article/7"}, f"{BASE}/en/article/7")
    b.add_pending([f"{BASE}/w"])
    a.mark_done([f"{BASE}/w"])
    a.close()
    b.close()
    # A state file written before the frontier existed: it holds no pending URLs.
    old = sqlite3.connect(tmp_path / ".qa-crawler" / "state-old.sqlite")
    old.execute("CREATE TABLE urls (url TEXT PRIMARY KEY, qa_id TEXT, fetched_at TEXT)")
    old.execute("INSERT INTO urls VALUES (?, '9', '2026-01-01')", (f"{BASE}/z",))
    old.commit()
    old.close()

    assert pending_urls(tmp_path) == {f"{BASE}/y"}


def test_a_state_from_before_the_frontier_gets_the_links_of_its_stored_records(tmp_path):
    site = SampleSite(n_pages=40, seed=3, similar_only_per_mille=MOSTLY_SIMILAR_ONLY)
    qa_id = next(q for q in site.listed_ids() if _similar_links(site, q))
    state = CrawlState(tmp_path)
    store_pages(state, sample_site_pages(site, [qa_id], base=BASE))
    state.db.execute("DROP TABLE frontier")  # as the crawls of earlier versions left it
    state.close()
    assert pending_urls(tmp_path) == set()
    CrawlState(tmp_path).close()
    assert _similar_links(site, qa_id) <= pending_urls(tmp_path)
    assert BASE + site.article_path(qa_id) not in pending_urls(tmp_path)


# -- the spider yields, the store finishes: with real Scrapy requests and responses --------------

@pytest.fixture(autouse=True)
def _each_page_committed(monkeypatch):
    """Each page committed as it is stored (what another reader sees is read at once)."""
    monkeypatch.setattr("pipelines.store.COMMIT_PAGES", 1)


def _spider(out: Path, **extra) -> tuple[QASpider, StorePipeline]:
    settings = {k: getattr(project_settings, k) for k in dir(project_settings) if k.isupper()}
    settings.update(QA_OUT_DIR=str(out), QA_START_URL=f"{BASE}/", QA_WARC_ENABLED=False, **extra)
    crawler = get_crawler(QASpider, settings)
    return QASpider.from_crawler(crawler), StorePipeline.from_crawler(crawler)


def _scheduled(spider, store, url: str):
    """The request for ``url`` as the page linking to it schedules it (its outcome stored)."""
    (request,), links = spider.follow([url])
    with pytest.raises(DropItem):
        store.process_item(Visited(urls=(f"{BASE}/en/",), links=links))
    return request


def _article(spider, store, site, qa_id) -> HtmlResponse:
    path = site.article_path(qa_id)
    status, headers, body = site.render(path)
    request = _scheduled(spider, store, BASE + path)
    return HtmlResponse(url=request.url, status=status, headers=headers, body=body,
                        request=request)


def _similar_links(site, qa_id) -> set[str]:
    return {s["url"] for s in site.expected_record(qa_id, BASE)["similar"]}


async def _outputs(agen):
    return [output async for output in agen]


def test_a_page_is_finished_with_its_links_in_one_transaction_or_stays_pending(
        tmp_path, monkeypatch):
    site = SampleSite(n_pages=40, seed=3, similar_only_per_mille=MOSTLY_SIMILAR_ONLY)
    spider, store = _spider(tmp_path)
    qa_id = next(q for q in site.listed_ids() if _similar_links(site, q))
    response = _article(spider, store, site, qa_id)
    outputs = asyncio.run(_outputs(spider.parse(response)))
    page = outputs[0]  # the outcome first, then the requests for its links
    assert isinstance(page, FetchedPage) and page.urls == (response.url,)
    links = _similar_links(site, qa_id)
    assert links <= set(page.links) and links <= {r.url for r in outputs[1:]}
    # The spider wrote nothing: the page is pending, its links are not in the frontier yet.
    assert response.url in pending_urls(tmp_path) and not links & pending_urls(tmp_path)

    # The disk fills at the last statement of the page's transaction: none of it is kept.
    def full(urls):
        raise StorageError("cannot write state-main.sqlite: No space left on device")

    monkeypatch.setattr(store.state, "mark_done", full)
    monkeypatch.setattr("pipelines.store.storage_failed", lambda crawler, exc: None)
    with pytest.raises(NotStoredItem):
        store.process_item(page)
    assert response.url in pending_urls(tmp_path), "a failed store leaves the page pending"
    assert not links & pending_urls(tmp_path) and not store.state.db.in_transaction
    assert store.state.stored_record(response.url) is None
    monkeypatch.undo()

    assert store.process_item(page) is page.record
    store.commit()  # (the store commits a few pages at a time: what another reader sees)
    assert response.url not in pending_urls(tmp_path)
    assert links <= pending_urls(tmp_path)
    store.state.close()


def test_a_304_recheck_follows_the_links_of_the_stored_record(tmp_path):
    site = SampleSite(n_pages=40, seed=3, similar_only_per_mille=MOSTLY_SIMILAR_ONLY)
    qa_id = next(q for q in site.listed_ids() if _similar_links(site, q))
    # Stored by a crawl whose frontier was lost (one from before the frontier existed).
    state = CrawlState(tmp_path)
    store_pages(state, sample_site_pages(site, [qa_id], base=BASE))
    state.close()
    spider, store = _spider(tmp_path, QA_RECHECK_OLDER_THAN="0s")
    request = _scheduled(spider, store, BASE + site.article_path(qa_id))
    assert request.meta.get("recheck")
    not_modified = Response(url=request.url, status=304, request=request)
    outcome, *followed = asyncio.run(_outputs(spider.parse(not_modified)))
    links = _similar_links(site, qa_id)
    assert isinstance(outcome, NotModified) and links <= set(outcome.links)
    assert links <= {r.url for r in followed}
    with pytest.raises(DropItem):
        store.process_item(outcome)
    assert links <= pending_urls(tmp_path) and request.url not in pending_urls(tmp_path)
    store.state.close()


# -- crawls stopped again and again --------------------------------------------------------------

N_PAGES = 200


def _stored_urls(out: Path) -> set[str]:
    db = out / ".qa-crawler" / "state-main.sqlite"
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return {u for (u,) in con.execute("SELECT url FROM urls")}
    except sqlite3.OperationalError:
        return set()


def _mostly_similar_only_site(seed: int) -> SampleSite:
    site = SampleSite(n_pages=N_PAGES, seed=seed, similar_only_per_mille=MOSTLY_SIMILAR_ONLY)
    assert len(site.similar_only_ids()) > N_PAGES * 0.6
    return site


def _slow_pages(server, site, delay=0.03):
    # Slow enough for a stop to land mid-crawl; later fetches of a page are not slowed.
    for qa_id in site.qa_ids():
        server.faults[site.article_path(qa_id)] = [{"delay": delay}]


def _article_fetches(server) -> collections.Counter:
    return collections.Counter(p.split("?")[0] for p in server.requests if "/article/" in p)


def _stop_after(cmd, out: Path, records: int, how: int, timeout: float = 120):
    """Run ``cmd`` until the state holds ``records`` pages, then send it ``how``; its output."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + timeout
    while len(_stored_urls(out)) < records and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, (
        f"the crawl ended with {len(_stored_urls(out))} pages stored, before it could be stopped")
    os.kill(proc.pid, how)
    stdout, stderr = proc.communicate(timeout=120)
    return proc.returncode, stdout, stderr


def _check_every_page_once(site, base, out: Path, fetches: collections.Counter, rows=None):
    rows = rows if rows is not None else qa_rows(out)
    assert len(pq.read_table(out / "qa.parquet")) == len(rows) == N_PAGES
    assert set(rows) == set(site.qa_ids())
    assert mismatches(site, base, rows) == []
    assert set(fetches) == {site.article_path(q) for q in site.qa_ids()}


def _stopped_and_resumed(tmp_path, how: int, moments, seed: int):
    site = _mostly_similar_only_site(seed)
    out = tmp_path / "out"
    fetches: collections.Counter = collections.Counter()
    with SiteServer(site) as server:
        _slow_pages(server, site)
        cmd = crawl_cmd(server.url("/"), out, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")
        stopped_runs = []
        for moment in moments:
            before = _stored_urls(out)
            stopped_runs.append(_stop_after(cmd, out, moment, how))
            run = _article_fetches(server)
            refetched = {server.base_url + p for p in run} & before
            assert not refetched, f"stored pages fetched again: {sorted(refetched)[:5]}"
            fetches.update(run)
            server.clear_log()
            assert moment <= len(_stored_urls(out)) < N_PAGES
        before = _stored_urls(out)
        final = crawl(server.url("/"), out, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")
        assert final.returncode == 0, final.stderr[-3000:]
        run = _article_fetches(server)
        assert not {server.base_url + p for p in run} & before
        fetches.update(run)
        base = server.base_url
    _check_every_page_once(site, base, out, fetches)
    assert "still pending" not in final.stdout
    assert "resumed" in final.stdout
    return stopped_runs


@pytest.mark.slow
def test_killed_with_9_again_and_again_every_page_ends_up_stored_once(tmp_path):
    _stopped_and_resumed(tmp_path, signal.SIGKILL, (30, 80, 130, 170), seed=21)


@pytest.mark.slow
def test_stopped_with_ctrl_c_again_and_again_every_page_ends_up_stored_once(tmp_path):
    runs = _stopped_and_resumed(tmp_path, signal.SIGINT, (40, 120), seed=22)
    for code, stdout, stderr in runs:
        # Acknowledged at once, and the summary names the reason in words.
        assert ("qa-crawler: stopping after the requests in flight; Ctrl-C again to stop now"
                in stderr), stderr[-2000:]
        assert "crawl stopped by Ctrl-C or a stop signal in" in stdout, stderr[-2000:]
        # Scrapy's queue is gone with the process; the summary says what the frontier keeps.
        assert "still pending" in stdout, stdout


@pytest.fixture
def small_disk(mount_small_disk):
    """A 2 MB tmpfs (root only); skips where mounting is not allowed."""
    return mount_small_disk("2m")


@pytest.mark.slow
def test_a_full_disk_then_more_room_every_page_ends_up_stored_once(small_disk):
    site = _mostly_similar_only_site(seed=23)
    out = small_disk / "out"
    fetches: collections.Counter = collections.Counter()
    with SiteServer(site) as server:
        cmd = crawl_cmd(server.url("/"), out, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")
        try:
            full = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired:
            full = None  # a crawl that goes on writing nothing; what counts is what it kept
        stored = _stored_urls(out)
        assert 0 < len(stored) < N_PAGES, "the disk should fill mid-crawl"
        fetches.update(_article_fetches(server))
        server.clear_log()
        subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
        resumed = crawl(server.url("/"), out, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        run = _article_fetches(server)
        assert not {server.base_url + p for p in run} & stored, "stored pages fetched again"
        fetches.update(run)
        base = server.base_url
    assert full is None or full.returncode != 0 or "still pending" in full.stdout
    _check_every_page_once(site, base, out, fetches)
