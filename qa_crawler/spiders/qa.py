"""The ``qa`` spider: which URLs to fetch and follow. It calls the parser; it holds no selectors.

It routes and yields: every request it handles ends in one outcome item (:mod:`qa_crawler.fetched`:
the page with its record, a page without one, a 304, a failure) naming the URLs that finish with
it and the links it found, beside the requests for those links. It reads the crawl state (what
is stored, pending, failed, due for a re-check) and never writes it: the store pipeline does.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cached_property
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.spidermiddlewares.httperror import HttpError

from qa_crawler.durations import parse_duration
from qa_crawler import stats as keys
from qa_crawler.context import context_of
from qa_crawler.fetched import Failed, Fetch, NotModified, Visited
from qa_crawler.guard import NotStored
from qa_crawler.middlewares import FETCHED_AT
from qa_crawler.record import issue_kind
from qa_crawler.folder import known_urls, pending_urls
from qa_crawler.routes import LANG_PREFIX, Routes
from qa_crawler.worker import PageReader, PageWorker, Ticket, WorkerDied, worker_wanted

logger = logging.getLogger(__name__)
_IGNORED = frozenset(IGNORED_EXTENSIONS)

class QASpider(scrapy.Spider):
    name = "qa"

    def __init__(self, start_url: str | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_url = start_url

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._setup(crawler.settings)
        crawler.signals.connect(spider._close_worker, signal=signals.spider_closed)
        crawler.signals.connect(spider._reap_worker, signal=signals.engine_stopped)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        crawler.signals.connect(spider._count_pending, signal=signals.spider_closed)
        return spider

    def _setup(self, settings) -> None:
        self.start_url = self.start_url or settings.get("QA_START_URL")
        parts = urlsplit(self.start_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotConfigured(f"start URL {self.start_url!r} is not an http(s) URL")
        self.host = parts.hostname
        # One pattern routes the crawl and gives the parser the ids of the page and its links.
        self.id_pattern = settings.get("QA_ARTICLE_URL_PATTERN")
        lang = LANG_PREFIX.match(parts.path)
        # Same site: the start URL's host and port; "www." and the bare domain count as one.
        site = parts.netloc.lower().rsplit("@", 1)[-1]
        site = site[4:] if site.startswith("www.") else site
        if not parts.port:
            self.allowed_domains = [site]
        self.site = site
        self.routes = Routes(
            self.id_pattern, site,
            lang=(lang.group(1) if lang else settings.get("QA_LANGUAGE") or "").lower(),
            deny=tuple(settings.getlist("QA_DENY_PATTERNS")), ignored=_IGNORED)
        self.canonical, self.wanted = self.routes.canonical, self.routes.wanted
        self.on_site, self.is_article = self.routes.on_site, self.routes.is_article
        # Canonical URLs this spider has already asked for: a page's links mostly repeat what
        # the crawl has seen, and a Request that the dupe filter would drop still costs its
        # construction and a pass through every spider middleware.
        self.requested: set[str] = set()
        # Pages are read (parsed, validated, their links routed) in the page worker when the
        # site lets us fetch fast (QA_PARSE_PROCESSES), else here; the worker starts with the
        # spider (spider_opened), and a worker that dies leaves its pages in flight pending.
        try:
            self.use_worker = worker_wanted(settings)
        except ValueError as exc:
            raise NotConfigured(str(exc)) from None
        self.worker: PageWorker | None = None
        self.reader: PageReader | None = None
        self.recheck_older = settings.get("QA_RECHECK_OLDER_THAN")
        self.skipped: set[str] = set()
        self._ending: PageWorker | None = None  # the worker closed with the spider, to wait for

    # -- what the folder held when the run began (read when first needed: Scrapy makes the
    # spider before the extensions, among them the context that owns the state) -------------
    @cached_property
    def state(self):
        """The crawl state, read here and written only by the store pipeline (None without
        QA_OUT_DIR)."""
        return context_of(self.crawler).state

    @cached_property
    def _history(self) -> tuple[set[str], set[str], set[str], list[str]]:
        """(stored and fresh, due for a re-check, failed last time, left pending) URLs."""
        if self.state is None:
            return set(), set(), set(), []
        out_dir = self.state.out_dir
        # Every worker's store counts: in a distributed crawl the folder holds several.
        known, recheck = known_urls(out_dir), set()
        if self.recheck_older:
            cutoff = dt.datetime.now(dt.timezone.utc) - parse_duration(self.recheck_older)
            fresh = known_urls(out_dir, fresher_than=cutoff)
            known, recheck = fresh, known - fresh
        # What earlier runs (of any worker) scheduled and did not finish.
        return known, recheck, set(self.state.failed_urls()), sorted(pending_urls(out_dir))

    @property
    def known(self) -> set[str]:
        return self._history[0]

    @property
    def recheck(self) -> set[str]:
        return self._history[1]

    @property
    def stats(self):
        return self.crawler.stats

    # -- routing (canonical, wanted, on_site and is_article are self.routes') ----------------
    def stored(self, url: str) -> bool:
        """A Q&A page stored in the folder when this run started (and not due for a re-check)."""
        url = self.canonical(url)
        return url in self.known and self.is_article(url)

    def request_for(self, url: str, *, start: bool = False) -> scrapy.Request | None:
        url = self.canonical(url)
        if not start and not self.wanted(url):
            return None
        return self.request_to(url, self.is_article(url), start=start)

    def request_to(self, url: str, article: bool, *, start: bool = False
                   ) -> scrapy.Request | None:
        """The request for a canonical URL the crawl may fetch (None: stored, or asked for)."""
        if article and url in self.known:
            # Counted once per page, however many links point at it (the monitors compare it).
            if url not in self.skipped:
                self.skipped.add(url)
                self.stats.set_value(keys.SKIPPED_KNOWN, len(self.skipped))
                cluster = context_of(self.crawler).cluster
                if cluster is not None:
                    cluster.found(url)
            return None
        if not start and url in self.requested:
            return None
        self.requested.add(url)
        headers = {}
        meta = {"article": article}
        if article and url in self.recheck and self.state is not None:
            etag, modified = self.state.validators(url)
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
            meta["recheck"] = True
            meta["handle_httpstatus_list"] = [304]
        # Q&A pages first: they are what the crawl is for, and it keeps the frontier short.
        return scrapy.Request(url, callback=self.parse, errback=self.failed, headers=headers,
                              meta=meta, priority=10 if article else 0, dont_filter=start)

    def follow(self, urls, *, routed: bool = False) -> tuple[list[scrapy.Request], tuple[str, ...]]:
        """Requests for a page's links, and their canonical URLs: the links its outcome carries
        to the frontier (the store adds them in the transaction that finishes the page).
        ``routed``: the links are (canonical URL, is a Q&A page) pairs that passed the routes
        already (the page worker's)."""
        made = (self.request_to(url, article) for url, article in urls) if routed else map(
            self.request_for, urls)
        requests = [req for req in made if req is not None]
        return requests, tuple(self.canonical(req.url) for req in requests)

    def finishing(self, request) -> tuple[str, ...]:
        """The canonical URLs that finish with the page of ``request``: its own first (the
        page's key in the state), then those it was redirected from."""
        urls = [request.url, *request.meta.get("redirect_urls", ())]
        return tuple(dict.fromkeys(map(self.canonical, urls)))

    def _count_pending(self, spider) -> None:
        if self.state is not None:
            self.stats.set_value(keys.FRONTIER_PENDING, len(pending_urls(self.state.out_dir)))

    async def start(self):
        # In a distributed crawl the start page goes through the shared seen set, so that only
        # one worker fetches it.
        clustered = context_of(self.crawler).cluster is not None
        first = self.request_for(self.start_url, start=not clustered)
        if first is not None:
            first.meta["start"] = True
            yield first
        if self.state is not None:
            # The frontier an earlier run left (killed, stopped, out of disk); stored pages
            # are skipped by request_for.
            _, recheck, failed_before, left_pending = self._history
            resumed = [req for req in map(self.request_for, left_pending) if req is not None]
            self.stats.set_value(keys.FRONTIER_RESUMED, len(resumed))
            for req in resumed:
                yield req
            # Pages that failed last time and pages due for a re-check.
            for url in sorted(failed_before):
                req = self.request_for(url)
                if req is not None:
                    yield req
            for url in sorted(recheck):
                req = self.request_for(url)
                if req is not None:
                    yield req

    # -- callbacks ---------------------------------------------------------------------------
    def fetch_of(self, response) -> Fetch:
        """How ``response`` was fetched, in the terms the record and the store use."""
        return Fetch(
            url=response.url, status=response.status,
            # The fetch time is read here, not in the parser: the parser never reads the clock.
            # Archived, the page has the moment of its WARC record (what a rebuild reads).
            fetched_at=response.meta.get(FETCHED_AT) or dt.datetime.now(dt.timezone.utc),
            content_type=_header(response, b"Content-Type"),
            etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
            warc=response.meta.get("qa_warc"), key=self.canonical(response.request.url),
        )

    async def _read(self, response):
        """The page's reading (its record, its links routed), in the page worker when there is
        one; WorkerDied when it died with the page."""
        if self.worker is not None and self.worker.died:  # between pages: none lost
            self._worker_died(WorkerDied(self.worker.died), in_flight=False)
        fetch = self.fetch_of(response)
        if self.worker is not None:
            return await self.worker.read(response.body, fetch)
        if isinstance(fetch.warc, Ticket):
            # Archived by the worker that has died since: whether the record was written is
            # not known, so the page stays pending like those it was reading.
            raise WorkerDied("the page worker that archived the page died")
        if self.reader is None:
            self.reader = PageReader(self.routes)
        return self.reader(response.body, fetch)

    def _opened(self, spider):
        # Kept with the run, so that `rebuild` reads the stored pages with the same pattern.
        self.stats.set_value(keys.ARTICLE_URL_PATTERN, self.id_pattern)
        if self.use_worker:
            try:
                self.worker = PageWorker(self.routes)
            except OSError as exc:
                logger.warning("The page worker could not start (%s): pages are read in the "
                               "crawl's process", exc)
                return
            self.stats.set_value(keys.PAGE_WORKER, self.worker.pid)

    def _worker_died(self, died: WorkerDied, *, in_flight: bool = True) -> None:
        """The worker is gone: its pages in flight stay pending, the rest are read here."""
        if self.worker is not None:
            self.stats.set_value(keys.PAGE_WORKER_PAGES, self.worker.read_count)
            self.worker = None
            self.stats.set_value(keys.PAGE_WORKER_DIED, str(died))
            logger.error("%s; the pages it was reading stay pending (the next run fetches "
                         "them), the others are read in the crawl's process", died)
        if in_flight:
            self.stats.inc_value(keys.PAGE_WORKER_LEFT_PENDING)

    async def _close_worker(self, spider):
        """The worker ends as the spider closes (closing and indexing its WARC files while the
        dataset is written); it is waited for once the engine has stopped."""
        if self.worker is not None:
            self.stats.set_value(keys.PAGE_WORKER_PAGES, self.worker.read_count)
            self._ending, self.worker = self.worker, None
            await self._ending.finished()

    def _reap_worker(self):
        if self._ending is not None:
            self._ending.wait()

    async def parse(self, response):
        """One outcome for the page (first), then the requests for its links."""
        self.stats.inc_value(keys.PAGES)
        urls = self.finishing(response.request)
        if response.status == 304:
            self.stats.inc_value(keys.NOT_MODIFIED)
            # Not read again, so its links come from the stored record: a page reachable only
            # through them is not lost because this one did not change.
            stored = self.state.record_links(urls[0]) if self.state is not None else ()
            requests, links = self.follow(stored)
            yield NotModified(urls=urls, links=links)
            for req in requests:
                yield req
            return
        if not isinstance(response, HtmlResponse):
            self.stats.inc_value(keys.SKIPPED_NOT_HTML)
            yield Visited(urls=urls)
            return
        article = response.meta.get("article") or self.is_article(response.url)
        try:
            reading = await self._read(response)
        except WorkerDied as died:
            self._worker_died(died)
            return  # no outcome: the page stays pending in the frontier
        except NotStored:
            return  # its response could not be archived (the crawl is stopping): pending
        requests, links = self.follow(reading.links, routed=True)
        page = reading.page
        if page is not None:
            for part in page.missing:
                self.stats.inc_value(keys.MISSING + part)
            issues = page.record.parse_issues
            if issues:
                self.stats.inc_value(keys.PARSE_ISSUE_ROWS)
                for kind in {issue_kind(issue) for issue in issues}:
                    self.stats.inc_value(keys.PARSE_ISSUES + kind)
            page.urls, page.links = urls, links
            yield page
        elif article:
            yield Failed(urls=urls, links=links, kind="not_qa_page", status=response.status,
                         error=reading.not_qa)
        else:
            yield Visited(urls=urls, links=links)
        for req in requests:
            yield req

    def failed(self, failure):
        """The errback: one outcome for a request that got no page to read."""
        request = failure.request
        too_large = _over_maxsize(failure)
        if failure.check(IgnoreRequest) and not failure.check(HttpError) and not too_large:
            if failure.check(NotStored):
                return  # the folder cannot be written (the crawl is stopping): still pending
            # robots.txt and the site rule: a choice, not a failure; but a start page refused
            # is no crawl.
            if request.meta.get("start"):
                self.stats.set_value(keys.START_FAILED, str(failure.value) or "ignored")
            self.stats.inc_value(keys.SKIPPED_IGNORED)
            yield Visited(urls=self.finishing(request))
            return
        if failure.check(HttpError):
            status = failure.value.response.status
            kind, error = "http_error", f"HTTP {status}"
        else:
            status = None
            kind = "too_large" if too_large else "network_error"
            maxsize = request.meta.get("download_maxsize",
                                       self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
            error = failure_reason(failure, maxsize)
        # The store decides whether a 404/410 of a stored page is a withdrawal instead.
        yield Failed(urls=self.finishing(request), kind=kind, status=status, error=error,
                     attempts=request.meta.get("retry_times", 0) + 1,
                     start=bool(request.meta.get("start")))


# Errors that Scrapy raises with no message, and what each means (an empty DownloadCancelledError
# follows a body that grew past DOWNLOAD_MAXSIZE with no Content-Length saying so beforehand).
_SILENT_ERRORS = {
    "ResponseDataLossError": "the connection closed before the whole body arrived (fewer bytes "
                             "than its Content-Length)",
    "DownloadCancelledError": "the download was cancelled before the body was complete (a body "
                              "over DOWNLOAD_MAXSIZE, {maxsize} bytes, or the crawl stopping)",
}


def failure_reason(failure, maxsize: int) -> str:
    """One line saying what went wrong with a download, even when the error says nothing."""
    name = failure.type.__name__
    message = " ".join(failure.getErrorMessage().split())
    if not message:
        message = _SILENT_ERRORS.get(name, "no details given").format(maxsize=maxsize)
    return f"{name}: {message}"[:500]


def _over_maxsize(failure) -> bool:
    """A response over DOWNLOAD_MAXSIZE: announced by its Content-Length (download handler) or
    found while decompressing (HttpCompressionMiddleware, an IgnoreRequest)."""
    message = failure.getErrorMessage()
    return "DOWNLOAD_MAXSIZE" in message or "larger than download max size" in message


def _header(response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
