"""The raw archive: every response of a crawl in compressed WARC files (warcio), and reading back.

Files live in ``DIR/.qa-crawler/warc/``, one series per worker, rolled over by size. Each
response record is written with its request, both with their HTTP headers, and flushed at once:
a crash can tear at most the last record, which the readers detect and drop with a warning.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from qa_crawler.state import STATE_DIRNAME

logger = logging.getLogger(__name__)

WARC_DIRNAME = "warc"
# Scrapy hands us bodies already decompressed and de-chunked; headers that describe the wire
# encoding would make the stored record lie about its payload.
_WIRE_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length"}


def warc_dir(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / STATE_DIRNAME / WARC_DIRNAME


@dataclass(frozen=True, slots=True)
class Location:
    """Where a response record starts: file name (in the warc folder) and byte offset."""

    file: str
    offset: int


class WarcArchive:
    """Appends request/response pairs to ``<worker>-<stamp>-<seq>.warc.gz``, rolling over by size."""

    def __init__(self, out_dir: str | os.PathLike, worker: str = "main",
                 max_bytes: int = 1 << 30):
        self.dir = warc_dir(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self.max_bytes = max_bytes
        self.stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
        self.seq = 0
        self.fh = None
        self.writer: WARCWriter | None = None
        self._open()

    def _open(self) -> None:
        self.seq += 1
        self.name = f"{self.worker}-{self.stamp}-{self.seq:05d}.warc.gz"
        self.fh = open(self.dir / self.name, "ab")
        self.writer = WARCWriter(self.fh, gzip=True, warc_version="1.1")

    def write(self, url: str, *, method: str, request_headers: list[tuple[str, str]],
              status: int, reason: str, response_headers: list[tuple[str, str]],
              body: bytes, protocol: str = "HTTP/1.1") -> Location:
        """Write one exchange; returns where its response record starts."""
        if self.fh.tell() >= self.max_bytes:
            self.close()
            self._open()
        headers = [(k, v) for k, v in response_headers if k.lower().encode() not in _WIRE_HEADERS]
        headers.append(("Content-Length", str(len(body))))
        http = StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol=protocol)
        response = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                  length=len(body), http_headers=http)
        offset = self.fh.tell()
        self.writer.write_record(response)
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_http = StatusAndHeaders(f"{method} /{path} {protocol}", request_headers,
                                    is_http_request=True)
        request = self.writer.create_warc_record(
            url, "request", http_headers=req_http,
            warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")},
        )
        self.writer.write_record(request)
        self.fh.flush()
        return Location(self.name, offset)

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


@dataclass(slots=True)
class StoredResponse:
    url: str
    date: str
    status: int
    content_type: str | None
    body: bytes
    location: Location


def _stored(record, location: Location | None, iterator=None) -> StoredResponse:
    """The response ``record``; its body is read before ``iterator.get_record_offset()``, which
    consumes whatever of the record is still unread."""
    http = record.http_headers
    body = record.content_stream().read()
    if location is None:
        location = Location("", iterator.get_record_offset())
    status = int(http.get_statuscode() or 0) if http else 0
    return StoredResponse(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        date=record.rec_headers.get_header("WARC-Date"),
        status=status,
        content_type=http.get_header("Content-Type") if http else None,
        body=body,
        location=location,
    )


def read_at(out_dir: str | os.PathLike, location: Location) -> StoredResponse:
    """The response record stored at ``location``."""
    return next(read_many(out_dir, location.file, [location.offset]))


def read_many(out_dir: str | os.PathLike, name: str, offsets) -> Iterator[StoredResponse]:
    """The response records at ``offsets`` of the WARC file ``name``, read through one open file."""
    with open(warc_dir(out_dir) / name, "rb") as fh:
        for offset in offsets:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_type != "response":
                raise LookupError(f"no response record at {name}:{offset}")
            yield _stored(record, Location(name, offset))


def iter_responses(out_dir: str | os.PathLike, *, with_body: bool = True
                   ) -> Iterator[StoredResponse]:
    """Every response record of every WARC file, in file order.

    A file torn by a crash (a truncated last record) is read up to its last whole record, with a
    warning naming the file and the offset.
    """
    for path in sorted(warc_dir(out_dir).glob("*.warc.gz")):
        end = 0  # where the last whole record ends
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh)
            try:
                for record in iterator:
                    stored = None
                    if record.rec_type == "response":
                        if with_body:
                            stored = _stored(record, None, iterator)
                            expected = record.http_headers.get_header("Content-Length")
                            if expected and expected.isdigit() and len(stored.body) < int(expected):
                                break
                            stored.location = Location(path.name, stored.location.offset)
                        else:
                            http = record.http_headers
                            stored = StoredResponse(
                                record.rec_headers.get_header("WARC-Target-URI"),
                                record.rec_headers.get_header("WARC-Date"),
                                int(http.get_statuscode() or 0) if http else 0,
                                http.get_header("Content-Type") if http else None, b"",
                                Location(path.name, iterator.get_record_offset()))
                    end = iterator.get_record_offset() + iterator.get_record_length()
                    if stored is not None:
                        yield stored
            except (ArchiveLoadFailed, EOFError, OSError, ValueError) as exc:
                logger.warning("%s: unreadable record after offset %s (%s)", path, end, exc)
        size = path.stat().st_size
        if end < size:
            # warcio stops quietly at a torn gzip member; the file size tells.
            logger.warning("%s is truncated: %d bytes after offset %d are a torn record, dropped "
                           "(read up to the last whole record)", path, size - end, end)
