"""Saved pages and their expected records, one folder per case, checked field by field."""

import json

import pytest

from qa_crawler.parsers.doctorqna import NotQAPage, parse_page
from qa_crawler.record import PROVENANCE, REQUIRED_PARTS, to_json_dict
from tests.conftest import NOT_QA, PAGES

CASES = sorted(p.name for p in PAGES.iterdir() if (p / "expected.json").exists())
FIELDS = [
    "qa_id", "url", "title", "subject", "question", "asker_name", "asker_gender",
    "asker_age_min", "asker_age_max", "asked_on", "asked_on_raw", "department", "doctor_name",
    "answer", "answered_on", "answered_on_raw", "more_info", "similar", "related_topics",
    "language", "parse_issues",
]

_cache: dict = {}


def parsed(case: str):
    if case not in _cache:
        folder = PAGES / case
        url = (folder / "url.txt").read_text().strip()
        # The Content-Type header the page was served with, where the case is about it.
        header = folder / "content_type.txt"
        content_type = header.read_text().strip() if header.is_file() else None
        _cache[case] = parse_page((folder / "page.html").read_bytes(), url,
                                  content_type=content_type)
    return _cache[case]


def expected(case: str) -> dict:
    return json.loads((PAGES / case / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("case", CASES)
def test_field(case, field):
    got = to_json_dict(parsed(case).record)[field]
    assert got == expected(case)[field]


@pytest.mark.parametrize("case", CASES)
def test_missing_parts_are_reported(case):
    want = expected(case).get("_missing", [])
    assert list(parsed(case).missing) == [p for p in REQUIRED_PARTS if p in want]


def test_three_markups_of_the_seed_give_the_same_record():
    records = []
    for case in ("seed_bootstrap", "seed_table", "seed_semantic"):
        rec = to_json_dict(parsed(case).record)
        for provenance in PROVENANCE:
            rec.pop(provenance)
        records.append(rec)
    assert records[0] == records[1] == records[2]


@pytest.mark.parametrize("path", sorted(NOT_QA.glob("*.html")), ids=lambda p: p.stem)
def test_pages_that_are_not_qa_pages_are_refused_with_a_one_line_reason(path):
    with pytest.raises(NotQAPage) as info:
        parse_page(path.read_bytes(), f"https://doctorqna.com/en/{path.stem}")
    assert info.value.reason and "\n" not in info.value.reason


def test_the_served_charset_wins_over_the_pages_own_meta_charset():
    # x3_utf8_header_over_meta_charset is UTF-8 served as such, its <meta> says windows-1252:
    # read with the header its text is right (test_field); read without it, by the meta, not.
    folder = PAGES / "x3_utf8_header_over_meta_charset"
    url = (folder / "url.txt").read_text().strip()
    body = (folder / "page.html").read_bytes()
    by_meta = parse_page(body, url).record
    assert by_meta.title.startswith("CafÃ©")  # the page misread: mojibake, and the labels missed
    served = parse_page(body, url, content_type="text/html; charset=utf-8").record
    assert served.question == expected("x3_utf8_header_over_meta_charset")["question"]
    assert parse_page(body, url, content_type="text/html; charset=UTF8").record == served
