"""One step from a fetched page to its record: declared inputs in, the record with its provenance out.

The spider (from a Scrapy response), ``rebuild`` (from a stored WARC response) and the tests all
make records here, so a record's provenance is set in one place. Pure like the parser: no
Scrapy, no I/O, no clock (the fetch time is an input); picklable, so it runs in a process pool.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


@dataclass(slots=True)
class FetchedPage:
    """The item the spider yields: a page's record, the fetch it came from, the parts it lacked.

    ``stored`` is the record's JSON form once the validation pipeline has checked it (the store
    writes that, not a second conversion).
    """

    record: QARecord
    fetch: Fetch
    missing: tuple[str, ...] = ()
    stored: dict | None = None


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


__all__ = ["Fetch", "FetchedPage", "NotQAPage", "Reading", "parse_fetched", "read_fetched",
           "with_provenance"]
