"""A dataset folder as a release: its version, its changelog, its splits as files, its Hub metadata.

- ``version``: semantic; the first export is 1.0.0, one that adds or changes pages a new minor
  version, one that removes rows or comes with a new schema version a new major one, one that
  changes nothing keeps the version.
- ``CHANGELOG.md``: one entry per export that changed something (added, changed, removed, per
  department), newest first; what changed is read from the rows' own history (``first_seen``,
  ``changed_at``) against the latest history the previous release held (its
  ``history_watermark``: the state's own clock, so no race with a crawl storing meanwhile),
  and the previous ``qa_id`` list.
- ``data/qa-<split>.parquet``: the ``qa`` table cut by its ``split`` column, so that the Hugging
  Face ``datasets`` library (and the Hub) load three splits from the card's ``configs``.
- The card's YAML front matter for the Hub (``pretty_name``, ``license``, ``configs`` ...).
Reads and writes only inside the export's own folders.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qa_crawler.record import SCHEMA_VERSION

SPLITS = ("train", "validation", "test")
SPLIT_FILE = "data/qa-{split}.parquet"
TABLES = ("similar", "related_topics", "failures")
FIRST_VERSION = "1.0.0"


def split_files() -> list[str]:
    return [SPLIT_FILE.format(split=s) for s in SPLITS]


# A Parquet file's rows are buffered up to this many bytes and written as one row group (the
# export ends every file's group with the batch that fills the qa file's): row groups of a few
# hundred rows cost twice the CPU of the same rows in groups of a few thousand; 4 MB of 7 KB
# records (570 rows) made the qa table 1.38 s of CPU against pq.write_table's 0.74 for one row
# group of 100,000 rows, 16 MB (3,500 rows) 0.96. Each group's column chunks start their
# dictionaries, pages and zstd contexts again: on 2026-12-08 (AMD EPYC, the benchmark's qa table
# alone, best of 3) 16 MB cost 0.88 s, 32 MB 0.78-0.81, 64 MB 0.74-0.76, one group 0.66. In the
# export (jemalloc, 2 writing threads, 100,000 records, 3 rounds): 16 MB 3.56-3.66 s, the qa
# file's writes 0.89-0.91 s of CPU, peak RSS 410 MB; 32 MB 3.49-3.64 s, 0.85-0.86, 445-458 MB;
# 64 MB 3.60-4.18 s, 0.84-0.88, 530-546 MB. At 64 MB the export of 50,000 records peaked at
# 519 MB against 385 at 16 and 422 at 32 (5,000: 283 at each), which took the crawl's memory
# figure (50,000 vs 5,000 pages) to 1.22: 32 MB, bounded whatever the dataset's size.
ROW_GROUP_BYTES = 32 << 20

# A Parquet writer writes every page, and every page's header, as its own write: 5,166 writes
# for the benchmark's qa.parquet, each into Python (a file object that hashes what it writes)
# and back. Gathered in a native buffer of 1 MB they are a few dozen: the qa file's writes
# 1.06-1.17 -> 0.99-1.04 s of CPU in the export (2026-12-08, 3 rounds interleaved).
WRITE_BUFFER_BYTES = 1 << 20


class RowGroupWriter:
    """A :class:`pyarrow.parquet.ParquetWriter` whose :meth:`write_table` calls are gathered
    into row groups of about :data:`ROW_GROUP_BYTES`, in the order they came; :meth:`close`
    writes what is left. Not thread-safe: one caller at a time, as the export's writes are."""

    def __init__(self, path, schema: pa.Schema, **parquet_options):
        """``path``: a file's path, or a file object open for writing (left open; its writes
        come through a native buffer of :data:`WRITE_BUFFER_BYTES`, see there)."""
        self.stream = None
        if not isinstance(path, (str, os.PathLike)):
            self.stream = pa.BufferedOutputStream(pa.PythonFile(path, mode="w"),
                                                  WRITE_BUFFER_BYTES)
        self.writer = pq.ParquetWriter(path if self.stream is None else self.stream, schema,
                                       **parquet_options)
        self.pending: list[pa.Table] = []
        self.pending_bytes = 0

    def write_table(self, table: pa.Table, end_group: bool | None = None) -> None:
        """Add ``table``'s rows; the row group ends at ROW_GROUP_BYTES, or where the caller
        says (``end_group``: the export ends every file's group at the same batch, so that
        what the files buffer together stays the same whatever the dataset's size)."""
        if table.num_rows:
            self.pending.append(table)
            self.pending_bytes += table.nbytes
        if end_group or end_group is None and self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        pending, self.pending, self.pending_bytes = self.pending, [], 0
        if pending:
            self.writer.write_table(pa.concat_tables(pending))

    def close(self) -> None:
        try:
            self.flush()
        finally:
            try:
                self.writer.close()
            finally:
                if self.stream is not None:  # the rest written; the file left to its owner
                    self.stream.detach()


class SplitWriters:
    """``data/qa-<split>.parquet``, written from the qa table's batches as the export writes them
    (one pass: reading ``qa.parquet`` back a second time, even 256 rows at a time, took the
    export's peak from about 310 to 410 MB at 5,000 rows, memory the allocator kept).

    A batch is cut in three on its combined columns (filtering its JSON reader's many chunks
    cost 2.5 times as much); each file gathers its rows into row groups (:class:`RowGroupWriter`)."""

    def __init__(self, folder: Path, schema: pa.Schema, parquet_options: dict, opener=None):
        """``opener(path)``, if given, opens each file (a file object the writer leaves open)."""
        (folder / "data").mkdir(exist_ok=True)
        self.names = {split: SPLIT_FILE.format(split=split) for split in SPLITS}
        self.paths = [folder / name for name in self.names.values()]
        self.files = [opener(path) for path in self.paths] if opener else list(self.paths)
        self.writers = {split: RowGroupWriter(file, schema, **parquet_options)
                        for split, file in zip(self.names, self.files)}
        self.rows = dict.fromkeys(self.names.values(), 0)

    def write(self, table: pa.Table, end_group: bool | None = None) -> None:
        """``table``'s rows, each to its split's file (``end_group``: as
        :meth:`RowGroupWriter.write_table`'s)."""
        table = table.combine_chunks()
        column = table.column("split")
        for split, writer in self.writers.items():
            part = table.filter(pc.equal(column, split))
            writer.write_table(part, end_group)
            self.rows[self.names[split]] += part.num_rows

    def close(self) -> dict[str, int]:
        """Rows per file."""
        for writer in self.writers.values():
            writer.close()
        return self.rows


def _time(value) -> dt.datetime | None:
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def changes_since(previous: dict | None, previous_ids: set[str] | None, qa_path: Path) -> dict:
    """Ids added, changed and removed since the previous release, and their counts per
    department (``removed`` rows have theirs from the previous release: not known, so none).
    A row is added if its qa_id was not in the previous release (every row of a first one),
    changed if it was and its ``changed_at`` is after the previous release's history."""
    table = pq.read_table(qa_path, columns=["qa_id", "department", "changed_at"])
    since = _time(previous.get("history_watermark") or previous.get("created_at")) \
        if previous else None
    ids = table.column("qa_id")
    before = pc.is_in(ids, value_set=pa.array(list(previous_ids or ()), pa.string()))
    added_rows = pc.invert(before)
    later = pc.greater(table.column("changed_at"), pa.scalar(since, pa.timestamp("us", tz="UTC")))
    changed_rows = pc.and_(before, pc.fill_null(later, False))
    department = table.column("department")
    department = pc.if_else(pc.fill_null(pc.equal(department, ""), True),
                            pa.scalar("(none)"), department)
    by_dept: dict[str, Counter] = {}
    lists = {}
    for kind, rows in (("added", added_rows), ("changed", changed_rows)):
        lists[kind] = sorted(ids.filter(rows).to_pylist())
        for item in pc.value_counts(department.filter(rows)).to_pylist():
            by_dept.setdefault(item["values"], Counter())[kind] += item["counts"]
    removed = sorted((previous_ids or set()) - set(ids.to_pylist()))
    return {"added": lists["added"], "changed": lists["changed"], "removed": removed,
            "by_department": {d: dict(c) for d, c in sorted(by_dept.items())}}


def changes_since_by_rows(previous: dict | None, previous_ids: set[str] | None,
                          qa_path: Path) -> dict:
    """:func:`changes_since` a row at a time in Python (the reference it is tested against)."""
    table = pq.read_table(qa_path, columns=["qa_id", "department", "first_seen", "changed_at"])
    since = _time(previous.get("history_watermark") or previous.get("created_at")) \
        if previous else None
    added, changed, by_dept = [], [], {}
    current = set()
    for row in table.to_pylist():
        current.add(row["qa_id"])
        if previous_ids is None:
            kind = "added"
        elif row["qa_id"] not in previous_ids:
            kind = "added"
        elif since and row["changed_at"] and row["changed_at"] > since:
            kind = "changed"
        else:
            continue
        (added if kind == "added" else changed).append(row["qa_id"])
        by_dept.setdefault(row["department"] or "(none)", Counter())[kind] += 1
    removed = sorted((previous_ids or set()) - current)
    return {"added": sorted(added), "changed": sorted(changed), "removed": removed,
            "by_department": {d: dict(c) for d, c in sorted(by_dept.items())}}


def next_version(previous: dict | None, changes: dict) -> str:
    if not previous or "version" not in previous:
        return FIRST_VERSION
    major, minor, _patch = (int(p) for p in str(previous["version"]).split("."))
    if changes["removed"] or previous.get("schema_version") != SCHEMA_VERSION:
        return f"{major + 1}.0.0"
    if changes["added"] or changes["changed"]:
        return f"{major}.{minor + 1}.0"
    return previous["version"]


def changelog(previous_text: str | None, version: str, previous: dict | None, changes: dict,
              created_at: str) -> str:
    """The folder's CHANGELOG.md with this release's entry on top (when it changed anything)."""
    head = "# Changelog\n\nEach export that changes the dataset adds an entry, newest first.\n"
    old_entries = ""
    if previous_text:
        old_entries = previous_text.split("\n## ", 1)[1] if "\n## " in previous_text else ""
        old_entries = ("\n## " + old_entries) if old_entries else ""
    if previous and version == previous.get("version"):
        return previous_text or head
    lines = [f"\n## {version} ({created_at[:10]})", ""]
    if previous and previous.get("schema_version") != SCHEMA_VERSION:
        lines.append(f"- Schema version {previous.get('schema_version')} -> {SCHEMA_VERSION}.")
    lines.append(f"- {len(changes['added'])} added, {len(changes['changed'])} changed, "
                 f"{len(changes['removed'])} removed.")
    if changes["by_department"]:
        lines += ["", "| department | added | changed |", "| --- | --- | --- |"]
        for dept, counts in changes["by_department"].items():
            cell = dept.replace("|", "\\|")
            lines.append(f"| {cell} | {counts.get('added', 0)} | {counts.get('changed', 0)} |")
    if changes["removed"]:
        shown = ", ".join(f"`{i}`" for i in changes["removed"][:50])
        more = len(changes["removed"]) - 50
        lines += ["", f"Removed: {shown}" + (f" and {more} more" if more > 0 else "") + "."]
    return head + "\n".join(lines) + "\n" + old_entries


def _size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if rows < limit:
            return name
    return "10M<n<100M"


def hub_front_matter(manifest: dict) -> str:
    """The card's YAML header as the Hugging Face Hub reads it: metadata and one config per
    table, the ``qa`` config with its three splits as files."""
    lines = [
        "---",
        "pretty_name: Q&A pages of doctorqna.com (qa-crawler)",
        "language:",
        "- en",
        "license: other",
        "license_name: doctorqna-terms-of-use",
        "license_link: https://doctorqna.com/",
        "task_categories:",
        "- question-answering",
        "- text-generation",
        "size_categories:",
        f"- {_size_category(manifest['rows']['qa'])}",
        "tags:",
        "- medical",
        "- health",
        "- doctor-patient",
        "- web-crawl",
        "source_datasets:",
        "- original",
        "configs:",
        "- config_name: qa",
        "  default: true",
        "  data_files:",
    ]
    for split in SPLITS:
        lines += [f"  - split: {split}", f"    path: {SPLIT_FILE.format(split=split)}"]
    for table in TABLES:
        lines += [f"- config_name: {table}", "  data_files:", "  - split: train",
                  f"    path: {table}.parquet"]
    lines += ["---", ""]
    return "\n".join(lines)
