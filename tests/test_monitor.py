"""After-run monitors: each threshold, and a crawl whose site changed its markup exits 4."""

import json

import pytest

from pipelines.monitor import evaluate, evaluate_running
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from tests.crawl_helpers import crawl

GOOD = {"qa/pages": 100, "item_scraped_count": 90, "qa/skipped_known": 0}
FILL = {"answered_on": 1.0, "question": 1.0}


def failed(verdict):
    return {c["name"] for c in verdict["checks"] if not c["ok"]}


@pytest.mark.parametrize(
    "stats, reason, previous, fill, bad",
    [
        (GOOD, "finished", GOOD, FILL, set()),
        (GOOD, "shutdown", GOOD, FILL, {"finish_reason"}),
        ({**GOOD, "qa/failures/http_error": 20}, "finished", None, None, {"failed_share"}),
        ({**GOOD, "item_scraped_count": 40}, "finished", GOOD, None, {"pages_found"}),
        ({**GOOD, "qa/missing/answered_on": 60}, "finished", None, FILL, {"fill_rate"}),
        ({**GOOD, "qa/parse_issue_rows": 30, "qa/parse_issues/missing": 30}, "finished", None,
         None, {"parse_issue_share"}),
        ({**GOOD, "qa/parse_issue_rows": 20, "qa/parse_issues/label_leak": 20}, "finished",
         None, None, set()),
        # An incremental run parses few pages but skips the stored ones: nothing was lost.
        ({**GOOD, "item_scraped_count": 2, "qa/skipped_known": 88}, "finished", GOOD, FILL, set()),
        # The site pushing back: 403 and 429 answers, past 5% of the responses.
        ({**GOOD, "downloader/response_count": 100, "downloader/response_status_count/429": 4,
          "downloader/response_status_count/403": 2}, "finished", None, None, {"ban_share"}),
        ({**GOOD, "downloader/response_count": 100, "downloader/response_status_count/429": 5},
         "finished", None, None, set()),
        # Pages fetched, none of them a Q&A page: a wrong start URL or a changed site.
        ({"qa/pages": 40, "item_scraped_count": 0}, "finished", None, None, {"qa_pages"}),
    ],
)
def test_each_check_fails_only_past_its_threshold(stats, reason, previous, fill, bad):
    verdict = evaluate(stats, reason, previous, fill)
    assert failed(verdict) == bad
    assert verdict["verdict"] == ("fail" if bad else "pass")


WORKER = {"qa/pages": 40, "item_scraped_count": 0, "qa/cluster/run": "qa:20261203T0000-ab"}


@pytest.mark.parametrize(
    "stats, previous, bad",
    [
        # A worker that fetched only listing pages while the others took every Q&A page.
        ({**WORKER, "qa/cluster/pages_found": 60, "qa/cluster/read_as_qa": 60}, None, set()),
        ({**WORKER, "qa/cluster/pages_found": 0, "qa/cluster/read_as_qa": 0}, None, {"qa_pages"}),
        # Its share fell from 50 to 5 pages, the cluster's total did not.
        ({**WORKER, "item_scraped_count": 5, "qa/cluster/pages_found": 100,
          "qa/cluster/read_as_qa": 100},
         {**WORKER, "item_scraped_count": 50, "qa/cluster/pages_found": 100}, set()),
        ({**WORKER, "item_scraped_count": 5, "qa/cluster/pages_found": 40,
          "qa/cluster/read_as_qa": 40},
         {**WORKER, "item_scraped_count": 5, "qa/cluster/pages_found": 100}, {"pages_found"}),
        # After a one-process run, the cluster's total is compared with that run's.
        ({**WORKER, "qa/cluster/pages_found": 40, "qa/cluster/read_as_qa": 40}, GOOD,
         {"pages_found"}),
        # A worker that could not read the run's counts as it left: it does not judge them.
        ({**WORKER, "item_scraped_count": 1}, {**WORKER, "qa/cluster/pages_found": 100}, set()),
        (WORKER, None, set()),
        # A worker's share of a cluster run whose total was not kept: nothing to compare with.
        ({**WORKER, "qa/cluster/pages_found": 40, "qa/cluster/read_as_qa": 40},
         {**WORKER, "item_scraped_count": 90}, set()),
    ],
)
def test_a_cluster_workers_checks_judge_the_whole_runs_qa_pages(stats, previous, bad):
    assert failed(evaluate(stats, "finished", previous, None)) == bad


def test_checks_during_the_run_wait_for_enough_responses_then_judge_the_requests():
    bad = {"qa/pages": 10, "qa/failures/http_error": 30, "downloader/response_count": 40}
    assert evaluate_running(bad)["checks"] == []  # 40 responses: fewer than 100
    verdict = evaluate_running({**bad, "downloader/response_count": 100})
    assert verdict["verdict"] == "fail" and failed(verdict) == {"failed_share"}


def test_the_finish_reason_is_named_in_words():
    verdict = evaluate(GOOD, "closespider_pagecount", None, None)
    [check] = [c for c in verdict["checks"] if not c["ok"]]
    assert check["message"] == ("the crawl stopped at the page limit (CLOSESPIDER_PAGECOUNT)")


class ChangedMarkup:
    """The site after a redesign that dropped the 'Reply Date:' line from Q&A pages."""

    def __init__(self, site):
        self.site = site
        self.broken = False

    def render(self, path):
        status, headers, body = self.site.render(path)
        if self.broken and "/article/" in path:
            body = body.replace(b"Reply Date:", b"Posted:")
            headers = {k: v for k, v in headers.items() if k not in ("ETag", "Last-Modified")}
        return status, headers, body


@pytest.mark.slow
def test_a_markup_change_is_caught_in_summary_manifest_and_exit_status(tmp_path):
    site = ChangedMarkup(SampleSite(n_pages=30, seed=23))
    with SiteServer(site) as server:
        first = crawl(server.url("/"), tmp_path)
        assert first.returncode == 0, first.stderr[-2000:]
        site.broken = True
        second = crawl(server.url("/"), tmp_path, "--recheck-older-than", "0s")
    assert second.returncode == 4
    assert "monitors          fail" in second.stdout and "answered_on" in second.stdout
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["monitors"]["verdict"] == "fail"
    assert "fill_rate" in {c["name"] for c in manifest["monitors"]["checks"] if not c["ok"]}


@pytest.mark.slow
def test_a_first_crawl_whose_pages_all_lack_a_part_fails_the_parse_issue_monitor(tmp_path):
    """No earlier dataset to compare fill rates with: the share of doubtful records catches it."""
    site = ChangedMarkup(SampleSite(n_pages=20, seed=5))
    site.broken = True
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), tmp_path)
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert "parse_issue_share" in proc.stdout and "missing" in proc.stdout
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    failed_checks = {c["name"] for c in manifest["monitors"]["checks"] if not c["ok"]}
    assert failed_checks == {"parse_issue_share"}
    assert manifest["parse_issues"]["by_kind"]["missing"] == manifest["rows"]["qa"] > 0
