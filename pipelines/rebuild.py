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
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from qa_crawler import settings as project_settings
from qa_crawler import stats as keys
from qa_crawler.fetched import Fetch, parse_fetched
from qa_crawler.minhash import signature_of
from qa_crawler.parsers.doctorqna import PARSER_VERSION, NotQAPage
from qa_crawler.record import to_json_dict
from qa_crawler.state import (
    CrawlState, DamagedStateError, Encoded, encode, set_aside, state_files, verify_state_file)
from qa_crawler.folder import merged_runs
from qa_crawler.warc import (
    Location, ResponseHead, read_date, read_many, response_heads, warc_dir)

CHUNK = 200


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
    """Whether ``r`` was stored after ``prev`` (files are read in name order; of two stored at
    the same moment, the later file's counts)."""
    if r.second != prev.second:
        return r.second > prev.second
    if r.location.file == prev.location.file:  # a file is only ever appended to
        return r.location.offset > prev.location.offset
    # The same second in two files (two workers'): their WARC-Dates tell, to the microsecond.
    return read_date(out_dir, r.location) >= read_date(out_dir, prev.location)


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


def _parse_chunk(task: tuple[str, list[Location], str]
                 ) -> list[tuple[dict | None, str, str | None, bytes | None, Encoded | None]]:
    """Parse the responses at ``locations`` (runs in a worker process): (the record's keys
    (qa_id, url, crawled_at), URL, why it is not a Q&A page, the question's MinHash signature,
    the record as stored). The record travels as its stored JSON text, which costs the pipe a
    fraction of a pickled dict."""
    out_dir, locations, id_pattern = task
    results = []
    responses = (stored for name, offsets in _by_file(locations)
                 for stored in read_many(out_dir, name, offsets))
    for stored in responses:
        fetch = Fetch(url=stored.url, status=stored.status,
                      fetched_at=dt.datetime.fromisoformat(stored.date.replace("Z", "+00:00")),
                      content_type=stored.content_type, warc=stored.location)
        try:
            page = parse_fetched(stored.body, fetch, id_pattern=id_pattern)
        except NotQAPage as exc:
            results.append((None, stored.url, exc.reason, None, None))
            continue
        record = to_json_dict(page.record)
        ident = {k: record[k] for k in ("qa_id", "url", "crawled_at")}
        results.append((ident, stored.url, None, signature_of(record),
                        encode(record, with_digest=True)))
    return results


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
    try:
        if workers == 1:
            results = map(_parse_chunk, tasks)
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
                for record, _url, _reason, signature, encoded in chunk:
                    done += 1
                    if record is None:
                        not_qa += 1
                        continue
                    qa_id = record["qa_id"]
                    if qa_id in written and record["crawled_at"] < written[qa_id]:
                        continue
                    written[qa_id] = record["crawled_at"]
                    given = {"signature": signature, "encoded": encoded}
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
