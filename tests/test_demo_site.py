"""The bundled sample site and its loopback server behave like the real site, faults included."""

from __future__ import annotations

import datetime as dt
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tracemalloc
import urllib.error
import urllib.request
import urllib.robotparser
from collections import defaultdict, deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import RECORD_KEYS, TEMPLATES, SampleSite
from qa_crawler.record import PROVENANCE, record_fields

ROOT = Path(__file__).resolve().parents[1]


# ----- helpers -------------------------------------------------------------------------------------

def fetch(url: str, headers: dict | None = None, timeout: float = 5.0):
    """(status, headers, body) for a GET, errors included."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_of(body: bytes) -> list[str]:
    parser = _Links()
    parser.feed(body.decode("utf-8"))
    return parser.hrefs


def reader_text(body: bytes) -> str:
    """The page text as a reader sees it, whitespace collapsed."""
    doc = lxml.html.fromstring(body)
    for el in doc.xpath("//script|//style|//head"):
        el.drop_tree()
    for br in doc.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return " ".join(doc.text_content().split())


def age_band(rec: dict) -> str | None:
    lo, hi = rec["asker_age_min"], rec["asker_age_max"]
    if lo is None and hi is None:
        return None
    if lo is None:
        return f"under {hi + 1}"
    if hi is None:
        return f"over {lo}"
    return f"{lo}~{hi}"


def asker_line(rec: dict) -> str:
    """The asker line rebuilt from the record's fields alone."""
    band = age_band(rec)
    desc = " ".join(x for x in (f"{band} year old" if band else None, rec["asker_gender"]) if x)
    name = rec["asker_name"]
    who = f"{name}, {desc}." if name and desc else f"{name or desc}."
    return f"{who} Ask Date: {rec['asked_on_raw']}"


def assert_in_order(text: str, parts: list[str]) -> None:
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        assert found >= 0, f"{part!r} missing after position {pos}: ...{text[pos:pos + 200]!r}"
        pos = found + len(part)


# ----- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site() -> SampleSite:
    return SampleSite(n_pages=300, seed=0)


@pytest.fixture(scope="module")
def server(site):
    with SiteServer(site) as srv:
        yield srv


@pytest.fixture(scope="module")
def records(site):
    return {qid: site.expected_record(qid, "http://example.test") for qid in site.qa_ids()}


@pytest.fixture(scope="module")
def bfs(server):
    """Breadth-first crawl from / that obeys robots.txt and stays on the server's host."""
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(fetch(server.url("/robots.txt"))[2].decode().splitlines())
    host = urlsplit(server.base_url).netloc
    start = server.url("/")
    seen, queue = {start}, deque([start])
    status: dict[str, int] = {}
    linked_from: dict[str, set[str]] = defaultdict(set)  # article id -> paths linking to it
    while queue:
        url = queue.popleft()
        code, headers, body = fetch(url)
        path = url[len(server.base_url):]
        status[path] = code
        if code != 200 or not headers.get("Content-Type", "").startswith("text/html"):
            continue
        for href in links_of(body):
            target = urljoin(url, href).split("#")[0]
            parts = urlsplit(target)
            if parts.scheme != "http" or parts.netloc != host:
                continue
            m = re.fullmatch(r"/en/article/(\d+)", parts.path)
            if m:
                linked_from[m.group(1)].add(path)
            if parts.path.startswith("/zh/") or not robots.can_fetch("*", target):
                continue  # the language switch is a different site; robots.txt is the law
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return {"status": status, "linked_from": linked_from}


# ----- robots and reachability ---------------------------------------------------------------------

def test_robots_txt_disallows_private_and_search_pages_that_home_links_to(server):
    code, headers, body = fetch(server.url("/robots.txt"))
    assert code == 200 and headers["Content-Type"].startswith("text/plain")
    rules = body.decode()
    assert "Disallow: /en/private/" in rules and "Disallow: /en/search" in rules
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(rules.splitlines())
    home_links = {urljoin(server.url("/"), h) for h in links_of(fetch(server.url("/"))[2])}
    traps = [u for u in home_links if not robots.can_fetch("*", u)]
    assert any("/en/private/" in u for u in traps)
    assert any("/en/search?q=" in u for u in traps)
    assert robots.can_fetch("*", server.url("/en/article/110525"))


def test_polite_bfs_from_home_reaches_every_qa_page_and_no_disallowed_one(site, server, bfs):
    # Listings link articles with query strings; an article is its path.
    articles = {p.split("?")[0].rsplit("/", 1)[1] for p in bfs["status"]
                if p.startswith("/en/article/")}
    assert articles == set(site.qa_ids())
    assert not [p for p in server.requests if p.startswith(("/en/private/", "/en/search"))]
    # Every followed same-site link resolves: the only dead ends are the skipped /zh/ pages.
    assert {p: c for p, c in bfs["status"].items() if c != 200} == {}
    assert any(p.startswith("/en/department/") and "?page=2" in p for p in bfs["status"])
    assert any(p.startswith("/en/faq/") and p != "/en/faq/" for p in bfs["status"])


def test_similar_only_pages_are_linked_from_qa_pages_but_never_from_listings(site, bfs):
    similar_only, listed = set(site.similar_only_ids()), set(site.listed_ids())
    assert similar_only and not similar_only & listed
    assert similar_only | listed == set(site.qa_ids())
    assert 0.02 <= len(similar_only) / len(site.qa_ids()) <= 0.09
    for qid in similar_only:
        sources = bfs["linked_from"][qid]
        assert sources and all(p.startswith("/en/article/") for p in sources), (qid, sources)
    for qid in listed:
        assert any(p.startswith("/en/department/") for p in bfs["linked_from"][qid]), qid


def test_qa_ids_are_spread_out_unique_and_in_range(site):
    ids = [int(q) for q in site.qa_ids()]
    assert len(set(ids)) == len(ids)
    assert all(10_000 <= q <= 999_999 for q in ids)
    ordered = sorted(ids)
    assert sum(1 for a, b in zip(ordered, ordered[1:]) if b == a + 1) < len(ids) // 10


def test_unknown_paths_answer_404(site, server):
    qid = site.qa_ids()[0]
    unknown = ["/nope", "/en/article/123", f"/en/article/{qid}/extra", f"/en/article/0{qid}",
               "/en/department/astrology", "/en/department/neurology?page=999",
               "/en/department/neurology?page=0", "/en/faq/no-such-topic", f"/zh/article/{qid}",
               "/favicon.ico"]
    for path in unknown:
        code, headers, _ = fetch(server.url(path))
        assert code == 404, path
        assert "charset=" in headers["Content-Type"]


def test_listing_pages_hold_at_most_twenty_articles_and_link_the_next_page(site, server):
    body = fetch(server.url("/en/department/neurology"))[2]
    hrefs = links_of(body)
    items = [h for h in hrefs if h.startswith("/en/article/")]
    assert 10 <= len(items) <= 20
    assert "/en/department/neurology?page=2" in hrefs
    assert b">Next</a>" in body


def test_static_files_and_noise_links_are_present_on_every_template(site, server):
    by_template = {}
    for qid in site.qa_ids():
        by_template.setdefault(site.template_of(qid), qid)
    assert set(by_template) == set(TEMPLATES)
    for qid in by_template.values():
        url = server.url(f"/en/article/{qid}")
        hrefs = [urljoin(url, h) for h in links_of(fetch(url)[2])]
        assert any("facebook.com" in h for h in hrefs)
        assert any("twitter.com" in h for h in hrefs)
        assert server.url(f"/zh/article/{qid}") in hrefs
        assert any(h.startswith("mailto:") for h in hrefs)
    home = [urljoin(server.url("/"), h) for h in links_of(fetch(server.url("/"))[2])]
    assert server.url("/static/logo.png") in home + [
        urljoin(server.url("/"), h) for h in links_of(fetch(server.url(f"/en/article/{by_template['portal']}"))[2])
    ]
    code, headers, body = fetch(server.url("/static/app.css"))
    assert code == 200 and headers["Content-Type"].startswith("text/css")
    code, headers, body = fetch(server.url("/static/logo.png"))
    assert code == 200 and headers["Content-Type"] == "image/png" and body.startswith(b"\x89PNG")


# ----- the ground truth ----------------------------------------------------------------------------

def test_expected_record_has_exactly_the_page_columns_of_qarecord(site, records):
    columns = [f.name for f in record_fields() if f.name not in PROVENANCE]
    assert list(RECORD_KEYS) == columns
    rec = next(iter(records.values()))
    assert list(rec) == columns
    assert set(rec["similar"][0] if rec["similar"] else {}) <= {
        "qa_id", "url", "title", "question_excerpt", "doctor_name", "department", "answer_excerpt"}


@pytest.mark.parametrize("template", TEMPLATES)
def test_expected_record_matches_the_text_a_reader_sees(site, server, template):
    qids = [q for q in site.qa_ids() if site.template_of(q) == template][:8]
    for qid in qids:
        url = server.url(f"/en/article/{qid}")
        code, _, body = fetch(url)
        assert code == 200
        rec = site.expected_record(qid, server.base_url)
        text = reader_text(body)
        parts = [f"{rec['title']} - {rec['department']}", "Share to:", rec["subject"],
                 *rec["question"].split("\n"), asker_line(rec),
                 f"Dr. {rec['doctor_name']} reply {rec['department']}", *rec["answer"].split("\n"),
                 f"Reply Date: {rec['answered_on_raw']}"]
        if rec["more_info"]:
            parts += ["More Info", *rec["more_info"].split("\n")]
        if rec["similar"]:
            parts.append("Similar Q&A")
            for s in rec["similar"]:
                parts += [s["title"], s["question_excerpt"], f"Dr. {s['doctor_name']} reply {s['department']}",
                          s["answer_excerpt"], f"[Read More] {s['title']}"]
        if rec["related_topics"]:
            parts.append("Related FAQ")
            for r in rec["related_topics"]:
                parts += [r["topic"], f"({r['department']})"]
        assert_in_order(text, parts)
        assert rec["asked_on"] == rec["asked_on_raw"].replace("/", "-")
        assert rec["answered_on"] == rec["answered_on_raw"].replace("/", "-")
        hrefs = {urljoin(url, h) for h in links_of(body)}
        assert {s["url"] for s in rec["similar"]} <= hrefs
        assert {r["url"] for r in rec["related_topics"]} <= hrefs
        assert rec["url"] == url


def test_similar_entries_quote_the_pages_they_link_to(records):
    checked = 0
    for rec in records.values():
        for s in rec["similar"]:
            target = records[s["qa_id"]]
            assert s["url"] == target["url"]
            assert s["title"] == target["title"]
            assert s["doctor_name"] == target["doctor_name"]
            assert s["department"] == target["department"]
            assert s["question_excerpt"] == target["question"].replace("\n", " ")[:250] + "..."
            assert s["answer_excerpt"] == target["answer"].replace("\n", " ")[:250] + "..."
            checked += 1
    assert checked > 300


def test_pages_carry_the_quirks_the_parser_must_handle(records):
    recs = list(records.values())
    n = len(recs)

    def share(pred):
        return sum(1 for r in recs if pred(r)) / n

    assert any("-" in r["doctor_name"] for r in recs)  # Lin Yu-Hsuan
    assert any((r["asker_name"] or "").startswith("Mr.") and r["asker_gender"] == "female" for r in recs)
    assert any((r["asker_name"] or "").startswith(("Ms.", "Mrs.", "Miss")) and r["asker_gender"] == "male"
               for r in recs)
    assert any(r["asker_age_min"] is None and r["asker_age_max"] == 9 for r in recs)
    assert any(r["asker_age_min"] == 60 and r["asker_age_max"] is None for r in recs)
    assert any(r["asker_age_min"] is None and r["asker_age_max"] is None for r in recs)
    assert any(r["asker_name"] is None for r in recs)
    assert any(r["asker_gender"] is None for r in recs)
    assert 0.04 <= share(lambda r: r["more_info"] is None) <= 0.18
    assert 0.03 <= share(lambda r: not r["similar"]) <= 0.18
    assert max(len(r["similar"]) for r in recs) == 5
    assert any(" - " in r["title"] for r in recs)
    blob = "".join(r["title"] + r["question"] + (r["more_info"] or "") for r in recs)
    for ch in "&<\"'\u00e9\u6b62":
        assert ch in blob, ch
    assert len({r["department"] for r in recs}) >= 10
    for r in recs:
        asked = dt.date.fromisoformat(r["asked_on"])
        lag = (dt.date.fromisoformat(r["answered_on"]) - asked).days
        assert 0 <= lag <= 5
        assert dt.date(2010, 1, 1) <= asked <= dt.date(2024, 12, 31)
        for value in (r["title"], r["subject"], r["question"], r["answer"]):
            assert value == value.strip() and "  " not in value
        assert len(r["question"]) > 250 and len(r["answer"]) > 250


def test_default_pages_weigh_20_to_30_kb_and_page_kb_sets_the_size(site, records):
    sizes = [len(site.render(f"/en/article/{q}")[2]) for q, r in list(records.items())[:60]
             if r["more_info"]]
    assert all(19_000 <= s <= 33_000 for s in sizes), (min(sizes), max(sizes))
    big = SampleSite(n_pages=20, seed=0, page_kb=60)
    qid = next(q for q in big.qa_ids() if big.expected_record(q, "http://x")["more_info"])
    assert 55_000 <= len(big.render(f"/en/article/{qid}")[2]) <= 70_000


def test_generation_is_deterministic_and_depends_on_the_seed(site):
    again = SampleSite(n_pages=300, seed=0)
    for path in ["/", "/en/faq/", "/en/department/neurology?page=2", f"/en/article/{site.qa_ids()[7]}"]:
        assert again.render(path) == site.render(path)
    assert set(SampleSite(n_pages=300, seed=1).qa_ids()).isdisjoint(site.qa_ids()[:20])


def test_a_fifty_thousand_page_site_is_generated_on_the_fly():
    tracemalloc.start()
    try:
        big = SampleSite(n_pages=50_000)
        last = big.qa_ids()[-1]
        code, _, body = big.render(f"/en/article/{last}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 200 and len(body) > 10_000
    assert peak < 40 * 1024 * 1024  # pages are made when asked for, not held
    assert big.expected_record(last, "http://x")["qa_id"] == last


# ----- mutations and conditional GET ---------------------------------------------------------------

def test_conditional_get_answers_304_until_the_page_changes():
    small = SampleSite(n_pages=40, seed=3)
    qid = small.qa_ids()[5]
    with SiteServer(small) as srv:
        url = srv.url(f"/en/article/{qid}")
        code, headers, body = fetch(url)
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert code == 200 and etag and modified
        assert fetch(url, {"If-None-Match": etag})[0] == 304
        assert fetch(url, {"If-Modified-Since": modified})[0] == 304
        assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
        assert fetch(srv.url("/en/faq/"), {"If-None-Match": fetch(srv.url("/en/faq/"))[1]["ETag"]})[0] == 304
        small.change_page(qid)
        code, headers2, body2 = fetch(url, {"If-None-Match": etag})
        assert code == 200 and body2 != body and headers2["ETag"] != etag
        assert fetch(url, {"If-Modified-Since": modified})[0] == 200
        assert fetch(url, {"If-Modified-Since": headers2["Last-Modified"]})[0] == 304


def test_change_page_changes_only_that_pages_answer():
    small = SampleSite(n_pages=60, seed=4)
    qids = small.qa_ids()
    target = next(q for q in qids if any(s["qa_id"] == q for r in
                  (small.expected_record(x, "http://x") for x in qids) for s in r["similar"]))
    before = {q: small.render(f"/en/article/{q}")[2] for q in qids}
    old = small.expected_record(target, "http://x")
    small.change_page(target)
    new = small.expected_record(target, "http://x")
    after = {q: small.render(f"/en/article/{q}")[2] for q in qids}
    assert [q for q in qids if before[q] != after[q]] == [target]
    assert new["answer"] != old["answer"] and new["answer"].startswith(old["answer"])
    assert {k: v for k, v in new.items() if k != "answer"} == {k: v for k, v in old.items() if k != "answer"}


def test_add_pages_lists_new_pages_first_on_their_department_listing():
    small = SampleSite(n_pages=80, seed=5)
    old_ids = small.qa_ids()
    old_bodies = {q: small.render(f"/en/article/{q}")[2] for q in old_ids[:10]}
    listing_before = small.render("/en/department/neurology")[1]["Last-Modified"]
    new_ids = small.add_pages(3)
    assert small.add_pages(0) == []
    assert small.qa_ids() == old_ids + new_ids
    assert set(new_ids) <= set(small.listed_ids())
    for qid in new_ids:
        rec = small.expected_record(qid, "http://x")
        slug = re.sub(r"[^a-z0-9]+", "-", rec["department"].lower())
        first_page = small.render(f"/en/department/{slug}")[2].decode()
        assert f'href="/en/article/{qid}?' in first_page
        assert rec["asked_on"] > max(small.expected_record(q, "http://x")["asked_on"] for q in old_ids[-5:])
    assert {q: small.render(f"/en/article/{q}")[2] for q in old_ids[:10]} == old_bodies
    assert small.render("/en/department/neurology")[1]["Last-Modified"] != listing_before
    again = SampleSite(n_pages=80, seed=5)
    assert again.add_pages(3) == new_ids  # deterministic


# ----- fault injection and the request log ---------------------------------------------------------

@pytest.fixture()
def fresh_server():
    with SiteServer(SampleSite(n_pages=30, seed=6)) as srv:
        yield srv


def test_status_faults_are_consumed_one_per_request_before_the_normal_answer(fresh_server):
    srv = fresh_server
    srv.faults["/"] = [{"status": 503}, {"status": 500}]
    assert [fetch(srv.url("/"))[0] for _ in range(3)] == [503, 500, 200]
    assert srv.faults["/"] == []


def test_429_fault_sends_its_retry_after_header(fresh_server):
    fresh_server.faults["/en/faq/"] = [{"status": 429, "headers": {"Retry-After": "1"}}]
    code, headers, _ = fetch(fresh_server.url("/en/faq/"))
    assert code == 429 and headers["Retry-After"] == "1"


def test_truncate_fault_promises_the_full_length_but_sends_only_n_bytes(fresh_server):
    srv = fresh_server
    full = fetch(srv.url("/"))[2]
    srv.faults["/"] = [{"truncate": 100}]
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert re.search(rb"Content-Length: (\d+)", head).group(1) == str(len(full)).encode()
    assert body == full[:100]
    with pytest.raises(http.client.IncompleteRead):
        srv.faults["/"] = [{"truncate": 100}]
        fetch(srv.url("/"))


def test_delay_fault_makes_an_impatient_client_time_out(fresh_server):
    srv = fresh_server
    srv.faults["/"] = [{"delay": 1.5}]
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        fetch(srv.url("/"), timeout=0.3)
    assert fetch(srv.url("/"), timeout=5)[0] == 200


def test_reset_fault_closes_the_connection_without_an_answer(fresh_server):
    srv = fresh_server
    srv.faults["/robots.txt"] = [{"reset": True}]
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        conn.request("GET", "/robots.txt")
        conn.getresponse().read()
    conn.close()
    assert fetch(srv.url("/robots.txt"))[0] == 200


def test_always_fail_answers_every_request_with_its_status(fresh_server):
    srv = fresh_server
    srv.always_fail["/en/faq/"] = 500
    assert [fetch(srv.url("/en/faq/"))[0] for _ in range(3)] == [500, 500, 500]
    del srv.always_fail["/en/faq/"]
    assert fetch(srv.url("/en/faq/"))[0] == 200


def test_a_fault_keyed_without_query_matches_the_path_with_any_query(fresh_server):
    srv = fresh_server
    srv.faults["/en/department/neurology"] = [{"status": 503}]
    assert fetch(srv.url("/en/department/neurology?page=1"))[0] == 503


def test_request_log_records_paths_in_order_and_counts_them(fresh_server):
    srv = fresh_server
    srv.clear_log()
    for path in ["/", "/robots.txt", "/", "/en/faq/?x=1"]:
        fetch(srv.url(path))
    assert srv.requests == ["/", "/robots.txt", "/", "/en/faq/?x=1"]
    assert srv.count("/") == 2 and srv.count("/en/faq/") == 0
    assert [r.status for r in srv.records] == [200, 200, 200, 200]


def test_keep_alive_serves_several_requests_on_one_connection(fresh_server):
    conn = http.client.HTTPConnection("127.0.0.1", fresh_server.port, timeout=5)
    for path in ["/", "/robots.txt", "/en/faq/"]:
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read()
    conn.close()


def test_server_module_main_serves_until_interrupted():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa_crawler.demo.server", "--pages", "20", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert fetch(url + "/robots.txt")[0] == 200
        proc.send_signal(signal.SIGINT)  # as Ctrl-C
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0 and err == ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
