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
        _cache[case] = parse_page((folder / "page.html").read_bytes(), url)
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
