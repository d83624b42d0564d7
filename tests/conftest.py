"""Shared test helpers: fixture locations."""

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
NOT_QA = FIXTURES / "not_qa"
SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "qa_page_muscle_twitching.txt"


def state_from_pages(out: Path, cases, edit=None) -> Path:
    """A crawl state in ``out`` holding the fixture pages ``cases`` as one finished run, crawled
    at a fixed time; ``edit(case, record)`` may change a record before it is stored."""
    import datetime as dt

    from qa_crawler.parsers.doctorqna import parse_page
    from qa_crawler.record import to_json_dict
    from qa_crawler.state import CrawlState

    state = CrawlState(out)
    state.start_run("https://doctorqna.com/en/")
    crawled = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)
    for case in cases:
        folder = PAGES / case
        url = (folder / "url.txt").read_text().strip()
        rec = parse_page((folder / "page.html").read_bytes(), url).record
        rec.crawled_at = crawled
        rec.http_status = 200
        if edit:
            edit(case, rec)
        state.upsert(to_json_dict(rec), url, seen_at=crawled)
    state.finish_run("finished", {})
    state.close()
    return out
