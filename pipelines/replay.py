"""Package a dataset folder's raw archive as WACZ (py-wacz) for replay tools, its pages the Q&A rows."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from qa_crawler.state import STATE_DIRNAME
from qa_crawler.warc import read_many, warc_dir

WACZ_NAME = "archive.wacz"


def _pages(out: Path) -> list[dict]:
    """One page entry per row of qa.parquet: the URL and WARC-Date of its response record."""
    table = pq.read_table(out / "qa.parquet")
    columns = [c for c in ("warc_file", "warc_offset", "title") if c in table.column_names]
    by_file: dict[str, list[tuple[int, str | None]]] = {}
    for row in table.select(columns).to_pylist():
        if row.get("warc_file"):
            by_file.setdefault(row["warc_file"], []).append((row["warc_offset"], row.get("title")))
    pages = []
    for name, items in sorted(by_file.items()):
        items.sort()
        for stored, (_, title) in zip(read_many(out, name, [o for o, _ in items]), items):
            pages.append({"url": stored.url, "ts": stored.date, "title": title or stored.url})
    return pages


def write_wacz(out_dir: str | os.PathLike, dest: str | os.PathLike | None = None
               ) -> tuple[Path, int]:
    """Write the WACZ of the folder's WARC files (default ``DIR/.qa-crawler/archive.wacz``);
    returns its path and the number of pages listed in it."""
    from wacz.main import main as wacz_main

    out = Path(out_dir)
    files = sorted(warc_dir(out).glob("*.warc.gz"))
    if not files:
        raise FileNotFoundError(f"{out}: no WARC files in {warc_dir(out)} (crawled with --no-warc?)")
    if not (out / "qa.parquet").is_file():
        raise FileNotFoundError(f"{out}: no qa.parquet (write it first: qa-crawler export {out})")
    target = Path(dest) if dest else out / STATE_DIRNAME / WACZ_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    pages = _pages(out)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        listing = Path(tmp) / "pages.jsonl"
        with open(listing, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"format": "json-pages-1.0", "id": "pages",
                                 "title": "Q&A pages"}) + "\n")
            for page in pages:
                fh.write(json.dumps(page, ensure_ascii=False) + "\n")
        partial = Path(tmp) / target.name
        log = io.StringIO()
        with contextlib.redirect_stdout(log):
            code = wacz_main(["create", "-o", str(partial), "-p", str(listing),
                              "--title", f"qa-crawler web archive of {out.resolve().name}",
                              "--desc", "The raw pages of a qa-crawler dataset folder",
                              *map(str, files)])
        if code:
            raise RuntimeError(f"py-wacz could not package {warc_dir(out)}: "
                               + " ".join(log.getvalue().split())[-300:])
        os.replace(partial, target)
    return target, len(pages)
