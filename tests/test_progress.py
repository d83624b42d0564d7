"""Progress of a crawl: a live display through a pseudo-terminal, plain lines off one, both
refreshed once more before the summary; the ETA from the frontier and the rate."""

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.progress import clock, eta_seconds, progress_line
from tests.crawl_helpers import crawl_cmd

LINE = re.compile(r"pages (\d+) \| records (\d+) \| failures (\d+) \| pending (\d+) \| "
                  r"ETA (\S+) \| [\d.]+ pages/s \| elapsed \S+")


def test_the_eta_is_the_frontier_over_the_rate():
    stats = {"qa/pages": 120, "item_scraped_count": 100, "qa/failures/http_error": 2}
    line = progress_line(stats, elapsed=60.0, pending=3600)
    # 2 pages/s, 3600 pending: 30 minutes.
    assert line == ("pages 120 | records 100 | failures 2 | pending 3600 | ETA 30m00s | "
                    "2.0 pages/s | elapsed 1m00s")
    assert eta_seconds(10, 0.0) is None and clock(None) == "?"
    assert clock(3 * 3600 + 5 * 60) == "3h05m" and clock(9) == "9s"


def _blocked_site(server, site):
    """One Q&A page answers only once the test has seen a progress line: the crawl is still
    under way, with a frontier, when the line is shown."""
    shown = threading.Event()
    server.faults[site.article_path(site.qa_ids()[-1])] = [{"until": shown}]
    return shown


def _summary_pages(stdout: str) -> int:
    return int(re.search(r"pages fetched\s+(\d+)", stdout).group(1))


@pytest.mark.slow
def test_off_a_terminal_plain_lines_and_a_last_one_that_matches_the_summary(tmp_path):
    site = SampleSite(n_pages=25, seed=41)
    with SiteServer(site) as server:
        shown = _blocked_site(server, site)
        cmd = crawl_cmd(server.url("/"), tmp_path / "out", "-s", "QA_PROGRESS_INTERVAL=0.2")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        early = []
        for raw in proc.stderr:
            early.append(raw)
            match = LINE.search(raw)
            # Lines before the home page is read may show nothing pending yet; the blocked page
            # is released once a line shows the frontier holding it.
            if match and int(match.group(4)) >= 1:
                shown.set()
                break
        shown.set()
        stdout, rest = proc.communicate(timeout=240)
    stderr = "".join(early) + rest
    assert proc.returncode == 0, stderr[-3000:]
    assert "\r" not in stderr
    lines = [m for m in map(LINE.search, stderr.splitlines()) if m]
    assert len(lines) >= 2
    last = lines[-1]
    pending = [m for m in lines if int(m.group(4)) >= 1]
    assert pending and pending[0].group(5) != "?"  # the blocked page is pending, with an ETA
    assert int(last.group(1)) == _summary_pages(stdout) and last.group(4) == "0"
    assert all(line.startswith("progress: ") for line in stderr.splitlines() if LINE.search(line))


@pytest.mark.slow
def test_a_scrapy_crawl_without_a_state_counts_its_scheduler_and_downloads_as_pending(tmp_path):
    site = SampleSite(n_pages=15, seed=43)
    with SiteServer(site) as server:
        shown = _blocked_site(server, site)
        cmd = [sys.executable, "-m", "scrapy", "crawl", "qa", "-a", f"start_url={server.url('/')}",
               "-O", str(tmp_path / "records.jsonl"), "-s", "AUTOTHROTTLE_ENABLED=False",
               "-s", "DOWNLOAD_DELAY=0", "-s", "QA_PROGRESS_INTERVAL=0.2", "-s", "LOG_LEVEL=WARNING"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=str(Path(__file__).parents[1]))
        early = []
        for raw in proc.stderr:
            early.append(raw)
            match = LINE.search(raw)
            if match and int(match.group(4)) >= 1:  # the blocked page, in flight
                shown.set()
                break
        _, rest = proc.communicate(timeout=240)
    assert proc.returncode == 0 and shown.is_set(), ("".join(early) + rest)[-3000:]
    assert LINE.search(rest.splitlines()[-1]).group(4) == "0"


@pytest.mark.slow
def test_on_a_terminal_a_live_display_refreshed_before_the_summary(tmp_path):
    site = SampleSite(n_pages=25, seed=42)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    with SiteServer(site) as server:
        shown = _blocked_site(server, site)
        cmd = crawl_cmd(server.url("/"), tmp_path / "out", "-s", "QA_PROGRESS_INTERVAL=0.2")
        # The terminal's own size, not one that the test runner's environment sets.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True, env=env)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other side closed: the crawl is over
                break
            if not chunk:
                break
            seen += chunk
            if not shown.is_set() and any(int(m[3]) >= 1 for m in LINE.findall(
                    seen.decode("utf-8", "replace"))):
                shown.set()  # a line showed the frontier holding the blocked page
        stdout, _ = proc.communicate(timeout=240)
        os.close(master)
    screen = seen.decode("utf-8", "replace")
    assert proc.returncode == 0, screen[-3000:]
    assert "\x1b[" in screen and "progress: " not in screen  # drawn in place, not appended
    lines = LINE.findall(screen)
    assert len(lines) >= 2 and any(int(m[3]) >= 1 for m in lines), repr(screen[-2000:])
    assert int(lines[-1][0]) == _summary_pages(stdout) and lines[-1][3] == "0"


@pytest.mark.slow
def test_on_a_terminal_ctrl_c_is_acknowledged_at_once_above_the_display(tmp_path):
    site = SampleSite(n_pages=25, seed=44)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    ack = b"qa-crawler: stopping after the requests in flight; Ctrl-C again to stop now"
    with SiteServer(site) as server:
        # The blocked page is in flight until the stop has been acknowledged.
        acknowledged = _blocked_site(server, site)
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        cmd = crawl_cmd(server.url("/"), tmp_path / "out", "-s", "QA_PROGRESS_INTERVAL=0.2")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        seen, interrupted = b"", False
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if not interrupted and LINE.search(seen.decode("utf-8", "replace")):
                proc.send_signal(signal.SIGINT)
                interrupted = True
            if ack in seen:
                acknowledged.set()
        stdout, _ = proc.communicate(timeout=240)
        os.close(master)
    assert interrupted and ack in seen, seen[-2000:]
    assert b"crawl stopped by Ctrl-C or a stop signal in" in stdout
    # The display goes on below the message, and is refreshed before the summary.
    assert LINE.search(seen.split(ack)[1].decode("utf-8", "replace"))
