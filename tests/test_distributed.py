"""Distributed mode: workers on one Redis split one crawl; `export` writes one dataset.

Needs a Redis server: REDIS_URL (default redis://127.0.0.1:6379/15). Each test uses its own key
prefix and deletes its keys. Without Redis these tests skip; start one with
`redis-server --port 6379 --save ''` (or `make test` through .ci/run, which starts it).
"""

import collections
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pyarrow.parquet as pq
import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.record import PROVENANCE
from tests.crawl_helpers import FAST, crawl, mismatches, qa_rows

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis():
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        return client
    except Exception as exc:  # any failure means: no Redis to test against
        return exc


_client = _redis()
pytestmark = [
    pytest.mark.slow, pytest.mark.redis,
    pytest.mark.skipif(
        not hasattr(_client, "ping"),
        reason=f"no Redis at {REDIS_URL} ({_client}); start one with "
               "`redis-server --port 6379 --save ''` or set REDIS_URL, then rerun",
    ),
]


@pytest.fixture
def prefix():
    name = f"qa-test:{uuid.uuid4().hex[:8]}"
    yield name
    for key in _client.scan_iter(f"{name}*"):
        _client.delete(key)


def worker_cmd(start_url, out, prefix, worker, *extra, redis_url=REDIS_URL):
    return [sys.executable, "-m", "qa_crawler.cli", "crawl", "--start-url", start_url,
            "--out", str(out), "--redis", redis_url, *FAST, "-s", f"QA_REDIS_PREFIX={prefix}",
            "-s", f"QA_WORKER={worker}", "-s", "QA_REDIS_IDLE_SECONDS=2",
            "-s", "QA_REDIS_HEARTBEAT_TTL=3", *extra]


def joined(prefix):
    """Workers that have joined the prefix's current run."""
    return sum(_client.scard(key) for key in _client.scan_iter(f"{prefix}:*:workers"))


def release_when_joined(prefix, n, gate, timeout=60):
    """Set ``gate`` once ``n`` workers have joined the run (``timeout`` seconds at most)."""
    deadline = time.time() + timeout
    while joined(prefix) < n and time.time() < deadline:
        time.sleep(0.1)
    gate.set()


def run_workers(cmds, timeout=240, after_start=None):
    """Run the worker commands together (``after_start()`` once they are started)."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    if after_start is not None:
        after_start()
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        results.append((p.returncode, stdout, stderr))
    return results


def export(out):
    return subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out)],
                          capture_output=True, text=True, timeout=120)


def run_stats(out, worker):
    """The stats of the worker's last finished run, as its state keeps them."""
    with sqlite3.connect(out / ".qa-crawler" / f"state-{worker}.sqlite") as con:
        row = con.execute("SELECT stats FROM runs WHERE finished_at IS NOT NULL"
                          " ORDER BY run_id DESC LIMIT 1").fetchone()
    return json.loads(row[0])


def stored_by(out, worker):
    """Pages the worker has stored so far (0 while its state file is still being created)."""
    db = out / ".qa-crawler" / f"state-{worker}.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT count(*) FROM pages").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def content(table):
    keep = [c for c in table.column_names
            if c not in PROVENANCE and c not in ("first_seen", "last_seen", "changed_at")]
    return table.select(keep).sort_by("qa_id")


def test_three_workers_split_the_crawl_and_export_matches_a_single_process_crawl(
        tmp_path, prefix):
    site = SampleSite(n_pages=150, seed=43)
    with SiteServer(site) as server:
        single = crawl(server.url("/"), tmp_path / "single")
        assert single.returncode == 0, single.stderr[-2000:]
        server.clear_log()
        # The home page answers once every worker has joined, so none of them finds the crawl
        # done because it started seconds late on a loaded machine.
        everyone_in = threading.Event()
        server.faults["/"] = [{"until": everyone_in}]
        # Slow pages keep the crawl going long enough for each worker to be handed some.
        for qa_id in site.qa_ids():
            server.faults[site.article_path(qa_id)] = [{"delay": 1.0}]
        out = tmp_path / "cluster"
        cmds = [worker_cmd(server.url("/"), out, prefix, f"w{i}") for i in range(3)]
        results = run_workers(cmds, after_start=lambda: release_when_joined(prefix, 3, everyone_in))
        for code, stdout, stderr in results:
            assert code == 0, stderr[-2000:]
        article_fetches = [p.split("?")[0] for p in server.requests if "/article/" in p]
        base = server.base_url
    assert sorted(article_fetches) == sorted(set(article_fetches))  # each page fetched once
    assert len(set(article_fetches)) == 150
    done = export(out)
    assert done.returncode == 0, done.stderr
    assert "workers: w0, w1, w2" in done.stdout
    counts = [stored_by(out, f"w{i}") for i in range(3)]
    assert all(c > 0 for c in counts), counts  # every worker crawled some
    assert mismatches(site, base, qa_rows(out)) == []
    assert content(pq.read_table(out / "qa.parquet")).equals(
        content(pq.read_table(tmp_path / "single" / "qa.parquet")))
    assert not list(_client.scan_iter(f"{prefix}*"))  # the last worker out cleaned up


def test_a_worker_killed_with_9_loses_nothing(tmp_path, prefix):
    site = SampleSite(n_pages=120, seed=47)
    with SiteServer(site) as server:
        # Both workers join before the home page answers, and slow pages keep the crawl going
        # past an idle worker's 5 s poll, so the victim surely holds requests when killed.
        everyone_in = threading.Event()
        server.faults["/"] = [{"until": everyone_in}]
        for qa_id in site.qa_ids():
            server.faults[site.article_path(qa_id)] = [{"delay": 1.0}]
        out = tmp_path / "cluster"
        victim = subprocess.Popen(worker_cmd(server.url("/"), out, prefix, "victim"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        survivor = subprocess.Popen(worker_cmd(server.url("/"), out, prefix, "survivor"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        release_when_joined(prefix, 2, everyone_in)
        deadline = time.time() + 60
        while time.time() < deadline:
            inflight = _client.keys(f"{prefix}:*:inflight:victim")
            if inflight and _client.hlen(inflight[0]) and (out / ".qa-crawler" /
                                                          "state-victim.sqlite").exists():
                break
            time.sleep(0.05)
        held = _client.hlen(inflight[0])
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        stdout, stderr = survivor.communicate(timeout=240)
        assert survivor.returncode == 0, stderr[-2000:]
        base = server.base_url
    assert held > 0, "the victim should have held requests when killed"
    assert "back in the frontier" in stderr
    # The run's Q&A pages, the victim's and the survivor's, each counted once.
    assert run_stats(out, "survivor")["qa/cluster/pages_found"] == 120
    done = export(out)
    assert done.returncode == 0, done.stderr
    rows = qa_rows(out)
    assert len(pq.read_table(out / "qa.parquet")) == len(rows) == 120
    assert mismatches(site, base, rows) == []


def test_incremental_rerun_in_distributed_mode_fetches_only_new_pages(tmp_path, prefix):
    site = SampleSite(n_pages=60, seed=53)
    out = tmp_path / "cluster"
    with SiteServer(site) as server:
        for code, _, stderr in run_workers(
                [worker_cmd(server.url("/"), out, prefix, f"a{i}") for i in range(2)]):
            assert code == 0, stderr[-3000:]
        new_ids = site.add_pages(2)
        server.clear_log()
        for code, _, stderr in run_workers(
                [worker_cmd(server.url("/"), out, prefix, f"b{i}") for i in range(2)]):
            assert code == 0, stderr[-3000:]
        fetched = {p.split("?")[0] for p in server.requests if "/article/" in p}
    assert fetched == {site.article_path(q) for q in new_ids}
    # Stored pages skipped by both workers, and the new ones, each counted once for the run.
    stats = [run_stats(out, f"b{i}") for i in range(2)]
    own = [s.get("item_scraped_count", 0) + s.get("qa/skipped_known", 0) for s in stats]
    # (Each worker reads the total as it leaves; the one that leaves last has seen everyone's.)
    assert all(max(own) <= s["qa/cluster/pages_found"] <= sum(own) for s in stats)
    assert export(out).returncode == 0
    assert set(qa_rows(out)) == set(site.qa_ids())


class NoArticleLinks:
    """The sample site with every link to a Q&A page taken out: a worker's share of a crawl
    that holds only listing pages."""

    def __init__(self, site):
        self.site = site

    def render(self, path):
        status, headers, body = self.site.render(path)
        return status, headers, re.sub(rb'href="[^"]*/en/article/[0-9]+[^"]*"', b'href="/"', body)


def test_a_worker_whose_share_held_no_qa_page_passes_when_the_others_found_them(tmp_path,
                                                                                prefix):
    site = NoArticleLinks(SampleSite(n_pages=20, seed=59))
    with SiteServer(site) as server:
        # Another worker of the run has published 20 Q&A pages found and left.
        _client.set(f"{prefix}:run", "R1")
        _client.sadd(f"{prefix}:R1:found", *(f"{server.url('/en/article/')}{i}" for i in range(20)))
        [(code, _, stderr)] = run_workers([worker_cmd(server.url("/"), tmp_path / "a",
                                                      prefix, "lister")])
        assert code == 0 and "Monitor" not in stderr, stderr[-3000:]
        assert not _client.exists(f"{prefix}:R1:found")  # the last worker out took the keys
        # Alone, the same share is a crawl that found no Q&A page at all: exit 4, said so.
        [(code, _, stderr)] = run_workers([worker_cmd(server.url("/"), tmp_path / "b",
                                                      prefix, "lister")])
    assert code == 4 and "none was a Q&A page (all workers)" in stderr


def test_a_page_found_by_several_workers_counts_once_for_the_run(prefix):
    """A worker that joins late (or is started again into the run) skips the pages the others
    stored earlier in the run, which they counted as parsed: the run counts each page once."""
    from qa_crawler.cluster import ClusterScheduler

    class Stats:
        def __init__(self, **values):
            self.values = values

        def get_value(self, key, default=None):
            return self.values.get(key, default)

    def worker(name, **stats):
        w = object.__new__(ClusterScheduler)
        w.server, w.keys, w.worker, w._found = _client, f"{prefix}:R1", name, []
        w.stats = Stats(**stats)
        return w

    early, late = worker("early"), worker("late", **{"qa/validation/dropped": 3})
    urls = [f"https://doctorqna.com/en/article/{i}" for i in range(1, 301)]
    for url in urls[:200]:
        early.found(url)  # parsed and stored
    early.publish_counts()
    for url in urls:
        late.found(url)  # the first 200 skipped as stored, the rest parsed
    late.publish_counts()
    late.publish_counts()  # nothing new: nothing counted twice
    found, read_as_qa = late.run_counts()
    assert found == 300
    assert read_as_qa == found + 3 and early.run_counts() == (found, read_as_qa)


def _scheduler(prefix, name):
    """A worker's scheduler on the run ``prefix:R1`` (its Redis parts only, no crawler)."""
    import scrapy

    from qa_crawler.cluster import ClusterScheduler, ReliableQueue
    from scrapy_redis.dupefilter import RFPDupeFilter

    w = object.__new__(ClusterScheduler)
    w.server, w.keys, w.worker, w._found = _client, f"{prefix}:R1", name, []
    w.stats = type("Stats", (), {"inc_value": lambda *a, **k: None})()
    w.queue = ReliableQueue(server=_client, spider=scrapy.Spider(name="t"),
                            key=f"{w.keys}:requests")
    w.queue.inflight_key = w._inflight(name)
    w.queue.workers_key, w.queue.worker = f"{w.keys}:workers", name
    w.df = RFPDupeFilter(_client, key=f"{w.keys}:dupefilter")
    w.lost = False
    _client.sadd(f"{w.keys}:workers", name)  # as its open() does
    return w


def test_a_worker_taken_for_dead_while_slow_then_killed_loses_no_request(prefix):
    """A heartbeat late under load (the key expired, the worker alive): the others recover what
    it held and unregister it; the requests it pops after that register it again, so when it
    is killed for real they are recovered too (before, they were in no queue and no worker's
    hands: the run ended without them)."""
    import scrapy

    slow, other = _scheduler(prefix, "slow"), _scheduler(prefix, "other")
    for w in (slow, other):
        _client.set(w._alive(w.worker), "1")
    urls = [f"https://doctorqna.com/en/article/{i}" for i in range(3)]
    for url in urls:
        assert slow.enqueue_request(scrapy.Request(url))
        assert not other.enqueue_request(scrapy.Request(url))  # seen: once in the frontier
    assert slow.queue.pop().url == urls[0]
    _client.delete(slow._alive("slow"))  # its heartbeat is late
    assert other.recover_dead() == 1
    assert not _client.sismember(f"{prefix}:R1:workers", "slow")
    held = [slow.queue.pop().url for _ in range(3)]  # still working: it takes all three
    assert sorted(held) == urls and other.queue.pop() is None
    assert _client.sismember(f"{prefix}:R1:workers", "slow")  # registered again by its pops
    # Killed now, its heartbeat never back: the others get the three again.
    assert other.recover_dead() == 3
    assert sorted(other.queue.pop().url for _ in range(3)) == urls


def test_a_redirect_queued_is_no_longer_in_flight_and_one_already_seen_keeps_its_token(prefix):
    """A redirect's request carries the in-flight token of the request it came from: queued, it
    leaves the worker's in-flight hash (else the others would wait on it for ever, and the
    worker's close would put the old request back); dropped as seen, the token stays for the
    ack that finishes the redirecting page."""
    import scrapy

    w = _scheduler(prefix, "w")
    assert w.enqueue_request(scrapy.Request("https://doctorqna.com/en/article/1"))
    assert w.enqueue_request(scrapy.Request("https://doctorqna.com/en/article/2"))
    first = w.queue.pop()
    token = first.meta["qa_inflight"]
    redirect = first.replace(url="https://doctorqna.com/en/article/3")
    assert w.enqueue_request(redirect)
    assert _client.hlen(w._inflight("w")) == 0 and "qa_inflight" not in redirect.meta
    again = w.queue.pop()
    seen = again.replace(url="https://doctorqna.com/en/article/3")
    assert not w.enqueue_request(seen)
    assert seen.meta["qa_inflight"] == again.meta["qa_inflight"] != token
    assert _client.hlen(w._inflight("w")) == 1  # acked when the redirecting page finishes


def test_a_worker_whose_heartbeat_is_back_is_not_recovered(prefix):
    slow, other = _scheduler(prefix, "slow"), _scheduler(prefix, "other")
    slow.enqueue_request(__import__("scrapy").Request("https://doctorqna.com/en/article/1"))
    _client.set(slow._alive("slow"), "1")
    assert slow.queue.pop() is not None
    assert other.recover_dead() == 0 and other.queue.pop() is None
    assert _client.hlen(slow._inflight("slow")) == 1


def test_unreachable_or_invalid_redis_is_refused_naming_the_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    proc = crawl("http://127.0.0.1:9/", tmp_path, "--redis", url)
    assert proc.returncode == 3 and url in proc.stderr
    proc = crawl("http://127.0.0.1:9/", tmp_path, "--redis", "notredis://x")
    assert proc.returncode == 2 and "notredis://x" in proc.stderr  # a bad argument


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_losing_redis_mid_crawl_stops_with_the_url_and_keeps_what_was_stored(tmp_path, prefix):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server_proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        deadline = time.time() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                assert time.time() < deadline
                time.sleep(0.1)
        site = SampleSite(n_pages=100, seed=59)
        with SiteServer(site) as server:
            for qa_id in site.qa_ids():
                server.faults[site.article_path(qa_id)] = [{"delay": 0.1}]
            out = tmp_path / "cluster"
            worker = subprocess.Popen(worker_cmd(server.url("/"), out, prefix, "w", redis_url=url),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.time() + 60
            while time.time() < deadline:
                if stored_by(out, "w") >= 5:
                    break
                time.sleep(0.1)
            server_proc.kill()
            server_proc.wait()
            stdout, stderr = worker.communicate(timeout=120)
    finally:
        if server_proc.poll() is None:
            server_proc.kill()
    assert worker.returncode == 3, stderr[-2000:]
    assert url in stderr and "lost Redis" in stderr
    assert stored_by(out, "w") >= 5  # nothing already collected is lost


def test_an_idle_worker_stops_once_the_cluster_has_been_idle_for_the_idle_seconds(prefix,
                                                                                 monkeypatch):
    """Not while the frontier holds a request or another worker has one in flight (its page's
    links may still come); once neither holds anything, after QA_REDIS_IDLE_SECONDS."""
    import scrapy
    from scrapy.exceptions import DontCloseSpider

    from qa_crawler import cluster, settings

    busy, idle = _scheduler(prefix, "busy"), _scheduler(prefix, "idle")
    for w in (busy, idle):
        _client.set(w._alive(w.worker), "1")
        w.idle_seconds, w.idle_since = settings.QA_REDIS_IDLE_SECONDS, None
        w._counted = lambda when: None
    now = [1000.0]
    monkeypatch.setattr(cluster.time, "monotonic", lambda: now[0])

    def stops(w) -> bool:
        try:
            w.spider_idle(None)
        except DontCloseSpider:
            return False
        return True

    assert busy.enqueue_request(scrapy.Request("https://doctorqna.com/en/article/1"))
    assert not stops(idle)  # a request in the frontier
    request = busy.queue.pop()
    now[0] += 60
    assert not stops(idle)  # in the other's hands, however long
    busy.ack(request)
    assert not stops(idle)  # the cluster idle from now on
    now[0] += settings.QA_REDIS_POLL_SECONDS
    assert not stops(idle)
    now[0] += settings.QA_REDIS_IDLE_SECONDS
    assert stops(idle)
