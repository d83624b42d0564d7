"""One step from a fetched page to its record, and the outcomes the spider yields for the store.

The spider (from a Scrapy response), ``rebuild`` (from a stored WARC response) and the tests all
make records here, so a record's provenance is set in one place. Pure like the parser: no
Scrapy, no I/O, no clock (the fetch time is an input); picklable, so it runs in a process pool.

Every request the spider handles ends in one :class:`Outcome` item (its callback or errback
yields it): :class:`FetchedPage` (a record), :class:`Visited` (a page without one, or a request
refused by choice), :class:`NotModified` (a 304) or :class:`Failed`. Each names the URLs that
finish with it and the links found on it; the store pipeline writes all of that to the crawl
state in one transaction (``pipelines/store.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from qa_crawler.parsers.doctorqna import DEFAULT_ID_PATTERN, NotQAPage, parse_page, read_page
from qa_crawler.record import QARecord
from qa_crawler.warc import Location


@dataclass(frozen=True, slots=True)
class Fetch:
    """How a page was fetched: everything about it but its body.

    ``url`` is the URL the body came from; ``key`` the canonical URL the crawl asked for (the
    page's key in the crawl state; the fetched URL when not given). ``warc`` is where the raw
    response is stored, when it is.
    """

    url: str
    status: int
    fetched_at: dt.datetime
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    warc: Location | None = None
    key: str | None = None

    @property
    def key_url(self) -> str:
        return self.key or self.url


# The failure the validation pipeline makes of a record it drops (counted as qa/validation/...).
INVALID_RECORD = "invalid_record"


@dataclass(slots=True, kw_only=True)
class Outcome:
    """How one request of the crawl ended: the base of the items the spider yields.

    ``urls`` are the canonical URLs that finish with it, the page's key first (the URL last
    requested) and then those it was redirected from; ``links`` the canonical URLs found on it
    that the crawl schedules (the frontier gets them in the transaction that finishes the page).
    """

    urls: tuple[str, ...] = ()
    links: tuple[str, ...] = field(default=(), repr=False)

    @property
    def key(self) -> str | None:
        """The page's URL in the crawl state."""
        return self.urls[0] if self.urls else None


@dataclass(slots=True)
class FetchedPage(Outcome):
    """A page's record, the fetch it came from, the parts it lacked (``rebuild`` makes them too,
    without URLs to finish).

    ``stored`` is the record's JSON form once the validation pipeline has checked it (the store
    writes that, not a second conversion); ``encoded`` its stored text and change key
    (:func:`qa_crawler.state.encode`) when the page worker made them, and ``signature`` its
    question's MinHash when ``rebuild``'s pool did (else the store makes each, in the crawler's
    process: the crawl's store makes every MinHash, see ``qa_crawler.worker.PageReader``).
    """

    record: QARecord
    fetch: Fetch
    missing: tuple[str, ...] = ()
    stored: dict | None = None
    signature: bytes | None = field(default=None, repr=False)
    encoded: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return self.fetch.key_url


@dataclass(slots=True)
class Visited(Outcome):
    """A page read that gives no record (a listing, an FAQ page, a page that is not HTML), or a
    request the crawl chose not to send (robots.txt, the site rule): finished, with its links."""


@dataclass(slots=True)
class NotModified(Outcome):
    """A re-check answered 304: the stored page is unchanged; ``links`` are its stored record's."""


@dataclass(slots=True)
class Failed(Outcome):
    """A page that could not be had: ``kind`` is ``http_error``, ``network_error``,
    ``too_large``, ``not_qa_page`` (a Q&A URL whose page is not one) or ``invalid_record``.
    The store decides whether a 404/410 of a stored page is a withdrawal instead. ``start``
    says it is the crawl's start URL (whose failure is the run's, ``qa/start_failed``)."""

    kind: str
    status: int | None = None
    error: str | None = None
    attempts: int = 1
    start: bool = False


@dataclass(slots=True)
class Reading:
    """A fetched page read once: the page (or why it is not a Q&A page) and its links."""

    page: FetchedPage | None
    not_qa: str | None
    links: list[str]


def with_provenance(record: QARecord, fetch: Fetch) -> QARecord:
    """Set the record's provenance columns from its fetch (the parser set the others)."""
    record.crawled_at = fetch.fetched_at
    record.http_status = fetch.status
    if fetch.warc is not None:
        record.warc_file, record.warc_offset = fetch.warc.file, fetch.warc.offset
    return record


def read_fetched(body: bytes, fetch: Fetch, *, id_pattern: str = DEFAULT_ID_PATTERN) -> Reading:
    """The page and links of a fetched body (the crawl's step: it follows the links)."""
    reading = read_page(body, fetch.url, content_type=fetch.content_type, id_pattern=id_pattern)
    if reading.result is None:
        return Reading(None, reading.not_qa, reading.links)
    page = FetchedPage(with_provenance(reading.result.record, fetch), fetch,
                       reading.result.missing)
    return Reading(page, None, reading.links)


def parse_fetched(body: bytes, fetch: Fetch, *, id_pattern: str = DEFAULT_ID_PATTERN
                  ) -> FetchedPage:
    """The page of a fetched body, without its links (``rebuild``'s step); NotQAPage when the
    body is not a Q&A page."""
    result = parse_page(body, fetch.url, content_type=fetch.content_type, id_pattern=id_pattern)
    return FetchedPage(with_provenance(result.record, fetch), fetch, result.missing)


__all__ = ["INVALID_RECORD", "Failed", "Fetch", "FetchedPage", "NotModified", "NotQAPage",
           "Outcome", "Reading", "Visited", "parse_fetched", "read_fetched", "with_provenance"]
