"""Rebuild a dataset from its WARC files with the current parser, on every core, never fetching.

The newest stored 200 response of each URL is parsed again; the records replace the stored ones
(their page history, first/last seen and changed_at, is kept), and the dataset folder is written
again with the manifest noting the rebuild.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from qa_crawler.parsers.doctorqna import PARSER_VERSION, NotQAPage, parse_page
from qa_crawler.record import to_json_dict
from qa_crawler.state import (
    CrawlState,
    DamagedStateError,
    set_aside,
    state_files,
    verify_state_file,
)
from qa_crawler.warc import Location, iter_responses, warc_dir

CHUNK = 200


def _latest_pages(out_dir: Path) -> dict[str, Location]:
    """URL -> location of its newest stored 200 HTML response."""
    latest: dict[str, tuple[str, Location]] = {}
    for r in iter_responses(out_dir, with_body=False):
        if r.status != 200 or (r.content_type and "html" not in r.content_type.lower()):
            continue
        prev = latest.get(r.url)
        if prev is None or r.date >= prev[0]:
            latest[r.url] = (r.date, r.location)
    return {url: loc for url, (_, loc) in latest.items()}


def _parse_chunk(task: tuple[str, str, list[int]]) -> list[tuple[dict | None, str, str | None]]:
    """Parse the responses at ``offsets`` of one WARC file (runs in a worker process)."""
    from warcio.archiveiterator import ArchiveIterator

    out_dir, name, offsets = task
    results = []
    with open(warc_dir(out_dir) / name, "rb") as fh:
        for offset in offsets:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            url = record.rec_headers.get_header("WARC-Target-URI")
            date = record.rec_headers.get_header("WARC-Date")
            http = record.http_headers
            body = record.content_stream().read()
            try:
                result = parse_page(body, url, content_type=http.get_header("Content-Type"))
            except NotQAPage as exc:
                results.append((None, url, exc.reason))
                continue
            rec = result.record
            rec.http_status = int(http.get_statuscode())
            rec.crawled_at = dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
            rec.warc_file, rec.warc_offset = name, offset
            results.append((to_json_dict(rec), url, None))
    return results


def rebuild(out_dir: str | os.PathLike, *, workers: int | None = None,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """Re-parse every stored page and write the dataset again; returns the manifest."""
    from pipelines.dataset import export_dataset

    out = Path(out_dir)
    if not any(warc_dir(out).glob("*.warc.gz")):
        raise FileNotFoundError(f"{out}: no WARC files in {warc_dir(out)} (crawled with --no-warc?)")
    began = time.monotonic()
    pages = _latest_pages(out)
    by_file: dict[str, list[int]] = {}
    for loc in pages.values():
        by_file.setdefault(loc.file, []).append(loc.offset)
    tasks = []
    for name, offsets in sorted(by_file.items()):
        offsets.sort()
        tasks += [(str(out), name, offsets[i:i + CHUNK]) for i in range(0, len(offsets), CHUNK)]

    workers = workers or os.cpu_count() or 1
    records: dict[str, dict] = {}
    not_qa = 0
    done = 0
    if workers == 1:
        results = map(_parse_chunk, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_parse_chunk, tasks)
    try:
        for chunk in results:
            for record, _url, _reason in chunk:
                done += 1
                if record is None:
                    not_qa += 1
                    continue
                prev = records.get(record["qa_id"])
                if prev is None or record["crawled_at"] >= prev["crawled_at"]:
                    records[record["qa_id"]] = record
            if progress:
                progress(done, len(pages))
    finally:
        if pool is not None:
            pool.shutdown()

    # A damaged state is what a rebuild is for: set aside (kept), then made again from the pages.
    set_aside_files = []
    for path in state_files(out):
        try:
            verify_state_file(path)
        except DamagedStateError:
            set_aside_files.append(str(set_aside(path)))
    states = [CrawlState(out, worker=p.stem.removeprefix("state-")) for p in state_files(out)]
    if not states:
        states = [CrawlState(out)]
    try:
        for record in records.values():
            if not any(s.replace_record(record) for s in states):
                states[0].replace_record(record, insert=True)
    finally:
        for s in states:
            s.close()
    elapsed = time.monotonic() - began
    return export_dataset(out, extra_manifest={"rebuild": {
        "rebuilt_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "parser_version": PARSER_VERSION,
        "pages_parsed": len(pages), "records": len(records), "not_qa_pages": not_qa,
        "workers": workers, "seconds": round(elapsed, 2),
        "damaged_state_set_aside": set_aside_files,
    }})


def print_progress(done: int, total: int) -> None:
    sys.stderr.write(f"\rrebuild: {done}/{total} pages parsed")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
