"""Helpers for end-to-end crawls: run the real CLI in a subprocess against a loopback server."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

FAST = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "QA_RETRY_BACKOFF_BASE=0.05",
    "-s", "QA_PROGRESS_INTERVAL=0", "-s", "DOWNLOAD_TIMEOUT=5",
    # Charts take seconds to draw; tests/test_report.py and the e2e crawl check them.
    "-s", "QA_REPORT=False",
]


def crawl_cmd(start_url: str, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "qa_crawler.cli", "crawl", "--start-url", start_url,
            "--out", str(out), *FAST, *extra]


def crawl(start_url: str, out: Path, *extra: str, timeout: int = 240):
    proc = subprocess.run(crawl_cmd(start_url, out, *extra), capture_output=True, text=True,
                          timeout=timeout)
    return proc


def qa_rows(out: Path) -> dict[str, dict]:
    rows = pq.read_table(out / "qa.parquet").to_pylist()
    return {r["qa_id"]: r for r in rows}


def as_json_value(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def mismatches(site, base_url: str, rows: dict[str, dict]) -> list[str]:
    """Every field of every page that differs from the site's ground truth."""
    problems = []
    for qa_id in site.qa_ids():
        got = rows.get(qa_id)
        if got is None:
            problems.append(f"{qa_id}: missing")
            continue
        for key, want in site.expected_record(qa_id, base_url).items():
            if as_json_value(got[key]) != want:
                problems.append(f"{qa_id}.{key}: {got[key]!r} != {want!r}")
    return problems


def article_requests(server) -> list[str]:
    return [p for p in server.requests if "/article/" in p]
