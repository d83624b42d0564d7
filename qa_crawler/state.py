"""The crawl's durable state inside the dataset folder: records, fetched URLs, frontier, failures, runs.

Everything a crawl collects is committed to an SQLite database (WAL mode) as it arrives: each
record, and the frontier (every URL the crawl has scheduled, pending until it is finished). A
page's links are committed before the page itself counts as finished, so a crawl killed at any
moment loses only the work in flight, and the next run with the same folder starts from the
pending frontier: it skips what is stored and fetches the rest. One database per process
(``worker`` names it): :class:`CrawlState` is one worker's, written by the crawl's store (the
one writer) and the commands that make a state; :mod:`qa_crawler.folder` reads every worker's
database of a folder together.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

import orjson

from qa_crawler import columns
from qa_crawler.record import content_of

STATE_DIRNAME = ".qa-crawler"
# Version of the change key stored in pages.change_key (the database's user_version). The key
# hashes what the page says (content_key); the record's content_sha256 hashes the body as fetched.
KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    qa_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    fetched_url TEXT NOT NULL,
    record TEXT NOT NULL,
    change_key TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    changed_at TEXT,
    etag TEXT,
    last_modified TEXT,
    removed_at TEXT,
    minhash BLOB,
    minhash_params TEXT,
    record_digest BLOB
);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    qa_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
    url TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    last_attempt TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    worker TEXT,
    start_url TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    finish_reason TEXT,
    stats TEXT,
    monitors TEXT
);
-- The frontier: URLs this worker scheduled (done = 0) and URLs it finished (done = 1). A URL is
-- pending while some worker has it scheduled and no worker has finished or stored it.
CREATE TABLE IF NOT EXISTS frontier (
    url TEXT PRIMARY KEY,
    done INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(ts: dt.datetime | None) -> str | None:
    return ts.astimezone(dt.timezone.utc).isoformat() if ts else None


class LockedError(RuntimeError):
    """Another crawl holds the output folder."""


class StorageError(Exception):
    """A file of the folder cannot be written (disk full, read-only, I/O error); the message is
    one line naming the file and the cause."""


class DamagedStateError(StorageError):
    """A state database is damaged or empty; the message names it and what can be done."""


# SQLite's error names (Python 3.11+: sqlite3.Error.sqlite_errorname) for the causes an operator
# can act on, said as the system says them for other files.
_SQLITE_CAUSES = {
    "SQLITE_FULL": os.strerror(errno.ENOSPC),
    "SQLITE_IOERR": os.strerror(errno.EIO),
    "SQLITE_READONLY": os.strerror(errno.EROFS),
    "SQLITE_CANTOPEN": "cannot open the file",
}
_SQLITE_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def file_system_cause(path: Path) -> str | None:
    """What the file system holding ``path`` says against writing (read-only, full), if anything:
    SQLite reports some of these only as "I/O error" or "cannot open"."""
    try:
        fs = os.statvfs(path.parent)
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return os.strerror(errno.EROFS)
    if fs.f_bavail == 0:
        return os.strerror(errno.ENOSPC)
    return None


def damaged(path: Path, cause: str) -> DamagedStateError:
    out = path.parent.parent
    return DamagedStateError(
        f"{path}: the crawl state is damaged ({cause}); nothing was changed. Rebuild it from the "
        f"raw pages with `qa-crawler rebuild {out}` (the damaged file is set aside), or restore "
        f"a copy of {path.name}")


class _Connection(sqlite3.Connection):
    """A connection whose storage errors name the database file (StorageError)."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.file = Path(str(database).removeprefix("file:").split("?", 1)[0])

    def _storage_error(self, exc: sqlite3.Error) -> Exception:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(_SQLITE_DAMAGED) or isinstance(exc, sqlite3.DatabaseError) and \
                ("malformed" in str(exc) or "not a database" in str(exc)):
            return damaged(self.file, str(exc))
        for prefix, cause in _SQLITE_CAUSES.items():
            if name.startswith(prefix):
                writing = prefix in ("SQLITE_FULL", "SQLITE_READONLY")
                if prefix != "SQLITE_FULL" and file_system_cause(self.file):
                    cause, writing = file_system_cause(self.file), True
                verb = "cannot write" if writing else "cannot use"
                return StorageError(f"{verb} {self.file}: {cause} ({name})")
        return exc


def _naming_errors(method):
    def call(self, *args):
        try:
            return method(self, *args)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from exc
    return call


# Every way a connection writes or reads (``with db:`` commits in ``__exit__``).
for _name in ("execute", "executemany", "executescript", "commit", "__exit__"):
    setattr(_Connection, _name, _naming_errors(getattr(sqlite3.Connection, _name)))


def connect(path: Path, *, read_only: bool = False, **kwargs) -> sqlite3.Connection:
    """A connection to a state database; an empty (0-byte) file is refused as damaged, since we
    never make one (a new state appears only with its tables)."""
    if path.exists() and path.stat().st_size == 0:
        raise damaged(path, "it is empty, 0 bytes")
    if read_only:
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, factory=_Connection, **kwargs)
    return sqlite3.connect(path, factory=_Connection, **kwargs)


def verify_state_file(path: Path) -> None:
    """Open a state database and read its tables: DamagedStateError if it is damaged."""
    db = connect(path, read_only=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        db.close()


def verify_state_files(out_dir: str | os.PathLike) -> None:
    """Open every state database of the folder: DamagedStateError names one that is damaged."""
    for path in state_files(out_dir):
        verify_state_file(path)


def set_aside(path: Path) -> Path:
    """Rename a damaged state database (and its WAL files) out of the way; returns its new path."""
    aside = path.with_name(f"{path.name}.damaged-{utcnow():%Y%m%dT%H%M%S}")
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    os.replace(path, aside)
    return aside


def hold_lock(path: Path, wait: float = 0.0, *, shared_by: str | None = None):
    """An exclusive flock on ``path`` (shared among holders that all say ``shared_by``), waiting
    up to ``wait`` seconds: the open file holding it (it dies with its process, so no stale
    locks), or, when another process keeps it, a string naming that holder (written into the
    file by whoever holds it)."""
    fh = open(path, "a+")
    deadline = time.monotonic() + wait
    mode = fcntl.LOCK_SH if shared_by else fcntl.LOCK_EX
    while True:
        try:
            fcntl.flock(fh, mode | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                return holder
            time.sleep(0.1)
    fh.seek(0)
    fh.truncate()
    fh.write(f"{shared_by}\n" if shared_by else f"pid {os.getpid()} since {iso(utcnow())}\n")
    fh.flush()
    return fh


class CrawlState:
    """One process's view of the state folder of a dataset directory."""

    def __init__(self, out_dir: str | os.PathLike, worker: str = "main"):
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / STATE_DIRNAME
        self.dir.mkdir(parents=True, exist_ok=True)
        self.worker = worker
        self.path = self.dir / f"state-{worker}.sqlite"
        if not self.path.exists():
            # Other workers read every state file of the folder: a new one appears only once
            # its tables exist (made under a temporary name, then renamed into place).
            tmp = self.dir / f".new-state-{worker}.{os.getpid()}"
            db = sqlite3.connect(tmp)
            try:
                db.executescript(_SCHEMA)
                db.commit()
            finally:
                db.close()
            os.replace(tmp, self.path)
        self.db = connect(self.path, isolation_level=None, check_same_thread=False)
        self._held = False  # a transaction begun by hold(), not yet committed
        self._blocks = 0  # blocks of transaction() open in it
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        before_frontier = not self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'frontier'").fetchone()
        self.db.executescript(_SCHEMA)
        self._migrate()
        if before_frontier:
            self.seed_frontier()
        self._lock_files: list = []
        self.run_id: int | None = None
        self.parts = columns.PartWriter(self.dir, worker)  # the records again as columns, for exports

    def _migrate(self) -> None:
        """Bring an older database up to date: the ``removed_at`` column, and the change keys
        (once; ``user_version`` says)."""
        columns = table_columns(self.db, "pages")
        if "removed_at" not in columns:
            self.db.execute("ALTER TABLE pages ADD COLUMN removed_at TEXT")
        if "minhash" not in columns:  # older records get theirs at the next export
            self.db.execute("ALTER TABLE pages ADD COLUMN minhash BLOB")
            self.db.execute("ALTER TABLE pages ADD COLUMN minhash_params TEXT")
        if "record_digest" not in columns:  # rows stored before parts: read from their text
            self.db.execute("ALTER TABLE pages ADD COLUMN record_digest BLOB")
        if "content_sha256" in columns:  # the change key's name before it said what it is
            self.db.execute("ALTER TABLE pages RENAME COLUMN content_sha256 TO change_key")
        # What the export reads of every page but its texts (history, text digest, question
        # signature), in qa_id order, from an index that holds all of it: those columns come
        # after the record's text in a row, and SQLite reaches them only through the text's
        # overflow pages (1.4 s at 100,000 pages of 7 KB, 0.2 s from the index).
        self.db.execute("CREATE INDEX IF NOT EXISTS pages_export ON pages (qa_id, last_seen,"
                        " first_seen, changed_at, record_digest, removed_at, minhash_params,"
                        " minhash)")
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version >= KEY_VERSION:
            return
        # Before version 1 the key hashed the WARC location too, so every re-check of an
        # unchanged page looked like a change: the keys are recomputed from the stored records.
        with self.transaction():
            rows = self.db.execute("SELECT qa_id, record FROM pages").fetchall()
            self.db.executemany("UPDATE pages SET change_key = ? WHERE qa_id = ?",
                                [(content_key(json.loads(body)), qa_id) for qa_id, body in rows])
            self.db.execute(f"PRAGMA user_version = {KEY_VERSION}")

    def seed_frontier(self) -> None:
        """A state from before the frontier: the links of its stored records become pending, so
        that pages only they lead to, lost by an earlier stop, are fetched by the next run."""
        links: set[str] = set()
        for (body,) in self.db.execute("SELECT record FROM pages"):
            links.update(_record_links(json.loads(body)))
        if links:
            self.add_pending(sorted(links))

    # -- locking -----------------------------------------------------------------------------
    def lock(self, distributed: bool = False) -> None:
        """Take the folder's crawl lock: the whole folder for a crawl of its own (whatever its
        QA_WORKER), shared by the workers of a distributed crawl, each of which also locks its
        own name. An flock dies with its process, so no stale locks."""
        locks = [hold_lock(self.dir / "lock",
                           shared_by="the workers of a distributed crawl" if distributed else None)]
        if distributed and not isinstance(locks[0], str):
            locks.append(hold_lock(self.dir / f"lock-{self.worker}"))
        busy = [h for h in locks if isinstance(h, str)]
        if busy:
            for h in locks:
                if not isinstance(h, str):
                    h.close()
            raise LockedError(
                f"{self.out_dir} is being crawled by {busy[0]}; wait for it to finish "
                "or choose another --out folder"
            )
        self._lock_files = locks
        columns.remove_stale_tmp(self.dir)  # what a crawl killed before left half-written

    def hand_over(self) -> None:
        """Make the state whole for another process that reads it (the export): the pages held
        committed (StorageError if they cannot be: they stay pending), and the records gathered
        for the next columns part written as one (a part that cannot be written is logged, and
        its records are read from their JSON texts)."""
        try:
            self.commit_held()
        finally:
            self.parts.flush()

    def close(self) -> None:
        try:
            self.hand_over()
        finally:
            self.db.close()
        for fh in self._lock_files:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
        self._lock_files = []

    @contextlib.contextmanager
    def transaction(self):
        """One SQLite transaction: everything in the block is committed together, or nothing.
        (The connection is in autocommit mode, where ``with self.db`` would not open one.) A
        block inside another is part of the outer one: the store finishes a page (its links,
        its record or failure, its URLs done) in one transaction made of the methods below."""
        if self.db.in_transaction:
            if not self._held or self._blocks:
                yield self.db
                return
            # A block of its own in the held transaction (:meth:`hold`): all of it, or none.
            self._blocks += 1
            self.db.execute("SAVEPOINT block")
            try:
                yield self.db
                self.db.execute("RELEASE block")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK TO block")
                    self.db.execute("RELEASE block")
                raise
            finally:
                self._blocks -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # a failed COMMIT (a full disk) may have rolled back
                self.db.execute("ROLLBACK")
            raise

    def hold(self) -> None:
        """Begin a transaction that the blocks after it join (each block of
        :meth:`transaction` then a savepoint in it: all of the block, or none) until
        :meth:`commit_held`: the crawl's store commits its pages a few at a time, and a page
        not committed when the crawl is killed is not done in the state (the next run fetches
        it again). A commit of every page was 0.07-0.19 ms of the crawler's ~3 ms a page."""
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self._held = True

    @property
    def holding(self) -> bool:
        """Whether a transaction begun by :meth:`hold` is open."""
        return self._held

    def commit_held(self) -> None:
        """Commit what :meth:`hold` gathered (StorageError if it cannot: nothing is then)."""
        if not self._held:
            return
        self._held = False
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    # -- runs --------------------------------------------------------------------------------
    def start_run(self, start_url: str | None) -> int:
        cur = self.db.execute(
            "INSERT INTO runs (worker, start_url, started_at) VALUES (?, ?, ?)",
            (self.worker, start_url, iso(utcnow())),
        )
        self.run_id = cur.lastrowid
        return self.run_id

    def finish_run(self, finish_reason: str, stats: dict, monitors: dict | None = None) -> None:
        if self.run_id is None:
            return
        self.db.execute(
            "UPDATE runs SET finished_at = ?, finish_reason = ?, stats = ?, monitors = ?"
            " WHERE run_id = ?",
            (iso(utcnow()), finish_reason, json.dumps(stats, default=str),
             json.dumps(monitors) if monitors else None, self.run_id),
        )

    def last_finished_run_stats(self) -> dict | None:
        """Stats of the last run before this one that finished normally."""
        row = self.db.execute(
            "SELECT stats FROM runs WHERE finish_reason = 'finished' AND run_id != ?"
            " ORDER BY run_id DESC LIMIT 1", (self.run_id or -1,),
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    # -- pages -------------------------------------------------------------------------------
    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) stored for the page fetched from ``url``."""
        row = self.db.execute(
            "SELECT p.etag, p.last_modified FROM urls u JOIN pages p USING (qa_id) WHERE u.url = ?",
            (url,),
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def upsert(self, record_json: dict, fetched_url: str, *, etag: str | None = None,
               last_modified: str | None = None, seen_at: dt.datetime | None = None,
               signature: bytes | None = None, encoded: Encoded | None = None) -> str:
        """Store one record; returns 'new', 'changed' or 'unchanged' (by content of the record).
        ``signature`` is its question's MinHash (:func:`qa_crawler.minhash.signature_of`, which
        computes it when not given), written with a new or changed record for the export;
        ``encoded`` the record's :func:`encode` when the page worker made it."""
        seen = iso(seen_at or utcnow())
        qa_id = record_json["qa_id"]
        body, digest, text_digest = encoded or encode(record_json)
        row = self.db.execute(
            "SELECT change_key, first_seen FROM pages WHERE qa_id = ?", (qa_id,)
        ).fetchone()
        if row is None or row[0] != digest:  # a text to write: its digest too
            text = body.encode("utf-8")
            text_digest = text_digest or columns.digest(text)
        with self.transaction():
            if row is None:
                outcome = "new"
                self.db.execute(
                    "INSERT INTO pages (qa_id, url, fetched_url, record, change_key, first_seen,"
                    " last_seen, changed_at, etag, last_modified, minhash, minhash_params,"
                    " record_digest) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (qa_id, record_json["url"], fetched_url, body, digest, seen, seen, None, etag,
                     last_modified, *_signature(record_json, signature), text_digest),
                )
            elif row[0] == digest:
                outcome = "unchanged"
                self.db.execute(
                    "UPDATE pages SET last_seen = ?, etag = COALESCE(?, etag), removed_at = NULL,"
                    " last_modified = COALESCE(?, last_modified) WHERE qa_id = ?",
                    (seen, etag, last_modified, qa_id),
                )
            else:
                outcome = "changed"
                self.db.execute(
                    "UPDATE pages SET url = ?, fetched_url = ?, record = ?, change_key = ?,"
                    " last_seen = ?, changed_at = ?, etag = ?, last_modified = ?,"
                    " removed_at = NULL, minhash = ?, minhash_params = ?, record_digest = ?"
                    " WHERE qa_id = ?",
                    (record_json["url"], fetched_url, body, digest, seen, seen, etag,
                     last_modified, *_signature(record_json, signature), text_digest, qa_id),
                )
            self.db.execute(
                "INSERT INTO urls (url, qa_id, fetched_at) VALUES (?, ?, ?) ON CONFLICT(url) DO"
                " UPDATE SET qa_id = excluded.qa_id, fetched_at = excluded.fetched_at",
                (fetched_url, qa_id, seen),
            )
            self.db.execute("DELETE FROM failures WHERE url = ?", (fetched_url,))
        if outcome != "unchanged":
            self.parts.add(qa_id, text_digest, text)
        return outcome

    def replace_record(self, record_json: dict, *, insert: bool = False,
                       signature: bytes | None = None, encoded: Encoded | None = None) -> bool:
        """Replace a stored record by a re-parse of the same page (``rebuild``), keeping its
        history; with ``insert`` a page not stored yet is added. Returns whether the state holds
        the page now with this record (written, or the very same text stored already: then
        nothing is written).
        ``signature`` and ``encoded`` as for :meth:`upsert` (given both, ``record_json`` needs
        only its ``qa_id``, ``url`` and ``crawled_at``).
        """
        body, digest, text_digest = encoded or encode(record_json)
        text = body.encode("utf-8")
        text_digest = text_digest or columns.digest(text)
        minhash = _signature(record_json, signature)
        if self.stored_digest(record_json["qa_id"]) == (text_digest, minhash[1]):
            return True  # the very text stored already (a rebuild by the same parser): kept
        with self.transaction():
            cur = self.db.execute(
                "UPDATE pages SET record = ?, change_key = ?, minhash = ?, minhash_params = ?,"
                " record_digest = ? WHERE qa_id = ?",
                (body, digest, *minhash, text_digest, record_json["qa_id"]),
            )
            if cur.rowcount or not insert:
                if cur.rowcount:
                    self.parts.add(record_json["qa_id"], text_digest, text)
                return bool(cur.rowcount)
            seen = record_json.get("crawled_at") or iso(utcnow())
            self.db.execute(
                "INSERT INTO pages (qa_id, url, fetched_url, record, change_key, first_seen,"
                " last_seen, minhash, minhash_params, record_digest)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (record_json["qa_id"], record_json["url"], record_json["url"], body,
                 digest, seen, seen, *minhash, text_digest),
            )
            # ... and its URL as fetched, so that the next crawl does not fetch it again.
            self.db.execute(
                "INSERT INTO urls (url, qa_id, fetched_at) VALUES (?, ?, ?) ON CONFLICT(url)"
                " DO NOTHING", (record_json["url"], record_json["qa_id"], seen))
        self.parts.add(record_json["qa_id"], text_digest, text)
        return True

    def stored_digest(self, qa_id: str) -> tuple[bytes | None, str | None] | None:
        """:func:`stored_digest` of this state."""
        return stored_digest(self.db, qa_id)

    def mark_removed(self, fetched_url: str) -> bool:
        """A re-check found the stored page of ``fetched_url`` withdrawn (404, 410): its row gets
        ``removed_at`` (kept from the first time) and stays; no failure. Whether one was stored."""
        seen = iso(utcnow())
        with self.transaction():
            cur = self.db.execute(
                "UPDATE pages SET removed_at = COALESCE(removed_at, ?), last_seen = ?"
                " WHERE qa_id = (SELECT qa_id FROM urls WHERE url = ?)", (seen, seen, fetched_url))
            if cur.rowcount:
                self.db.execute("UPDATE urls SET fetched_at = ? WHERE url = ?", (seen, fetched_url))
                self.db.execute("DELETE FROM failures WHERE url = ?", (fetched_url,))
        return bool(cur.rowcount)

    def touch(self, fetched_url: str) -> None:
        """A conditional re-check answered 304: the page is unchanged and was seen now."""
        seen = iso(utcnow())
        with self.transaction():
            self.db.execute(
                "UPDATE pages SET last_seen = ?, removed_at = NULL"  # online after all
                " WHERE qa_id = (SELECT qa_id FROM urls WHERE url = ?)",
                (seen, fetched_url),
            )
            self.db.execute("UPDATE urls SET fetched_at = ? WHERE url = ?", (seen, fetched_url))
            self.db.execute("DELETE FROM failures WHERE url = ?", (fetched_url,))

    def stored_record(self, fetched_url: str) -> dict | None:
        """The stored record (JSON) of the page fetched from ``fetched_url``, if any."""
        row = self.db.execute(
            "SELECT p.record FROM urls u JOIN pages p USING (qa_id) WHERE u.url = ?",
            (fetched_url,),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def record_links(self, fetched_url: str) -> list[str]:
        """The Similar Q&A and Related FAQ URLs of the stored page fetched from ``fetched_url``
        (what a 304 re-check still has to follow)."""
        record = self.stored_record(fetched_url)
        return _record_links(record) if record else []

    # -- frontier ----------------------------------------------------------------------------
    def add_pending(self, urls) -> None:
        """Scheduled URLs, in one transaction; a URL already finished stays finished (its links
        are in the frontier already)."""
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO frontier (url) VALUES (?)",
                                ((u,) for u in urls))

    def pending_count(self) -> int:
        """URLs this process scheduled and has not finished: the frontier's size, for progress."""
        return self.db.execute("SELECT COUNT(*) FROM frontier WHERE done = 0").fetchone()[0]

    def mark_done(self, urls) -> None:
        """URLs finished: stored, finally failed, ignored, or read with their links pending."""
        with self.transaction():
            self.db.executemany(
                "INSERT INTO frontier (url, done) VALUES (?, 1)"
                " ON CONFLICT(url) DO UPDATE SET done = 1", ((u,) for u in urls))

    # -- failures ----------------------------------------------------------------------------
    def record_failure(self, url: str, kind: str, *, status: int | None = None,
                       error: str | None = None, attempts: int = 1) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO failures (url, kind, status, error, attempts, last_attempt)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT(url) DO UPDATE SET kind = excluded.kind,"
                " status = excluded.status, error = excluded.error,"
                " attempts = failures.attempts + excluded.attempts,"
                " last_attempt = excluded.last_attempt",
                (url, kind, status, error, attempts, iso(utcnow())),
            )

    def clear_failure(self, url: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM failures WHERE url = ?", (url,))

    def failed_urls(self) -> list[str]:
        return [u for (u,) in self.db.execute("SELECT url FROM failures ORDER BY url")]


def _record_links(record_json: dict) -> list[str]:
    return [entry["url"] for key in ("similar", "related_topics")
            for entry in record_json.get(key) or () if entry.get("url")]


class Encoded(NamedTuple):
    """A record as the state stores it: its JSON text and its change key (and the digest of
    the text as UTF-8, :func:`qa_crawler.columns.digest`, when the process that encoded it
    made it too: a rebuild's workers, so that the process storing the records does not)."""

    body: str
    change_key: str
    text_digest: bytes | None = None


def encode(record_json: dict, with_digest: bool = False) -> Encoded:
    """The stored JSON text of a record (keys sorted) and its :func:`content_key` (and, with
    ``with_digest``, the text's digest).

    The text is orjson's (compact, UTF-8: 0.007 ms for a 20 KB record, json.dumps 0.10 ms);
    whatever reads it parses it, so rows stored before in json.dumps's spacing read the same.
    The change key stays json.dumps's text hashed: keys stored by every earlier version of the
    tool must keep meaning the same content."""
    text = orjson.dumps(record_json, option=orjson.OPT_SORT_KEYS)
    return Encoded(text.decode("utf-8"), content_key(record_json),
                   columns.digest(text) if with_digest else None)


def stored_digest(db, qa_id: str) -> tuple[bytes | None, str | None] | None:
    """(digest of its text, MinHash scheme) of the record a state database (any connection to
    it, read-only too) holds for ``qa_id``, if it holds one (every write of a record's text
    writes its digest: the export's index reads them)."""
    row = db.execute("SELECT record_digest, minhash_params FROM pages WHERE qa_id = ?",
                     (qa_id,)).fetchone()
    return tuple(row) if row is not None else None


def _signature(record_json: dict, given: bytes | None) -> tuple[bytes, str]:
    """The (minhash, minhash_params) columns of a record being written."""
    from qa_crawler.minhash import PARAMS, signature_of

    return (signature_of(record_json) if given is None else given), PARAMS


def content_key(record_json: dict) -> str:
    """Hash of what the page says (its content columns, :data:`qa_crawler.record.CONTENT`), to
    detect changes; how and when it was fetched (the provenance columns) does not count.

    What is hashed is ``json.dumps(content, ensure_ascii=False, sort_keys=True)`` in UTF-8, the
    text every stored key was made of; :func:`json_dumps_text` makes the same bytes in under
    half the time."""
    return hashlib.sha256(json_dumps_text(content_of(record_json))).hexdigest()


def json_dumps_text(value) -> bytes:
    """``json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")``, the same bytes
    (``tests/test_state.py`` holds them equal over generated values), from orjson: 0.048 ms
    for a record's content against json.dumps's 0.111 (400 mirror pages), which had been 4.5 %
    of the page worker's time.

    orjson's indented text differs from json.dumps's only in the white space between tokens
    (the escapes, the key order and the numbers but floats are the same), and a JSON text holds
    a line break only there (one inside a string is escaped), so each line break and the
    indent after it is taken out, and a line ending in a comma gets the space json.dumps writes
    after one.
    Floats (orjson and Python print some differently; no record holds one), and what orjson
    refuses (lone surrogates, integers past 64 bits), go to json.dumps itself."""
    if not _floatless(value):
        return _json_dumps(value)
    try:
        text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    except TypeError:
        return _json_dumps(value)
    # (bytes.replace of a line break and its indent is slow: the pattern ends in a space,
    # which English text is full of; splitting at the line breaks is memchr's speed)
    return b"".join([line.lstrip(b" ") + b" " if line[-1:] == b"," else line.lstrip(b" ")
                     for line in text.split(b"\n")])


def _json_dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _floatless(value) -> bool:
    """No float anywhere in ``value``, nor any type but JSON's (then json.dumps decides)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is dict:
        return all(type(k) is str for k in value) and all(map(_floatless, value.values()))
    if kind is list:
        return all(map(_floatless, value))
    return False


def state_files(out_dir: str | os.PathLike) -> list[Path]:
    """Every worker's state database in a dataset folder."""
    return sorted((Path(out_dir) / STATE_DIRNAME).glob("state-*.sqlite"))


def table_columns(db, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
