"""The page worker (qa_crawler/worker.py): its frames, its readings against the same reading in
this process, its death (the pages in flight fail, the spider leaves them pending and names it),
and when the crawl uses it (QA_PARSE_PROCESSES)."""

from __future__ import annotations

import asyncio
from pathlib import Path
import datetime as dt
from dataclasses import replace
import io
import os
import signal

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.settings import Settings

from qa_crawler import stats as keys
from qa_crawler.commands import print_summary
from qa_crawler.demo.site import SampleSite
from qa_crawler.fetched import Fetch, FetchedPage, Visited
from qa_crawler.routes import Routes
from qa_crawler.settings import QA_ARTICLE_URL_PATTERN
from qa_crawler.state import encode
from qa_crawler.warc import Location
from qa_crawler.worker import (PageReader, PageWorker, WorkerDied, frame, read_frame,
                               worker_wanted)
from tests.test_components import BASE, make_crawler

ROUTES = Routes(QA_ARTICLE_URL_PATTERN, "127.0.0.1:8123", lang="en",
                deny=(r"/search(?:[/?]|$)",), ignored=frozenset({"png", "css"}))


def fetch_of(path: str) -> Fetch:
    return Fetch(url=BASE + path, status=200, content_type="text/html; charset=utf-8",
                 fetched_at=dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc))


def test_frames_carry_objects_one_after_another_and_say_when_the_stream_ends():
    stream = io.BytesIO(frame((1, b"body", fetch_of("/a"))) + frame("second"))
    assert read_frame(stream) == (1, b"body", fetch_of("/a"))
    assert read_frame(stream) == "second"
    with pytest.raises(EOFError):
        read_frame(stream)
    with pytest.raises(EOFError):  # a frame cut short (the writer died in the middle)
        read_frame(io.BytesIO(frame("whole")[:-1]))


def test_routes_give_a_pages_links_canonical_wanted_once_and_in_order():
    links = [f"{BASE}/en/article/7?utm=x#top", f"{BASE}/en/list/2#a", f"{BASE}/en/article/7",
             f"{BASE}/zh/article/8", f"{BASE}/search?q=x", f"{BASE}/logo.png",
             "http://127.0.0.1:9999/en/article/9", f"{BASE}/en/list/2"]
    assert ROUTES.links(links) == [(f"{BASE}/en/article/7", True), (f"{BASE}/en/list/2", False)]


async def _read_in_worker(pages):
    worker = PageWorker(ROUTES)
    try:
        return await asyncio.gather(*(worker.read(body, fetch) for body, fetch in pages))
    finally:
        worker.close()


def test_the_sockets_to_the_worker_hold_megabytes_of_frames_so_neither_side_waits_on_the_other():
    """A page's answer is ~45 KB: the default buffer (208 KB) held four, and the worker sat in
    sendall while the crawler was busy (the 5,000-page crawl took 18 % longer)."""
    import socket

    try:
        cap = int(Path("/proc/sys/net/core/wmem_max").read_text())
    except OSError:
        pytest.skip("no /proc/sys/net/core/wmem_max: the system's cap is not known")
    if cap <= 1 << 20:
        pytest.skip(f"this system caps socket buffers at {cap} bytes (net.core.wmem_max)")

    async def size():
        worker = PageWorker(ROUTES)
        try:
            return worker.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        finally:
            worker.close()

    # Linux reports twice the size it was given (its bookkeeping), up to twice its cap.
    assert asyncio.run(size()) >= min(4 << 20, cap)


def _without_extras(reading):
    if reading.page is not None:
        reading.page.signature = reading.page.encoded = None
    return reading


def test_the_worker_reads_pages_as_this_process_does_record_json_and_links():
    site = SampleSite(n_pages=4, seed=11)
    paths = [site.article_path(q) for q in site.qa_ids()] + ["/en/"]
    pages = [(site.render(p)[2], fetch_of(p)) for p in paths]
    here = [PageReader(ROUTES, for_store=True)(body, fetch) for body, fetch in pages]
    there = asyncio.run(_read_in_worker(pages))
    # ... and each record's stored text and change key, so that the store in the crawler need
    # not compute them: the same values where it did. Not the question's MinHash: the store
    # makes it (the worker had been the crawl's bottleneck with it).
    assert all(r.page.encoded == encode(r.page.stored) and r.page.signature is None
               for r in there[:-1])
    assert list(map(_without_extras, there)) == list(map(_without_extras, here))
    assert all(r.page is not None and r.page.stored for r in there[:-1])
    assert PageReader(ROUTES)(*pages[0]).page.encoded is None  # in process: the store does
    assert there[-1].page is None and there[-1].links  # the listing: no record, its links


def test_a_worker_started_ahead_is_the_one_the_crawl_takes_and_reads_as_a_fresh_one():
    from qa_crawler import worker as worker_mod

    site = SampleSite(n_pages=3, seed=5)
    paths = [site.article_path(q) for q in site.qa_ids()] + ["/en/"]
    pages = [(site.render(p)[2], fetch_of(p)) for p in paths]
    worker_mod.prestart()
    worker_mod.prestart()  # one at most
    assert len(worker_mod._prestarted) == 1
    (ahead, _), = worker_mod._prestarted

    async def read():
        worker = PageWorker(ROUTES)
        try:
            assert worker.proc is ahead and not worker_mod._prestarted
            return await asyncio.gather(*(worker.read(body, fetch) for body, fetch in pages))
        finally:
            worker.close()

    here = [PageReader(ROUTES, for_store=True)(body, fetch) for body, fetch in pages]
    there = asyncio.run(read())
    assert list(map(_without_extras, there)) == list(map(_without_extras, here))
    assert ahead.returncode == 0


def test_a_worker_started_ahead_that_no_crawl_takes_ends_quietly_when_discarded(capfd):
    from qa_crawler import worker as worker_mod

    worker_mod.prestart()
    (ahead, _), = worker_mod._prestarted
    worker_mod.discard_prestarted()
    assert not worker_mod._prestarted and ahead.returncode == 0
    assert capfd.readouterr().err == ""  # no traceback from the worker
    worker_mod.discard_prestarted()  # nothing left: nothing to do


def test_a_worker_started_ahead_that_died_before_the_crawl_took_it_is_replaced():
    from qa_crawler import worker as worker_mod

    worker_mod.prestart()
    (ahead, _), = worker_mod._prestarted
    ahead.kill()
    ahead.wait()
    site = SampleSite(n_pages=2, seed=5)
    path = site.article_path(site.qa_ids()[0])

    async def read():
        worker = PageWorker(ROUTES)
        try:
            assert worker.proc is not ahead
            return await worker.read(site.render(path)[2], fetch_of(path))
        finally:
            worker.close()

    assert asyncio.run(read()).page.stored


def test_a_crawl_that_cannot_start_leaves_no_worker_started_ahead_behind(tmp_path, monkeypatch):
    from qa_crawler import commands
    from qa_crawler import worker as worker_mod

    started = []
    spawn = worker_mod._spawn

    def watched():
        started.append(spawn())
        return started[-1]

    monkeypatch.setattr(worker_mod, "_spawn", watched)
    # Politeness lifted (a worker wanted), and a start URL nothing listens at (port 9): the
    # crawl stops before Scrapy starts.
    status = commands.run_crawl("http://127.0.0.1:9/", str(tmp_path / "ds"), overrides=[
        ("DOWNLOAD_DELAY", "0"), ("AUTOTHROTTLE_ENABLED", "False"), ("DOWNLOAD_TIMEOUT", "2")],
        stream=io.StringIO())
    assert status == commands.EXIT_CANNOT_RUN and len(started) == 1  # started, never taken
    assert not worker_mod._prestarted and started[0][0].returncode == 0


def test_a_worker_killed_fails_the_pages_in_flight_naming_how_it_ended():
    async def kill_while_reading():
        worker = PageWorker(ROUTES)
        site = SampleSite(n_pages=2, seed=12)
        path = site.article_path(site.qa_ids()[0])
        body = site.render(path)[2]
        # Read one page first: the worker is up; then kill it with pages on their way to it.
        await worker.read(body, fetch_of(path))
        os.kill(worker.pid, signal.SIGKILL)
        reads = [asyncio.ensure_future(worker.read(body, fetch_of(path))) for _ in range(3)]
        results = await asyncio.gather(*reads, return_exceptions=True)
        worker.close()
        return worker, results

    worker, results = asyncio.run(kill_while_reading())
    assert results and all(isinstance(r, WorkerDied) for r in results)
    assert f"(pid {worker.pid}) died (killed by SIGKILL) after reading 1 pages" in str(results[0])


def page_response(site, qa_id):
    path = site.article_path(qa_id)
    status, headers, body = site.render(path)
    return HtmlResponse(BASE + path, status=status, headers=headers, body=body,
                        request=Request(BASE + path))


class DyingWorker:
    """A worker that died with the page in flight."""

    died = None
    read_count = 5

    async def read(self, body, fetch):
        raise WorkerDied("the page worker (pid 1) died (killed by SIGKILL) after reading 5 pages")


def test_a_page_in_flight_when_the_worker_dies_yields_no_outcome_and_the_rest_are_read_here():
    site = SampleSite(n_pages=3, seed=13)
    first, second = site.qa_ids()[:2]
    crawler = make_crawler()
    spider = crawler.spider
    spider.worker = DyingWorker()

    async def outputs(resp):
        return [o async for o in spider.parse(resp)]

    # No outcome: the store does not finish the page, so it stays pending in the frontier.
    assert asyncio.run(outputs(page_response(site, first))) == []
    assert spider.worker is None
    later = asyncio.run(outputs(page_response(site, second)))
    assert [type(o) for o in later[:1]] == [FetchedPage] and later[0].record.qa_id == second
    stats = crawler.stats.get_stats()
    assert stats[keys.PAGE_WORKER_LEFT_PENDING] == 1
    assert "killed by SIGKILL" in stats[keys.PAGE_WORKER_DIED]
    out = io.StringIO()
    print_summary(stats, "out", 1.0, out)
    assert ("page worker       the page worker (pid 1) died (killed by SIGKILL) after reading "
            "5 pages; 1 pages it was reading left pending") in out.getvalue()
    assert not any(isinstance(o, Visited) for o in later)


@pytest.mark.parametrize("settings, wanted", [
    ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, True),  # "auto" on a fast site
    ({"DOWNLOAD_DELAY": 0.5, "AUTOTHROTTLE_ENABLED": False}, False),  # auto, polite
    ({"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": True}, False),
    ({"QA_PARSE_PROCESSES": "0", "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False}, False),
    ({"QA_PARSE_PROCESSES": "1", "DOWNLOAD_DELAY": 0.5}, True),
])
def test_the_worker_is_used_when_the_site_lets_us_fetch_fast_unless_told(settings, wanted):
    crawler = make_crawler(**settings)
    assert worker_wanted(crawler.settings) is wanted
    assert crawler.spider.use_worker is wanted


def test_a_parse_processes_value_that_means_nothing_is_refused_at_start_up():
    with pytest.raises(ValueError, match="QA_PARSE_PROCESSES must be auto, 0 or 1, not 'many'"):
        worker_wanted(Settings({"QA_PARSE_PROCESSES": "many"}))


# -- the archive kept by the worker ----------------------------------------------------------
def _exchange(url: str, body: bytes, status: int = 200) -> dict:
    return dict(url=url, method="GET", request_headers=[("Accept", "text/html")],
                status=status, reason="OK" if status == 200 else "Moved Permanently",
                response_headers=[("Content-Type", "text/html; charset=utf-8")], body=body)


def _options(out) -> dict:
    return dict(out_dir=out, worker="main", max_bytes=1 << 30, info={"software": "test"})


def test_the_worker_archives_responses_and_puts_their_locations_in_the_records(tmp_path):
    from qa_crawler.warc import PIECES_DIRNAME, read_at, warc_dir, write_index

    site = SampleSite(n_pages=5, seed=21)
    paths = [site.article_path(q) for q in site.qa_ids()]
    pages = [(p, site.render(p)[2]) for p in paths]

    async def archive_and_read():
        worker = PageWorker(ROUTES)
        try:
            # Archived before the connection is made (the first frames wait for it), a redirect
            # that is never read among them, and each page read after its response.
            tickets = [worker.archive(_options(tmp_path), _exchange(BASE + p, body))
                       for p, body in pages[:2]]
            worker.archive(_options(tmp_path), _exchange(BASE + "/old", b"", status=301))
            tickets += [worker.archive(_options(tmp_path), _exchange(BASE + p, body))
                        for p, body in pages[2:]]
            readings = await asyncio.gather(*(
                worker.read(body, replace(fetch_of(p), warc=t))
                for (p, body), t in zip(pages, tickets)))
        finally:
            await worker.finished()
            worker.wait()
        return worker, readings

    worker, readings = asyncio.run(archive_and_read())
    assert worker.proc.returncode == 0
    locations = [(r.page.record.warc_file, r.page.record.warc_offset) for r in readings]
    assert len(set(locations)) == len(pages) and all(f for f, _ in locations)
    for (path, body), (file, offset) in zip(pages, locations):
        stored = read_at(tmp_path, Location(file, offset))
        assert stored.url == BASE + path and stored.body == body and stored.status == 200
    # As it ended, the worker indexed its file: the merge finds the piece made.
    files = sorted(warc_dir(tmp_path).glob("*.warc.gz"))
    assert len(files) == 1
    pieces = list((warc_dir(tmp_path) / PIECES_DIRNAME).glob(f"{files[0].name}.*.cdxj"))
    assert len(pieces) == 1
    index = write_index(tmp_path).read_text().splitlines()
    assert len(index) == len(pages) + 1  # the pages and the redirect


def test_an_archive_write_that_fails_names_the_file_and_its_page_is_not_stored(tmp_path):
    from qa_crawler.guard import NotStored
    from qa_crawler.state import StorageError

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")  # the archive's folder cannot be made under it
    site = SampleSite(n_pages=2, seed=22)
    path = site.article_path(site.qa_ids()[0])
    body = site.render(path)[2]
    errors = []

    async def archive_and_read():
        worker = PageWorker(ROUTES)
        worker.on_archive_error = errors.append
        try:
            ticket = worker.archive(_options(blocked), _exchange(BASE + path, body))
            with pytest.raises(NotStored) as refused:
                await worker.read(body, replace(fetch_of(path), warc=ticket))
            # A page archived elsewhere (or not at all) is still read.
            other = await worker.read(body, fetch_of(path))
        finally:
            await worker.finished()
            worker.wait()
        return refused.value, other

    refused, other = asyncio.run(archive_and_read())
    assert len(errors) == 1 and isinstance(errors[0], StorageError)
    assert str(blocked) in str(errors[0]) and str(blocked) in str(refused)
    assert other.page is not None and other.page.record.warc_file is None


def test_archive_frames_still_buffered_when_the_worker_finishes_reach_it(tmp_path):
    from qa_crawler.warc import iter_responses

    async def archive_then_finish():
        worker = PageWorker(ROUTES)
        # More than the socket's buffer holds (4 MB asked for, where the system allows it).
        bodies[:] = [os.urandom(1 << 20) for _ in range(2 * _send_buffer(worker) // (1 << 20) + 2)]
        # One read first: the connection is made; then archives nothing reads, and the end.
        site = SampleSite(n_pages=2, seed=23)
        path = site.article_path(site.qa_ids()[0])
        await worker.read(site.render(path)[2], fetch_of(path))
        for i, body in enumerate(bodies):
            worker.archive(_options(tmp_path), _exchange(f"{BASE}/blob/{i}", body))
        assert worker.transport.get_write_buffer_size() > 0
        await worker.finished()
        worker.wait()
        return worker

    bodies: list[bytes] = []
    worker = asyncio.run(archive_then_finish())
    assert worker.proc.returncode == 0
    stored = {r.url: r.body for r in iter_responses(tmp_path)}
    assert [stored[f"{BASE}/blob/{i}"] for i in range(len(bodies))] == bodies


def _send_buffer(worker) -> int:
    import socket

    return worker.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)


def test_a_worker_behind_makes_the_crawler_wait_instead_of_buffering_every_response(tmp_path):
    from qa_crawler.warc import iter_responses
    from qa_crawler.worker import _HIGH_WATER

    bodies: list[bytes] = []

    async def archive_while_stopped():
        worker = PageWorker(ROUTES)
        # What the socket's buffer holds, then twice the high-water mark (4 MB) beyond it.
        bodies[:] = [os.urandom(1 << 20)
                     for _ in range((_send_buffer(worker) + 2 * _HIGH_WATER) // (1 << 20) + 2)]
        site = SampleSite(n_pages=2, seed=24)
        path = site.article_path(site.qa_ids()[0])
        await worker.read(site.render(path)[2], fetch_of(path))  # connected, and running
        os.kill(worker.pid, signal.SIGSTOP)
        sent = 0
        try:
            for i, body in enumerate(bodies):
                if worker.behind:
                    break
                worker.archive(_options(tmp_path), _exchange(f"{BASE}/blob/{i}", body))
                sent += 1
            assert worker.behind and worker.transport.get_write_buffer_size() > _HIGH_WATER
            waiting = asyncio.ensure_future(worker.until_drained())
            await asyncio.sleep(0.2)
            assert not waiting.done()  # it waits while the worker does not read
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        await asyncio.wait_for(waiting, 30)
        assert not worker.behind
        for i in range(sent, len(bodies)):
            worker.archive(_options(tmp_path), _exchange(f"{BASE}/blob/{i}", bodies[i]))
        await worker.finished()
        worker.wait()
        return sent

    sent = asyncio.run(archive_while_stopped())
    assert sent < len(bodies)
    stored = {r.url: r.body for r in iter_responses(tmp_path)}
    assert [stored[f"{BASE}/blob/{i}"] for i in range(len(bodies))] == bodies


def test_answers_past_the_sockets_room_wait_in_order_for_a_crawler_that_reads_late():
    """The worker sends an answer at once while the socket has room, and queues the rest for
    its sending thread: a crawler that reads nothing for a while gets every answer, whole and
    in order, and the worker goes on reading pages meanwhile."""
    import socket
    import subprocess
    import sys
    import time

    site = SampleSite(n_pages=4, seed=5)
    pages = [(site.render(site.article_path(q))[2], fetch_of(site.article_path(q)))
             for q in site.qa_ids()]
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qa_crawler.worker import serve; serve()",
         str(theirs.fileno())], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
    theirs.close()
    try:
        ours.settimeout(60)  # a worker that stopped reading fails the test, not hangs it
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)  # little room
        ours.sendall(frame((sys.path, ROUTES)))
        n = 300  # ~40 KB answers: megabytes more than the two buffers hold
        for seq in range(n):
            body, fetch = pages[seq % len(pages)]
            ours.sendall(frame((seq, body, fetch)))
        time.sleep(1.0)  # nothing read: the worker's buffer fills, its thread holds the rest
        with ours.makefile("rb") as stream:  # (the socket closes with its last file)
            answers = [read_frame(stream) for _ in range(n)]
    finally:
        ours.close()
        proc.wait(timeout=30)
    assert [a[0] for a in answers] == list(range(n))
    assert all(ok and reading.page is not None and reading.page.stored for _, ok, reading in answers)
    assert {answers[k][2].page.record.qa_id for k in range(n)} == set(site.qa_ids())
