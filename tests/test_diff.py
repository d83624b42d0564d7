"""`qa-crawler diff OLD NEW`: ids added, changed (which columns) and removed between two releases."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from pipelines.dataset import export_dataset
from qa_crawler.demo.site import SampleSite
from qa_crawler.state import CrawlState
from tests.sample_dataset import sample_site_pages, store_pages


def release(out, site, ids, crawled, edit=None):
    state = CrawlState(out)
    state.start_run("https://doctorqna.com/en/")
    store_pages(state, sample_site_pages(site, ids), crawled, edit=edit)
    state.finish_run("finished", {})
    state.close()
    export_dataset(out)
    return out


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    site = SampleSite(n_pages=30, seed=12)
    ids = site.qa_ids()
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
    old = release(tmp_path_factory.mktemp("old"), site, ids[:20], t0)
    site.change_page(ids[3])  # the page's texts change

    def retitle(k, rec):
        if rec.qa_id == ids[7]:
            rec.title = "A corrected title"

    # A month later: same pages fetched again (new crawl time, new provenance), one changed on
    # the site, one whose title the parser now reads differently, five new, two gone.
    new = release(tmp_path_factory.mktemp("new"), site, ids[2:25],
                  t0 + dt.timedelta(days=30), edit=retitle)
    return old, new, ids


def run(*args):
    return subprocess.run([sys.executable, "-m", "qa_crawler.cli", "diff", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_diff_names_exactly_the_added_changed_and_removed_ids(releases):
    old, new, ids = releases
    proc = run(old, new, "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["added"] == sorted(ids[20:25])
    assert got["removed"] == sorted(ids[:2])
    assert set(got["changed"]) == {ids[3], ids[7]}
    assert got["changed"][ids[7]] == ["title"]
    assert "question" in got["changed"][ids[3]] or "answer" in got["changed"][ids[3]]
    assert "crawled_at" not in sum(got["changed"].values(), [])
    assert got["unchanged"] == 18 - 2


def test_diff_as_text_says_the_counts_then_one_line_per_id(releases):
    old, new, ids = releases
    proc = run(old, new)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("5 added, 2 changed, 2 removed, 16 unchanged")
    assert f"~ {ids[7]}: title" in lines and f"- {ids[0]}" in lines and f"+ {ids[20]}" in lines


def test_a_release_compared_with_itself_has_no_difference(releases):
    old, _, _ = releases
    got = json.loads(run(old, old, "--json").stdout)
    assert (got["added"], got["removed"], got["changed"]) == ([], [], {})


def test_diff_of_a_folder_that_is_no_dataset_exits_3_naming_it(tmp_path, releases):
    proc = run(tmp_path / "nothing", releases[0])
    assert proc.returncode == 3
    assert proc.stderr.strip() == f"qa-crawler diff: {tmp_path / 'nothing'}: no such dataset folder"


@pytest.mark.slow
def test_diff_of_two_crawls_of_a_site_that_adds_changes_and_withdraws_pages(tmp_path):
    import shutil

    import pyarrow.parquet as pq

    from qa_crawler.demo.server import SiteServer
    from tests.crawl_helpers import crawl

    site = SampleSite(n_pages=25, seed=17)
    out, old = tmp_path / "data", tmp_path / "release-1"
    with SiteServer(site) as server:
        first = crawl(server.url("/"), out, "-s", "CLOSESPIDER_ITEMCOUNT=12")
        assert first.returncode in (0, 4), first.stderr[-2000:]
        shutil.copytree(out, old, symlinks=False, ignore=shutil.ignore_patterns(".qa-crawler"))
        had = set(pq.read_table(old / "qa.parquet", columns=["qa_id"])["qa_id"].to_pylist())
        changed, gone = sorted(had)[:2]
        site.change_page(changed)
        server.faults[site.article_path(gone)] = [{"status": 410}]
        second = crawl(server.url("/"), out, "--recheck-older-than", "0s")
        assert second.returncode == 0, second.stderr[-2000:]
    proc = run(old, out, "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["added"] == sorted(set(site.qa_ids()) - had)
    assert got["removed"] == [gone]
    assert list(got["changed"]) == [changed]
