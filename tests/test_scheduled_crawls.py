"""Scheduled crawls: resume after kill -9, incremental re-crawls, faults retried or recorded."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import pyarrow.parquet as pq
import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.crawl_helpers import crawl, crawl_cmd, mismatches, qa_rows

pytestmark = pytest.mark.slow


def stored(out) -> int:
    db = out / ".qa-crawler" / "state-main.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM pages").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_kill_9_mid_crawl_then_resume_loses_and_duplicates_nothing(tmp_path):
    site = SampleSite(n_pages=150, seed=11)
    with SiteServer(site) as server:
        # Slow every page a little so that the kill lands in the middle of the crawl.
        for qa_id in site.qa_ids():
            server.faults[site.article_path(qa_id)] = [{"delay": 0.05}]
        proc = subprocess.Popen(crawl_cmd(server.url("/"), tmp_path, "-s",
                                          "CONCURRENT_REQUESTS_PER_DOMAIN=4"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while stored(tmp_path) < 40 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        before_kill = stored(tmp_path)
        assert 0 < before_kill < 150, "the kill should land mid-crawl"
        fetched_first = {p for p in server.requests if "/article/" in p}
        server.clear_log()

        resumed = crawl(server.url("/"), tmp_path)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        refetched = {p for p in server.requests if "/article/" in p}
        base = server.base_url

    rows = qa_rows(tmp_path)
    assert len(pq.read_table(tmp_path / "qa.parquet")) == 150  # none duplicated
    assert mismatches(site, base, rows) == []  # none lost, every field right
    # Pages stored before the kill were not fetched again (only the in-flight ones were).
    db_urls = set(rows)
    assert len(refetched) <= 150 - before_kill + 4 + 1
    assert fetched_first  # the first run did fetch articles
    assert db_urls == set(site.qa_ids())


def test_second_run_fetches_only_new_pages_and_recheck_picks_up_changes(tmp_path):
    site = SampleSite(n_pages=60, seed=13)
    with SiteServer(site) as server:
        assert crawl(server.url("/"), tmp_path).returncode == 0
        first_manifest = json.loads((tmp_path / "manifest.json").read_text())
        new_ids = site.add_pages(2)
        changed_id = site.qa_ids()[5]
        site.change_page(changed_id)
        server.clear_log()

        second = crawl(server.url("/"), tmp_path)
        assert second.returncode == 0, second.stderr[-2000:]
        fetched = {p.split("?")[0] for p in server.requests if "/article/" in p}
        assert fetched == {site.article_path(q) for q in new_ids}
        rows = qa_rows(tmp_path)
        assert set(rows) == set(site.qa_ids())
        # Without a re-check policy the changed page keeps its stored version.
        assert rows[changed_id]["answer"] != site.expected_record(changed_id, server.base_url)["answer"]

        server.clear_log()
        third = crawl(server.url("/"), tmp_path, "--recheck-older-than", "0s")
        assert third.returncode == 0, third.stderr[-2000:]
        rechecks = [r for r in server.records if "/article/" in r.path]
        assert len({r.path for r in rechecks}) == len(site.qa_ids())
        # Conditional requests: unchanged pages answer 304.
        assert sum(1 for r in rechecks if r.status == 304) >= len(site.qa_ids()) - 1
        base = server.base_url
    # The re-check's summary: each count once, under its own name.
    summary = _summary(third.stdout)
    assert [summary[k] for k in ("new", "changed", "not modified", "removed", "failed")] == [
        "0", "1", f"{sum(1 for r in rechecks if r.status == 304)} (answered 304)", "0", "0"]
    assert int(summary["pages fetched"]) >= len(site.qa_ids())

    rows = qa_rows(tmp_path)
    assert mismatches(site, base, rows) == []
    changed = rows[changed_id]
    assert changed["changed_at"] is not None and changed["first_seen"] < changed["changed_at"]
    assert sum(1 for r in rows.values() if r["changed_at"] is not None) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["runs"]) == 3 and len(first_manifest["runs"]) == 1
    assert manifest["runs"][1]["stats"]["qa/records/new"] == 2
    assert manifest["runs"][2]["stats"]["qa/records/changed"] == 1


def _summary(stdout: str) -> dict[str, str]:
    """The summary's lines by name; a name printed twice fails."""
    lines = {}
    for line in stdout.splitlines():
        m = re.match(r"  (\S.*?)\s{2,}(\S.*)$", line)
        if m:
            assert m.group(1) not in lines, f"{m.group(1)!r} twice in the summary:\n{stdout}"
            lines[m.group(1)] = m.group(2)
    return lines


class WithoutValidators:
    """The sample site as most servers answer: no ETag, no Last-Modified, so a re-check is an
    unconditional 200 with the whole page."""

    def __init__(self, site):
        self.site = site

    def render(self, path_with_query):
        status, headers, body = self.site.render(path_with_query)
        return status, {k: v for k, v in headers.items()
                        if k not in ("ETag", "Last-Modified")}, body


def test_recheck_without_validators_counts_only_the_changed_pages_changed(tmp_path):
    site = SampleSite(n_pages=38, seed=19)
    changed_ids = site.qa_ids()[3:6]
    with SiteServer(WithoutValidators(site)) as server:
        assert crawl(server.url("/"), tmp_path).returncode == 0
        for qa_id in changed_ids:
            site.change_page(qa_id)
        server.clear_log()
        again = crawl(server.url("/"), tmp_path, "--recheck-older-than", "0s")
        assert again.returncode == 0, again.stderr[-2000:]
        statuses = {r.status for r in server.records if "/article/" in r.path}
        base = server.base_url

    assert statuses == {200}  # nothing to answer 304 with
    summary = _summary(again.stdout)
    assert (summary["new"], summary["changed"], summary["unchanged"]) == ("0", "3", "35")
    rows = qa_rows(tmp_path)
    assert mismatches(site, base, rows) == []
    assert {q for q, r in rows.items() if r["changed_at"] is not None} == set(changed_ids)
    assert all(r["last_seen"] > r["first_seen"] for r in rows.values())


def test_faults_are_retried_and_a_page_that_always_fails_is_listed(tmp_path):
    site = SampleSite(n_pages=40, seed=17)
    ids = site.qa_ids()
    with SiteServer(site) as server:
        server.faults[site.article_path(ids[0])] = [{"status": 503}, {"status": 503}]
        server.faults[site.article_path(ids[1])] = [
            {"status": 429, "headers": {"Retry-After": "1"}}]
        server.faults[site.article_path(ids[2])] = [{"truncate": 200}]
        server.faults[site.article_path(ids[3])] = [{"reset": True}]
        server.faults[site.article_path(ids[4])] = [{"delay": 8}]  # beyond DOWNLOAD_TIMEOUT=5
        server.always_fail[site.article_path(ids[5])] = 500
        proc = crawl(server.url("/"), tmp_path)
        counts = {i: server.count(site.article_path(i)) for i in ids[:6]}
        retry_429 = [r for r in server.records if r.path == site.article_path(ids[1])]

    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = qa_rows(tmp_path)
    assert set(rows) == set(ids) - {ids[5]}
    assert counts[ids[0]] == 3 and counts[ids[1]] == 2 and counts[ids[2]] >= 2
    assert retry_429[1].time - retry_429[0].time >= 0.9  # Retry-After honoured
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    failed = [f for f in failures if f["url"].endswith(site.article_path(ids[5]))]
    assert failed and failed[0]["status"] == 500 and failed[0]["attempts"] >= 2
    assert "  failed            1 (http_error 1)\n" in proc.stdout


def test_unreachable_start_url_exits_non_zero_naming_it(tmp_path):
    with SiteServer(SampleSite(n_pages=5)) as server:
        url = server.url("/")
    # The server is stopped: nothing listens there any more.
    proc = crawl(url, tmp_path, "-s", "RETRY_TIMES=0")
    assert proc.returncode == 3
    assert url in proc.stderr


def test_a_dataset_that_cannot_be_written_exits_3_naming_the_folder(tmp_path):
    (tmp_path / "qa.parquet").mkdir(parents=True)  # in the way of the finished file
    (tmp_path / "qa.parquet" / "keep").write_text("x")
    with SiteServer(SampleSite(n_pages=5, seed=23)) as server:
        proc = crawl(server.url("/"), tmp_path)
    assert proc.returncode == 3
    assert f"the dataset could not be written to {tmp_path}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "export failed" in proc.stdout  # the summary names the step
