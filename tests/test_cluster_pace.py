"""Distributed mode keeps every worker busy: a worker whose frontier ran dry asks Redis again
within a second (not on Scrapy's 5-second heartbeat), and requests waiting for the cluster's
politeness slots queue in the worker, one of them asking Redis, the next taking a slot this
worker releases at once. Needs Redis, as tests/test_distributed.py."""

import asyncio
import threading
import time
import types

from scrapy import Request
from scrapy.settings import Settings

from qa_crawler import cluster as cluster_mod
from qa_crawler.cluster import ClusterPolitenessMiddleware
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.test_distributed import (  # noqa: F401 (prefix is a fixture)
    _client,
    prefix,
    pytestmark,
    release_when_joined,
    run_workers,
    worker_cmd,
)


class _Counted:
    """The real Redis client, counting the slot scripts it runs."""

    def __init__(self, client):
        self.client = client
        self.evals = 0

    def eval(self, *args):
        self.evals += 1
        return self.client.eval(*args)

    def __getattr__(self, name):
        return getattr(self.client, name)


def _middleware(prefix, limit):
    server = _Counted(_client)
    cluster = types.SimpleNamespace(server=server, keys=prefix, lost=False)
    context = types.SimpleNamespace(cluster=cluster)
    settings = Settings({"REDIS_URL": "redis://127.0.0.1:6379/15", "DOWNLOAD_DELAY": 0,
                         "CONCURRENT_REQUESTS_PER_DOMAIN": limit, "DOWNLOAD_TIMEOUT": 30})
    crawler = types.SimpleNamespace(settings=settings, get_extension=lambda cls: context)
    return ClusterPolitenessMiddleware(crawler), server


def test_requests_waiting_for_a_slot_make_one_poll_and_a_released_slot_is_taken_at_once(
        prefix, monkeypatch):
    # Polls an hour apart: a waiting request gets a slot only when this worker releases one.
    monkeypatch.setattr(cluster_mod, "_SLOT_POLL_SECONDS", 3600, raising=False)
    mw, server = _middleware(prefix, limit=2)
    key = f"{prefix}:slots:127.0.0.1"

    async def scenario():
        requests = [Request(f"http://127.0.0.1/article/{k}") for k in range(6)]
        tasks = [asyncio.ensure_future(mw.process_request(r)) for r in requests]
        await asyncio.sleep(0.3)
        # Two hold the slots; of the four waiting, only the first asked Redis (once).
        assert sum(t.done() for t in tasks) == 2
        assert server.evals == 3
        assert _client.zcard(key) == 2
        for expected in range(3, 7):
            held = [r for r, t in zip(requests, tasks, strict=True)
                    if t.done() and "qa_lease" in r.meta]
            mw.process_response(held[0], None)  # this worker's page done: its slot is free
            deadline = time.monotonic() + 10
            while sum(t.done() for t in tasks) < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert sum(t.done() for t in tasks) == expected, "a released slot was not taken"
            assert _client.zcard(key) == 2  # never more than the budget
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_a_worker_whose_frontier_was_empty_takes_the_others_links_within_a_second(
        tmp_path, prefix):
    site = SampleSite(n_pages=30, seed=5)
    with SiteServer(site) as server:
        # The home page answers once both workers have joined: the one that did not get it has
        # found the frontier empty and is idle, until the other's links reach Redis.
        everyone_in = threading.Event()
        server.faults["/"] = [{"until": everyone_in}]
        for qa_id in site.qa_ids():  # slow pages, two at a time per worker: the crawl lasts
            server.faults[site.article_path(qa_id)] = [{"delay": 1.0}]
        out = tmp_path / "cluster"
        cmds = [worker_cmd(server.url("/"), out, prefix, f"w{i}", "-s", "CONCURRENT_REQUESTS=2",
                           "-s", f"USER_AGENT=pace-test-w{i}") for i in range(2)]
        results = run_workers(cmds, after_start=lambda: release_when_joined(prefix, 2, everyone_in))
        for code, _, stderr in results:
            assert code == 0, stderr[-2000:]
        records = server.records
    home = next(r for r in records if r.path == "/")
    first = {}
    for r in records:
        if r.path not in ("/", "/robots.txt"):
            first.setdefault(r.headers.get("User-Agent"), r.time)
    busy_agent = home.headers.get("User-Agent")
    idle_agent = ({"pace-test-w0", "pace-test-w1"} - {busy_agent}).pop()
    assert idle_agent in first, "the idle worker fetched nothing"
    # The busy worker's first request after the home page: its links are in Redis by then.
    # Scrapy's heartbeat alone would have woken the idle worker ~5 s after it joined.
    gap = first[idle_agent] - first[busy_agent]
    assert gap < 2.0, f"the idle worker began {gap:.1f}s after the other worker's links"
