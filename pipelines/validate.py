"""Normalise and validate each record against the record declaration's JSON Schema.

A record that fails is counted per field in the crawl stats (``qa/validation/<field>``) and, when
``QA_DROP_INVALID`` is on (the default), kept out of the dataset and written to the failures
table with the reason. Items that are not records pass through unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging

import jsonschema
from scrapy.exceptions import DropItem

from qa_crawler.record import QARecord, json_schema, to_json_dict
from qa_crawler.guard import storage_failed
from qa_crawler.state import StorageError, for_crawler

logger = logging.getLogger(__name__)


class ValidationPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.drop = crawler.settings.getbool("QA_DROP_INVALID", True)
        self.validator = jsonschema.Draft202012Validator(
            json_schema(), format_checker=jsonschema.FormatChecker()
        )
        self.state = for_crawler(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        if not isinstance(item, QARecord):
            return item
        # The crawl time is set here, not in the parser: the parser never reads the clock.
        if item.crawled_at is None:
            item.crawled_at = dt.datetime.now(dt.timezone.utc)
        data = to_json_dict(item)
        errors = sorted(self.validator.iter_errors(data), key=lambda e: list(e.path))
        if not errors:
            item.validated_json = data  # the store writes this, not a second conversion
            self.stats.inc_value("qa/validation/passed")
            return item
        fields = sorted({str(e.path[0]) if e.path else "(record)" for e in errors})
        for name in fields:
            self.stats.inc_value(f"qa/validation/{name}")
        reason = "; ".join(
            f"{'.'.join(map(str, e.path)) or 'record'}: {e.message}" for e in errors
        )[:500]
        if not self.drop:
            logger.warning("Invalid record kept (QA_DROP_INVALID off) %s: %s", item.url, reason)
            return item
        self.stats.inc_value("qa/validation/dropped")
        if self.state is not None:
            fetch = getattr(item, "fetch_info", None)
            try:
                self.state.record_failure(fetch.url if fetch else item.url, "invalid_record",
                                          status=item.http_status, error=reason)
            except StorageError as exc:
                storage_failed(self.crawler, exc)
        raise DropItem(f"invalid record {item.url}: {reason}")
