"""Downloader middlewares: the site rule on every request, backoff retries that honour
``Retry-After``, and the WARC archive of every response (with its wire headers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import time

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as _MetaRefresh
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

from qa_crawler import stats as keys
logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Scrapy looks for a meta refresh in the first 4,096 characters of the decoded text; no
# character of an ASCII-compatible encoding takes more than 4 bytes.
_REFRESH_SCAN = 4 * 4096


def may_refresh(body: bytes) -> bool:
    """Whether ``body`` may hold a ``<meta http-equiv="refresh">`` where Scrapy looks for one:
    False only when the word "refresh" (any case) is not in its first bytes and they are of an
    ASCII-compatible encoding (no NUL byte, as UTF-16 and UTF-32 have in ASCII text)."""
    head = body[:_REFRESH_SCAN]
    return b"\x00" in head or b"refresh" in head.lower()


class MetaRefreshMiddleware(_MetaRefresh):
    """Scrapy's MetaRefreshMiddleware, which decodes every HTML body (``response.text``) to look
    for a meta refresh: here a body that cannot hold one (:func:`may_refresh`) passes without
    it. The profile of a crawl showed the decoding and the scan at 0.4 ms a page, about a tenth
    of the crawler's own time; pages that may hold one are read by Scrapy's code, unchanged."""

    def process_response(self, request, response, spider=None):
        from scrapy.http import HtmlResponse

        from qa_crawler.parsers.doctorqna import is_panic, without_unfinished_tag

        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        # A body cut off inside a tag ("...<meta") is checked less that tag, which holds no
        # refresh: w3lib 2.6's encoding scanner (Rust) panics on it when no charset is in
        # the Content-Type, and Scrapy decodes the body with it to look for the refresh.
        checked = response
        if isinstance(response, HtmlResponse):
            trimmed = without_unfinished_tag(response.body)
            if trimmed is not response.body:
                # (not response.replace(): it reads the encoding of the whole body)
                checked = type(response)(response.url, status=response.status,
                                         headers=response.headers, body=trimmed,
                                         request=response.request, flags=response.flags)
        try:
            result = super().process_response(request, checked)
        except BaseException as exc:  # noqa: BLE001 - only such a panic is taken
            if not is_panic(exc):
                raise
            logger.debug("No meta refresh read in %s: the decoder failed (%s)", response.url, exc)
            return response
        return response if result is checked else result


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's RetryMiddleware, waiting ``base * 2**attempt`` (or ``Retry-After``) before a retry."""

    def __init__(self, settings):
        super().__init__(settings)
        self.base = settings.getfloat("QA_RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("QA_RETRY_BACKOFF_MAX")

    def _delay(self, request, response=None) -> float:
        if response is not None:
            after = retry_after_seconds(response.headers.get(b"Retry-After"))
            if after is not None:
                return min(after, self.cap)
        attempt = request.meta.get("retry_times", 0)
        return min(self.cap, self.base * (2 ** attempt)) * random.uniform(0.5, 1.0)

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        delay = self._delay(request, response)
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        if delay > 0:
            logger.debug("Retrying %s in %.1fs (HTTP %s)", request.url, delay, response.status)
            await asyncio.sleep(delay)
        return retry

    async def process_exception(self, request, exception, spider=None):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry"):
            return None
        delay = self._delay(request)
        retry = self._retry(request, exception)
        if retry is not None and delay > 0:
            await asyncio.sleep(delay)
        return retry


class SiteRule:
    """Every request the crawl sends passes the spider's rule for links (``QASpider.wanted``):
    a redirect to another host or port (or to a denied path) is dropped before anything is
    sent to it. Runs before the robots.txt middleware, so another host's robots.txt is not
    fetched either. Scrapy's OffsiteMiddleware would not do: it knows no ports, and it lets
    through whatever the start request redirects to (``dont_filter``)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        from urllib.parse import urlsplit

        from scrapy.exceptions import IgnoreRequest

        spider = self.crawler.spider
        if not hasattr(spider, "wanted"):
            return None
        if request.meta.get("start") and not request.meta.get("redirect_urls"):
            return None  # the start URL defines the site
        if urlsplit(request.url).path == "/robots.txt":
            ok = spider.on_site(request.url)
        else:
            ok = spider.wanted(request.url)
        if ok:
            return None
        came_from = (request.meta.get("redirect_urls") or [None])[-1]
        from qa_crawler import stats as keys

        self.crawler.stats.inc_value(keys.SITE_RULE_DROPPED)
        logger.info("Not fetching %s (redirected from %s): outside the crawl's site",
                    request.url, came_from)
        raise IgnoreRequest(f"outside the crawl's site: {request.url}"
                            + (f" (redirected from {came_from})" if came_from else ""))


WIRE_ENCODING = "qa_wire_encoding"
# When the response was archived (the spider's record takes it as its crawled_at).
FETCHED_AT = "qa_fetched_at"


class WireHeadersMiddleware:
    """Notes a response's ``Content-Encoding`` as received (in ``request.meta``), before Scrapy's
    decompression (610) drops it, for the WARC record's ``X-Crawler-Content-Encoding``."""

    def process_response(self, request, response, spider=None):
        value = b", ".join(response.headers.getlist(b"Content-Encoding"))
        request.meta[WIRE_ENCODING] = value.decode("latin-1") or None
        return response


class WarcMiddleware:
    """Appends every response (with its request) to the crawl's WARC files.

    Sits between the decompression middleware (610) and the redirect middleware (600), so it
    sees every response as the spider would read it: the redirects and the 5xx that will be
    retried (550) included. A 304 of a re-check is written as a revisit of the stored page. Where
    the record went is left in ``request.meta["qa_warc"]`` for the record's provenance (after a
    redirect, the final page's). Off with ``QA_WARC_ENABLED = False`` (``qa-crawler crawl
    --no-warc``).

    When the spider reads its pages in the page worker (:mod:`qa_crawler.worker`), the worker
    writes the archive too: the response's pieces go to it, and ``qa_warc`` holds a
    :class:`~qa_crawler.worker.Ticket` that the worker turns into the location when it reads the
    page (so gzip and warcio cost the crawler's event loop nothing; the crawl's profile had them
    at about a third of the crawler's own time). Without a worker, or once it has died, the
    middleware writes its own files. The CDXJ index is merged once the engine has stopped: the
    worker makes its files' pieces as it ends, while the crawler writes the dataset.
    """

    def __init__(self, crawler):
        from scrapy import signals

        from qa_crawler.context import state_of
        from qa_crawler.warc import WarcArchive

        state = state_of(crawler)
        if state is None or not crawler.settings.getbool("QA_WARC_ENABLED"):
            from scrapy.exceptions import NotConfigured

            raise NotConfigured
        self.state = state
        # WarcArchive's arguments: the crawler's own archive is opened when first written.
        self.options = dict(out_dir=state.out_dir, worker=crawler.settings.get("QA_WORKER"),
                            max_bytes=crawler.settings.getint("QA_WARC_MAX_BYTES"),
                            info=self.warcinfo(crawler.settings))
        self._archive: WarcArchive | None = None
        self.worker = None  # the page worker that archives for us, once one has
        self.close_failed = False
        self.stats = crawler.stats
        self.crawler = crawler
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        # Connected now, so that it runs before the report's start (also on engine_stopped).
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @property
    def archive(self):
        if self._archive is None:
            from qa_crawler.warc import WarcArchive

            self._archive = WarcArchive(**self.options)
        return self._archive

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @staticmethod
    def warcinfo(settings) -> dict[str, str]:
        """The fields of the ``warcinfo`` record that opens each WARC file."""
        from pathlib import Path

        import scrapy

        from qa_crawler import __version__

        return {
            "software": f"qa-crawler/{__version__} (Scrapy/{scrapy.__version__}, warcio)",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                          "warc-format/warc-1.1/",
            "operator": settings.get("QA_CONTACT"),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "isPartOf": Path(settings.get("QA_OUT_DIR")).resolve().name,
            "description": f"qa-crawler crawl of {settings.get('QA_START_URL')}",
        }

    @staticmethod
    def _headers(headers) -> list[tuple[str, str]]:
        return [(k.decode("latin-1"), v.decode("latin-1"))
                for k, values in headers.items() for v in values]

    def _original(self, url: str):
        """The stored response a 304 of ``url`` confirms (None when it is not known)."""
        from qa_crawler.warc import Location, Original, read_at

        record = self.state.stored_record(url)
        if not record or not record.get("warc_file"):
            return None
        try:
            stored = read_at(self.state.out_dir,
                             Location(record["warc_file"], int(record["warc_offset"])))
        except (OSError, LookupError) as exc:
            logger.warning("The stored page of %s is not in the archive (%s): its revisit "
                           "record refers to nothing", url, exc)
            return None
        return Original(stored.url, stored.date, stored.record_id)

    def process_response(self, request, response, spider=None):
        from http import HTTPStatus

        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = ""
        original = self._original(request.url) if response.status == 304 else None
        # One moment for the archive and the record: the record's crawled_at is the response
        # record's WARC-Date, so a rebuild from the archive gives the very record again.
        fetched_at = dt.datetime.now(dt.timezone.utc)
        request.meta[FETCHED_AT] = fetched_at
        exchange = dict(
            date=fetched_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            url=response.url, method=request.method,
            request_headers=self._headers(request.headers), status=response.status,
            reason=reason, response_headers=self._headers(response.headers),
            body=response.body, wire_encoding=request.meta.get(WIRE_ENCODING),
            original=original,
        )
        worker = self._page_worker()
        if worker is not None:
            if worker.behind:  # the worker's queue is full: this response waits its turn
                return self._archive_later(worker, request, response, exchange)
            if self._hand_over(worker, request, exchange):
                return response
        return self._write_here(request, response, exchange)

    async def _archive_later(self, worker, request, response, exchange):
        await worker.until_drained()
        if self._hand_over(worker, request, exchange):
            return response
        return self._write_here(request, response, exchange)

    def _hand_over(self, worker, request, exchange) -> bool:
        """The exchange handed to the page worker's archive; False if it is gone."""
        from qa_crawler.worker import WorkerDied

        try:
            request.meta["qa_warc"] = worker.archive(self.options, exchange)
        except WorkerDied:
            return False  # gone: archived here from now on
        self.stats.inc_value(keys.WARC_RECORDS)
        return True

    def _write_here(self, request, response, exchange):
        try:
            location = self.archive.write(**exchange)
        except OSError as exc:
            from qa_crawler.guard import NotStored, os_error, storage_failed
            from qa_crawler.warc import writing_to

            storage_failed(self.crawler, os_error(writing_to(self._archive, self.state.out_dir),
                                                  exc))
            raise NotStored(f"not stored: {exc}") from None
        request.meta["qa_warc"] = location
        self.stats.inc_value(keys.WARC_RECORDS)
        return response

    def _page_worker(self):
        """The spider's page worker, while it runs (it archives the responses then)."""
        worker = getattr(self.crawler.spider, "worker", None)
        if worker is None or worker.died:
            return None
        if worker is not self.worker:
            self.worker = worker
            worker.on_archive_error = self._worker_failed
        return worker

    def _worker_failed(self, error) -> None:
        """The worker could not write a record (a full disk): the crawl stops, as here."""
        from qa_crawler.guard import storage_failed

        self.stats.inc_value(keys.WARC_RECORDS, -1)
        storage_failed(self.crawler, error)

    def spider_closed(self, spider):
        if self._archive is None:
            return
        try:
            self._archive.close()
        except OSError as exc:
            from qa_crawler.guard import os_error, storage_failed

            storage_failed(self.crawler, os_error(self._archive.dir / self._archive.name, exc))
            self.close_failed = True

    def engine_stopped(self):
        """The CDXJ index of the folder's WARC files, once the worker (if it archived) has
        closed and indexed its own."""
        from qa_crawler.warc import warc_dir, write_index

        if self.worker is not None:
            self.worker.wait()
        if self.close_failed:
            return  # the archive could not be closed: no index over a torn file
        try:
            write_index(self.state.out_dir)
        except Exception as exc:  # the archive stands without its index; export writes it again
            logger.warning("Could not write the CDXJ index of %s: %s: %s",
                           warc_dir(self.state.out_dir), type(exc).__name__, exc)
