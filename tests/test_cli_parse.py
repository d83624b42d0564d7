"""`qa-crawler parse` as scripts call it: JSON on stdout, a one-line reason and non-zero otherwise."""

import json
import subprocess
import sys

import pytest

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


def test_parse_takes_the_id_from_the_canonical_link_without_url_and_says_so():
    proc = run(str(PAGES / "seed_bootstrap" / "page.html"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["qa_id"] == "110525"
    assert "no --url given: qa_id '110525' taken from the page's canonical link" in proc.stderr


def test_parse_without_url_or_canonical_link_says_the_id_is_the_file_name(tmp_path):
    page = tmp_path / "88123.html"
    page.write_bytes((PAGES / "x_br_separated_container" / "page.html").read_bytes())
    proc = run(str(page))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["qa_id"] == "88123"
    assert "qa_id '88123' taken from the file name" in proc.stderr


@pytest.mark.parametrize("name, kind", [("gzip_body.html", "gzip-compressed data"),
                                        ("binary_png.html", "a PNG image")])
def test_parse_of_a_binary_file_says_once_that_it_is_not_html(name, kind):
    proc = run(str(NOT_QA / name))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"qa-crawler parse: {NOT_QA / name}: not a Q&A page: not an HTML document ({kind})"]


def test_explain_marks_every_visual_line_with_its_part():
    proc = run(str(PAGES / "x_reply_header_card" / "page.html"), "--explain")
    assert proc.returncode == 0, proc.stderr
    rows = [line.split(None, 1)[1] for line in proc.stdout.splitlines()]
    parts = [row.split("  ", 1)[0].strip() for row in rows]
    text: dict[str, str] = {}
    for row, part in zip(rows, parts):
        text.setdefault(row.split("  ", 1)[1].strip(), part)  # a line's first occurrence
    assert text["Itchy Red Patches on the Elbows - Dermatology"] == "title"
    assert text["Red scaly skin on both elbows for months"] == "subject"
    assert text["Dr. Lǚ Zhìháng"] == "reply header" and text["reply Dermatology"] == "reply header"
    assert text["Mr. Zhāng, over 60 year old male."] == "asker"
    assert text["Share to: Facebook"] == "chrome"
    assert text["Eczema or Psoriasis?"] == "similar[1]"
    assert text["Dry Skin (Dermatology)"] == "related[2]"
    assert {"question", "answer", "more info", "reply date"} <= set(parts)


def test_explain_of_a_listing_shows_its_lines_and_the_reason_it_was_refused():
    proc = run(str(NOT_QA / "listing_department_items.html"), "--explain")
    assert proc.returncode == 1
    assert "Muscle Twitching: Is It a Sign of ALS or Anxiety?" in proc.stdout
    assert "a listing (3 asker lines" in proc.stderr


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
