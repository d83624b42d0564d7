"""Parse issues reach researchers and operators: the dataset's files, the card, the report's audit."""

import csv
import html as html_module
import json
import re

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.dataset import export_dataset
from pipelines.report import render_report
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.record import SCHEMA_VERSION
from tests.conftest import PAGES
from tests.crawl_helpers import crawl
from tests.sample_dataset import state_from_pages

CASES = ["seed_table", "x_unreadable_dates", "missing_reply_date", "x_forum_site_name_h1"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    state_from_pages(out, CASES)
    export_dataset(out)
    return out


def test_parse_issues_are_a_list_in_parquet_and_one_line_each_in_csv(folder):
    table = pq.read_table(folder / "qa.parquet", columns=["qa_id", "parse_issues"])
    issues = dict(zip(table.column("qa_id").to_pylist(), table.column("parse_issues").to_pylist()))
    unreadable_id = (PAGES / "x_unreadable_dates" / "url.txt").read_text().strip().rsplit("/")[-1]
    forum_id = (PAGES / "x_forum_site_name_h1" / "url.txt").read_text().strip().rsplit("/")[-1]
    assert issues["110525"] == [] and issues[forum_id] == []
    assert issues["142957"] == ["missing: answered_on"]
    with open(folder / "qa.csv", newline="", encoding="utf-8") as fh:
        rows = {r["qa_id"]: r for r in csv.DictReader(fh)}
    assert rows[forum_id]["parse_issues"] == ""
    assert rows[unreadable_id]["parse_issues"].split("\n") == [
        "unreadable_date: asked_on '2019/02/30'", "unreadable_date: answered_on 'a few days later'"]


def test_researchers_can_filter_out_doubtful_rows_in_duckdb(folder):
    clean = duckdb.sql(f"SELECT count(*) FROM '{folder / 'qa.parquet'}' "
                       "WHERE len(parse_issues) = 0").fetchall()[0][0]
    assert clean == len(CASES) - 2


def test_manifest_and_card_count_rows_with_parse_issues_by_kind(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parse_issues"] == {"rows": 2, "share": 0.5,
                                        "by_kind": {"missing": 1, "unreadable_date": 1}}
    assert manifest["schema_version"] == SCHEMA_VERSION
    card = (folder / "README.md").read_text()
    section = card.split("### What the parser was unsure of", 1)[1].split("\n## ", 1)[0]
    assert "2 of 4 rows (50.0%)" in section
    assert "| `missing` | 1 |" in section and "| `unreadable_date` | 1 |" in section
    assert "department_mismatch" in section  # every kind is explained
    assert "- 2: parse_issues" in card  # the schema history says what version 2 added


def test_report_audit_counts_issues_and_says_when_raw_pages_were_not_kept(folder):
    html = render_report(folder)
    audit = re.search(r'<section class="chart" id="audit">(.*?)</section>', html, re.S).group(1)
    assert "2 of 4 rows have parse issues" in audit
    assert "<code>unreadable_date</code></td><td>1</td>" in audit
    assert "the raw page was not kept" in audit
    assert audit.count("<details>") == 3
    assert 'href="#audit"' in html


@pytest.mark.slow
def test_report_audit_shows_sampled_rows_beside_the_lines_read_from_their_raw_pages(tmp_path):
    site = SampleSite(n_pages=12, seed=44)
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = render_report(tmp_path)
    audit = re.search(r'<section class="chart" id="audit">(.*?)</section>', html, re.S).group(1)
    assert "None of the" in audit and "has a parse issue" in audit
    rows = re.findall(r"<details><summary>Row <code>(\w+)</code>.*?</details>", audit, re.S)
    assert len(rows) == 3
    table = pq.read_table(tmp_path / "qa.parquet", columns=["qa_id", "title"]).to_pylist()
    titles = {r["qa_id"]: r["title"] for r in table}
    for qa_id in rows:
        block = audit.split(f"Row <code>{qa_id}</code>", 1)[1].split("</details>", 1)[0]
        assert "<code>question</code>" in block and "<code>reply header</code>" in block
        assert "<code>title</code>" in block
        assert html_module.escape(titles[qa_id]) in block
