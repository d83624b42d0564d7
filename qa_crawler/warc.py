"""The raw archive: every response of a crawl in compressed WARC files (warcio), their CDXJ
index, and reading back.

Files live in ``DIR/.qa-crawler/warc/``, one series per worker, rolled over by size; each file
opens with a ``warcinfo`` record (software, operator, robots policy). Each response record is
written with its request, both with their HTTP headers, and flushed at once: a crash can tear at
most the last record, which the readers detect and drop with a warning. A 304 answer of a
re-check is a ``revisit`` record (server-not-modified) pointing at the stored original.
``index.cdxj`` beside the files indexes them for replay tools (cdxj-indexer).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import zlib
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
INDEX_NAME = "index.cdxj"
# Scrapy hands us bodies already decompressed and de-chunked. The headers that describe the wire
# encoding are kept under this prefix, as Common Crawl does, so that the record's headers match
# its stored payload and still say how it came.
WIRE_PREFIX = "X-Crawler-"
REVISIT_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


# gzip of the records. warcio hard-codes zlib's level 9. ISA-L (python-isal: Intel's deflate,
# for x86-64 and ARM) at its level 2 makes members as small as zlib's level 3 in less than a
# third of the time: on 800 of the benchmark mirror's pages (27 KB), 0.040 ms a page against
# zlib's 0.135 at level 3 (0.129 at 1, for members 3 % larger), 17.6 % of the page against
# 17.7 %. The archive is written by the page worker, every response, and the compression was
# the largest part of it. Where isal is not installed, zlib at level 3 (0.11 ms a page against
# 0.21 for 6 and 9, for members 7 % larger than 9's).
try:
    from isal import isal_zlib as _isal
except ImportError:  # pragma: no cover - isal is a dependency; its absence is tested
    _isal = None
GZIP_LEVEL = 3  # zlib's, where the records are not ISA-L's
ISAL_LEVEL = 2  # of ISA-L's 0-3


def _compressor():
    """A gzip member's compressor: ISA-L's at ISAL_LEVEL where isal is installed, else zlib's
    at GZIP_LEVEL."""
    if _isal is not None:
        return _isal.compressobj(ISAL_LEVEL, _isal.DEFLATED, zlib.MAX_WBITS + 16)
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)


class _Gzipping:
    """warcio's GzippingWrapper with another compressor: one gzip member per record."""

    def __init__(self, out):
        self.compressor = _compressor()
        self.out = out

    def write(self, buff) -> None:
        self.out.write(self.compressor.compress(buff))

    def flush(self) -> None:
        self.out.write(self.compressor.flush())
        self.out.flush()


class _Writer(WARCWriter):
    """warcio's WARCWriter, each record a gzip member of :func:`_compressor`'s."""

    def __init__(self, out, **kwargs):
        super().__init__(out, gzip=False, **kwargs)

    def write_record(self, record, params=None) -> None:
        self._write_warc_record(_Gzipping(self.out), record)


def warc_dir(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / STATE_DIRNAME / WARC_DIRNAME


def writing_to(archive: WarcArchive | None, out_dir: str | os.PathLike) -> Path:
    """What a failed archive write names: the archive's file, or its folder when it could not
    even be opened."""
    return archive.dir / archive.name if archive is not None else warc_dir(out_dir)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a response record starts: file name (in the warc folder) and byte offset."""

    file: str
    offset: int


def stored_headers(headers: list[tuple[str, str]], length: int,
                   wire_encoding: str | None = None) -> list[tuple[str, str]]:
    """The HTTP headers to store with a payload of ``length`` bytes that Scrapy decoded.

    ``Transfer-Encoding`` (Twisted de-chunks), a ``Content-Length`` other than the payload's and
    a ``Content-Encoding`` that was decoded (``wire_encoding``, as received, when the response no
    longer says it) are kept with the ``X-Crawler-`` prefix; ``Content-Length`` is the payload's.
    """
    out = []
    encoding = None
    for name, value in headers:
        key = name.lower()
        if key == "transfer-encoding":
            out.append((WIRE_PREFIX + "Transfer-Encoding", value))
        elif key == "content-length":
            if value.strip() != str(length):
                out.append((WIRE_PREFIX + "Content-Length", value))
        else:
            if key == "content-encoding":
                encoding = value
            out.append((name, value))
    if wire_encoding and wire_encoding != encoding:
        out.append((WIRE_PREFIX + "Content-Encoding", wire_encoding))
    out.append(("Content-Length", str(length)))
    return out


@dataclass(frozen=True, slots=True)
class Original:
    """The stored response a revisit record refers to."""

    url: str
    date: str
    record_id: str | None = None


class WarcArchive:
    """Appends request/response pairs to ``<worker>-<stamp>-<seq>.warc.gz``, rolling over by size.

    ``info`` (software, operator, robots policy, ...) is the ``warcinfo`` record that opens each
    file.
    """

    def __init__(self, out_dir: str | os.PathLike, worker: str = "main",
                 max_bytes: int = 1 << 30, info: dict[str, str] | None = None):
        self.dir = warc_dir(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self.max_bytes = max_bytes
        self.info = dict(info or {})
        self.stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
        self.seq = 0
        self.fh = None
        self.writer: WARCWriter | None = None
        self._open()

    def _open(self) -> None:
        # A new file each time: the crawler and its page worker may both open one in the
        # same second (the worker archives; the crawler when the worker has died).
        while True:
            self.seq += 1
            self.name = f"{self.worker}-{self.stamp}-{self.seq:05d}.warc.gz"
            try:
                self.fh = open(self.dir / self.name, "xb")
                break
            except FileExistsError:
                continue
        self.writer = _Writer(self.fh, warc_version="1.1")
        self.index_lines: list[str] = []  # the file's CDXJ lines, as its records are written
        self.torn = False
        self.writer.write_record(self.writer.create_warcinfo_record(self.name, self.info))
        self.fh.flush()

    def write(self, url: str, *, method: str, request_headers: list[tuple[str, str]],
              status: int, reason: str, response_headers: list[tuple[str, str]],
              body: bytes, protocol: str = "HTTP/1.1", wire_encoding: str | None = None,
              original: Original | None = None, date: str | None = None) -> Location:
        """Write one exchange; returns where its response record starts. ``date``: the
        records' WARC-Date (``2026-12-03T06:32:20.123456Z``; else now).

        A 304 is a ``revisit`` record (server-not-modified) that refers to ``original``, the
        stored response it confirms, when that is known.
        """
        if self.fh.tell() >= self.max_bytes:
            self.close()
            self._open()
        http = StatusAndHeaders(f"{status} {reason}".strip(),
                                stored_headers(response_headers, len(body), wire_encoding),
                                protocol=protocol)
        dated = {"WARC-Date": date} if date else {}
        if status == 304:
            refers = {"WARC-Profile": REVISIT_NOT_MODIFIED, **dated}
            if original is not None:
                refers["WARC-Refers-To-Target-URI"] = original.url
                refers["WARC-Refers-To-Date"] = original.date
                if original.record_id:
                    refers["WARC-Refers-To"] = original.record_id
            response = self.writer.create_warc_record(url, "revisit", http_headers=http,
                                                      warc_headers_dict=refers)
        else:
            response = self.writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                      length=len(body), http_headers=http,
                                                      warc_headers_dict=dated)
        offset = self.fh.tell()
        path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
        req_http = StatusAndHeaders(f"{method} /{path} {protocol}", request_headers,
                                    is_http_request=True)
        try:
            self.writer.write_record(response)
            line = cdxj_line(response, self.name, offset, self.fh.tell() - offset)
            request = self.writer.create_warc_record(
                url, "request", http_headers=req_http,
                warc_headers_dict={
                    "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                    **dated},
            )
            self.writer.write_record(request)
            self.fh.flush()
        except BaseException:
            self.torn = True  # no piece over a file a write tore
            raise
        self.index_lines.append(line)
        return Location(self.name, offset)

    def close(self) -> None:
        """Close the file and keep its CDXJ piece (:func:`index_files` then has nothing to
        read: cdxj-indexer read each file again as the crawl ended, 1.2 s of the page
        worker's CPU for a 5,000-page crawl, beside the closing export)."""
        if self.fh is not None:
            self.fh.close()
            self.fh = None
            if not self.torn:
                _write_piece(self.dir / self.name, self.index_lines)


@dataclass(slots=True)
class StoredResponse:
    url: str
    date: str
    status: int
    content_type: str | None
    body: bytes
    location: Location
    record_id: str | None = None


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
        record_id=record.rec_headers.get_header("WARC-Record-ID"),
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
        yield from _responses_of(path, with_body)


@dataclass(slots=True)
class ResponseHead:
    """What the CDXJ index says of a response record: its date to the second (``YYYYmmddHHMMSS``,
    as CDXJ has it), status, MIME type (no parameters; None when it had none) and location."""

    url: str
    second: str
    status: int
    mime: str | None
    location: Location


def response_heads(out_dir: str | os.PathLike) -> Iterator[ResponseHead]:
    """Every response record of every WARC file, without its body: read from the file's CDXJ
    piece (``.index/``) where one was made for the file as it is now (its size and modification
    time), which is ~30x cheaper than decompressing the file; otherwise (a crawl killed before it
    indexed its files, a file grown since) from the file itself, as :func:`iter_responses`."""
    for path in sorted(warc_dir(out_dir).glob("*.warc.gz")):
        piece = _piece_path(path)
        if not piece.is_file():
            for r in _responses_of(path, with_body=False):
                mime = (r.content_type or "").split(";")[0].strip().lower() or None
                yield ResponseHead(r.url, _second_of(r.date), r.status, mime, r.location)
            continue
        with open(piece, encoding="utf-8") as fh:
            for line in fh:
                _, second, fields = line.split(" ", 2)
                entry = json.loads(fields)
                mime = entry.get("mime")
                if mime == "warc/revisit" or "status" not in entry:
                    continue  # a 304's revisit record, or a record with no HTTP response
                yield ResponseHead(entry["url"], second, int(entry.get("status") or 0),
                                   None if mime in (None, "", "unk") else mime.lower(),
                                   Location(path.name, int(entry["offset"])))


def _second_of(warc_date: str) -> str:
    """A WARC-Date (``2026-12-03T06:32:20.123456Z``) as a CDXJ timestamp (``20261203063220``)."""
    return "".join(ch for ch in warc_date[:19] if ch.isdigit())


def read_date(out_dir: str | os.PathLike, location: Location) -> str:
    """The WARC-Date of the record at ``location`` (headers only, its body left unread)."""
    with open(warc_dir(out_dir) / location.file, "rb") as fh:
        fh.seek(location.offset)
        record = next(iter(ArchiveIterator(fh)), None)
        if record is None:
            raise LookupError(f"no record at {location.file}:{location.offset}")
        return record.rec_headers.get_header("WARC-Date")


def _responses_of(path: Path, with_body: bool) -> Iterator[StoredResponse]:
    """The response records of one WARC file, up to its last whole record."""
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


def write_index(out_dir: str | os.PathLike) -> Path | None:
    """Write ``index.cdxj`` (sorted CDXJ, cdxj-indexer) of every WARC file's response, revisit,
    resource and metadata records beside them; its path, or None when there are no files.

    Each file's own sorted index is kept in ``.index/`` under its name, size and modification
    time, so a nightly crawl indexes only the files it wrote (a WARC file is only ever appended
    to): the whole index is the merge of the files' indexes, which is what cdxj-indexer's sort
    of all of them gives (its lines sorted, a repeated line written once)."""
    import heapq

    folder = warc_dir(out_dir)
    files = sorted(folder.glob("*.warc.gz"))
    if not files:
        return None
    tmp = folder / f".{INDEX_NAME}.{os.getpid()}.tmp"
    handles = []
    try:
        handles.extend(_open_index_of(path) for path in files)
        with open(tmp, "w", encoding="utf-8") as out:
            last = None
            for line in heapq.merge(*handles):
                if line != last:
                    out.write(line)
                last = line
    finally:
        for fh in handles:
            fh.close()
    # Workers of a distributed crawl may write it at the same time: each replaces it whole.
    os.replace(tmp, folder / INDEX_NAME)
    return folder / INDEX_NAME


PIECES_DIRNAME = ".index"


def index_files(folder: Path, names) -> None:
    """Make the CDXJ pieces of the named WARC files of ``folder`` (the page worker does, for
    the files it wrote, as it ends): :func:`write_index` then only merges."""
    for name in names:
        _file_index(Path(folder) / name)


def _open_index_of(path: Path):
    """The index of one WARC file, open for reading. Another worker of a distributed crawl
    may replace it meanwhile (its file grew): an index removed before it was opened is made
    again."""
    for attempt in range(5):
        try:
            return open(_file_index(path), encoding="utf-8")
        except FileNotFoundError:
            if attempt == 4:
                raise


def _piece_path(path: Path) -> Path:
    """Where the sorted CDXJ of one WARC file as it is now (its size and modification time) is
    kept."""
    stat = path.stat()
    return path.parent / PIECES_DIRNAME / f"{path.name}.{stat.st_size}.{stat.st_mtime_ns}.cdxj"


_SPACE = re.compile(r"[;\s]")


def load_writing_modules() -> None:
    """Import now what writing the first record would import (surt, for its CDXJ line: 61 ms,
    kept out of the processes that only read archives)."""
    import surt  # noqa: F401


def cdxj_line(record, filename: str, offset: int, length: int) -> str:
    """The CDXJ line of a response or revisit record just written at ``offset`` (``length``
    bytes, its gzip member), as cdxj-indexer writes it reading the file (a test holds the two
    to the same lines)."""
    import surt

    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    entry = {"url": url}
    if record.rec_type == "revisit":
        entry["mime"] = "warc/revisit"
    else:
        mime = record.http_headers.get_header("Content-Type") if record.http_headers else None
        if mime is not None:
            entry["mime"] = _SPACE.split(mime, 1)[0].strip()
    if record.http_headers:
        entry["status"] = record.http_headers.get_statuscode()
    digest = headers.get_header("WARC-Payload-Digest")  # (a revisit has none)
    if digest:
        entry["digest"] = digest
    entry.update(length=str(length), offset=str(offset), filename=filename)
    try:
        key = surt.surt(url)
    except Exception:  # noqa: BLE001 - as cdxj-indexer: the URL itself
        key = url
    return f"{key} {_second_of(headers.get_header('WARC-Date'))} {json.dumps(entry)}\n"


def _write_piece(path: Path, lines: list[str]) -> None:
    """Keep ``lines`` as the sorted CDXJ piece of the WARC file at ``path`` as it is now."""
    try:
        piece = _piece_path(path)
        piece.parent.mkdir(exist_ok=True)
        tmp = piece.parent / f".{piece.name}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            out.writelines(sorted(lines))
        os.replace(tmp, piece)
    except OSError as exc:  # the piece is made from the file when the index is written
        logger.warning("Could not keep the CDXJ piece of %s: %s", path, exc)


def _file_index(path: Path) -> Path:
    """The sorted CDXJ of one WARC file, made once per size and modification time."""
    piece = _piece_path(path)
    if piece.is_file():
        return piece
    # Imported only here: cdxj-indexer imports pyamf, which imports pkg_resources (0.15-0.2 s;
    # under profile 1.8 s of the crawler's end, beside the export and the report), and the
    # crawler's merge of the pieces the page worker made needs none of it.
    from cdxj_indexer.main import write_cdx_index

    pieces = piece.parent
    pieces.mkdir(exist_ok=True)
    tmp = pieces / f".{piece.name}.{os.getpid()}.tmp"
    write_cdx_index(str(tmp), [str(path)], {"sort": True})
    os.replace(tmp, piece)
    for stale in pieces.glob(f"{path.name}.*.cdxj"):  # of the file when it was shorter
        if stale != piece:
            stale.unlink(missing_ok=True)
    return piece
