"""Write the dataset folder: qa/similar/related_topics as Parquet and CSV, failures, manifest, card.

The writer takes its schemas up front (from :mod:`qa_crawler.record`), buffers rows and writes
them in batches, casting every batch to the fixed schema; it never lets pyarrow infer one.

How a new set of files replaces the old one, so that a reader sees one set or the other, never
a mix, and the manifest always matches the files beside it:

- One export at a time per folder: each takes ``DIR/.qa-crawler/export.lock`` (an flock, gone
  with its process), waiting a bounded time for another (the crawl's closing export takes it
  too); :class:`ExportBusy` names the holder when the wait runs out.
- Each export writes its whole set (data files, card, manifest) into a fresh folder of its
  own, ``DIR/.qa-dataset/<time>-<pid>-<random>/``, and fsyncs it.
- ``DIR/.qa-dataset/current`` is a symlink to the published set, and every published name in
  DIR (``qa.parquet``, ``data/qa-train.parquet``, ..., ``manifest.json``) is a fixed symlink
  through it (``.qa-dataset/current/qa.parquet``). Publishing is one ``rename`` of a new ``current`` link
  over the old one, so all names switch at once; renaming files into DIR one by one could not
  do that (a kill between two renames left new Parquet beside old CSV and an old manifest).
  Readers need nothing new: opening ``DIR/qa.parquet`` follows the links (pandas, pyarrow,
  ``load_dataset``, DuckDB, polars, Hugging Face ``datasets``), ``cp`` and ``zip`` copy the
  contents. A reader that opens several files and must not straddle a switch reads them from
  :func:`published_set` (the resolved folder).
- The previous set stays (``.qa-dataset/previous``) so that a reader that resolved it just
  before a switch can finish; older sets and the folders of crashed exports are removed by the
  next export, under the lock. The sets live outside the state folder ``.qa-crawler`` so that a
  copy of the dataset without its state (and the redaction salt) still holds its files.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import gc
import hashlib
import io
import json
import os
import secrets
import shutil
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait as futures_wait
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from qa_crawler import __version__
from qa_crawler.parsers.doctorqna import PARSER_VERSION
from qa_crawler.record import (
    CSV_LIST_SEPARATOR,
    NESTED,
    SCHEMA_HISTORY,
    SCHEMA_VERSION,
    LONG_TEXTS,
    JsonDecoder,
    issue_kind,
    csv_schema,
    dataset_schema,
    flat_name,
    flat_rows,
    flat_schema,
)
from pipelines.croissant import croissant
from pipelines.privacy import export_options, hash_value, salt_for, splits_of
import pipelines.release as release
from pipelines.release import (
    RowGroupWriter, SplitWriters, changelog, changes_since, next_version, split_files)
from pipelines.dedup import (
    NUM_PERM, SHINGLE_WORDS, THRESHOLD, SignatureCache, near_duplicate_groups)
from qa_crawler.state import STATE_DIRNAME, StorageError, file_system_cause, hold_lock
from qa_crawler.columns import PartIndex, compact, read_json_lines
from qa_crawler.folder import (
    MergedPages, merged_failures, merged_runs, merged_signature_blocks)

BATCH_ROWS = 2000
# ... or fewer when the texts are long: a batch is copied several times on its way to Parquet
# and CSV, so its text size, not its row count, sets the export's peak memory. (16 MB: half the
# batches' fixed cost, 0-10 % of the export's time, within the noise; 60-80 MB more peak.)
BATCH_TEXT_BYTES = 8 << 20
PARQUET_OPTIONS = {"compression": "zstd"}


def parquet_options(schema: pa.Schema) -> dict:
    """The Parquet writer's options for a table of ``schema``: zstd, and min/max statistics for
    every column but the free texts and the lists (``question``, ``answer``, ``similar`` ...).

    Statistics let a reader skip row groups a filter cannot match (``qa_id`` ranges,
    departments, dates); the min and max of a 7 KB question skip nothing anyone asks for, and
    computing them cost 20 % of writing the qa table (0.74 -> 0.96 s of CPU for 100,000 rows
    in row groups of 2,300, measured against the same file with them)."""
    return {**PARQUET_OPTIONS, "write_statistics": [
        f.name for f in schema if f.name not in LONG_TEXTS and not pa.types.is_list(f.type)]}
# Spreadsheets run a cell starting with one of these as a formula (CSV injection); a leading
# apostrophe makes it text.
FORMULA_START = r"^([=+\-@\t\r])"
FORMULA_CHARS = "=+-@\t\r"


@functools.cache
def _formula_chars() -> pa.Array:
    """FORMULA_CHARS as an array, made at first use: pyarrow's first array of Python values
    imports pandas (0.25 s), which made importing this module cost it."""
    return pa.array(list(FORMULA_CHARS), pa.string())

FAILURE_SCHEMA = pa.schema([
    pa.field("url", pa.string(), nullable=False, metadata={"doc": "URL that could not be used."}),
    pa.field("kind", pa.string(), nullable=False,
             metadata={"doc": "Why: http_error, network_error, too_large, not_qa_page, "
                                  "invalid_record, ..."}),
    pa.field("status", pa.int16(), metadata={"doc": "Last HTTP status, when there was one."}),
    pa.field("error", pa.string(), metadata={"doc": "The error or parser reason, one line."}),
    pa.field("attempts", pa.int32(), metadata={"doc": "Fetch attempts so far, over all runs."}),
    pa.field("last_attempt", pa.timestamp("us", tz="UTC"),
             metadata={"doc": "When it was last tried (UTC)."}),
])

DATA_FILES = (
    "qa.parquet", "similar.parquet", "related_topics.parquet", "failures.parquet",
    "qa.csv", "similar.csv", "related_topics.csv", "failures.csv",
)
SETS_DIRNAME = ".qa-dataset"
SIGNATURES_FILE = "near-duplicates.sqlite"  # the questions' MinHash signatures, between exports


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix ``'`` to string cells starting with ``= + - @`` (tab, CR) so spreadsheets show text.

    A cell's first character is compared with the set, and only the cells that start with one
    are rewritten: the regex over every cell (:func:`neutralise_formulas_by_regex`, the
    reference it is tested against) cost the export 2.0 s of CPU at 100,000 records, more than
    the CSV writes themselves (0.85 s); this costs 0.13 s."""
    columns = []
    for field, col in zip(table.schema, table.columns):
        if pa.types.is_string(field.type):
            mask = pc.is_in(pc.utf8_slice_codeunits(col, 0, 1), value_set=_formula_chars())
            if pc.any(mask).as_py():
                col = pc.if_else(mask, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=table.schema)


def neutralise_formulas_by_regex(table: pa.Table) -> pa.Table:
    """:func:`neutralise_formulas` by a regex over every string cell (the reference)."""
    columns = []
    for field, col in zip(table.schema, table.columns):
        if pa.types.is_string(field.type):
            col = pc.replace_substring_regex(col, pattern=FORMULA_START, replacement=r"'\1")
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=table.schema)


class HashedFile(io.RawIOBase):
    """A data file of the set as its writer (pyarrow's Parquet or CSV) writes it: each write
    goes to the file and into the file's SHA-256 (the manifest's, known once the file ends,
    without reading it again), and every WRITEBACK_BYTES the kernel is asked to start writing
    what came so far to the disk, so that the fsync at the end waits for the last part only.
    Both used to come after the last write: 0.5 s of hashing and 0.3-0.4 s of fsync at the end
    of a 100,000-record export, on its critical path."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.sha256 = hashlib.sha256()
        self.size = self.flushed = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])
        self.size += done
        if self.size - self.flushed >= WRITEBACK_BYTES:
            _start_writeback(self.fd, self.flushed, self.size - self.flushed)
            self.flushed = self.size
        return done

    def tell(self) -> int:
        return self.size

    def close(self) -> None:
        """fsync and close (the digest stays: :meth:`hexdigest`)."""
        if not self.closed:
            try:
                os.fsync(self.fd)
            finally:
                os.close(self.fd)
        super().close()

    def abandon(self) -> None:
        """Close without the fsync (a file of a set an error ends)."""
        if not self.closed:
            os.close(self.fd)
        super().close()

    def hexdigest(self) -> str:
        return self.sha256.hexdigest()


WRITEBACK_BYTES = 8 << 20


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing a file's range to the disk, without waiting for it (Linux
    starts the writeback of the range's dirty pages for POSIX_FADV_DONTNEED, then drops those
    already clean). Nothing is lost where it cannot: the fsync at the end writes them."""
    try:
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
    except (AttributeError, OSError):
        pass


class _TableSink:
    """One table written as Parquet and CSV side by side, batch by batch."""

    def __init__(self, tmp_dir: Path, name: str, schema: pa.Schema, csv_schema_: pa.Schema,
                 splits: SplitWriters | None = None):
        self.name = name
        self.splits = splits  # the qa table's: its rows go to the split files too
        self.schema = schema
        self.csv_schema = csv_schema_
        self.parquet_path = tmp_dir / f"{name}.parquet"
        self.csv_path = tmp_dir / f"{name}.csv"
        self.files = [HashedFile(self.parquet_path), HashedFile(self.csv_path)]
        self.parquet = RowGroupWriter(self.files[0], schema, **parquet_options(schema))
        self.csv = pacsv.CSVWriter(self.files[1], csv_schema_)
        self.rows = 0
        self.buffer: list[dict] = []
        self.text_bytes = 0

    def add(self, row: dict, text_bytes: int = 0) -> None:
        self.buffer.append(row)
        self.text_bytes += text_bytes
        if len(self.buffer) >= BATCH_ROWS or self.text_bytes >= BATCH_TEXT_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        self.buffer, self.text_bytes = [], 0
        self.write(table)

    def write(self, table: pa.Table) -> None:
        for _, job in self.jobs(table):
            job()

    def jobs(self, table: pa.Table, end_group: bool | None = None) -> list:
        """The writes of one batch, each (file, callable): :class:`_Writes` runs each file's
        writes in order, on its few threads (pyarrow encodes, compresses and writes without the
        GIL). ``end_group``: the Parquet files' row groups end with this batch (None: at
        their own size)."""
        table = table.cast(self.schema)
        self.rows += table.num_rows
        jobs = [(self.parquet_path.name, lambda: self.parquet.write_table(table, end_group)),
                (self.csv_path.name, lambda: self._write_csv(table))]
        if self.splits is not None:
            jobs.append(("splits", lambda: self.splits.write(table, end_group)))
        return jobs

    def close_jobs(self, digests: dict[str, str]) -> list:
        """The ends of the files (what is buffered written, the file closed and fsynced, its
        sha256 put in ``digests`` under its name in the set), each in its file's order."""
        self.flush()
        folder = self.parquet_path.parent

        def end(writer, *files: HashedFile):
            def job():
                writer.close()
                for file in files:
                    file.close()
                    digests[file.path.relative_to(folder).as_posix()] = file.hexdigest()
            return job

        jobs = [(self.parquet_path.name, end(self.parquet, self.files[0])),
                (self.csv_path.name, end(self.csv, self.files[1]))]
        if self.splits is not None:
            jobs.append(("splits", end(self.splits, *self.splits.files)))
        return jobs

    def _write_csv(self, table: pa.Table) -> None:
        csv_table = table.select(self.csv_schema.names)
        for i, f in enumerate(csv_table.schema):
            if pa.types.is_list(f.type):
                csv_table = csv_table.set_column(
                    i, f.name, pc.binary_join(csv_table.column(i), CSV_LIST_SEPARATOR))
        self.csv.write_table(neutralise_formulas(csv_table.cast(self.csv_schema)))

    def close(self) -> None:
        try:
            self.flush()
            self.parquet.close()
            self.csv.close()
            if self.splits is not None:
                self.splits.close()
        finally:
            for file in self.all_files():
                file.close()

    def abandon(self) -> None:
        """After an error: the writers and files closed, nothing more written or fsynced (the
        set is removed)."""
        for writer in (self.parquet, self.csv, self.splits):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
        for file in self.all_files():
            file.abandon()

    def all_files(self) -> list[HashedFile]:
        return [*self.files, *(self.splits.files if self.splits is not None else ())]

    @property
    def split_rows(self) -> dict[str, int]:
        return self.splits.rows


PAGE_META = ("first_seen", "last_seen", "changed_at", "removed_at")  # from the state, per page


class RecordBatches:
    """Stored records to Arrow tables, a batch at a time: the qa rows and the flat tables.

    A batch's JSON texts are read by pyarrow's JSON reader against the record's schema (dates
    and timestamps as text, then cast), so no record is decoded into Python objects; the page
    history, ``dup_cluster``, ``split`` and salted hashes are added as columns. A batch the
    reader cannot take (a value it will not cast, say) is decoded row by row instead
    (:meth:`by_rows`, the reference the columnar path is tested against): same values."""

    def __init__(self, schema: pa.Schema, groups: dict[str, str], split_ratios,
                 hashed: list[str], salt: bytes, parts: PartIndex | None = None):
        self.schema, self.groups, self.split_ratios = schema, groups, split_ratios
        self.hashed, self.salt = hashed, salt
        self.parts = parts
        self.decode = JsonDecoder(schema)
        self.empty_lists = [f.name for f in schema if pa.types.is_list(f.type) and not f.nullable]
        self.flat_schemas = {name: flat_schema(name) for name in NESTED}
        self.columnar_batches = self.row_batches = 0

    def derive(self, pages: pa.Table) -> pa.Table:
        """``pages`` (rows of the folder's index) with their ``dup_cluster`` and ``split``."""
        qa_ids = pages.column("qa_id").to_pylist()
        get = self.groups.get
        clusters = [get(qa_id) for qa_id in qa_ids]
        splits = splits_of([c or qa_id for c, qa_id in zip(clusters, qa_ids)], self.split_ratios)
        return pages.append_column("dup_cluster", pa.array(clusters, pa.string())) \
            .append_column("split", splits)

    def _derived(self, batch: "PageBatch") -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
        """The batch's ``dup_cluster`` and ``split`` columns (derived with the whole index
        before the writes start, or now for a batch of rows)."""
        pages = batch.pages if "split" in batch.pages.column_names else self.derive(batch.pages)
        return pages.column("dup_cluster"), pages.column("split")

    def tables(self, batch) -> tuple[pa.Table, dict[str, pa.Table]]:
        """(qa table, {flat table name: table}) of a :class:`PageBatch` (or of rows,
        (qa_id, record JSON, page meta) each)."""
        batch = PageBatch.of(batch)
        try:
            result = self.columnar(batch)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            result = None
        if result is None:
            self.row_batches += 1
            return self.by_rows(batch)
        self.columnar_batches += 1
        return result

    def read(self, batch: "PageBatch") -> pa.Table | None:
        """The records of ``batch`` as columns (:func:`qa_crawler.columns.read_schema`): those a
        part holds taken from it, the others read from their texts by the JSON reader; None
        when a text is not one JSON line."""
        in_parts = batch.rows >= 0
        if not in_parts.any():
            return read_json_lines([batch.text(i) for i in range(len(batch))])
        self.parts.release()  # the pages of the batches before (see PartIndex)
        taken = self.parts.take(batch.rows[in_parts])
        if in_parts.all():
            return taken
        from_texts = np.flatnonzero(~in_parts)
        decoded = read_json_lines([batch.text(i) for i in from_texts.tolist()])
        if decoded is None:
            return None
        # Back in the batch's order: the part rows came first, then those read from texts.
        order = np.argsort(np.concatenate([np.flatnonzero(in_parts), from_texts]), kind="stable")
        return pa.concat_tables([taken, decoded]).take(pa.array(order))

    def columnar(self, batch) -> tuple[pa.Table, dict[str, pa.Table]] | None:
        batch = PageBatch.of(batch)
        read = self.read(batch)
        if read is None:  # a record that is not one JSON line: take them one by one
            return None
        clusters, splits = self._derived(batch)
        columns = []
        for f in self.schema:
            if f.name in PAGE_META:
                column = batch.pages.column(f.name)
            elif f.name == "dup_cluster":
                column = clusters
            elif f.name == "split":
                column = splits
            else:
                column = read.column(f.name)
                if f.name in self.hashed:
                    column = pa.array([hash_value(v, self.salt) for v in column.to_pylist()],
                                      pa.string())
            column = column.cast(f.type)
            if column.null_count and not f.nullable and pa.types.is_list(f.type):
                column = pc.fill_null(column, pa.scalar([], f.type))  # an older record's: none
            columns.append(column)
        qa = pa.Table.from_arrays(columns, schema=self.schema)
        return qa, {name: self._flat(read, name) for name in NESTED}

    def _flat(self, read: pa.Table, name: str) -> pa.Table:
        """Flat table ``name``: a row per entry of the record's list, ranked from 1."""
        schema = self.flat_schemas[name]
        lists = read.column(name).combine_chunks()
        lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
        entries = pc.list_flatten(lists)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        rank = np.arange(len(entries)) - starts + 1
        columns = [pc.take(read.column("qa_id"), pc.list_parent_indices(lists)),
                   pa.array(rank, pa.int16())]
        by_flat_name = {flat_name(f): f.name for f in dataclasses.fields(NESTED[name])}
        for f in list(schema)[2:]:
            columns.append(pc.struct_field(entries, by_flat_name[f.name]).cast(f.type))
        return pa.Table.from_arrays(columns, schema=schema)

    def by_rows(self, batch) -> tuple[pa.Table, dict[str, pa.Table]]:
        """The same tables, each record decoded in Python (the reference, and the fallback)."""
        batch = PageBatch.of(batch)
        clusters, splits = self._derived(batch)
        metas = batch.pages.select(list(PAGE_META)).to_pylist()
        qa_rows, flat = [], {name: [] for name in NESTED}
        for i, (meta, cluster, split) in enumerate(zip(metas, clusters.to_pylist(),
                                                       splits.to_pylist())):
            record = json.loads(batch.text(i))
            row = dict(record)
            row.update(meta)
            row["dup_cluster"], row["split"] = cluster, split
            for column in self.hashed:
                row[column] = hash_value(row.get(column), self.salt)
            for column in self.empty_lists:  # a list an older record lacks: none
                if row.get(column) is None:
                    row[column] = []
            qa_rows.append(self.decode(row))
            for name in NESTED:
                flat[name].extend(flat_rows(name, record))
        qa = pa.Table.from_pylist(qa_rows, schema=self.schema)
        return qa, {name: pa.Table.from_pylist(flat[name], schema=self.flat_schemas[name])
                    for name in NESTED}


INDEX_TYPES = {"qa_id": pa.string(), **{name: pa.string() for name in PAGE_META}}


class PageBatch:
    """A batch of pages to export: their rows of the folder's index (:meth:`MergedPages.index`:
    qa_id, page history, digest, source), the number of each one's row in the parts
    (:class:`PartIndex`; -1 for a record no part holds) and the texts read so far of the
    others (the rest are read when asked, :meth:`text`)."""

    def __init__(self, pages: pa.Table, rows: np.ndarray, texts: dict[int, bytes],
                 merged: MergedPages | None = None):
        self.pages, self.rows, self.texts, self.merged = pages, rows, texts, merged
        self.qa_ids = pages.column("qa_id").to_pylist()

    def __len__(self) -> int:
        return self.pages.num_rows

    @classmethod
    def of(cls, batch) -> "PageBatch":
        """``batch`` itself, or the batch of rows (qa_id, record JSON, page meta) given as such
        (none in the parts)."""
        if isinstance(batch, cls):
            return batch
        columns = {name: [qa_id if name == "qa_id" else meta.get(name)
                          for qa_id, _, meta in batch] for name in INDEX_TYPES}
        pages = pa.table({name: pa.array(values, INDEX_TYPES[name])
                          for name, values in columns.items()})
        texts = {i: text if isinstance(text, bytes) else text.encode("utf-8")
                 for i, (_, text, _) in enumerate(batch)}
        return cls(pages, np.full(len(batch), -1, np.int64), texts)

    def text(self, i: int) -> bytes:
        """The record text of the batch's page ``i`` (read from the state if not yet)."""
        text = self.texts.get(i)
        if text is None:
            text = self.texts[i] = self.merged.text(
                self.pages.column("source")[i].as_py(), self.qa_ids[i])
        return text


def _batches(index: pa.Table, pages: MergedPages, parts: PartIndex, keep_removed: bool,
             derive):
    """The folder's pages (``index``, :meth:`MergedPages.index`) in batches of BATCH_ROWS, or
    fewer of BATCH_TEXT_BYTES of JSON (a batch is copied several times on its way to Parquet
    and CSV: its size sets the peak), each a :class:`PageBatch` of the index's rows as
    ``derive`` completes them; first the number of pages left out as withdrawn from the site."""
    removed = pc.fill_null(pc.not_equal(index.column("removed_at"), ""), False)
    withdrawn = 0
    if not keep_removed:
        withdrawn = pc.sum(removed).as_py() or 0
        index = index.filter(pc.invert(removed))
    index = derive(index)
    yield withdrawn
    rows = parts.locate(index.column("record_digest").to_pylist())
    sizes = np.full(len(rows), -1, np.int64)  # -1: a text to read
    sizes[rows >= 0] = parts.size_of[rows[rows >= 0]]
    sources, qa_ids = index.column("source"), index.column("qa_id")
    texts: dict[int, bytes] = {}
    start, n = 0, index.num_rows
    while start < n:
        end = min(start + BATCH_ROWS, n)
        for i in (start + np.flatnonzero(sizes[start:end] < 0)).tolist():  # no part holds it
            texts[i] = pages.text(sources[i].as_py(), qa_ids[i].as_py())
            sizes[i] = len(texts[i])
        over = np.flatnonzero(np.cumsum(sizes[start:end]) >= BATCH_TEXT_BYTES)
        stop = start + int(over[0]) + 1 if len(over) else end
        yield PageBatch(index.slice(start, stop - start), rows[start:stop],
                        {i - start: texts.pop(i) for i in list(texts) if i < stop}, pages)
        start = stop


# On 2 cores, beside the main thread: one per file (7) spent 20 % more CPU than 3. With row
# groups of 32 MB, 2 are as fast as 3 for ~25 MB less of the export's peak (2026-12-08, AMD
# EPYC, 3 rounds interleaved: 3.70-3.82 s and 445-461 MB against 3.71-3.87 s and 471-488 MB);
# at 64 MB, 2 were faster (3.54-3.63 s against 3.71-3.87).
WRITE_THREADS = 2


class _Writes:
    """The file writes of the batches on a few threads, each file's in order: a file's write of
    a batch starts as soon as its write of the batch before is done and a thread is free,
    whatever the other files' are at, so no thread idles until the slowest write of a batch
    ends (a barrier per batch left a quarter of the two cores unused). :meth:`submit` returns
    once every write of the batch before has ended: two batches in memory at most, one being
    written, one being read. An error of any write is raised by the next :meth:`submit` or
    :meth:`close`."""

    def __init__(self, threads: int = WRITE_THREADS):
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="qa-export-write")
        self.lanes: dict[str, collections.deque] = {}  # each file's writes not yet ended
        self.lock = threading.Lock()
        self.pending: list[Future] = []

    def submit(self, jobs: list) -> None:
        queued = []
        for name, job in jobs:
            future: Future = Future()
            with self.lock:
                lane = self.lanes.setdefault(name, collections.deque())
                lane.append((job, future))
                if len(lane) == 1:  # its file's writes before are done: it may start
                    self.pool.submit(self._run, lane)
            queued.append(future)
        self.wait()
        self.pending = queued

    def _run(self, lane: collections.deque) -> None:
        job, future = lane[0]
        try:
            future.set_result(job())
        except BaseException as exc:  # handed to whoever waits for it
            future.set_exception(exc)
        with self.lock:
            lane.popleft()
            if lane:
                self.pool.submit(self._run, lane)

    def wait(self) -> None:
        pending, self.pending = self.pending, []
        futures_wait(pending)
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """End the threads once what is queued has run (after an error: nothing raised)."""
        while True:
            with self.lock:
                left = [future for lane in self.lanes.values() for _, future in lane]
            if not left:
                break
            futures_wait(left)
        self.pool.shutdown()


class DatasetStats:
    """What the card and the manifest say about the rows: counts and fill rates."""

    def __init__(self, columns: Iterable[str]):
        self.rows = 0
        self.by_department: Counter = Counter()
        self.by_year: Counter = Counter()
        self.by_split: Counter = Counter()
        self.filled: Counter = Counter()
        self.columns = list(columns)
        self.first_asked: str | None = None
        self.last_asked: str | None = None
        self.issue_rows = 0
        self.issue_kinds: Counter = Counter()
        self.last_seen: str | None = None  # the latest page history the rows hold
        self.withdrawn = 0  # rows kept although withdrawn from the site (--keep-removed)

    def add(self, row: dict) -> None:
        """Count one row (its stored JSON values): the reference :meth:`add_table` is tested
        against."""
        self.rows += 1
        self.withdrawn += bool(row.get("removed_at"))
        seen = row.get("last_seen")
        if seen and (self.last_seen is None or str(seen) > self.last_seen):
            self.last_seen = str(seen)
        issues = row.get("parse_issues")
        if issues:
            self.issue_rows += 1
            self.issue_kinds.update({issue_kind(i) for i in issues})
        self.by_department[row.get("department") or "(none)"] += 1
        self.by_split[row.get("split")] += 1
        asked = row.get("asked_on")
        if asked:
            self.by_year[str(asked)[:4]] += 1
            asked = str(asked)
            self.first_asked = min(self.first_asked or asked, asked)
            self.last_asked = max(self.last_asked or asked, asked)
        for name in self.columns:
            value = row.get(name)
            if value not in (None, "", []):
                self.filled[name] += 1

    def see(self, last_seen: str | None) -> None:
        """The latest page history a row holds (the state's ISO text)."""
        if last_seen and (self.last_seen is None or last_seen > self.last_seen):
            self.last_seen = last_seen

    def add_table(self, table: pa.Table) -> None:
        """:meth:`add` for every row of a qa table (its final values: hashed, cast), less the
        page history's last_seen, given by :meth:`see`."""
        n = table.num_rows
        if not n:
            return
        self.rows += n
        self.withdrawn += n - table.column("removed_at").null_count
        issues = table.column("parse_issues")
        for row in issues.filter(pc.greater(pc.list_value_length(issues), 0)).to_pylist():
            self.issue_rows += 1
            self.issue_kinds.update({issue_kind(i) for i in row})
        for item in pc.value_counts(table.column("department")).to_pylist():
            self.by_department[item["values"] or "(none)"] += item["counts"]
        for item in pc.value_counts(table.column("split")).to_pylist():
            self.by_split[item["values"]] += item["counts"]
        asked = table.column("asked_on").drop_null()
        if len(asked):
            for item in pc.value_counts(pc.year(asked)).to_pylist():
                self.by_year[f"{item['values']:04d}"] += item["counts"]
            bounds = pc.min_max(asked)
            first, last = bounds["min"].as_py().isoformat(), bounds["max"].as_py().isoformat()
            self.first_asked = min(self.first_asked or first, first)
            self.last_asked = max(self.last_asked or last, last)
        for name in self.columns:
            column = table.column(name)
            kind = column.type
            if pa.types.is_string(kind):
                filled = pc.sum(pc.not_equal(column, "")).as_py() or 0
            elif pa.types.is_list(kind):
                filled = pc.sum(pc.greater(pc.list_value_length(column), 0)).as_py() or 0
            else:
                filled = n - column.null_count
            self.filled[name] += filled

    def parse_issues(self) -> dict:
        """Rows with parse issues, and rows per kind of issue (a row counts once per kind)."""
        return {"rows": self.issue_rows,
                "share": round(self.issue_rows / self.rows, 4) if self.rows else 0.0,
                "by_kind": dict(sorted(self.issue_kinds.items()))}

    def fill_rates(self) -> dict[str, float]:
        return {c: round(self.filled[c] / self.rows, 4) if self.rows else 0.0 for c in self.columns}


# Files of a release beside the tables (see pipelines.release): not data, not in "files".
RELEASE_FILES = ("CHANGELOG.md", "croissant.json")
# Every name an export publishes in DIR (``data/...`` in a folder of its own); the manifest last
# wherever order matters.
PUBLISHED = (*DATA_FILES, *split_files(), *RELEASE_FILES, "README.md", "manifest.json")


def _previous_release(out: Path) -> tuple[dict | None, set[str] | None, str | None]:
    """The published release a new export follows: its manifest, its qa_ids and changelog."""
    manifest_path, qa_path = out / "manifest.json", out / "qa.parquet"
    if not manifest_path.is_file() or not qa_path.is_file():
        return None, None, None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        ids = set(pq.read_table(qa_path, columns=["qa_id"]).column("qa_id").to_pylist())
    except (OSError, ValueError, pa.ArrowException):
        return None, None, None  # unreadable: this export starts the history afresh
    log = out / "CHANGELOG.md"
    return manifest, ids, log.read_text(encoding="utf-8") if log.is_file() else None


def export_dataset(out_dir: str | os.PathLike, *, start_url: str | None = None,
                   extra_manifest: dict | None = None, redact: list[str] | None = None,
                   split_ratios: str | None = None, keep_removed: bool | None = None,
                   lock_wait: float | None = None) -> dict:
    """Write the dataset folder from the crawl state in ``out_dir``; returns the manifest.

    Waits up to ``lock_wait`` seconds (default ``QA_EXPORT_LOCK_WAIT``) for another export of
    the folder to finish, then raises :class:`ExportBusy`. See the module's docstring for how
    the new files replace the old ones.

    ``redact`` lists ``NAME``, ``NAME:hash`` (a salted hash replaces the value) or ``NAME:drop``
    specs; ``split_ratios`` (``"0.8,0.1,0.1"``) sets the train/validation/test shares of the
    ``split`` column. Both are kept in the state folder and apply to later exports until
    changed (see :func:`pipelines.privacy.export_options`); ValueError names a bad one.
    Pages withdrawn from the site (``removed_at``) are left out unless ``keep_removed``
    (default: the ``QA_KEEP_REMOVED`` setting).
    """
    from qa_crawler.settings import QA_EXPORT_LOCK_WAIT

    if keep_removed is None:
        from qa_crawler.settings import QA_KEEP_REMOVED as keep_removed

    out = Path(out_dir)
    (out / STATE_DIRNAME).mkdir(parents=True, exist_ok=True)
    wait = QA_EXPORT_LOCK_WAIT if lock_wait is None else lock_wait
    lock = hold_lock(out / STATE_DIRNAME / "export.lock", wait)
    if isinstance(lock, str):
        raise ExportBusy(f"{out} is being exported by {lock}; waited {wait:g}s for it, run the "
                         "export again when it is done")
    try:
        sets = out / SETS_DIRNAME
        _remove_unpublished(out)
        tmp = sets / f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{os.getpid()}-" \
                     f"{secrets.token_hex(4)}"
        tmp.mkdir(parents=True)
        try:
            with _collector_spares_what_was_there():
                manifest = _write_set(out, tmp, start_url, extra_manifest, redact,
                                      split_ratios, keep_removed)
            # (the data files were fsynced as they ended: HashedFile)
            _fsync_folder(tmp, synced={tmp / name for name in manifest["files"]})
        except OSError as exc:  # a full disk, a read-only or failing one
            # pyarrow's errors carry no strerror: the file system says what is wrong (asked
            # before the partial set is removed, which frees the space).
            cause = exc.strerror or file_system_cause(tmp) or exc
            shutil.rmtree(tmp, ignore_errors=True)
            raise StorageError(f"cannot write {exc.filename or tmp}: {cause}") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            _publish(out, tmp)
        except OSError as exc:  # e.g. a file system without symbolic links
            raise StorageError(f"cannot publish the dataset in {out}: {exc.strerror or exc}"
                               f"{f' ({exc.filename})' if exc.filename else ''}") from exc
        return manifest
    finally:
        lock.close()


@contextlib.contextmanager
def _collector_spares_what_was_there():
    """Python's cyclic collector leaves the objects that exist before the export alone while
    it runs (``gc.freeze``): the export makes short-lived objects by the million, and each of
    the collections they set off walked every object of the process too. Measured on
    2026-12-08 (AMD EPYC, 100,000 records, interleaved): in a process that had imported Scrapy,
    Twisted and aiohttp (117,000 objects) the export took 3.72 s against 3.52-3.58 in a bare
    one; frozen, 3.48-3.50. A process that froze objects of its own keeps them so: nothing is
    frozen or unfrozen here then."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _near_duplicates(out: Path) -> dict[str, str]:
    """The near-duplicate groups of the folder's questions (signatures cached between
    exports)."""
    signatures = SignatureCache(out / STATE_DIRNAME / SIGNATURES_FILE)
    try:
        blocks, rest = merged_signature_blocks(out)
        groups = near_duplicate_groups(rest, cache=signatures, blocks=blocks)
        signatures.save()  # valid whatever becomes of this export: keyed by the words alone
    finally:
        signatures.close()
    return groups


def _write_set(out: Path, tmp: Path, start_url, extra_manifest, redact, split_ratios,
               keep_removed) -> dict:
    """Write every file of the dataset into the folder ``tmp``; returns the manifest."""
    redact, split_ratios = export_options(out / STATE_DIRNAME, redact, split_ratios)
    dropped = {c for c, how in redact.items() if how == "drop"}
    hashed = [c for c, how in redact.items() if how == "hash"]
    salt = salt_for(out / STATE_DIRNAME) if hashed else b""
    schema = dataset_schema(dropped)
    qa = _TableSink(tmp, "qa", schema, csv_schema(dropped),
                    splits=SplitWriters(tmp, schema, parquet_options(schema), HashedFile))
    flat = {name: _TableSink(tmp, name, flat_schema(name), flat_schema(name)) for name in NESTED}
    stats = DatasetStats(schema.names)
    withdrawn = 0
    writes = _Writes()
    pages = MergedPages(out)
    digests: dict[str, str] = {}  # the files' sha256, each computed as its file ends
    sinks = [qa, *flat.values()]
    try:
        # Near-duplicate groups first (a pass over the questions alone): a group's rows share
        # a split, so that no question has a near-copy in another split. (On a thread beside
        # the two reads below, the three took longer: each lets go of the GIL at every row.)
        groups = _near_duplicates(out)
        # The records a part of the state holds (qa_crawler.columns) are taken from it, the
        # others read from their JSON texts.
        parts = PartIndex(out / STATE_DIRNAME)
        index = pages.index()
        batches = RecordBatches(schema, groups, split_ratios, hashed, salt, parts)
        batches_of = _batches(index, pages, parts, keep_removed, batches.derive)
        withdrawn = next(batches_of)
        group_bytes = 0
        for batch in batches_of:
            table, flat_tables = batches.tables(batch)
            stats.add_table(table)
            stats.see(pc.max(batch.pages.column("last_seen")).as_py())
            # Every Parquet file's row group ends with the batch that fills the qa file's: the
            # files' buffers then hold the same range of rows (at most ROW_GROUP_BYTES of qa
            # rows, as much again in the split files, the flat tables' share), however large
            # the dataset. Each file's own size made the small files (a split of 10 %, the
            # related topics) keep all their rows to the end in a dataset of a few thousand
            # pages and 16 MB each in a larger one: memory that grew with the crawl.
            group_bytes += table.nbytes
            end_group = group_bytes >= release.ROW_GROUP_BYTES
            if end_group:
                group_bytes = 0
            writes.submit([*qa.jobs(table, end_group),
                           *(job for name, sink in flat.items()
                             for job in sink.jobs(flat_tables[name], end_group))])
        writes.submit([job for sink in sinks for job in sink.close_jobs(digests)])
        writes.close()
        sinks = []
    finally:
        pages.close()
        writes.shutdown()
        for sink in sinks:  # an error: the set is removed
            sink.abandon()
    compact(parts)  # when the parts hold more rows this export left than it took

    failures = merged_failures(out)
    fail_sink = _TableSink(tmp, "failures", FAILURE_SCHEMA, FAILURE_SCHEMA)
    decode_failure = JsonDecoder(FAILURE_SCHEMA)
    for f in failures:
        fail_sink.add(decode_failure(dict(f)))
    fail_sink.close()

    runs = merged_runs(out)
    counts = {
        "qa": qa.rows, "similar": flat["similar"].rows,
        "related_topics": flat["related_topics"].rows, "failures": fail_sink.rows,
    }
    split_rows = qa.split_rows
    files = {}
    names = [*DATA_FILES, *split_rows]
    digests.update({file.path.name: file.hexdigest() for file in fail_sink.files})
    for name in names:
        path = tmp / name
        files[name] = {
            "rows": split_rows.get(name, counts.get(name.split(".")[0])),
            "bytes": path.stat().st_size, "sha256": digests[name],
            "format": path.suffix.lstrip("."),
        }
    previous = _previous_release(out)
    started = min((r["started_at"] for r in runs), default=None)
    finished = max((r["finished_at"] for r in runs if r["finished_at"]), default=None)
    manifest = {
        "name": "qa-crawler dataset",
        "schema_version": SCHEMA_VERSION,
        "schema_history": {str(k): v for k, v in SCHEMA_HISTORY.items()},
        "version": None,  # below, from what changed since the previous release
        # The rows' history reaches this time: the next release's changes are those after it.
        "history_watermark": stats.last_seen,
        "tool": "qa-crawler",
        "tool_version": __version__,
        "parser_version": PARSER_VERSION,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "start_url": start_url or next((r["start_url"] for r in reversed(runs) if r["start_url"]),
                                       None),
        "crawl": {"started_at": started, "finished_at": finished},
        "rows": counts,
        "files": files,
        "by_department": dict(sorted(stats.by_department.items())),
        "by_year": dict(sorted(stats.by_year.items())),
        "asked_on_range": [stats.first_asked, stats.last_asked],
        "fill_rates": stats.fill_rates(),
        "parse_issues": stats.parse_issues(),
        "withdrawn": {"rows": withdrawn if not keep_removed else stats.withdrawn,
                      "kept": bool(keep_removed)},
        "monitors": next((r["monitors"] for r in reversed(runs) if r.get("monitors")), None),
        "near_duplicates": {
            "column": "dup_cluster", "groups": len(set(groups.values())), "rows": len(groups),
            "method": f"MinHash LSH (datasketch, {NUM_PERM} permutations) over word "
                      f"{SHINGLE_WORDS}-shingles of subject and question, Jaccard >= {THRESHOLD}"},
        "split": {"column": "split",
                  "method": "sha256(dup_cluster, else qa_id), first 8 bytes / 2**64",
                  "ratios": dict(split_ratios), "rows": dict(sorted(stats.by_split.items()))},
        "redacted": {c: ("dropped" if how == "drop" else "salted sha256 (HMAC), 20 hex digits")
                     for c, how in sorted(redact.items())},
        "runs": runs,
        "workers": sorted({r["worker"] for r in runs}),
    }
    warcs = sorted((out / STATE_DIRNAME / "warc").glob("*.warc.gz"))
    manifest["raw_pages"] = {
        "kept": bool(warcs), "format": "WARC 1.1 (gzip per record)",
        "folder": f"{STATE_DIRNAME}/warc", "files": len(warcs),
        "bytes": sum(p.stat().st_size for p in warcs),
    }
    if extra_manifest:
        manifest.update(extra_manifest)
    changes = changes_since(previous[0], previous[1], tmp / "qa.parquet")
    manifest["version"] = next_version(previous[0], changes)
    manifest["changes"] = {"since": previous[0].get("version") if previous[0] else None,
                           **{k: len(changes[k]) for k in ("added", "changed", "removed")},
                           "by_department": changes["by_department"]}
    (tmp / "CHANGELOG.md").write_text(
        changelog(previous[2], manifest["version"], previous[0], changes, manifest["created_at"]),
        encoding="utf-8")
    (tmp / "croissant.json").write_text(
        json.dumps(croissant(manifest, FAILURE_SCHEMA), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")

    from pipelines.card import render_card

    (tmp / "README.md").write_text(render_card(manifest, failures), encoding="utf-8")
    (tmp / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return manifest


class ExportBusy(RuntimeError):
    """Another export of the folder held its lock for longer than this one would wait."""


def published_set(out_dir: str | os.PathLike) -> Path:
    """The folder holding the published files of a dataset folder, resolved once: read several
    files from it and they are of one export, whatever export runs meanwhile."""
    out = Path(out_dir)
    current = out / SETS_DIRNAME / "current"
    return current.resolve() if current.is_symlink() else out


def _point(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` in one rename (a reader sees the old or the new)."""
    tmp = link.with_name(f".{link.name}.{secrets.token_hex(4)}")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _fsync_folder(folder: Path, synced: set[Path] = frozenset()) -> None:
    """fsync the files of ``folder`` but those ``synced`` already, then its folders."""
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        if path not in synced:
            _fsync(path)
    _fsync(folder)


def _fsync(path: Path) -> None:
    """fsync a file, or a folder (its entries)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(out: Path, new_set: Path) -> None:
    sets = new_set.parent
    current = sets / "current"
    if current.is_symlink():
        _point(sets / "previous", os.readlink(current))
    _point(current, new_set.name)  # the switch: every published name follows this one link
    _fsync(sets)
    # Fixed links, made once per folder (a folder written before them held plain files, which
    # are replaced one by one, the manifest last, that one time).
    for name in PUBLISHED:
        link = out / name
        link.parent.mkdir(exist_ok=True)  # data/
        target = os.path.relpath(current / name, link.parent)
        if not (link.is_symlink() and os.readlink(link) == target):
            _point(link, target)
    for folder in {(out / name).parent for name in PUBLISHED}:
        _fsync(folder)
    _remove_unpublished(out)


def _remove_unpublished(out: Path) -> None:
    """Remove the sets neither current nor previous (older ones, crashed exports' folders) and
    the shared temporary folder of exports before these sets; run under the export lock."""
    shutil.rmtree(out / STATE_DIRNAME / "export-tmp", ignore_errors=True)
    for name in PUBLISHED:
        link = out / name
        if link.parent.is_dir():
            for stray in link.parent.glob(f".{link.name}.*"):  # links a crashed _point left
                if stray.is_symlink():
                    stray.unlink()
    sets = out / SETS_DIRNAME
    if not sets.is_dir():
        return
    keep = {os.readlink(sets / n) for n in ("current", "previous") if (sets / n).is_symlink()}
    for path in sets.iterdir():
        if path.is_symlink():
            if path.name not in ("current", "previous"):
                path.unlink()  # a link a crashed _point left under its temporary name
        elif path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
