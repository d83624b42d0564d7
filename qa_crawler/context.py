"""The objects a crawl's components share, owned by one Scrapy extension (:class:`CrawlContext`).

- ``state``: the crawl state of the output folder (``QA_OUT_DIR``, worker ``QA_WORKER``), opened
  when the extension is built and closed when the engine stops; None without ``QA_OUT_DIR``
  (a plain ``scrapy crawl -O``). The store pipeline is its only writer during a crawl; the
  spider, the middlewares and the other extensions read it.
- ``cluster``: in a distributed crawl, the scheduler (:class:`qa_crawler.cluster.ClusterScheduler`)
  registers itself here when Scrapy builds it; None otherwise.

Components find it with :func:`context_of` (``crawler.get_extension``): middlewares and pipelines
in ``from_crawler``; the spider and other extensions, which Scrapy builds before the extension
manager exists, when they first need it. The folder's lock is not taken here: ``qa-crawler
crawl`` takes it before the crawler is made (``CrawlState.lock``) and holds it until the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals

from qa_crawler.state import CrawlState

if TYPE_CHECKING:
    from qa_crawler.cluster import ClusterScheduler


class CrawlContext:
    def __init__(self, crawler):
        out_dir = crawler.settings.get("QA_OUT_DIR")
        self.state: CrawlState | None = (
            CrawlState(out_dir, worker=crawler.settings.get("QA_WORKER")) if out_dir else None)
        self.cluster: ClusterScheduler | None = None

    @classmethod
    def from_crawler(cls, crawler):
        context = cls(crawler)
        # After spider_closed, whose handlers (the end of the run, progress) still read the state.
        crawler.signals.connect(context.close, signal=signals.engine_stopped)
        return context

    def close(self) -> None:
        if self.state is not None:
            self.state.close()


def context_of(crawler) -> CrawlContext:
    """The crawler's context; a RuntimeError says so when the extension is not enabled."""
    context = crawler.get_extension(CrawlContext)
    if context is None:
        raise RuntimeError("qa_crawler.context.CrawlContext is not in the EXTENSIONS setting")
    return context


def state_of(crawler) -> CrawlState | None:
    """The crawl state of the crawler's output folder (None without ``QA_OUT_DIR``)."""
    return context_of(crawler).state
