"""Rebuild a dataset from its WARC files with the current parser, on every core, never fetching.

The newest stored 200 response of each URL is parsed again; the records replace the stored ones
(their page history, first/last seen and changed_at, is kept), and the dataset folder is written
again with the manifest noting the rebuild.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from qa_crawler import settings as project_settings
from qa_crawler import stats as keys
from qa_crawler.fetched import Fetch, parse_fetched
from qa_crawler.minhash import PARAMS as MINHASH_PARAMS, signature_of
from qa_crawler.parsers.doctorqna import PARSER_VERSION, NotQAPage
from qa_crawler.record import to_json_dict
from qa_crawler.state import (
    CrawlState, DamagedStateError, Encoded, encode, set_aside, state_files, stored_digest,
    verify_state_file)
from qa_crawler.folder import merged_runs
from qa_crawler.warc import (
    Location, ResponseHead, read_date, read_many, response_heads, warc_dir)

# Pages a task: the pool's last tasks leave one process idle for up to a task's time (200
# pages: ~0.3 s of a 5,000-page rebuild on 2 processes, 50: a quarter of that).
CHUNK = 50


def _latest_pages(out_dir: Path) -> dict[str, Location]:
    """URL -> location of its newest stored 200 HTML response (read from the CDXJ index where
    the files have one)."""
    latest: dict[str, ResponseHead] = {}
    for r in response_heads(out_dir):
        if r.status != 200 or (r.mime and "html" not in r.mime):
            continue
        prev = latest.get(r.url)
        if prev is None or _written_after(out_dir, r, prev):
            latest[r.url] = r
    return {url: head.location for url, head in latest.items()}


def _written_after(out_dir: Path, r: ResponseHead, prev: ResponseHead) -> bool:
    """Whether ``r`` was fetched after ``prev`` (files are read in name order; of two fetched
    at the same moment, the later file's counts, or in one file the later record's)."""
    if r.second != prev.second:
        return r.second > prev.second
    # The same second: their WARC-Dates tell, to the microsecond. (A record's date is when its
    # response came, and one that waited for the page worker's queue may be written after a
    # later one: the order in a file does not tell.)
    ours, theirs = read_date(out_dir, r.location), read_date(out_dir, prev.location)
    if ours != theirs:
        return ours > theirs
    if r.location.file == prev.location.file:  # a file is only ever appended to
        return r.location.offset > prev.location.offset
    return True


def article_url_pattern(out_dir: Path) -> str:
    """The ``QA_ARTICLE_URL_PATTERN`` the folder was last crawled with (else the default)."""
    for run in reversed(merged_runs(out_dir)):
        pattern = (run["stats"] or {}).get(keys.ARTICLE_URL_PATTERN)
        if pattern:
            return pattern
    return project_settings.QA_ARTICLE_URL_PATTERN


def _in_id_order(pages: dict[str, Location], id_pattern: str) -> list[Location]:
    """The pages' locations in the order of their ids (the id the pattern finds in the URL, else
    the URL), the order the export reads records in: the records are stored, and written as
    columns (:mod:`qa_crawler.columns`), in that order, so that an export batch takes its rows
    from one part or two (views) instead of a few rows of every part (copies; in file order the
    ids of a part span the whole range)."""
    pattern = re.compile(id_pattern)

    def key(url: str) -> str:
        found = pattern.search(url)
        return (found.groupdict().get("id") or found.group(0)) if found else url

    return [pages[url] for url in sorted(pages, key=lambda url: (key(url), url))]


def _by_file(locations: list[Location]) -> Iterator[tuple[str, list[int]]]:
    """``locations`` as runs of offsets in one file, in their order."""
    for name, run in itertools.groupby(locations, key=lambda loc: loc.file):
        yield name, [loc.offset for loc in run]


class Parsed(NamedTuple):
    """One stored response parsed again, as a parsing process hands it over."""

    ident: dict | None  # the record's qa_id, url and crawled_at (None: not a Q&A page)
    reason: str | None  # why it is not a Q&A page
    location: Location
    signature: bytes | None = None  # the question's MinHash signature
    encoded: Encoded | None = None  # the record as stored (None with ``unchanged``)
    # The digest of the record's text, when the parsing process found this very text (and
    # signature scheme) stored already: then neither the text nor the signature comes along.
    unchanged: bytes | None = None


class StoredTexts:
    """What the folder's states hold of each record (its text's digest and signature scheme),
    read by the process that parses, so that a record re-parsed to the very text it has stored
    (a rebuild by the same parser: every record) is neither signed again nor sent back whole:
    the storing process unpickled ~100 MB of such texts from the pool, the parse phase's
    largest cost beyond the parsing itself. Read-only connections, opened in the process that
    reads them (after the pool forks); the storing process checks the digest again before it
    counts a record as kept."""

    def __init__(self, out_dir: str | os.PathLike | None):
        self.dbs: list[sqlite3.Connection] = []
        for path in state_files(out_dir) if out_dir is not None else ():
            with contextlib.suppress(sqlite3.Error):
                self.dbs.append(sqlite3.connect(f"file:{path}?mode=ro", uri=True))

    def digest(self, qa_id: str) -> bytes | None:
        """The digest of the text stored for ``qa_id`` by the first state holding it, if that
        record was signed by the current MinHash scheme; else None."""
        held = _first_held(self.dbs, qa_id)
        return held[0] if held is not None and held[1] == MINHASH_PARAMS else None

    def close(self) -> None:
        for db in self.dbs:
            db.close()
        self.dbs = []


_STORED: dict[str, StoredTexts] = {}  # a pool worker's, by folder


def _parse_chunk(task: tuple[str, list[Location], str], stored: StoredTexts | None = None
                 ) -> list[Parsed]:
    """Parse the responses at ``locations`` (runs in a worker process; ``stored``: what the
    states hold, opened here for the folder at the first chunk unless given). The record
    travels as its stored JSON text, which costs the pipe a fraction of a pickled dict, and
    not at all when ``stored`` holds that very text."""
    out_dir, locations, id_pattern = task
    if stored is None:
        stored = _STORED.get(out_dir) or _STORED.setdefault(out_dir, StoredTexts(out_dir))
    results = []
    responses = (stored_response for name, offsets in _by_file(locations)
                 for stored_response in read_many(out_dir, name, offsets))
    for response in responses:
        fetch = Fetch(url=response.url, status=response.status,
                      fetched_at=dt.datetime.fromisoformat(response.date.replace("Z", "+00:00")),
                      content_type=response.content_type, warc=response.location)
        try:
            page = parse_fetched(response.body, fetch, id_pattern=id_pattern)
        except NotQAPage as exc:
            results.append(Parsed(None, exc.reason, response.location))
            continue
        record = to_json_dict(page.record)
        ident = {k: record[k] for k in ("qa_id", "url", "crawled_at")}
        encoded = encode(record, with_digest=True)
        if encoded.text_digest == stored.digest(record["qa_id"]):
            results.append(Parsed(ident, None, response.location,
                                  unchanged=encoded.text_digest))
        else:
            results.append(Parsed(ident, None, response.location,
                                  signature_of(record), encoded))
    return results


def _first_held(dbs, qa_id: str) -> tuple[bytes | None, str | None] | None:
    """:func:`~qa_crawler.state.stored_digest` of the first of the state databases ``dbs``
    holding ``qa_id`` (the one :meth:`CrawlState.replace_record` writes, tried in this order);
    a read-only one that cannot be read yet (a state being made) holds nothing."""
    for db in dbs:
        try:
            held = stored_digest(db, qa_id)
        except sqlite3.Error:
            continue
        if held is not None:
            return held
    return None


def _holds(states: list[CrawlState], qa_id: str, text_digest: bytes) -> bool:
    """Whether the first state holding ``qa_id`` holds the text of ``text_digest``, signed by
    the current MinHash scheme."""
    return _first_held([s.db for s in states], qa_id) == (text_digest, MINHASH_PARAMS)


def _import_export() -> None:
    """What the export's first array costs besides its imports (made already by ``rebuild``):
    pyarrow imports pandas then, 0.2-0.4 s."""
    import pyarrow as pa

    pa.array([0])


def rebuild(out_dir: str | os.PathLike, *, workers: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """Re-parse every stored page and write the dataset again; returns the manifest.

    The records are replaced as the pages are parsed: a rebuild that stops midway (a page that
    cannot be read, Ctrl-C) leaves those it reached re-parsed and the published dataset as it
    was; running it again finishes the job."""
    from pipelines.dataset import export_dataset

    out = Path(out_dir)
    if not any(warc_dir(out).glob("*.warc.gz")):
        raise FileNotFoundError(f"{out}: no WARC files in {warc_dir(out)} (crawled with --no-warc?)")
    began = time.monotonic()
    # A damaged state is what a rebuild is for: set aside (kept), then made again from the pages.
    set_aside_files = []
    for path in state_files(out):
        try:
            verify_state_file(path)
        except DamagedStateError:
            set_aside_files.append(str(set_aside(path)))
    pages = _latest_pages(out)
    pattern = article_url_pattern(out)
    ordered = _in_id_order(pages, pattern)
    tasks = [(str(out), ordered[i:i + CHUNK], pattern) for i in range(0, len(ordered), CHUNK)]

    workers = workers or os.cpu_count() or 1
    written: dict[str, str] = {}  # qa_id -> crawled_at of the record stored for it
    inserts: dict[str, tuple[dict, dict]] = {}  # pages no state holds (a damaged one set aside)
    not_qa = 0
    done = 0
    pool = None
    states = []
    stored = None
    try:
        if workers == 1:
            stored = StoredTexts(out)
            results = (_parse_chunk(task, stored) for task in tasks)
        else:
            pool = ProcessPoolExecutor(max_workers=workers)
            results = pool.map(_parse_chunk, tasks)  # forks the workers: before any state opens
            # This process waits on the pool meanwhile: what the export's first array costs
            # is paid then.
            threading.Thread(target=_import_export, daemon=True).start()
        states = [CrawlState(out, worker=p.stem.removeprefix("state-")) for p in state_files(out)]
        if not states:
            states = [CrawlState(out)]
        # Each chunk is stored as it comes (one transaction per state), while the pool parses
        # the next ones. Of two pages with one qa_id, the record crawled last stays.
        for chunk in results:
            with contextlib.ExitStack() as stack:
                for s in states:
                    stack.enter_context(s.transaction())
                for parsed in chunk:
                    done += 1
                    if parsed.ident is None:
                        not_qa += 1
                        continue
                    record = parsed.ident
                    qa_id = record["qa_id"]
                    if qa_id in written and record["crawled_at"] < written[qa_id]:
                        continue
                    written[qa_id] = record["crawled_at"]
                    if parsed.unchanged is not None:
                        if _holds(states, qa_id, parsed.unchanged):
                            continue  # the very text stored: kept
                        # Changed since the parsing process read it (another page of this
                        # qa_id stored meanwhile): parsed again here, whole.
                        parsed = _parse_chunk((str(out), [parsed.location], pattern),
                                              StoredTexts(None))[0]
                    given = {"signature": parsed.signature, "encoded": parsed.encoded}
                    if not any(s.replace_record(record, **given) for s in states):
                        inserts[qa_id] = (record, given)  # once its newest record is known
            if progress:
                progress(done, len(pages))
        with states[0].transaction():
            for record, given in inserts.values():
                states[0].replace_record(record, insert=True, **given)
        if set_aside_files:
            # The frontier went with the damaged file: the stored records' links make it again.
            for s in states:
                s.seed_frontier()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if stored is not None:
            stored.close()
        for s in states:
            s.close()
    elapsed = time.monotonic() - began
    return export_dataset(out, extra_manifest={"rebuild": {
        "rebuilt_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "parser_version": PARSER_VERSION,
        "pages_parsed": len(pages), "records": len(written), "not_qa_pages": not_qa,
        "workers": workers, "seconds": round(elapsed, 2),
        "damaged_state_set_aside": set_aside_files,
    }})


def print_progress(done: int, total: int, stream=None) -> None:
    """One line redrawn in place on a terminal; off one (a log, cron mail) a plain line at each
    tenth of the pages, never a carriage return."""
    stream = stream or sys.stderr
    line = f"rebuild: {done}/{total} pages parsed"
    if stream.isatty():
        stream.write(f"\r\033[K{line}" + ("\n" if done >= total else ""))
    elif done >= total or done * 10 // max(total, 1) != (done - 1) * 10 // max(total, 1):
        stream.write(line + "\n")
    stream.flush()
