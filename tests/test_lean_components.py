"""The crawl's leaner stand-ins for Scrapy components behave as Scrapy's do."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from qa_crawler.extensions import Stats
from qa_crawler.middlewares import MetaRefreshMiddleware, may_refresh


def _html(body: bytes, url="http://127.0.0.1/a", cls=HtmlResponse, **kwargs):
    return cls(url, body=body, request=Request(url), **kwargs)


def _middleware():
    return MetaRefreshMiddleware.from_crawler(get_crawler(settings_dict={}))


REFRESHING = [
    b'<html><head><meta http-equiv="refresh" content="0; url=/b"></head></html>',
    b"<html><head><META HTTP-EQUIV='Refresh' CONTENT='0;URL=http://127.0.0.1/b'></head></html>",
    # Far into the page, but within the 4,096 characters Scrapy reads.
    b"<html><head>" + b"<!-- padding -->" * 200
    + b'<meta http-equiv="refresh" content="1; url=/b"></head></html>',
    # UTF-16: no ASCII byte run spells the word.
    '<html><head><meta http-equiv="refresh" content="0; url=/b"></head></html>'.encode(
        "utf-16"),
]


@pytest.mark.parametrize("body", REFRESHING)
def test_a_page_with_a_meta_refresh_is_redirected_as_by_scrapy(body):
    from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as Scrapy

    def outcome(mw):
        response = _html(body)
        out = mw.process_response(response.request, response)
        return out.url if isinstance(out, Request) else None

    theirs = outcome(Scrapy.from_crawler(get_crawler(settings_dict={})))
    assert outcome(_middleware()) == theirs
    if not body.startswith(b"\xff\xfe"):
        assert theirs == "http://127.0.0.1/b"


@pytest.mark.parametrize("body", [
    b"<html><head><title>Q</title></head><body><p>No redirect here.</p></body></html>",
    # The word in the text, but no meta element: Scrapy's scan decides, and finds none.
    b"<html><head></head><body><p>Refresh your browser.</p></body></html>",
])
def test_a_page_without_a_meta_refresh_passes(body):
    response = _html(body)
    assert _middleware().process_response(response.request, response) is response


def test_the_body_is_not_decoded_when_it_cannot_hold_a_meta_refresh():
    body = b"<html><head></head><body>" + "caf\u00e9 ".encode() * 5000 + b"</body>"
    response = _html(body)
    _middleware().process_response(response.request, response)
    assert response._cached_ubody is None
    # (Scrapy keeps the decoded text there: the check above is not vacuous.)
    decoded = _html(body)
    assert decoded.text and decoded._cached_ubody is not None


def test_may_refresh_is_false_only_for_an_ascii_compatible_head_without_the_word():
    assert not may_refresh(b"<html><head></head></html>")
    assert may_refresh(b"<meta http-equiv=REFRESH>")
    assert may_refresh("<html>".encode("utf-32"))
    # Past the scanned head the word does not count (Scrapy does not read that far either).
    assert not may_refresh(b"x" * (4 * 4096) + b"refresh")


def test_a_non_html_response_goes_to_scrapy_as_before():
    response = _html(b'<meta http-equiv="refresh" content="0; url=/b">', cls=TextResponse)
    assert _middleware().process_response(response.request, response) is response


def test_the_stats_collector_counts_as_scrapy_s_does():
    crawler = get_crawler(settings_dict={"STATS_CLASS": "qa_crawler.extensions.Stats"})
    stats = crawler.stats
    assert isinstance(stats, Stats)
    stats.inc_value("a")
    stats.inc_value("a", 2)
    stats.set_value("b", "x")
    stats.max_value("m", 3)
    stats.max_value("m", 1)
    stats.min_value("n", 3)
    stats.min_value("n", 1)
    assert stats.get_stats() == {"a": 3, "b": "x", "m": 3, "n": 1}
    assert stats.get_value("missing", 7) == 7
    # Its methods are the class's own, not wrappers made on each lookup.
    assert type(stats).inc_value is stats.inc_value.__func__



def test_the_crawl_runs_no_remote_control_server(tmp_path):
    """Scrapy 2.19's remote control (an HTTP server in the crawl that runs the Python code sent
    to it, its token written under the user's home) is off, as the telnet console is."""
    from qa_crawler.demo.server import SiteServer
    from qa_crawler.demo.site import SampleSite
    from tests.crawl_helpers import crawl

    jobs = tmp_path / "jobs"
    with SiteServer(SampleSite(n_pages=2, seed=5)) as server:
        proc = crawl(server.url("/"), tmp_path / "out", "-s", "LOG_LEVEL=INFO",
                     "-s", f"REMOTE_CONTROL_JOBS_DIR={jobs}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Spider opened" in proc.stderr  # the log would say it
    assert "Remote control" not in proc.stderr
    assert not jobs.exists() or not any(jobs.iterdir())


def _project_components(**overrides) -> dict[str, dict]:
    """The component lists of the project's settings as a crawl starts (after ``-s`` and the
    add-on's ``update_settings``)."""
    from scrapy.utils.project import get_project_settings

    from qa_crawler.addon import QACrawlerAddon

    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    QACrawlerAddon().update_settings(settings)
    return {name: settings.getwithbase(name) for name in (
        "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "EXTENSIONS", "ITEM_PIPELINES")}


def test_the_clusters_politeness_middleware_is_enabled_only_for_a_crawl_on_redis():
    from qa_crawler.addon import CLUSTER_POLITENESS

    assert CLUSTER_POLITENESS not in _project_components()["DOWNLOADER_MIDDLEWARES"]
    on_redis = _project_components(REDIS_URL="redis://127.0.0.1:6379/15")
    middlewares = on_redis["DOWNLOADER_MIDDLEWARES"]
    assert middlewares[CLUSTER_POLITENESS] == 960  # after every other one
    assert all(order < 960 for name, order in middlewares.items()
               if name != CLUSTER_POLITENESS and order is not None)


def test_loading_a_local_crawls_components_never_imports_redis():
    import subprocess
    import sys

    probe = ("import sys\n"
             "from scrapy.utils.misc import load_object\n"
             "from tests.test_lean_components import _project_components\n"
             "for components in _project_components().values():\n"
             "    for path in components:\n"
             "        load_object(path) if isinstance(path, str) else None\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('redis', 'scrapy_redis') or m == 'qa_crawler.cluster'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
