"""Pages that end in the middle of a tag (``...<meta``): a cut-off body served whole, with no
charset in its Content-Type. w3lib 2.6 reads the ``<meta>`` declarations with a Rust scanner
(frostwork) that panics on such a body when nothing declares an encoding before the cut in
the 1,024 bytes it scans (a BaseException that ``except Exception`` does not take); the
parser, the crawl and Scrapy's meta-refresh check must each get past it. A short Q&A page cut
so is a saved case too (tests/fixtures/pages/x4_no_charset_cut_off_inside_a_meta_tag)."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.parsers import doctorqna
from qa_crawler.parsers.doctorqna import NotQAPage, decode, parse_page
from qa_crawler.record import to_json_dict
from tests.crawl_helpers import crawl, qa_rows

URL = "https://doctorqna.com/en/article/4242"
CUT = [
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n  <meta',
    b"<html><head><META",
    b"<html><head><title>Refresh</title><meta",
    b'<html><head><meta http-equiv="refresh" content="5"><meta',
]


@pytest.mark.parametrize("body", CUT)
def test_a_body_cut_off_inside_a_tag_decodes_and_parses_to_a_named_refusal(body):
    assert decode(body) == body.decode()
    with pytest.raises(NotQAPage, match="no visible text"):
        parse_page(body, URL)


def test_a_declaration_before_the_cut_still_decides_the_encoding():
    body = '<html><head><meta charset="koi8-r"><title>Привет</title><meta'.encode("koi8-r")
    assert decode(body) == body.decode("koi8-r")
    body = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "<p>Здравствуйте</p><img src").encode("cp1251")
    assert decode(body) == body.decode("cp1251")


@pytest.mark.parametrize("tail", [b"\n<scr", b"<img src=", b'<a href="/en/article/9'])
def test_a_whole_qa_page_whose_last_tag_is_cut_is_read_as_before(tail):
    site = SampleSite(n_pages=3, seed=5)
    html = site.render(site.article_path(site.qa_ids()[0]))[2]

    def read(body):
        record = to_json_dict(parse_page(body, URL, content_type="text/html").record)
        record.pop("content_sha256")  # of the bytes, which differ
        return record

    assert read(html + tail) == read(html)


class PanicException(BaseException):
    """What PyO3 raises for a Rust panic (its name is all that identifies it)."""


def test_a_panic_of_the_encoding_scanner_decodes_the_page_as_utf8(monkeypatch):
    def panics(*args, **kwargs):
        raise PanicException("range start index 6 out of range for slice of length 5")

    monkeypatch.setattr(doctorqna, "html_to_unicode", panics)
    assert decode("<p>café</p>".encode()) == "<p>café</p>"
    assert decode(b"<p>caf\xe9</p>") == "<p>caf\ufffd</p>"


def test_other_base_exceptions_of_the_decoding_are_not_taken(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(doctorqna, "html_to_unicode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        decode(b"<p>x</p>")


@pytest.mark.parametrize("body, refresh_to", [
    *((body, None) for body in CUT[:3]),
    (CUT[3], "http://127.0.0.1/en/article/1"),  # a refresh without a URL: to the page itself
    (b'<html><head><meta http-equiv="refresh" content="0; url=/en/other"><meta',
     "http://127.0.0.1/en/other"),
])
def test_scrapys_meta_refresh_check_reads_a_cut_off_page(body, refresh_to):
    from scrapy.utils.test import get_crawler

    from qa_crawler.middlewares import MetaRefreshMiddleware

    middleware = MetaRefreshMiddleware.from_crawler(get_crawler(settings_dict={}))
    request = Request("http://127.0.0.1/en/article/1")
    response = HtmlResponse(request.url, body=body, request=request)
    result = middleware.process_response(request, response)
    if refresh_to is None:
        assert result is response
    else:
        assert isinstance(result, Request) and result.url == refresh_to


@pytest.mark.parametrize("raised, taken", [(PanicException("index out of range"), True),
                                            (KeyboardInterrupt(), False)])
def test_a_panic_of_scrapys_refresh_check_passes_the_page_and_nothing_else_is_taken(
        monkeypatch, raised, taken):
    from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as Scrapys
    from scrapy.utils.test import get_crawler

    from qa_crawler.middlewares import MetaRefreshMiddleware

    def fails(self, request, response, spider=None):
        raise raised

    monkeypatch.setattr(Scrapys, "process_response", fails)
    middleware = MetaRefreshMiddleware.from_crawler(get_crawler(settings_dict={}))
    request = Request("http://127.0.0.1/en/article/1")
    response = HtmlResponse(request.url, body=CUT[3] + b">", request=request)
    if taken:
        assert middleware.process_response(request, response) is response
    else:
        with pytest.raises(type(raised)):
            middleware.process_response(request, response)


@pytest.mark.slow
def test_a_crawl_meeting_cut_off_pages_stores_the_rest_and_lists_them(tmp_path):
    site = SampleSite(n_pages=20, seed=31)
    ids = site.qa_ids()
    cut = {ids[1]: CUT[0], ids[2]: CUT[2]}  # the second holds "refresh": Scrapy decodes it
    with SiteServer(site) as server:
        for qa_id, body in cut.items():
            server.faults[site.article_path(qa_id)] = [
                {"status": 200, "headers": {"Content-Type": "text/html"}, "body": body}] * 5
        proc = crawl(server.url("/"), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "panicked" not in proc.stderr and "Traceback" not in proc.stderr
    assert set(qa_rows(tmp_path)) == set(ids) - set(cut)
    failures = pq.read_table(tmp_path / "failures.parquet").to_pylist()
    for qa_id in cut:
        failed = [f for f in failures if f["url"].endswith(site.article_path(qa_id))]
        assert failed and failed[0]["kind"] == "not_qa_page", failures
        assert "no visible text" in failed[0]["error"]
