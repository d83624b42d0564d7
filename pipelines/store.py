"""Deduplicate records by qa_id and store them durably as they arrive.

Storage is the crawl state of the output folder (:mod:`qa_crawler.state`): every record is
committed when it arrives, so a killed crawl keeps what it collected. The dataset folder is
written from the state at the end of the run (:mod:`qa_crawler.extensions`).
"""

from __future__ import annotations

from scrapy.exceptions import DropItem, NotConfigured

from qa_crawler.fetched import FetchedPage
from qa_crawler.record import to_json_dict
from pipelines.privacy import export_options
from qa_crawler import stats as keys
from qa_crawler.guard import storage_failed
from qa_crawler.state import STATE_DIRNAME, StorageError, for_crawler

class StorePipeline:
    def __init__(self, crawler, state):
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.seen: set[str] = set()
        settings = crawler.settings
        # Kept in the folder now, so a killed crawl's next run and `export` apply them too.
        export_options(
            state.out_dir / STATE_DIRNAME,
            settings.getlist("QA_REDACT") if settings.get("QA_REDACT") is not None else None,
            settings.get("QA_SPLIT_RATIOS") or None,
        )

    @classmethod
    def from_crawler(cls, crawler):
        state = for_crawler(crawler)
        if state is None:
            # Without QA_OUT_DIR records go only to feed exports (-O): the usual case for
            # `scrapy crawl`, so no message (Scrapy logs a NotConfigured's message as a warning).
            raise NotConfigured
        return cls(crawler, state)

    def process_item(self, item):
        if not isinstance(item, FetchedPage):
            return item
        record, fetch = item.record, item.fetch
        if record.qa_id in self.seen:
            self.stats.inc_value(keys.DUPLICATES)
            raise DropItem(f"duplicate qa_id {record.qa_id} ({record.url})")
        self.seen.add(record.qa_id)
        try:
            outcome = self.state.upsert(
                item.stored or to_json_dict(record), fetch.key_url, etag=fetch.etag,
                last_modified=fetch.last_modified, seen_at=fetch.fetched_at,
            )
        except StorageError as exc:
            storage_failed(self.crawler, exc)
            raise DropItem(f"not stored: {exc}", log_level="DEBUG") from None
        self.stats.inc_value(keys.RECORDS + outcome)
        return record  # feed exports, if any, get the record
