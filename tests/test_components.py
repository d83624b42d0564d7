"""The crawl's components at their own size: Scrapy's get_crawler with our settings, fed real
Request and Response objects (no subprocess, no server)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.test import get_crawler

from pipelines.store import StorePipeline
from pipelines.validate import ValidationPipeline
from qa_crawler import stats as keys
from qa_crawler.context import state_of
from qa_crawler.demo.site import SampleSite
from qa_crawler.extensions import RunLifecycle
from qa_crawler.fetched import Failed, FetchedPage, Outcome, Visited
from qa_crawler.record import record_fields
from qa_crawler.spiders.qa import QASpider
from qa_crawler.folder import iter_merged_records, merged_runs
from qa_crawler.warc import Location

BASE = "http://127.0.0.1:8123"


def make_crawler(out_dir=None, **overrides):
    """A crawler of the ``qa`` spider with the project's settings, ``overrides`` on top."""
    from qa_crawler import settings as project

    settings = {k: getattr(project, k) for k in dir(project) if k.isupper()}
    settings.update(QA_START_URL=f"{BASE}/", QA_OUT_DIR=str(out_dir or ""), **overrides)
    crawler = get_crawler(QASpider, settings)
    crawler.spider = crawler._create_spider()
    return crawler


def response(site, path, *, warc_offset=0, meta=None):
    status, headers, body = site.render(path)
    request = Request(BASE + path, meta={"qa_warc": Location("main-1.warc.gz", warc_offset),
                                         **(meta or {})})
    return HtmlResponse(BASE + path, status=status, headers=headers, body=body, request=request)


def run(crawler, resp) -> list:
    """The spider's outputs for one response, its outcome passed through both pipelines (what
    the store returned, or the DropItem it raised)."""
    outputs = asyncio.run(_outputs(crawler, resp))
    return [through_pipelines(crawler, o) if isinstance(o, Outcome) else o for o in outputs]


def through_pipelines(crawler, item):
    validate, store = crawler.qa_pipelines
    try:
        return store.process_item(validate.process_item(item))
    except DropItem as exc:
        return exc


@pytest.fixture
def crawl_of(tmp_path):
    crawlers = []

    def make(**overrides):
        crawler = make_crawler(tmp_path, **overrides)
        crawler.qa_pipelines = (ValidationPipeline.from_crawler(crawler),
                                StorePipeline.from_crawler(crawler))
        crawlers.append(crawler)
        return crawler

    yield make
    for crawler in crawlers:
        state_of(crawler).close()


def test_recheck_answered_200_with_the_same_page_counts_it_unchanged(crawl_of, tmp_path):
    site = SampleSite(n_pages=4, seed=3)
    same, edited = site.qa_ids()[:2]
    first = crawl_of()
    for offset, qa_id in enumerate((same, edited)):
        run(first, response(site, site.article_path(qa_id), warc_offset=offset * 1000))
    assert first.stats.get_value("qa/records/new") == 2
    state_of(first).close()

    site.change_page(edited)
    second = crawl_of()
    # A server without ETag or Last-Modified: the re-check is an unconditional 200.
    for offset, qa_id in enumerate((same, edited)):
        run(second, response(site, site.article_path(qa_id), warc_offset=50_000 + offset,
                             meta={"recheck": True}))
    assert second.stats.get_value("qa/records/unchanged") == 1
    assert second.stats.get_value("qa/records/changed") == 1
    state_of(second).close()
    history = {rec["qa_id"]: meta for rec, meta in iter_merged_records(tmp_path)}
    assert history[same]["changed_at"] is None
    assert history[edited]["changed_at"] is not None


def test_the_user_agent_is_built_from_the_contact_of_this_run():
    crawler = make_crawler(QA_CONTACT="mailto:crawl-desk@example.org")
    agent = crawler.settings["USER_AGENT"]
    assert agent.startswith("qa-crawler/") and "(+mailto:crawl-desk@example.org;" in agent
    assert make_crawler(USER_AGENT="our-own/1.0").settings["USER_AGENT"] == "our-own/1.0"


def test_a_custom_article_pattern_gives_the_ids_of_the_page_and_of_its_similar_entries():
    site = SampleSite(n_pages=6, seed=4)
    qa_id = next(q for q in site.qa_ids() if site.expected_record(q, BASE)["similar"])
    crawler = make_crawler(QA_ARTICLE_URL_PATTERN=r"/(?P<id>article/[0-9]+)$")
    [page] = [o for o in asyncio.run(_outputs(crawler, response(site, site.article_path(qa_id))))
              if isinstance(o, FetchedPage)]
    rec = page.record
    assert rec.qa_id == f"article/{qa_id}"
    expected = site.expected_record(qa_id, BASE)["similar"]
    assert [s.qa_id for s in rec.similar] == [f"article/{s['qa_id']}" for s in expected]


async def _outputs(crawler, resp):
    return [out async for out in crawler.spider.parse(resp)]


def test_the_spider_yields_the_page_with_its_fetch_and_provenance_declared():
    site = SampleSite(n_pages=3, seed=5)
    qa_id = site.qa_ids()[0]
    path = site.article_path(qa_id)
    status, headers, body = site.render(path)
    request = Request(f"{BASE}{path}?utm_source=x",
                      meta={"qa_warc": Location("main-2.warc.gz", 4096)})
    resp = HtmlResponse(request.url, status=status, headers=headers, body=body, request=request)
    crawler = make_crawler()
    [page] = [o for o in asyncio.run(_outputs(crawler, resp)) if isinstance(o, FetchedPage)]
    assert page.fetch.key_url == f"{BASE}{path}"  # the state's key: the canonical URL
    assert (page.fetch.etag, page.fetch.last_modified) == (headers["ETag"],
                                                           headers["Last-Modified"])
    rec = page.record
    assert (rec.http_status, rec.warc_file, rec.warc_offset) == (200, "main-2.warc.gz", 4096)
    assert rec.crawled_at == page.fetch.fetched_at and rec.crawled_at.tzinfo is not None
    # Nothing rides on the record outside its columns.
    assert set(vars(rec)) == {f.name for f in record_fields()}


def test_end_of_run_steps_each_run_and_a_failed_export_is_named_not_hidden(crawl_of, tmp_path):
    site = SampleSite(n_pages=3, seed=6)
    crawler = crawl_of(QA_REPORT=True)
    ext = crawler.get_extension(RunLifecycle)  # built with the crawler, as in a crawl
    ext.spider_opened(crawler.spider)
    run(crawler, response(site, site.article_path(site.qa_ids()[0])))
    # A folder where the export must put its qa table: the rename into place fails.
    (tmp_path / "qa.parquet").mkdir()
    (tmp_path / "qa.parquet" / "keep").write_text("x")
    ext.spider_closed(crawler.spider, "finished")
    stats = crawler.stats.get_stats()
    assert stats[keys.MONITORS_VERDICT] == "pass", stats  # the monitors ran before
    assert "qa.parquet" in stats[keys.END_ERROR + "export"]
    assert stats[keys.REPORT_ERROR] == "the dataset was not written"
    assert keys.DATASET_ROWS not in stats
    [run_row] = merged_runs(tmp_path)  # and the run was recorded as finished
    assert run_row["finish_reason"] == "finished" and run_row["monitors"]["verdict"] == "pass"


def test_the_export_at_the_end_of_a_run_takes_every_record_from_the_columns_parts(
        crawl_of, tmp_path, monkeypatch):
    """The records gathered for the next part are written as one before the export (written as
    the state closed, after it, the export read them from their JSON texts)."""
    from qa_crawler import apart, columns
    from qa_crawler.state import STATE_DIRNAME

    site = SampleSite(n_pages=4, seed=6)
    crawler = crawl_of(QA_REPORT=False)
    ext = crawler.get_extension(RunLifecycle)
    ext.spider_opened(crawler.spider)
    for qa_id in site.qa_ids()[:3]:
        run(crawler, response(site, site.article_path(qa_id)))
    assert not columns.part_files(tmp_path / STATE_DIRNAME)  # a part holds ~4 MB of texts
    held_at_export = []
    in_fresh_process = apart.in_fresh_process

    def export_apart(fn, *args, **kwargs):
        held_at_export.append(len(columns.PartIndex(tmp_path / STATE_DIRNAME)))
        return in_fresh_process(fn, *args, **kwargs)

    monkeypatch.setattr(apart, "in_fresh_process", export_apart)
    ext.spider_closed(crawler.spider, "finished")
    assert crawler.stats.get_value(keys.DATASET_ROWS) == 3, crawler.stats.get_stats()
    assert held_at_export == [3]


def _crawl_closed_with_a_background_report(crawl_of, monkeypatch, start_detached):
    """A one-page crawl closed (spider_closed) with QA_REPORT_BACKGROUND, its report's process
    started by ``start_detached``; the engine has not stopped yet."""
    from qa_crawler import apart

    monkeypatch.setattr(apart, "start_detached", start_detached)
    site = SampleSite(n_pages=3, seed=6)
    crawler = crawl_of(QA_REPORT=True, QA_REPORT_BACKGROUND=True)
    ext = crawler.get_extension(RunLifecycle)
    ext.spider_opened(crawler.spider)
    run(crawler, response(site, site.article_path(site.qa_ids()[0])))
    ext.spider_closed(crawler.spider, "finished")
    return crawler


def test_the_background_report_starts_only_once_the_engine_has_stopped(crawl_of, tmp_path,
                                                                       monkeypatch):
    # The WARC index and the state are closed after spider_closed: a report process started
    # there would run beside the crawl's whole heap. It starts on engine_stopped instead.
    from scrapy import signals

    started = []
    crawler = _crawl_closed_with_a_background_report(
        crawl_of, monkeypatch, lambda argv, log: started.append(argv) or 4242)
    stats = crawler.stats.get_stats()
    assert stats[keys.DATASET_ROWS] == 1
    assert stats[keys.REPORT] == str((tmp_path / "report.html").resolve())
    assert started == []  # not while the engine is still closing
    crawler.signals.send_catch_log(signals.engine_stopped)
    [argv] = started
    assert argv[-2:] == ["report", str(tmp_path)]
    assert not (tmp_path / "report.html").exists()  # drawn by that process, not here


def test_the_report_is_drawn_at_once_when_its_process_cannot_start(crawl_of, tmp_path,
                                                                  monkeypatch):
    from scrapy import signals

    def refuse(argv, log):
        raise OSError("no more processes")

    crawler = _crawl_closed_with_a_background_report(crawl_of, monkeypatch, refuse)
    crawler.signals.send_catch_log(signals.engine_stopped)
    stats = crawler.stats.get_stats()
    assert (tmp_path / "report.html").is_file()
    assert keys.REPORT_BACKGROUND not in stats or stats[keys.REPORT_BACKGROUND] is None


def test_end_of_run_is_off_without_a_crawl_state():
    with pytest.raises(NotConfigured):
        RunLifecycle.from_crawler(make_crawler())


@pytest.mark.parametrize("field, value, reason", [
    ("asker_gender", "f", "asker_gender"),
    ("asked_on", "2016-13-45", "asked_on"),
    ("asker_age_min", 70000, "asker_age_min"),
    ("qa_id", "", "qa_id"),
    ("parse_issues", [1], "parse_issues"),
])
def test_the_fast_validator_drops_what_the_schema_forbids_naming_the_field(
        crawl_of, field, value, reason):
    """fastjsonschema decides, jsonschema names the fields: the same rules either way; a
    record it drops becomes a failure outcome for the store, with the page's links."""
    from qa_crawler.record import to_json_dict

    crawler = crawl_of()
    validate = crawler.qa_pipelines[0]
    site = SampleSite(n_pages=5, seed=2)
    (page,) = [o for o in asyncio.run(_outputs(crawler, response(site, site.article_path(
        site.qa_ids()[0])))) if isinstance(o, FetchedPage)]
    assert validate.process_item(page) is page  # a good record passes, its JSON kept
    assert page.stored == to_json_dict(page.record)
    assert "validator" not in vars(validate)  # jsonschema only for a record the fast one drops
    bad = FetchedPage(dataclasses.replace(page.record, **{field: value}), page.fetch,
                      urls=page.urls, links=page.links)
    failed = validate.process_item(bad)
    assert isinstance(failed, Failed) and failed.kind == "invalid_record"
    assert reason in failed.error
    assert (failed.urls, failed.links) == (page.urls, page.links) and page.links
    assert crawler.stats.get_value(keys.VALIDATION + reason) == 1
    assert "validator" in vars(validate)


def test_the_spider_yields_one_outcome_per_page_and_writes_nothing(crawl_of, tmp_path):
    """A listing gives a Visited with its links, then the requests for them; a Q&A URL whose
    page is not one gives a not_qa_page failure. The state stays as it was: the store writes."""
    import sqlite3

    site = SampleSite(n_pages=6, seed=8)
    crawler = crawl_of()
    home, *requests = asyncio.run(_outputs(crawler, response(site, "/")))
    assert isinstance(home, Visited) and home.urls == (f"{BASE}/",)
    assert home.links and set(home.links) == {r.url for r in requests}
    status, headers, body = site.render("/en/faq/")
    request = Request(f"{BASE}/en/article/1", meta={"article": True})
    not_qa = HtmlResponse(request.url, status=200, headers=headers, body=body, request=request)
    failed, *_ = asyncio.run(_outputs(crawler, not_qa))
    assert isinstance(failed, Failed) and failed.kind == "not_qa_page" and failed.error
    db = sqlite3.connect(tmp_path / ".qa-crawler" / "state-main.sqlite")
    assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("frontier", "pages", "failures")] == [0, 0, 0]
    db.close()


def test_the_errback_yields_a_failure_or_a_visit_naming_the_urls_the_request_finishes():
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.python.failure import Failure

    crawler = make_crawler()
    request = Request(f"{BASE}/en/article/5?utm_source=x", meta={
        "redirect_urls": [f"{BASE}/en/a/5#top"], "retry_times": 2, "start": True})
    failure = Failure(HttpError(HtmlResponse(request.url, status=410, request=request), "gone"))
    failure.request = request
    assert list(crawler.spider.failed(failure)) == [Failed(
        urls=(f"{BASE}/en/article/5", f"{BASE}/en/a/5"), kind="http_error", status=410,
        error="HTTP 410", attempts=3, start=True)]
    refused = Failure(IgnoreRequest("Forbidden by robots.txt"))
    refused.request = Request(f"{BASE}/en/private/1")
    assert list(crawler.spider.failed(refused)) == [Visited(urls=(f"{BASE}/en/private/1",))]
    assert crawler.stats.get_value(keys.SKIPPED_IGNORED) == 1
    assert keys.failures(crawler.stats.get_stats()) == 0  # counted by the store, not here


def test_naming_the_background_report_imports_no_charts():
    # The crawl's process only names the report it leaves to another process: importing the
    # charts (pandas, matplotlib) there cost 1.2 s of the crawl's end and their memory.
    import subprocess
    import sys

    code = ("import sys; import qa_crawler.extensions, qa_crawler.commands; "
            "from qa_crawler.folder import REPORT_NAME; "
            "print(REPORT_NAME, sorted(m for m in ('pandas', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["report.html", "[]"], out.stderr[-2000:]
