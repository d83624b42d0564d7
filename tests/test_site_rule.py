"""Nothing off the site: every request, redirects included, passes the rule links pass."""

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

import qa_crawler.settings
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.middlewares import SiteRule
from qa_crawler.spiders.qa import QASpider
from tests.crawl_helpers import crawl, qa_rows

PROJECT = {k: getattr(qa_crawler.settings, k) for k in dir(qa_crawler.settings) if k.isupper()}


def rule_for(start_url: str):
    crawler = get_crawler(QASpider, {**PROJECT, "QA_OUT_DIR": ""})
    crawler.spider = crawler._create_spider(start_url=start_url)
    return crawler, SiteRule.from_crawler(crawler)


def redirected(crawler, url: str, location: str, **meta) -> Request:
    """The request Scrapy's RedirectMiddleware makes of a 302 from ``url`` to ``location``."""
    request = Request(url, meta=meta)
    response = Response(url, status=302, headers={"Location": location}, request=request)
    follow = RedirectMiddleware.from_crawler(crawler).process_response(request, response)
    assert isinstance(follow, Request) and follow.url == location
    return follow


@pytest.mark.parametrize("start, page, elsewhere", [
    ("https://doctorqna.com/en/", "https://doctorqna.com/en/article/1",
     "https://evil.example/en/article/1"),
    ("https://doctorqna.com/en/", "https://doctorqna.com/en/article/1",
     "https://doctorqna.com:8443/en/article/1"),
    ("http://127.0.0.1:8080/en/", "http://127.0.0.1:8080/en/article/1",
     "http://127.0.0.1:9090/en/article/1"),
    ("http://127.0.0.1:8080/en/", "http://127.0.0.1:8080/en/article/1",
     "http://127.0.0.2:8080/en/article/1"),
])
def test_a_redirect_off_the_site_is_dropped_with_or_without_a_port(start, page, elsewhere):
    crawler, rule = rule_for(start)
    with pytest.raises(IgnoreRequest, match="outside the crawl's site"):
        rule.process_request(redirected(crawler, page, elsewhere))
    # ... the start request's redirects too (Scrapy's offsite filter skips it: dont_filter).
    with pytest.raises(IgnoreRequest):
        rule.process_request(redirected(crawler, start, elsewhere, start=True))
    # On the site, a redirect is followed; robots.txt of the site is fetched; the start is sent.
    on_site = page.replace("/article/1", "/article/2")
    assert rule.process_request(redirected(crawler, page, on_site)) is None
    assert rule.process_request(Request(start.replace("/en/", "/robots.txt"))) is None
    assert rule.process_request(Request(start, meta={"start": True})) is None


def test_a_redirect_to_a_denied_path_is_dropped_like_a_link_to_it():
    crawler, rule = rule_for("https://doctorqna.com/en/")
    with pytest.raises(IgnoreRequest):
        rule.process_request(redirected(crawler, "https://doctorqna.com/en/article/1",
                                        "https://doctorqna.com/en/login?next=/en/article/1"))


class Redirecting:
    """The sample site, with some paths answering 302 to another server."""

    def __init__(self, site, redirects: dict[str, str]):
        self.site = site
        self.redirects = redirects

    def render(self, path_with_query: str):
        target = self.redirects.get(path_with_query)
        if target is not None:
            return 302, {"Location": target, "Content-Type": "text/html"}, b""
        return self.site.render(path_with_query)


@pytest.mark.slow
@pytest.mark.parametrize("other_host", ["127.0.0.2", "127.0.0.1"], ids=["other-host", "other-port"])
def test_a_crawl_sends_nothing_to_the_host_a_page_redirects_to(tmp_path, other_host):
    site = SampleSite(n_pages=20, seed=8)
    moved = site.article_path(site.qa_ids()[0])
    with SiteServer(site, host=other_host) as other:
        redirects = {moved: other.url(moved)}
        with SiteServer(Redirecting(site, redirects)) as server:
            proc = crawl(server.url("/"), tmp_path / "out")
        assert other.requests == []
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(qa_rows(tmp_path / "out")) == set(site.qa_ids()) - {site.qa_ids()[0]}


@pytest.mark.slow
def test_a_start_url_redirecting_off_the_site_is_refused_in_one_line(tmp_path):
    site = SampleSite(n_pages=5, seed=8)
    with SiteServer(site, host="127.0.0.2") as other:
        with SiteServer(Redirecting(site, {"/": other.url("/")})) as server:
            proc = crawl(server.url("/"), tmp_path / "out")
        assert other.requests == []
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("qa-crawler crawl:")]
    assert len(lines) == 1 and "outside the crawl's site" in lines[0], proc.stderr
    assert not (tmp_path / "out" / "qa.parquet").exists()
