"""Progress while a crawl runs (pages, records, failures, rate), on stderr; a live line on a TTY."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from qa_crawler import stats as keys


def progress_line(stats: dict, elapsed: float) -> str:
    pages = stats.get(keys.PAGES, 0)
    records = stats.get(keys.ITEMS, 0)
    rate = pages / elapsed if elapsed > 0 else 0.0
    return (f"pages {pages} | records {records} | failures {keys.failures(stats)} | "
            f"{rate:.1f} pages/s | {elapsed:.0f}s")


class Progress:
    """Prints a progress line every ``QA_PROGRESS_INTERVAL`` seconds (0 turns it off)."""

    def __init__(self, crawler, interval: float, stream=None):
        self.crawler = crawler
        self.interval = interval
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("QA_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval, now=False)

    def show(self) -> None:
        line = progress_line(self.crawler.stats.get_stats(), time.monotonic() - self.started)
        if self.tty:
            self.stream.write(f"\r\033[K{line}")
        else:
            self.stream.write(f"progress: {line}\n")
        self.stream.flush()

    def spider_closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.tty:
            self.stream.write("\n")
