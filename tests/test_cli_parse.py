"""`qa-crawler parse` as scripts call it: JSON on stdout, a one-line reason and non-zero otherwise."""

import json
import subprocess
import sys

from tests.conftest import NOT_QA, PAGES


def run(*args):
    return subprocess.run([sys.executable, "-m", "qa_crawler.cli", "parse", *args],
                          capture_output=True, text=True, timeout=60)


def test_parse_prints_the_record_as_json_with_iso_dates():
    page = PAGES / "seed_table" / "page.html"
    proc = run(str(page), "--url", "https://doctorqna.com/en/article/110525")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["qa_id"] == "110525"
    assert record["asked_on"] == "2016-08-23"
    assert record["asker_gender"] == "female"
    assert len(record["similar"]) == 4 and len(record["related_topics"]) == 10


def test_parse_takes_the_id_from_the_canonical_link_without_url():
    proc = run(str(PAGES / "seed_bootstrap" / "page.html"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["qa_id"] == "110525"


def test_parse_refuses_a_listing_with_one_line_and_no_json():
    proc = run(str(NOT_QA / "listing.html"))
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "listing.html" in lines[0] and "not a Q&A page" in lines[0]


def test_parse_names_a_file_that_cannot_be_read(tmp_path):
    missing = tmp_path / "nope.html"
    proc = run(str(missing))
    assert proc.returncode != 0
    assert str(missing) in proc.stderr and "cannot read" in proc.stderr


def test_parse_reports_missing_parts_on_stderr_but_prints_the_record():
    proc = run(str(PAGES / "missing_reply_date" / "page.html"))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["answered_on"] is None
    assert "answered_on" in proc.stderr
