"""Distributed mode, resumed: every worker killed, Redis wiped, and the folder's frontier alone
brings every page back, each stored once (a file of its own so that it runs beside the other
distributed tests, not after them)."""

import collections
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pyarrow.parquet as pq

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.crawl_helpers import mismatches, qa_rows
from tests.test_distributed import (  # noqa: F401 (prefix is a fixture)
    _client,
    export,
    prefix,
    pytestmark,
    release_when_joined,
    run_workers,
    worker_cmd,
)


def _stored_in_folder(out) -> set[str]:
    urls = set()
    for db_path in (out / ".qa-crawler").glob("state-*.sqlite"):
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as con:
                urls.update(u for (u,) in con.execute("SELECT url FROM urls"))
        except sqlite3.OperationalError:  # the schema is not there yet
            pass
    return urls


N_PAGES = 100


def test_all_workers_killed_and_redis_lost_then_resumed_every_page_once(tmp_path, prefix):
    """The folder's frontier re-seeds a crawl whose Redis lost everything: most pages are
    linked only from other Q&A pages, so a crawl that forgot them would never find them."""
    site = SampleSite(n_pages=N_PAGES, seed=61, similar_only_per_mille=750)
    out = tmp_path / "cluster"
    fetched = collections.Counter()
    with SiteServer(site) as server:
        for qa_id in site.qa_ids():
            server.faults[site.article_path(qa_id)] = [{"delay": 0.1}]
        # Round 1 is killed and Redis wiped; round 2 is killed with Redis kept; round 3 ends.
        for round_, (records, wipe) in enumerate([(20, True), (55, False), (None, False)]):
            before = _stored_in_folder(out)
            everyone_in = threading.Event()
            server.faults["/"] = [{"until": everyone_in}]
            cmds = [worker_cmd(server.url("/"), out, prefix, f"r{round_}w{i}") for i in range(2)]
            if records is None:
                results = run_workers(
                    cmds, after_start=lambda: release_when_joined(prefix, 2, everyone_in))
                for code, stdout, stderr in results:
                    assert code == 0, stderr[-2000:]
            else:
                procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) for c in cmds]
                release_when_joined(prefix, 2, everyone_in)
                deadline = time.time() + 120
                while len(_stored_in_folder(out)) < records and time.time() < deadline:
                    time.sleep(0.05)
                for p in procs:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait()
                assert records <= len(_stored_in_folder(out)) < N_PAGES
                if wipe:
                    for key in _client.scan_iter(f"{prefix}*"):
                        _client.delete(key)
            run = collections.Counter(p.split("?")[0] for p in server.requests
                                      if "/article/" in p)
            assert not {server.base_url + p for p in run} & before, "stored pages fetched again"
            fetched.update(run)
            server.clear_log()
        base = server.base_url
    assert export(out).returncode == 0
    rows = qa_rows(out)
    assert len(pq.read_table(out / "qa.parquet")) == len(rows) == N_PAGES
    assert mismatches(site, base, rows) == []
    assert set(fetched) == {site.article_path(q) for q in site.qa_ids()}
