"""A demo-like dataset folder built in seconds, without a crawl: the bundled sample site's Q&A
pages are rendered in process, parsed, stored in a crawl state and exported as `make demo` does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

BASE_URL = "https://doctorqna.com"
CRAWLED_AT = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def fixture_pages(cases):
    """(body, url, content type) of saved fixture pages, by case name."""
    from tests.conftest import PAGES

    for case in cases:
        folder = PAGES / case
        yield (folder / "page.html").read_bytes(), (folder / "url.txt").read_text().strip(), None


def sample_site_pages(site, ids, base: str = BASE_URL):
    """(body, url, content type) of the sample site's Q&A pages, rendered in process."""
    for qa_id in ids:
        path = site.article_path(qa_id)
        status, headers, body = site.render(path)
        assert status == 200, path
        yield body, base + path, headers["Content-Type"]


def store_pages(state, pages, crawled: dt.datetime = CRAWLED_AT, edit=None) -> list[str]:
    """Parse and store pages as the crawl does (crawled at ``crawled``, HTTP 200);
    ``edit(k, record)`` may change the k-th record first. Returns the store's outcomes."""
    from qa_crawler.fetched import Fetch, parse_fetched
    from qa_crawler.record import to_json_dict

    outcomes = []
    for k, (body, url, content_type) in enumerate(pages):
        fetch = Fetch(url=url, status=200, fetched_at=crawled, content_type=content_type)
        rec = parse_fetched(body, fetch).record
        if edit:
            edit(k, rec)
        outcomes.append(state.upsert(to_json_dict(rec), url, seen_at=crawled))
    return outcomes


def state_from_pages(out: Path, cases, edit=None) -> Path:
    """A crawl state in ``out`` holding the fixture pages ``cases`` as one finished run;
    ``edit(case, record)`` may change a record before it is stored."""
    from qa_crawler.state import CrawlState

    state = CrawlState(out)
    state.start_run(f"{BASE_URL}/en/")
    store_pages(state, fixture_pages(cases),
                edit=(lambda k, rec: edit(cases[k], rec)) if edit else None)
    state.finish_run("finished", {})
    state.close()
    return out


def build_sample_dataset(out: Path, n_pages: int = 120, *, seed: int = 0,
                         batch_rows: int | None = None) -> dict:
    """Write a dataset folder of the sample site's ``n_pages`` Q&A pages into ``out``; returns the
    manifest. ``batch_rows`` makes the export write a Parquet row group every that many rows, the
    shape a large crawl has (it writes one every ``pipelines.dataset.BATCH_ROWS`` rows)."""
    import pipelines.dataset
    import pipelines.release
    from qa_crawler.demo.site import SampleSite
    from qa_crawler.state import CrawlState

    site = SampleSite(n_pages=n_pages, seed=seed)
    state = CrawlState(out)
    state.start_run(f"{BASE_URL}/en/")
    store_pages(state, sample_site_pages(site, site.qa_ids()))
    state.finish_run("finished", {})
    state.close()
    with pytest.MonkeyPatch.context() as mp:
        if batch_rows is not None:
            mp.setattr(pipelines.dataset, "BATCH_ROWS", batch_rows)
            mp.setattr(pipelines.release, "ROW_GROUP_BYTES", 1)  # each batch its row group
        return pipelines.dataset.export_dataset(out)
