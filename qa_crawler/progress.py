"""Progress while a crawl runs (pages, records, failures, frontier, rate, ETA), on stderr: a live
display (rich) on a terminal, a plain line every ``QA_PROGRESS_INTERVAL`` seconds elsewhere."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from qa_crawler import stats as keys
from qa_crawler.context import state_of


def eta_seconds(pending: int | None, rate: float) -> float | None:
    """Seconds until the frontier is empty at this rate; None when it cannot be told."""
    if pending is None or rate <= 0:
        return None
    return pending / rate


def clock(seconds: float | None) -> str:
    """``1h05m``, ``4m10s``, ``12s``; ``?`` for an unknown time."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress_line(stats: dict, elapsed: float, pending: int | None = None) -> str:
    """One line of progress; ``pending`` is the frontier's size (discovered, not yet fetched)."""
    pages = stats.get(keys.PAGES, 0)
    records = stats.get(keys.ITEMS, 0)
    rate = pages / elapsed if elapsed > 0 else 0.0
    frontier = "?" if pending is None else str(pending)
    return (f"pages {pages} | records {records} | failures {keys.failures(stats)} | "
            f"pending {frontier} | ETA {clock(eta_seconds(pending, rate))} | {rate:.1f} pages/s | "
            f"elapsed {clock(elapsed)}")


class Progress:
    """Shows progress every ``QA_PROGRESS_INTERVAL`` seconds (0 turns it off), and once more when
    the spider closes, so that the last thing shown before the summary is up to date."""

    def __init__(self, crawler, interval: float, stream=None):
        self.crawler = crawler
        self.interval = interval
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None
        self.live = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("QA_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        # Before the end of the run's work (RunLifecycle, lower priority) prints or exports.
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def pending(self) -> int | None:
        """The frontier's size: URLs scheduled and not yet finished (from the crawl state), or
        the scheduler's queue and the downloads under way when the run keeps no state."""
        state = state_of(self.crawler)  # not in __init__: the context is built beside us
        if state is not None:
            return state.pending_count()
        engine = getattr(self.crawler, "engine", None)
        slot = getattr(engine, "_slot", None) or getattr(engine, "slot", None)
        scheduler = getattr(slot, "scheduler", None)
        if scheduler is None or not hasattr(scheduler, "__len__"):
            return None
        return len(scheduler) + len(getattr(engine.downloader, "active", ()))

    def line(self) -> str:
        return progress_line(self.crawler.stats.get_stats(), time.monotonic() - self.started,
                             self.pending())

    def spider_opened(self, spider):
        self.started = time.monotonic()
        if self.tty:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            # Refreshed by our loop (on the reactor), not by rich's own thread.
            self.live = Live(Text("starting"), console=Console(file=self.stream),
                             auto_refresh=False, transient=False, redirect_stdout=False)
            self.live.start()
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval, now=False)

    def show(self) -> None:
        line = self.line()
        if self.live is not None:
            from rich.text import Text

            # One line, cut to the terminal's width: a wrapped line would not be redrawn in place.
            self.live.update(Text(line, no_wrap=True, overflow="ellipsis"), refresh=True)
        else:
            self.stream.write(f"progress: {line}\n")
            self.stream.flush()

    def spider_closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.show()
        if self.live is not None:
            self.live.stop()
            self.live = None
