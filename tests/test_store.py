"""The store pipeline, the crawl state's one writer, at its own size: built with Scrapy's
get_crawler and fed each outcome item the spider and the validation pipeline yield; what it wrote
is read back from the state (no crawl, no server)."""

from __future__ import annotations

import datetime as dt

import pytest
from scrapy import Request, signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from pipelines.store import NotStoredItem, StorePipeline
from pipelines.validate import ValidationPipeline
from qa_crawler import stats as keys
from qa_crawler.context import CrawlContext, context_of
from qa_crawler.demo.site import SampleSite
from qa_crawler.fetched import Failed, Fetch, FetchedPage, NotModified, Visited
from qa_crawler.record import QARecord, to_json_dict
from qa_crawler.spiders.qa import QASpider
from qa_crawler.state import StorageError
from qa_crawler.folder import merged_failures, pending_urls
from tests.sample_dataset import sample_site_pages, store_pages

BASE = "http://127.0.0.1:8124"
PAGE = f"{BASE}/en/article/7"
LINKS = (f"{BASE}/en/article/8", f"{BASE}/en/list?page=2")


def _crawler(out_dir="", **overrides):
    from qa_crawler import settings as project

    settings = {k: getattr(project, k) for k in dir(project) if k.isupper()}
    settings.update(QA_START_URL=f"{BASE}/", QA_OUT_DIR=str(out_dir), **overrides)
    crawler = get_crawler(QASpider, settings)
    crawler.spider = crawler._create_spider()
    return crawler


@pytest.fixture
def store(tmp_path, monkeypatch):
    # Each page committed as it is stored, so that what another reader sees is read at once
    # (the commits of a few pages at a time have tests of their own below).
    monkeypatch.setattr("pipelines.store.COMMIT_PAGES", 1)
    crawler = _crawler(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    yield store
    context_of(crawler).close()


def _page(qa_id="7", url=PAGE, **record) -> FetchedPage:
    fetch = Fetch(url=url, status=200, fetched_at=dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc),
                  etag='"v1"', key=url)
    rec = QARecord(qa_id=qa_id, url=url, title="A question", **record)
    return FetchedPage(rec, fetch, urls=(url, f"{BASE}/en/old-article-7"), links=LINKS)


def _dropped(store, item):
    with pytest.raises(DropItem) as info:
        store.process_item(item)
    return info.value


def _stored(store) -> None:
    """The page of PAGE stored by an earlier run, its URL finished."""
    assert store.process_item(_page()) is not None
    store.seen.clear()  # a new run


def test_a_page_with_its_record_is_stored_with_its_links_and_every_url_finished(store, tmp_path):
    state = store.state
    state.record_failure(PAGE, "network_error", error="timeout")  # it failed last time
    state.add_pending([PAGE, f"{BASE}/en/old-article-7"])
    page = _page()
    assert store.process_item(page) is page.record  # the feed exports get the record
    store.commit()  # (the store commits a few pages at a time: what another reader sees)
    assert state.stored_record(PAGE)["title"] == "A question"
    assert state.validators(PAGE) == ('"v1"', None)
    assert pending_urls(tmp_path) == set(LINKS)  # the page and its redirect are finished
    assert merged_failures(tmp_path) == []
    assert store.stats.get_value(keys.RECORDS + "new") == 1


def test_the_same_qa_id_again_is_a_duplicate_whose_urls_and_links_still_finish(store, tmp_path):
    store.process_item(_page())
    again = _page(url=f"{BASE}/en/article/7-copy")
    again.links = (f"{BASE}/en/article/9",)
    assert "duplicate qa_id 7" in str(_dropped(store, again))
    assert store.stats.get_value(keys.DUPLICATES) == 1
    assert store.state.stored_record(again.key) is None
    assert pending_urls(tmp_path) == {*LINKS, f"{BASE}/en/article/9"}


def test_a_failure_is_recorded_counted_and_its_page_finished(store, tmp_path):
    failed = Failed(urls=(PAGE,), kind="network_error", error="TimeoutError: took too long",
                    attempts=5)
    _dropped(store, failed)
    [row] = merged_failures(tmp_path)
    assert (row["url"], row["kind"], row["attempts"]) == (PAGE, "network_error", 5)
    assert store.stats.get_value(keys.FAILURES + "network_error") == 1
    assert keys.START_FAILED not in store.stats.get_stats()
    assert store.state.stored_record(PAGE) is None and pending_urls(tmp_path) == set()
    _dropped(store, Failed(urls=(f"{BASE}/en/",), kind="http_error", status=503,
                           error="HTTP 503", start=True))
    assert store.stats.get_value(keys.START_FAILED) == "HTTP 503"


def test_a_404_of_a_stored_page_is_a_withdrawal_not_a_failure(store, tmp_path):
    _stored(store)
    _dropped(store, Failed(urls=(PAGE,), kind="http_error", status=410, error="HTTP 410"))
    assert store.stats.get_value(keys.REMOVED) == 1
    assert keys.FAILURES + "http_error" not in store.stats.get_stats()
    assert merged_failures(tmp_path) == []
    removed = store.state.db.execute("SELECT removed_at FROM pages WHERE qa_id = '7'").fetchone()
    assert removed[0] is not None
    # A 404 of a page the folder never had is a failure.
    _dropped(store, Failed(urls=(f"{BASE}/en/article/99",), kind="http_error", status=404,
                           error="HTTP 404"))
    assert [r["url"] for r in merged_failures(tmp_path)] == [f"{BASE}/en/article/99"]
    assert store.stats.get_value(keys.FAILURES + "http_error") == 1


def test_a_304_touches_the_stored_page_and_adds_the_stored_records_links(store, tmp_path):
    _stored(store)
    store.state.db.execute("UPDATE pages SET last_seen = '2000-01-01', removed_at = '2001-01-01'")
    store.state.record_failure(PAGE, "http_error", status=503)
    _dropped(store, NotModified(urls=(PAGE,), links=(f"{BASE}/en/article/12",)))
    last_seen, removed = store.state.db.execute(
        "SELECT last_seen, removed_at FROM pages WHERE qa_id = '7'").fetchone()
    assert last_seen > "2026" and removed is None
    assert merged_failures(tmp_path) == []
    assert f"{BASE}/en/article/12" in pending_urls(tmp_path) and PAGE not in pending_urls(tmp_path)
    assert keys.RECORDS + "unchanged" not in store.stats.get_stats()


def test_a_listing_read_adds_its_links_and_clears_its_earlier_failure(store, tmp_path):
    listing = f"{BASE}/en/list"
    store.state.record_failure(listing, "http_error", status=500)
    _dropped(store, Visited(urls=(listing,), links=LINKS))
    assert merged_failures(tmp_path) == [] and pending_urls(tmp_path) == set(LINKS)


def test_an_invalid_record_becomes_a_failure_with_the_pages_links(tmp_path):
    crawler = _crawler(tmp_path)
    validate, store = ValidationPipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)
    outcome = validate.process_item(_page(asker_gender="f"))
    assert isinstance(outcome, Failed) and outcome.kind == "invalid_record"
    _dropped(store, outcome)
    store.commit()
    [row] = merged_failures(tmp_path)
    assert (row["url"], row["kind"]) == (PAGE, "invalid_record") and "asker_gender" in row["error"]
    assert store.state.stored_record(PAGE) is None
    assert pending_urls(tmp_path) == set(LINKS)
    # Counted once, as dropped by validation, not also as a failed page.
    assert crawler.stats.get_value(keys.VALIDATION_DROPPED) == 1
    assert keys.failures(crawler.stats.get_stats()) == 0
    context_of(crawler).close()


def test_a_write_that_fails_keeps_nothing_of_the_outcome_and_the_crawl_stops(store, tmp_path,
                                                                              monkeypatch):
    stopped = []
    monkeypatch.setattr("pipelines.store.storage_failed", lambda crawler, exc: stopped.append(exc))

    def full(*args, **kwargs):
        raise StorageError("cannot write state-main.sqlite: No space left on device")

    monkeypatch.setattr(store.state, "record_failure", full)
    failed = Failed(urls=(PAGE,), kind="http_error", status=500, error="HTTP 500")
    failed.links = LINKS
    with pytest.raises(NotStoredItem):
        store.process_item(failed)
    assert len(stopped) == 1 and pending_urls(tmp_path) == set()
    assert keys.FAILURES + "http_error" not in store.stats.get_stats()


class _Cluster:
    def __init__(self, out_dir):
        self.out_dir, self.acked, self.found_pages = out_dir, [], []

    def found(self, url):
        self.found_pages.append(url)  # a Q&A page of the run (published with the next ack)

    def ack(self, request):
        # What was finished when the ack came: the ack must follow the commit.
        self.acked.append((request.url, pending_urls(self.out_dir)))


def test_a_distributed_page_is_acked_after_it_is_finished_never_when_not_stored(store, tmp_path,
                                                                                 monkeypatch):
    cluster = _Cluster(tmp_path)
    context_of(store.crawler).cluster = cluster
    store.state.add_pending([PAGE])
    request = Request(PAGE)
    response = type("Resp", (), {"request": request})()
    send = store.crawler.signals.send_catch_log
    record = store.process_item(_page())
    send(signals.item_scraped, item=record, response=response, spider=store.crawler.spider)
    assert cluster.acked == [(PAGE, set(LINKS))]
    assert cluster.found_pages == [PAGE]

    monkeypatch.setattr("pipelines.store.storage_failed", lambda crawler, exc: None)
    monkeypatch.setattr(store.state, "mark_done", lambda urls: (_ for _ in ()).throw(
        StorageError("disk full")))
    other = Failed(urls=(f"{BASE}/en/article/3",), kind="network_error")
    with pytest.raises(NotStoredItem) as info:
        store.process_item(other)
    send(signals.item_dropped, item=other, response=response, spider=store.crawler.spider,
         exception=info.value)
    assert len(cluster.acked) == 1, "a page the state could not take stays in flight"
    assert cluster.found_pages == [PAGE]  # an outcome the state could not take is not counted


def test_a_redirect_to_a_page_already_scheduled_finishes_the_redirecting_urls(store, tmp_path):
    old = f"{BASE}/en/old-article-7"
    store.state.add_pending([old])
    request = Request(PAGE, meta={"redirect_urls": [old]})
    store.crawler.signals.send_catch_log(signals.request_dropped, request=request,
                                         spider=store.crawler.spider)
    assert pending_urls(tmp_path) == set()


def test_without_a_crawl_state_records_go_on_and_failures_are_still_counted():
    crawler = _crawler()
    store = StorePipeline.from_crawler(crawler)
    assert store.state is None
    page = _page()
    assert store.process_item(page) is page.record
    assert "duplicate" in str(_dropped(store, _page()))  # the feeds get each qa_id once
    _dropped(store, Failed(urls=(PAGE,), kind="http_error", status=404, error="HTTP 404"))
    stats = crawler.stats.get_stats()
    assert stats[keys.FAILURES + "http_error"] == 1 and stats[keys.DUPLICATES] == 1
    assert keys.RECORDS + "new" not in stats


def test_the_shared_objects_live_in_the_context_not_on_the_crawler(tmp_path):
    crawler = _crawler(tmp_path, QA_RECHECK_OLDER_THAN="0s")
    before = set(vars(crawler))
    StorePipeline.from_crawler(crawler)
    ValidationPipeline.from_crawler(crawler)
    crawler.spider.request_for(PAGE)  # the spider reads the state through the context
    assert set(vars(crawler)) == before
    context = crawler.get_extension(CrawlContext)
    assert crawler.spider.state is context.state and context.state.out_dir == tmp_path
    context.close()


def test_the_store_writes_the_validated_json_it_is_given_not_a_second_conversion(store):
    """The record upserted is the validation pipeline's JSON (``stored``) when there is one:
    here a sample page's, so the page counts unchanged though the record object differs."""
    site = SampleSite(n_pages=3, seed=7)
    qa_id = site.qa_ids()[0]
    store_pages(store.state, sample_site_pages(site, [qa_id], base=BASE))
    [(record_json, url)] = list(_stored_rows(store))
    page = _page(qa_id=qa_id, url=url)
    page.stored = record_json
    store.process_item(page)
    assert store.stats.get_value(keys.RECORDS + "unchanged") == 1
    assert to_json_dict(page.record) != record_json  # what was written is ``stored``


def _stored_rows(store):
    import json

    for body, url in store.state.db.execute("SELECT record, url FROM pages"):
        yield json.loads(body), url


# -- commits a few pages at a time ---------------------------------------------------------------
def _pages(n, start=100):
    pages = []
    for k in range(start, start + n):
        url = f"{BASE}/en/article/{k}"
        fetch = Fetch(url=url, status=200, key=url,
                      fetched_at=dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc))
        pages.append(FetchedPage(QARecord(qa_id=str(k), url=url, title=f"Question {k}"), fetch,
                                 urls=(url,), links=(f"{BASE}/en/article/{k + 1000}",)))
    return pages


def _committed(out) -> set[str]:
    """The qa_ids another process reads in the state."""
    import sqlite3

    db = sqlite3.connect(f"file:{out}/.qa-crawler/state-main.sqlite?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT qa_id FROM pages")}
    finally:
        db.close()


def test_pages_are_committed_a_few_at_a_time_and_the_rest_as_the_spider_closes(tmp_path):
    from pipelines.store import COMMIT_PAGES

    crawler = _crawler(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    pages = _pages(COMMIT_PAGES + 3)
    for page in pages[:COMMIT_PAGES - 1]:
        store.process_item(page)
    assert _committed(tmp_path) == set()  # held: one transaction for the lot
    assert store.state.stored_record(pages[0].key)  # (this process reads what it wrote)
    store.process_item(pages[COMMIT_PAGES - 1])
    assert _committed(tmp_path) == {p.record.qa_id for p in pages[:COMMIT_PAGES]}
    for page in pages[COMMIT_PAGES:]:
        store.process_item(page)
    assert len(_committed(tmp_path)) == COMMIT_PAGES
    store.close_spider()
    assert _committed(tmp_path) == {p.record.qa_id for p in pages}
    context_of(crawler).close()


def test_a_page_not_committed_is_committed_commit_seconds_after_it_was_stored(tmp_path):
    import time

    from pipelines.store import COMMIT_SECONDS

    crawler = _crawler(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    [page] = _pages(1)
    store.process_item(page)
    assert _committed(tmp_path) == set()
    due = store._due
    assert due is not None and due.active() and due.getTime() <= time.time() + COMMIT_SECONDS
    due.func(*due.args, **due.kw)  # the reactor's call, when it comes
    assert _committed(tmp_path) == {page.record.qa_id}
    assert store._due is None
    context_of(crawler).close()


def test_a_page_that_cannot_be_stored_in_a_batch_keeps_the_pages_before_it(tmp_path,
                                                                             monkeypatch):
    crawler = _crawler(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    monkeypatch.setattr("pipelines.store.storage_failed", lambda crawler, exc: None)
    first, second, third = _pages(3)
    store.process_item(first)
    store.process_item(second)
    original = store.state.mark_done

    def full(urls):
        raise StorageError("cannot write state-main.sqlite: No space left on device")

    monkeypatch.setattr(store.state, "mark_done", full)
    with pytest.raises(NotStoredItem):
        store.process_item(third)
    monkeypatch.setattr(store.state, "mark_done", original)
    assert _committed(tmp_path) == {first.record.qa_id, second.record.qa_id}
    assert not store.state.db.in_transaction
    assert store.state.stored_record(third.key) is None  # none of it kept
    assert third.links[0] not in pending_urls(tmp_path)
    context_of(crawler).close()


def test_a_kill_before_a_commit_leaves_its_pages_pending_for_the_next_run(tmp_path):
    import subprocess
    import sys

    code = f"""
import os
from tests.test_store import _crawler, _pages
from pipelines.store import StorePipeline
store = StorePipeline.from_crawler(_crawler({str(tmp_path)!r}))
pages = _pages(5)
store.state.add_pending([p.key for p in pages])
for page in pages[:3]:
    store.process_item(page)
os._exit(9)  # killed: the three pages were never committed
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 9, proc.stderr[-2000:]
    assert _committed(tmp_path) == set()
    assert {p.key for p in _pages(5)} <= pending_urls(tmp_path)  # fetched again next run


def test_a_batch_committed_by_another_hand_is_followed_by_a_new_one(tmp_path):
    """The end of the run commits the store's batch before it exports: pages stored after
    that (a closing spider's last outcomes) go into a new batch, not one page a commit."""
    crawler = _crawler(tmp_path)
    store = StorePipeline.from_crawler(crawler)
    first, second, third = _pages(3)
    store.process_item(first)
    store.process_item(second)
    store.state.commit_held()  # as RunLifecycle.commit_pages does (hand_over)
    assert _committed(tmp_path) == {first.record.qa_id, second.record.qa_id}
    store.process_item(third)
    assert store.state.holding and third.record.qa_id not in _committed(tmp_path)
    store.close_spider()
    assert third.record.qa_id in _committed(tmp_path)
    context_of(crawler).close()
