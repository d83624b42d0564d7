"""A demo-like dataset folder built in seconds, without a crawl: the bundled sample site's Q&A
pages are rendered in process, parsed, stored in a crawl state and exported as `make demo` does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

BASE_URL = "https://doctorqna.com"
CRAWLED_AT = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def build_sample_dataset(out: Path, n_pages: int = 120, *, seed: int = 0,
                         batch_rows: int | None = None) -> dict:
    """Write a dataset folder of the sample site's ``n_pages`` Q&A pages into ``out``; returns the
    manifest. ``batch_rows`` makes the export write a Parquet row group every that many rows, the
    shape a large crawl has (it writes one every ``pipelines.dataset.BATCH_ROWS`` rows)."""
    import pipelines.dataset
    from qa_crawler.demo.site import SampleSite
    from qa_crawler.parsers.doctorqna import parse_page
    from qa_crawler.record import to_json_dict
    from qa_crawler.state import CrawlState

    site = SampleSite(n_pages=n_pages, seed=seed)
    state = CrawlState(out)
    state.start_run(f"{BASE_URL}/en/")
    for qa_id in site.qa_ids():
        path = site.article_path(qa_id)
        status, headers, body = site.render(path)
        assert status == 200, path
        rec = parse_page(body, BASE_URL + path, content_type=headers["Content-Type"]).record
        rec.crawled_at = CRAWLED_AT
        rec.http_status = status
        state.upsert(to_json_dict(rec), BASE_URL + path, seen_at=CRAWLED_AT)
    state.finish_run("finished", {})
    state.close()
    with pytest.MonkeyPatch.context() as mp:
        if batch_rows is not None:
            mp.setattr(pipelines.dataset, "BATCH_ROWS", batch_rows)
        return pipelines.dataset.export_dataset(out)
