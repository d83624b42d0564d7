"""Stop a crawl promptly when its folder cannot be written: one line naming the file and cause.

A full disk, a read-only file system or an I/O error is not the site's fault: it is not counted
as a failed page, and the crawl does not go on fetching pages it cannot keep. What was stored
before stays (every record is committed as it arrives); the run ends with the finish reason
``write_error`` and exit status 3, and the same command goes on once the disk is fixed.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest

from qa_crawler.stats import WRITE_ERROR as STAT
from qa_crawler.state import StorageError

logger = logging.getLogger(__name__)

REASON = "write_error"


class NotStored(IgnoreRequest):
    """A response dropped because the folder cannot be written (the crawl is stopping)."""


def storage_failed(crawler, exc: Exception) -> None:
    """Say once what cannot be written and close the spider (later calls only add nothing)."""
    if crawler.stats.get_value(STAT):
        return
    crawler.stats.set_value(STAT, str(exc))
    logger.error("Stopping: %s", exc)
    engine = crawler.engine
    if engine is not None and engine.spider is not None and engine.running:
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(engine.close_spider_async(reason=REASON))


def os_error(path, exc: OSError) -> StorageError:
    return StorageError(f"cannot write {path}: {exc.strerror or exc}")


class StorageGuardMiddleware:
    """Spider middleware: a StorageError raised in a callback stops the crawl in one line."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_exception(self, response, exception, spider=None):
        if isinstance(exception, StorageError):
            storage_failed(self.crawler, exception)
            return []
        return None
