"""Commands that cannot hurt: demo writes only into its own folders, an unreachable start fails
at once, one crawl per folder whatever QA_WORKER says, bad Redis URLs refused, failures named."""

import gzip
import socket
import subprocess
import sys
import textwrap

import pyarrow.parquet as pq
import pytest
from scrapy.exceptions import DownloadCancelledError, ResponseDataLossError
from twisted.python.failure import Failure

from qa_crawler.commands import DEMO_MARKER
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.spiders.qa import failure_reason
from tests.crawl_helpers import crawl, crawl_cmd, qa_rows

CLI = [sys.executable, "-m", "qa_crawler.cli"]


def run(*args, timeout=240):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def one_line(stderr: str, command: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith(f"qa-crawler {command}")]
    assert len(lines) == 1, stderr
    return lines[0]


# ----- demo --out ----------------------------------------------------------------------------

def test_demo_refuses_a_folder_it_did_not_make_and_leaves_it_alone(tmp_path):
    mine = tmp_path / "home"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    proc = run("demo", "--pages", "5", "--out", str(mine))
    assert proc.returncode == 2
    assert f"{mine} is not empty and not a previous demo's folder" in one_line(proc.stderr, "demo")
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    file = tmp_path / "file"
    file.write_text("x")
    assert run("demo", "--out", str(file)).returncode == 2 and file.read_text() == "x"


@pytest.mark.slow
def test_demo_replaces_a_previous_demo_folder(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / DEMO_MARKER).write_text("made by qa-crawler demo\n")
    (out / "stale.txt").write_text("from the last demo")
    proc = run("demo", "--pages", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / DEMO_MARKER).is_file() and not (out / "stale.txt").exists()
    assert len(qa_rows(out)) == 5


# ----- an unreachable start URL --------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_start_url_fails_at_once_in_one_line_and_writes_nothing(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/en/"
    proc = subprocess.run(crawl_cmd(url, tmp_path / "out"), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.strip() == f"qa-crawler crawl: cannot reach {url}: connection refused"
    assert not (tmp_path / "out").exists()


# ----- one crawl per folder ------------------------------------------------------------------

HOLD_CRAWL_LOCK = textwrap.dedent("""
    import sys
    from qa_crawler.state import CrawlState
    state = CrawlState(sys.argv[1], worker=sys.argv[2])
    state.lock(distributed=sys.argv[3] == "redis")
    print("locked", flush=True)
    sys.stdin.read()
""")


@pytest.fixture
def held(tmp_path):
    """hold(worker, mode): a process holding the folder's crawl lock as a crawl would."""
    procs = []

    def hold(worker: str, mode: str):
        proc = subprocess.Popen([sys.executable, "-c", HOLD_CRAWL_LOCK, str(tmp_path / "out"),
                                 worker, mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()


def redis_url() -> str:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


@pytest.fixture
def site_server():
    with SiteServer(SampleSite(n_pages=5, seed=2)) as server:
        yield server


def test_another_qa_worker_name_does_not_get_past_the_folder_lock(tmp_path, held, site_server):
    holder = held("main", "single")
    proc = crawl(site_server.url("/"), tmp_path / "out", "-s", "QA_WORKER=other")
    assert proc.returncode == 3
    assert f"being crawled by pid {holder.pid}" in one_line(proc.stderr, "crawl")
    assert site_server.requests == []


def test_a_crawl_of_its_own_and_a_distributed_worker_exclude_each_other(
        tmp_path, held, site_server):
    url = redis_url()
    held("w1", "redis")
    held("w2", "redis")  # workers of one distributed crawl share the folder
    proc = crawl(site_server.url("/"), tmp_path / "out")
    assert proc.returncode == 3
    assert "being crawled by the workers of a distributed crawl" in one_line(proc.stderr, "crawl")

    other = tmp_path / "other"
    (other / "out").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_CRAWL_LOCK, str(other / "out"), "main",
                               "single"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = crawl(site_server.url("/"), other / "out", "--redis", url, "-s", "QA_WORKER=w3")
        assert proc.returncode == 3
        assert f"being crawled by pid {holder.pid}" in one_line(proc.stderr, "crawl")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert site_server.requests == []


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/abc", "redis://127.0.0.1:6379/1/2",
                                 "redis://127.0.0.1:port/0", "http://127.0.0.1:6379/0"])
def test_a_redis_url_with_a_bad_database_is_a_usage_error(tmp_path, url):
    proc = run("crawl", "--start-url", "http://127.0.0.1:1/", "--out", str(tmp_path / "out"),
               "--redis", url)
    assert proc.returncode == 2
    assert f"invalid Redis URL {url!r}" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


# ----- every failure says what happened ------------------------------------------------------

@pytest.mark.parametrize("exc, says", [
    (ResponseDataLossError(), "the connection closed before the whole body arrived"),
    (DownloadCancelledError(), "over DOWNLOAD_MAXSIZE, 5000 bytes"),
])
def test_errors_that_scrapy_raises_without_a_message_get_one(exc, says):
    reason = failure_reason(Failure(exc), 5000)
    assert reason.startswith(f"{type(exc).__name__}: ") and says in reason


class Oversized:
    """The sample site, with one page larger than the limit and one that is larger only once
    decompressed (gzip)."""

    def __init__(self, site, big: str, bomb: str, limit: int):
        self.site, self.big, self.bomb, self.limit = site, big, bomb, limit

    def render(self, path_with_query: str):
        status, headers, body = self.site.render(path_with_query)
        if path_with_query == self.big:
            body += b"<!-- padding -->" * (self.limit // 8)
        elif path_with_query == self.bomb:
            body = gzip.compress(body + b" " * (self.limit * 2))
            headers = {**headers, "Content-Encoding": "gzip"}
        return status, headers, body


@pytest.fixture(scope="module")
def faulty_crawl(tmp_path_factory):
    site = SampleSite(n_pages=12, seed=6)
    ids = site.qa_ids()
    paths = {k: site.article_path(ids[k]) for k in range(3)}
    limit = 200_000
    served = Oversized(site, paths[1], paths[2], limit)
    out = tmp_path_factory.mktemp("faulty")
    with SiteServer(served) as server:
        server.faults = {paths[0]: [{"truncate": 200}] * 5}  # every attempt cut short
        proc = crawl(server.url("/"), out, "-s", f"DOWNLOAD_MAXSIZE={limit}",
                     "-s", "QA_RETRY_BACKOFF_BASE=0.01")
        base = server.base_url
    failures = {r["url"].removeprefix(base): r for r in pq.read_table(out / "failures.parquet")
                .to_pylist()}
    return site, paths, proc, out, failures


@pytest.mark.slow
def test_a_truncated_page_and_pages_over_the_size_limit_are_in_the_failures_table_with_reasons(
        faulty_crawl):
    site, paths, proc, out, failures = faulty_crawl
    assert proc.returncode in (0, 4), proc.stderr[-3000:]
    cut = failures[paths[0]]
    assert cut["kind"] == "network_error" and cut["attempts"] == 5
    assert "the connection closed before the whole body arrived" in cut["error"]
    for path in (paths[1], paths[2]):
        assert failures[path]["kind"] == "too_large", failures[path]
        assert "200000" in failures[path]["error"]
    assert all(f["error"] and ": " in f["error"] and f["error"].split(": ", 1)[1].strip()
               for f in failures.values())
    assert len(qa_rows(out)) == len(site.qa_ids()) - 3


@pytest.mark.slow
def test_show_with_its_warc_file_gone_says_so_in_one_line(faulty_crawl):
    site, paths, proc, out, _ = faulty_crawl
    qa_id = site.qa_ids()[5]
    shown = run("show", str(out), qa_id)
    assert shown.returncode == 0 and b"Similar" in subprocess.run(
        [*CLI, "show", str(out), qa_id], capture_output=True).stdout
    for warc in (out / ".qa-crawler" / "warc").glob("*.warc.gz"):
        warc.rename(warc.with_name(warc.name + ".moved"))
    try:
        gone = run("show", str(out), qa_id)
    finally:
        for warc in (out / ".qa-crawler" / "warc").glob("*.moved"):
            warc.rename(warc.with_name(warc.name.removesuffix(".moved")))
    assert gone.returncode == 3
    line = one_line(gone.stderr, "show")
    assert f"cannot read the raw page of {qa_id}" in line and "No such file" in line
