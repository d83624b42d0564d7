"""Alerts received by real servers on loopback (a webhook, an SMTP server) and by a command, when
a monitor fails at the end, during the run, or the crawl cannot run."""

import json
import shlex
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.crawl_helpers import crawl


class Receivers:
    """A JSON webhook and an SMTP server on 127.0.0.1, and a command that appends its standard
    input to a file: what each received."""

    def __init__(self, tmp_path):
        self.posts: list[dict] = []
        self.mails: list = []
        self.posted = threading.Event()
        self.command_log = tmp_path / "alert-command.jsonl"
        receivers = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receivers.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                receivers.posted.set()

            def log_message(self, *args):
                pass

        class Mailbox:
            async def handle_DATA(self, server, session, envelope):
                receivers.mails.append(envelope)
                return "250 OK"

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        with socket.socket() as s:  # aiosmtpd needs a port of its own to be named
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.smtp = Controller(Mailbox(), hostname="127.0.0.1", port=port)
        self.smtp.start()
        self.urls = (f"json://127.0.0.1:{self.http.server_address[1]}/hook,"
                     f"mailto://127.0.0.1:{port}?from=crawler@example.org&to=ops@example.org")
        script = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"
        self.command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} " \
                       f"{shlex.quote(str(self.command_log))}"

    def settings(self, *extra):
        return ["-s", f"QA_ALERT_URLS={self.urls}", "-s", f"QA_ALERT_COMMAND={self.command}",
                *extra]

    def commands(self) -> list[dict]:
        if not self.command_log.exists():
            return []
        return [json.loads(line) for line in self.command_log.read_text().splitlines() if line]

    def close(self):
        self.smtp.stop()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receivers(tmp_path):
    r = Receivers(tmp_path)
    yield r
    r.close()


@pytest.mark.slow
def test_a_site_pushing_back_fails_the_ban_monitor_says_slow_down_and_alerts(tmp_path, receivers):
    site = SampleSite(n_pages=30, seed=51)
    with SiteServer(site) as server:
        # A third of the Q&A pages answer 429 once; retried, they all arrive.
        for qa_id in site.qa_ids()[::3]:
            server.faults[site.article_path(qa_id)] = [{"status": 429}]
        proc = crawl(server.url("/"), tmp_path / "out", *receivers.settings())
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "ban_share: 10 of " in proc.stdout and "slow down" in proc.stdout
    [post] = receivers.posts
    assert post["type"] == "failure" and "a monitor failed" in post["title"]
    assert "ban_share" in post["message"]
    [mail] = receivers.mails
    assert mail.rcpt_tos == ["ops@example.org"] and b"ban_share" in mail.content
    [summary] = receivers.commands()
    assert summary["event"] == "monitors_failed"
    assert summary["finish_reason"] == "finished" and summary["stats"]["qa/pages"] > 30
    assert [p.split(":")[0] for p in summary["problems"]] == ["ban_share"]


@pytest.mark.slow
def test_a_run_failing_for_a_while_is_stopped_during_the_run_and_alerted_on(tmp_path, receivers):
    site = SampleSite(n_pages=30, seed=52)
    with SiteServer(site) as server:
        for qa_id in site.qa_ids()[1:]:
            server.always_fail[site.article_path(qa_id)] = 500
        # One page answers only once the alert has arrived: the crawl cannot end before the
        # check during the run has spoken.
        server.faults[site.article_path(site.qa_ids()[0])] = [{"until": receivers.posted}]
        proc = crawl(server.url("/"), tmp_path / "out", *receivers.settings(
            "-s", "QA_MONITOR_INTERVAL=0.2", "-s", "QA_MONITOR_MIN_REQUESTS=10",
            "-s", "QA_MONITOR_ON_FAIL=stop", "-s", "RETRY_TIMES=0"))
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "crawl stopped by a monitor during the run" in proc.stdout
    # The alert during the run goes out in a thread; the one at the end may overtake it.
    by_event = {c["event"]: c for c in receivers.commands()}
    assert set(by_event) == {"monitor_failed_during_run", "monitors_failed"}
    during = by_event["monitor_failed_during_run"]
    assert during["finish_reason"] is None and during["problems"][0].startswith("failed_share: ")
    assert "being stopped" in during["problems"][-1]
    assert any("during the run" in post["title"] for post in receivers.posts)
    assert len(receivers.posts) == len(receivers.mails) == 2


@pytest.mark.slow
def test_a_crawl_that_cannot_run_is_alerted_on(tmp_path, receivers):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    proc = crawl(dead, tmp_path / "out", *receivers.settings("-s", "RETRY_TIMES=0"))
    assert proc.returncode == 3, proc.stderr[-3000:]
    [summary] = receivers.commands()
    assert summary["event"] == "cannot_run" and summary["start_url"] == dead
    assert summary["problems"] == [f"cannot reach {dead}: connection refused"]
    assert len(receivers.posts) == 1 and len(receivers.mails) == 1


@pytest.mark.slow
def test_all_pages_fetched_but_none_a_qa_page_fails_a_monitor(tmp_path):
    site = SampleSite(n_pages=10, seed=53)
    with SiteServer(site) as server:
        for qa_id in site.qa_ids():
            server.always_fail[site.article_path(qa_id)] = 404
        proc = crawl(server.url("/"), tmp_path / "out", "-s", "QA_MONITOR_MAX_FAILED_SHARE=1")
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "qa_pages: " in proc.stdout and "none was a Q&A page" in proc.stdout


def test_an_alert_url_apprise_does_not_know_stops_the_crawl_at_start(tmp_path):
    proc = crawl("http://127.0.0.1:9/", tmp_path / "out", "-s", "QA_ALERT_URLS=nosuch://x")
    assert proc.returncode == 3
    assert proc.stderr.startswith("qa-crawler crawl: QA_ALERT_URLS: not an alert URL Apprise "
                                  "knows: 'nosuch://x'")
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
