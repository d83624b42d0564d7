"""The stored records again as Arrow columns, written as the state stores them: the export then
takes and casts columns instead of reading and decoding every record's JSON text.

Each state (:class:`qa_crawler.state.CrawlState`) hands the text of every record it writes to a
:class:`PartWriter`, which decodes them a few thousand at a time with pyarrow's JSON reader
against :func:`read_schema` (the same reader and schema the export used on the stored texts)
and writes them as an Arrow IPC file, a *part*, ``.qa-crawler/columns/<worker>-<pid>-<6 hex>-
<n>.arrow``: made under a temporary name, then renamed, so a part is whole or absent. Each row
carries the :func:`digest` of the text it was decoded from, and the state stores the same digest
beside the text (``pages.record_digest``).

A part is never the truth, only a faster way to read it: the export (:class:`PartIndex`) uses a
part row only where its digest is the digest of the text the state holds now, and reads every
other record from its text as before (a record whose part a kill lost before it was written,
one stored before parts existed, one that has changed since). Deleting the folder loses
nothing. Parts are written uncompressed so that the export memory-maps them: their pages are the
file's, not the export's memory.
"""

from __future__ import annotations

import hashlib
import io
import logging
import mmap
import os
import re
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# pyarrow is imported where it is used (the first part a state writes, an export): a process
# that opens a state without storing a record never loads it.

logger = logging.getLogger(__name__)

COLUMNS_DIRNAME = "columns"  # inside the state folder
DIGEST = "record_digest"  # the column of a part naming the text a row was decoded from
SIZE = "record_bytes"  # ... and the size of that text
PART_ROWS = 2000  # records of a part, or fewer of PART_BYTES of JSON text
PART_BYTES = 4 << 20  # (16 MB: 4x fewer parts, but the crawl process ~75 MB larger and growing)
MAX_SLICES = 4  # a part's rows asked for in more runs than this are taken, not sliced
COPY_GROUP_PARTS = 4  # a batch's rows from more parts than this are copied this many at a time
DENSE_ROWS = 64  # ... unless the batch takes this many rows of a part, or more: those are sliced
JSON_BLOCK = 1 << 20


def digest(text: bytes) -> bytes:
    """The digest of a record's stored text (UTF-8), as a part and the state keep it."""
    return hashlib.blake2b(text, digest_size=16).digest()


_READ_SCHEMA: "pa.Schema | None" = None


def read_schema() -> pa.Schema:
    """The record's columns as the JSON reader reads them: dates and timestamps as their text
    (cast later, as the export casts every column to the dataset's schema)."""
    global _READ_SCHEMA
    if _READ_SCHEMA is None:
        import pyarrow as pa

        from qa_crawler.record import arrow_schema

        fields = []
        for f in arrow_schema():
            textual = pa.types.is_date32(f.type) or pa.types.is_timestamp(f.type)
            fields.append(pa.field(f.name, pa.string() if textual else f.type))
        _READ_SCHEMA = pa.schema(fields)
    return _READ_SCHEMA


def read_json_lines(texts: list[bytes]) -> "pa.Table | None":
    """Records' JSON texts (one each) as a table of :func:`read_schema`, or None when a text is
    not one JSON line; ArrowInvalid (and kin) when the reader refuses a value."""
    import pyarrow.json as pajson

    if not texts:
        return read_schema().empty_table()
    longest = max(len(t) for t in texts)
    # Blocks of about 1 MB: the reader parses them on its threads (a record is one line).
    table = pajson.read_json(
        io.BytesIO(b"\n".join(texts)),
        parse_options=pajson.ParseOptions(explicit_schema=read_schema(),
                                          unexpected_field_behavior="ignore"),
        read_options=pajson.ReadOptions(block_size=max(JSON_BLOCK, 2 * longest + 2)))
    return table if table.num_rows == len(texts) else None


# The two columns a part adds are made from buffers, not with pa.array() of Python values: the
# first pa.array() of a list in a process makes pyarrow import pandas (0.3 s of the crawler's
# start-up CPU, measured with -X importtime; the crawler is the crawl's bottleneck).
def _int32s(values: list[int]) -> "pa.Array":
    import array

    import pyarrow as pa

    return pa.Array.from_buffers(pa.int32(), len(values),
                                 [None, pa.py_buffer(array.array("i", values))])


def _digests(values: list[bytes]) -> "pa.Array":
    import pyarrow as pa

    if any(len(v) != 16 for v in values):
        raise pa.ArrowInvalid("a record digest is not 16 bytes")  # as pa.array() raised
    return pa.Array.from_buffers(pa.binary(16), len(values),
                                 [None, pa.py_buffer(b"".join(values))])


class PartWriter:
    """Parts of the records one state writes: :meth:`add` each text as it is stored,
    :meth:`close` at the end. A part that cannot be made (a full disk, a text the reader
    refuses) is logged and skipped: the export reads those records from their texts."""

    def __init__(self, state_dir: Path, worker: str):
        self.dir = state_dir / COLUMNS_DIRNAME
        self.prefix = f"{worker}-{os.getpid()}-{secrets.token_hex(3)}"
        self.count = 0
        self.qa_ids: list[str] = []
        self.digests: list[bytes] = []
        self.texts: list[bytes] = []
        self.size = 0

    def add(self, qa_id: str, text_digest: bytes, text: bytes) -> None:
        self.qa_ids.append(qa_id)
        self.digests.append(text_digest)
        self.texts.append(text)
        self.size += len(text)
        if len(self.texts) >= PART_ROWS or self.size >= PART_BYTES:
            self.flush()

    def flush(self) -> None:
        # A part's rows in qa_id order, the export's: the rows an export batch takes from a
        # part are then one run of it (a slice), and the export reads each part front to back.
        order = sorted(range(len(self.texts)), key=self.qa_ids.__getitem__)
        digests = [self.digests[k] for k in order]
        texts = [self.texts[k] for k in order]
        self.qa_ids, self.digests, self.texts, self.size = [], [], [], 0
        if not texts:
            return
        import pyarrow as pa

        try:
            table = read_json_lines(texts)
            if table is None:
                return
            table = table.append_column(SIZE, _int32s([len(t) for t in texts]))
            table = table.append_column(DIGEST, _digests(digests))
            self.dir.mkdir(exist_ok=True)
            _write_part(self.dir / f"{self.prefix}-{self.count:06d}.arrow", table)
            self.count += 1
        except (OSError, pa.ArrowException) as exc:
            logger.warning("Columns of %d stored records not written (%s): the export reads them "
                           "from their JSON text", len(texts), exc)
        finally:
            # What the part's making took (the joined text, the reader's blocks, the table:
            # ~4x PART_BYTES) goes back to the system, not kept by Arrow's allocator for the
            # next part a few hundred pages later in a process that holds the crawl.
            table = None
            pa.default_memory_pool().release_unused()

    def close(self) -> None:
        self.flush()


def _write_part(path: Path, table: "pa.Table") -> None:
    """``table`` as the part ``path``: made under a temporary name, then renamed (whole or
    absent), in one chunk (a take from it reads only the rows taken; from a table of many
    chunks pyarrow would first join each column's chunks)."""
    import pyarrow as pa

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        table = table.combine_chunks()
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def part_files(state_dir: Path) -> list[Path]:
    """The whole parts of a state folder (not the temporary files of parts being written)."""
    folder = state_dir / COLUMNS_DIRNAME
    return sorted(folder.glob("[!.]*.arrow")) if folder.is_dir() else []


# A part being written: ``.<worker or "compact">-<pid>-<6 hex>-<n>.arrow.tmp`` (see _write_part).
_TMP_PART = re.compile(r"^\.(?P<who>.+)-(?P<pid>\d+)-[0-9a-f]{6}-\d{6}\.arrow\.tmp$")
STALE_TMP_SECONDS = 3600


def remove_stale_tmp(state_dir: Path, now: float | None = None) -> int:
    """Remove the half-written parts a killed process left (its pid gone from this machine, the
    file untouched for STALE_TMP_SECONDS: a folder shared between machines may hold another
    host's part being written); returns how many. Nothing reads them: this only frees disk."""
    folder = state_dir / COLUMNS_DIRNAME
    if not folder.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for path in folder.glob(".*.arrow.tmp"):
        found = _TMP_PART.match(path.name)
        if found is None or _alive(int(found["pid"])):
            continue
        try:
            if now - path.stat().st_mtime >= STALE_TMP_SECONDS:
                path.unlink()
                removed += 1
        except OSError:  # gone meanwhile, or not ours to remove: left
            continue
    if removed:
        logger.info("Removed %d half-written columns file(s) of killed processes from %s",
                    removed, folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process (or not a pid): left alone
    return True


class PartIndex:
    """Every part of a state folder, memory-mapped, and where each digest's row is.

    A part's rows are numbered after those of the parts before it (``offsets``): :attr:`where`
    maps a digest to that number, and :attr:`part_of`, :attr:`row_of` and :attr:`size_of`
    (numpy arrays) give a number's part, row in it and text size.

    The tables taken are views of the mapped files, whose pages count in the process's memory
    once read; :meth:`release` lets go of them (they are read again from the page cache when
    a view still in use is read), so that what the export holds stays one batch or two, not
    every part it has read."""

    def __init__(self, state_dir: Path):
        import numpy as np
        import pyarrow as pa

        self.tables: list["pa.Table"] = []  # the parts whole: the record's columns, size, digest
        self.maps: list[mmap.mmap] = []
        self.paths: list[Path] = []
        self.offsets: list[int] = []  # the number of each part's first row
        self.state_dir = state_dir
        self.where: dict[bytes, int] = {}  # digest: the number of its row
        sizes = []
        schema = read_schema()
        for path in part_files(state_dir):
            try:
                with open(path, "rb") as fh:
                    mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapped))).read_all()
                if table.schema.names != [*schema.names, SIZE, DIGEST] or \
                        not table.select(schema.names).schema.equals(schema):
                    continue  # a part of another version of the record: not used
                size = table.column(SIZE).to_numpy()
                digests = table.column(DIGEST).to_pylist()
            except (OSError, pa.ArrowException) as exc:
                logger.warning("Columns file %s not used (%s): its records are read from their "
                               "JSON text", path, exc)
                continue
            start = self.offsets[-1] + self.tables[-1].num_rows if self.tables else 0
            self.offsets.append(start)
            self.tables.append(table)
            self.paths.append(path)
            self.maps.append(mapped)
            sizes.append(size)
            self.where.update(zip(digests, range(start, start + len(digests))))
        counts = [t.num_rows for t in self.tables]
        self.part_of = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self.row_of = np.arange(sum(counts), dtype=np.int64) - np.repeat(
            np.array(self.offsets, dtype=np.int64), counts)
        self.size_of = np.concatenate(sizes).astype(np.int64) if sizes else \
            np.zeros(0, np.int64)
        self.used = np.zeros(sum(counts), dtype=bool)  # every row taken

    def __len__(self) -> int:
        return len(self.where)

    def locate(self, digests: list) -> "np.ndarray":
        """The row numbers of ``digests`` (-1 for one no part holds, or None)."""
        import numpy as np

        get = self.where.get
        return np.fromiter((-1 if d is None else get(d, -1) for d in digests), np.int64,
                           len(digests))

    def release(self) -> None:
        """Let go of the pages of the parts read so far (see the class)."""
        for mapped in self.maps:
            mapped.madvise(mmap.MADV_DONTNEED)

    def take(self, rows) -> "pa.Table":
        """The rows numbered ``rows`` (see the class), in that order, as one table of
        :func:`read_schema`."""
        import numpy as np
        import pyarrow as pa

        rows = np.asarray(rows, dtype=np.int64)
        self.used[rows] = True
        parts = self.part_of[rows]
        # The batch's positions part by part (in the batch's order within a part).
        by_part = np.argsort(parts, kind="stable")
        cuts = np.flatnonzero(np.diff(parts[by_part])) + 1
        groups = np.split(by_part, cuts) if len(rows) else []
        # A crawl's parts each hold ids from the whole range, so a batch (a range of ids) may
        # take a few rows of every part, and reading them maps the kernel's fault-around
        # window (~64 KB) around the page of every small column read, ~3 MB a part: held until
        # the next batch, or even during one take of the whole batch, that was 55-59 MB at 21
        # parts and grew with the parts (the export's memory slope). So the few rows of many
        # parts are copied a few parts at a time, each group's pages let go once it is copied
        # (then the batch's order is made from the copies); the rows of a part the batch takes
        # many of (their pages are what is read), or of a few parts, stay views (no copy).
        sparse = [at for at in groups if len(at) < DENSE_ROWS]
        spread = len(sparse) > COPY_GROUP_PARTS
        copied = sparse if spread else []
        pieces, positions = [], []
        for at in groups:
            if not spread or len(at) >= DENSE_ROWS:
                k = int(parts[at[0]])
                pieces.extend(_rows_of(self.tables[k], self.row_of[rows[at]]))
                positions.append(at)
        for g in range(0, len(copied), COPY_GROUP_PARTS):
            chunk = copied[g:g + COPY_GROUP_PARTS]
            ks = [int(parts[at[0]]) for at in chunk]
            group = [piece for k, at in zip(ks, chunk)
                     for piece in _rows_of(self.tables[k], self.row_of[rows[at]])]
            at = np.concatenate(chunk)
            local = np.argsort(at, kind="stable")
            pieces.append(pa.concat_tables(group).take(pa.array(local)))
            positions.append(at[local])
            for k in ks:
                self.maps[k].madvise(mmap.MADV_DONTNEED)
        if not pieces:
            return read_schema().empty_table()
        table = pa.concat_tables(pieces).select(read_schema().names)
        positions = np.concatenate(positions)
        # Put back in the batch's order, and pieces of several parts made one copy (the
        # writers then read one chunk each, none of the mapped pages release() lets go of).
        if np.any(positions[1:] < positions[:-1]):
            table = table.take(pa.array(np.argsort(positions, kind="stable")))
        elif len(pieces) > 1:  # in order already: joined (a copy of buffers, not a gather)
            table = table.combine_chunks()
        return table


def _rows_of(table: "pa.Table", rows: "np.ndarray") -> list["pa.Table"]:
    """``table``'s ``rows`` in that order: runs of consecutive rows as slices (no copy: a part's
    rows are often stored in the order the export asks for them), or one take when the runs are
    many (each slice costs about as much as a take of a few hundred rows)."""
    import numpy as np
    import pyarrow as pa

    starts = np.flatnonzero(np.diff(rows) != 1) + 1
    if len(starts) >= MAX_SLICES:
        return [table.take(pa.array(rows))]
    bounds = [0, *starts.tolist(), len(rows)]
    return [table.slice(int(rows[a]), b - a) for a, b in zip(bounds, bounds[1:])]


def compact(index: PartIndex) -> int:
    """After an export that read ``index``: where its parts hold more rows the export did not
    use (texts changed since, re-read by a rebuild) than rows it used, write the used rows
    again as new parts and remove the old ones; returns the rows left behind (0: nothing done).

    Safe beside a crawl storing meanwhile: only the files the export read are removed, and a
    row they held that the state would want after all is read from its text."""
    import numpy as np
    import pyarrow as pa

    used = np.flatnonzero(index.used)
    unused = len(index.used) - len(used)
    if unused <= len(used):
        return 0
    by_part: dict[int, list[int]] = {}
    for k, row in zip(index.part_of[used].tolist(), index.row_of[used].tolist()):
        by_part.setdefault(k, []).append(row)
    folder = index.state_dir / COLUMNS_DIRNAME
    prefix = f"compact-{os.getpid()}-{secrets.token_hex(3)}"
    pieces, rows, count, written = [], 0, 0, []

    def write() -> None:
        nonlocal pieces, rows, count
        path = folder / f"{prefix}-{count:06d}.arrow"
        _write_part(path, pa.concat_tables(pieces).sort_by("qa_id"))
        written.append(path)
        pieces, rows, count = [], 0, count + 1
        index.release()

    try:
        for k, taken in by_part.items():
            pieces.append(index.tables[k].take(pa.array(taken, pa.int64())))
            rows += len(taken)
            if rows >= PART_ROWS:
                write()
        if pieces:
            write()
    except (OSError, pa.ArrowException) as exc:
        for path in written:
            path.unlink(missing_ok=True)
        logger.warning("Columns of %s not compacted (%s); the export is written all the same",
                       folder, exc)
        return 0
    for path in index.paths:
        path.unlink(missing_ok=True)
    logger.info("Columns of %s compacted: %d rows of %d parts left behind, %d rows kept in %d",
                folder, unused, len(index.paths), len(used), len(written))
    return unused
