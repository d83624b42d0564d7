"""The crawl state of a dataset folder as a whole, read-only: every worker's database read together.

A folder holds one state database per worker (:mod:`qa_crawler.state`); these readers merge
them: the records (one per ``qa_id``, the most recently seen copy), their texts, the URLs
stored and still pending (the frontier), the failures not since fetched, and the runs. They are
what the spider reads when a crawl starts, and what the export, the commands and the tests
read. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import itertools
import json
import os
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

from qa_crawler.state import connect, iso, state_files, table_columns

# The report drawn into a dataset folder (named here, so that naming it imports no charts).
REPORT_NAME = "report.html"


def _tagged(k: int, rows) -> Iterator[tuple]:
    """Each row with ``k`` (its connection's index) added at the end."""
    for row in rows:
        yield row + (k,)


def _merged_pages(conns: list, value: str, needs: tuple[str, ...] = (),
                  params: tuple = ()) -> Iterator[tuple[str, object, dict, int]]:
    """(qa_id, ``value`` (an SQL expression over a page's row, with ``params``; NULL in a file
    without the columns it ``needs``), page meta, index of the connection) for every page of
    every worker, one per qa_id, ordered by qa_id; where two workers stored the same qa_id, the
    most recently seen copy's value and the pages' history."""
    streams = []
    for k, c in enumerate(conns):
        columns = table_columns(c, "pages")
        # A worker's file from before removed_at (or the columns ``value`` needs) has none: it
        # is migrated when it next runs.
        whole = all(name in columns for name in needs)
        streams.append(_tagged(k, c.execute(
            f"SELECT qa_id, last_seen, first_seen, changed_at, {value if whole else 'NULL'}, "
            + ("removed_at" if "removed_at" in columns else "NULL")
            + " FROM pages ORDER BY qa_id", params if whole else ())))
    if len(streams) == 1:  # one worker's file holds each qa_id once: its rows need no merge
        for row in streams[0]:
            yield row[0], row[4], {"first_seen": row[2], "last_seen": row[1],
                                   "changed_at": row[3] or None, "removed_at": row[5]}, row[6]
        return
    merged = heapq.merge(*streams, key=lambda row: row[0])
    for qa_id, group in itertools.groupby(merged, key=lambda row: row[0]):
        rows = list(group)
        latest = max(rows, key=lambda row: row[1])
        yield qa_id, latest[4], {
            "first_seen": min(row[2] for row in rows),
            "last_seen": latest[1],
            "changed_at": max((row[3] for row in rows if row[3]), default=None),
            "removed_at": latest[5],
        }, latest[6]


def iter_merged_rows(out_dir: str | os.PathLike) -> Iterator[tuple[str, bytes, dict]]:
    """(qa_id, record JSON as UTF-8 bytes, page meta) for every page of every worker, one per
    qa_id, ordered by qa_id; the record is not decoded (the export reads a batch at once).

    Streams a k-way merge of the workers' databases (each read in qa_id order), so memory does
    not grow with the number of pages. Where two workers stored the same qa_id, the most
    recently seen copy wins.
    """
    with MergedPages(out_dir) as pages:
        for qa_id, text, meta, _ in _merged_pages(pages.conns, "CAST(record AS BLOB)"):
            yield qa_id, text, meta


class MergedPages:
    """The pages of every worker merged as :func:`iter_merged_rows` merges them, read in two
    steps: :meth:`index` gives every page's history and record digest as columns (the export
    finds most records by their digest in the parts of :mod:`qa_crawler.columns`), and
    :meth:`text` a page's record text when it is needed."""

    def __init__(self, out_dir: str | os.PathLike):
        self.conns = [connect(p, read_only=True) for p in state_files(out_dir)]

    def __enter__(self) -> "MergedPages":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.conns = []

    def _index_rows(self, chunk_rows: int) -> Iterator[list[tuple]]:
        """:meth:`index`'s rows, a chunk at a time."""
        if len(self.conns) == 1:  # one worker's file holds each qa_id once: no merge
            conn = self.conns[0]
            columns = table_columns(conn, "pages")
            optional = [name if name in columns else "NULL"
                        for name in ("removed_at", "record_digest")]
            cursor = conn.execute(
                "SELECT qa_id, first_seen, last_seen, nullif(changed_at, ''), "
                f"{', '.join(optional)}, 0 FROM pages ORDER BY qa_id")
            while rows := cursor.fetchmany(chunk_rows):
                yield rows
            return
        merged = _merged_pages(self.conns, "record_digest", ("record_digest",))
        while rows := [(qa_id, meta["first_seen"], meta["last_seen"], meta["changed_at"],
                        meta["removed_at"], digest, source)
                       for qa_id, digest, meta, source in itertools.islice(merged, chunk_rows)]:
            yield rows

    def text(self, source: int, qa_id: str) -> bytes:
        return self.conns[source].execute(
            "SELECT CAST(record AS BLOB) FROM pages WHERE qa_id = ?", (qa_id,)).fetchone()[0]

    def index(self, chunk_rows: int = 50_000) -> "pa.Table":
        """Every page, one row each as :func:`_merged_pages` merges them, ordered by qa_id:
        ``qa_id``, the page history (``first_seen``, ``last_seen``, ``changed_at``,
        ``removed_at``: the state's ISO texts), ``record_digest`` and ``source`` (the index of
        the worker's database holding the record, for :meth:`text`).

        Read whole, before anything else runs: SQLite lets go of the GIL at every row, so rows
        read one by one beside the export's writing threads waited for it (4x the wall time);
        as columns a page costs about 100 bytes here."""
        import pyarrow as pa

        names = ("qa_id", "first_seen", "last_seen", "changed_at", "removed_at",
                 "record_digest", "source")
        types = (pa.string(),) * 5 + (pa.binary(), pa.int32())
        chunks = []
        for rows in self._index_rows(chunk_rows):
            chunks.append(pa.record_batch(
                [pa.array(c, t) for c, t in zip(zip(*rows), types)], names=list(names)))
        if not chunks:
            return pa.schema(list(zip(names, types))).empty_table()
        return pa.Table.from_batches(chunks)


def iter_merged_records(out_dir: str | os.PathLike) -> Iterator[tuple[dict, dict]]:
    """(record JSON, page meta) for every page of every worker, one per qa_id, ordered by qa_id
    (:func:`iter_merged_rows`, each record decoded)."""
    for _, text, meta in iter_merged_rows(out_dir):
        yield json.loads(text), meta


def iter_merged_signatures(out_dir: str | os.PathLike) -> Iterator[tuple[str, str | None,
                                                                         bytes | None]]:
    """(qa_id, question text, stored MinHash signature) of every page, the most recently seen
    copy where workers overlap, ordered by qa_id; the text (subject and question joined by a
    space, read by SQLite: no record is decoded here) only where no signature of the current
    parameters (:data:`qa_crawler.minhash.PARAMS`) is stored (None then stands for it)."""
    from qa_crawler.minhash import PARAMS

    fresh = "CASE WHEN minhash_params = ? AND minhash IS NOT NULL THEN minhash END"
    with MergedPages(out_dir) as pages:
        for qa_id, signature, _, source in _merged_pages(
                pages.conns, fresh, ("minhash", "minhash_params"), (PARAMS,)):
            if signature is not None:
                yield qa_id, None, signature
            else:  # the text, from the record (a second query: the first reads an index)
                yield qa_id, _question_text(pages.conns[source], qa_id), None


def _question_text(conn, qa_id: str) -> str:
    """Subject and question of a stored record joined by a space, read by SQLite."""
    return conn.execute(_question_query(), (qa_id,)).fetchone()[0]


@functools.cache
def _question_query() -> str:
    from qa_crawler.minhash import TEXT_FIELDS

    extract = " || ' ' || ".join(f"coalesce(json_extract(record, '$.{f}'), '')"
                                 for f in TEXT_FIELDS)
    return f"SELECT {extract} FROM pages WHERE qa_id = ?"


def merged_signature_blocks(out_dir: str | os.PathLike, chunk_rows: int = 20_000
                            ) -> tuple[list[tuple[list[str], bytes]], list[tuple]]:
    """:func:`iter_merged_signatures` read in bulk: ([(qa_ids, their stored signatures
    joined), ...] a chunk at a time, the other items as that function gives them). From one
    worker's file the signatures are read with one query and joined by chunks (one Python
    step per page instead of some twenty: the near-duplicate pass is serial, before the
    export's writes start); from several, through the merge."""
    from qa_crawler.minhash import NUM_PERM, PARAMS

    size = NUM_PERM * 4
    blocks, rest = [], []
    with MergedPages(out_dir) as pages:
        columns = table_columns(pages.conns[0], "pages") if len(pages.conns) == 1 else ()
        if not {"minhash", "minhash_params"} <= set(columns):
            return [], list(iter_merged_signatures(out_dir))
        cursor = pages.conns[0].execute(
            "SELECT qa_id, CASE WHEN minhash_params = ? AND minhash IS NOT NULL THEN minhash "
            "END FROM pages ORDER BY qa_id", (PARAMS,))
        while rows := cursor.fetchmany(chunk_rows):
            signed = [(qa_id, s) for qa_id, s in rows if s is not None and len(s) == size]
            if signed:
                ids, signatures = zip(*signed)
                blocks.append((list(ids), b"".join(signatures)))
            if len(signed) < len(rows):  # NO_WORDS, or none stored: as iter_merged_signatures
                rest.extend((qa_id, None, s) if s is not None
                            else (qa_id, _question_text(pages.conns[0], qa_id), None)
                            for qa_id, s in rows if s is None or len(s) != size)
    return blocks, rest


def known_urls(out_dir: str | os.PathLike, fresher_than: dt.datetime | None = None) -> set[str]:
    """Fetched URLs of the pages stored by any worker in the folder."""
    urls: set[str] = set()
    for path in state_files(out_dir):
        db = connect(path, read_only=True)
        try:
            if fresher_than is None:
                rows = db.execute("SELECT url FROM urls")
            else:
                rows = db.execute("SELECT url FROM urls WHERE fetched_at > ?", (iso(fresher_than),))
            urls.update(u for (u,) in rows)
        finally:
            db.close()
    return urls


def pending_urls(out_dir: str | os.PathLike) -> set[str]:
    """The folder's frontier: URLs some worker scheduled that no worker has finished or stored.

    In a distributed crawl one worker schedules a link and another fetches it, so each state
    file's pending URLs are checked against every other file's finished and stored ones.
    """
    conns = [sqlite3.connect(f"file:{p}?mode=ro", uri=True) for p in state_files(out_dir)]
    try:
        # A state file from before the frontier existed has no table: nothing pending there,
        # but the pages it stored count.
        has_frontier = [bool(db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'frontier'").fetchone()) for db in conns]
        pending: set[str] = set()
        for db, frontier in zip(conns, has_frontier):
            if frontier:
                pending.update(u for (u,) in db.execute(
                    "SELECT url FROM frontier f WHERE done = 0"
                    " AND NOT EXISTS (SELECT 1 FROM urls WHERE url = f.url)"))
        if len(conns) > 1:
            for db, frontier in zip(conns, has_frontier):
                finished = ("SELECT 1 FROM frontier WHERE url = ?1 AND done = 1 UNION ALL "
                            if frontier else "") + "SELECT 1 FROM urls WHERE url = ?1"
                pending.difference_update(
                    [u for u in pending if db.execute(finished, (u,)).fetchone()])
        return pending
    finally:
        for db in conns:
            db.close()


def merged_failures(out_dir: str | os.PathLike) -> list[dict]:
    """Failures of all workers whose URL no worker has since fetched successfully."""
    out: dict[str, dict] = {}
    fetched: set[str] = set()
    for path in state_files(out_dir):
        db = connect(path)
        try:
            fetched.update(u for (u,) in db.execute("SELECT url FROM urls"))
            for url, kind, status, error, attempts, last in db.execute(
                "SELECT url, kind, status, error, attempts, last_attempt FROM failures"
            ):
                prev = out.get(url)
                if prev is None or last > prev["last_attempt"]:
                    out[url] = {"url": url, "kind": kind, "status": status, "error": error,
                                "attempts": attempts + (prev["attempts"] if prev else 0),
                                "last_attempt": last}
        finally:
            db.close()
    return [v for k, v in sorted(out.items()) if k not in fetched]


def merged_runs(out_dir: str | os.PathLike) -> list[dict]:
    runs = []
    for path in state_files(out_dir):
        db = connect(path)
        try:
            for row in db.execute(
                "SELECT worker, start_url, started_at, finished_at, finish_reason, stats, monitors"
                " FROM runs"
            ):
                runs.append({
                    "worker": row[0], "start_url": row[1], "started_at": row[2],
                    "finished_at": row[3], "finish_reason": row[4],
                    "stats": json.loads(row[5]) if row[5] else None,
                    "monitors": json.loads(row[6]) if row[6] else None,
                })
        finally:
            db.close()
    return sorted(runs, key=lambda r: r["started_at"])
