"""The crawl's components at their own size: Scrapy's get_crawler with our settings, fed real
Request and Response objects (no subprocess, no server)."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from pipelines.store import StorePipeline
from pipelines.validate import ValidationPipeline
from qa_crawler.demo.site import SampleSite
from qa_crawler.record import QARecord
from qa_crawler.spiders.qa import QASpider
from qa_crawler.state import iter_merged_records
from qa_crawler.warc import Location

BASE = "http://127.0.0.1:8123"


def make_crawler(out_dir=None, **overrides):
    """A crawler of the ``qa`` spider with the project's settings, ``overrides`` on top."""
    project = Settings()
    project.setmodule("qa_crawler.settings")
    settings = {k: v for k, v in project.copy_to_dict().items() if k.startswith("QA_")}
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
    """The spider's outputs for one response, the records passed through both pipelines."""
    async def collect():
        return [out async for out in crawler.spider.parse(resp)]

    outputs = asyncio.run(collect())
    validate, store = crawler.qa_pipelines
    return [store.process_item(validate.process_item(o)) if isinstance(o, QARecord) else o
            for o in outputs]


@pytest.fixture
def crawl_of(tmp_path):
    crawlers = []

    def make(**overrides):
        crawler = make_crawler(tmp_path, **overrides)
        crawler.qa_pipelines = (ValidationPipeline.from_crawler(crawler),
                                StorePipeline.from_crawler(crawler))
        crawler.qa_pipelines[1].open_spider(crawler.spider)
        crawlers.append(crawler)
        return crawler

    yield make
    for crawler in crawlers:
        crawler._qa_state.close()


def test_recheck_answered_200_with_the_same_page_counts_it_unchanged(crawl_of, tmp_path):
    site = SampleSite(n_pages=4, seed=3)
    same, edited = site.qa_ids()[:2]
    first = crawl_of()
    for offset, qa_id in enumerate((same, edited)):
        run(first, response(site, site.article_path(qa_id), warc_offset=offset * 1000))
    assert first.stats.get_value("qa/records/new") == 2
    first._qa_state.close()

    site.change_page(edited)
    second = crawl_of()
    # A server without ETag or Last-Modified: the re-check is an unconditional 200.
    for offset, qa_id in enumerate((same, edited)):
        run(second, response(site, site.article_path(qa_id), warc_offset=50_000 + offset,
                             meta={"recheck": True}))
    assert second.stats.get_value("qa/records/unchanged") == 1
    assert second.stats.get_value("qa/records/changed") == 1
    second._qa_state.close()
    history = {rec["qa_id"]: meta for rec, meta in iter_merged_records(tmp_path)}
    assert history[same]["changed_at"] is None
    assert history[edited]["changed_at"] is not None
