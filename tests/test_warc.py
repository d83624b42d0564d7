"""The raw archive: WARC files that standard tools read, `show`, and `rebuild` without fetching."""

import dataclasses
import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.rebuild import rebuild
from qa_crawler import fetched, record
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.warc import iter_responses, warc_dir
from tests.crawl_helpers import crawl

pytestmark = pytest.mark.slow
PROVENANCE = {*record.PROVENANCE, *(f.name for f in dataclasses.fields(record.PageHistory))}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    site = SampleSite(n_pages=40, seed=31)
    out = tmp_path_factory.mktemp("warc")
    with SiteServer(site) as server:
        server.faults[site.article_path(site.qa_ids()[0])] = [{"status": 503}]
        proc = crawl(server.url("/"), out)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return site, out


def test_every_response_is_in_warc_files_that_warcio_reads(crawled):
    site, out = crawled
    files = sorted(warc_dir(out).glob("*.warc.gz"))
    assert files
    responses, requests, statuses = [], 0, []
    for path in files:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    responses.append(record.rec_headers.get_header("WARC-Target-URI"))
                    assert record.rec_headers.get_header("WARC-Date")
                    assert record.rec_headers.get_header("WARC-Payload-Digest").startswith("sha1:")
                    statuses.append(record.http_headers.get_statuscode())
                elif record.rec_type == "request":
                    requests += 1
                    assert record.http_headers.get_header("User-Agent").startswith("qa-crawler")
    articles = {u for u in responses if "/article/" in u}
    assert len(articles) == len(site.qa_ids())
    assert requests == len(responses)
    assert "503" in statuses  # failures are kept too


def test_each_row_points_at_its_raw_page(crawled):
    site, out = crawled
    row = pq.read_table(out / "qa.parquet").to_pylist()[3]
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "show", str(out), row["qa_id"]],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert row["title"].encode() in proc.stdout.replace(b"&amp;", b"&")
    assert row["warc_file"].encode() in proc.stderr


def test_rebuild_with_an_unchanged_parser_gives_the_same_qa_table(crawled, tmp_path):
    _, out = crawled
    before = pq.read_table(out / "qa.parquet")
    manifest = rebuild(out, workers=2)
    after = pq.read_table(out / "qa.parquet")
    keep = [c for c in before.column_names if c not in PROVENANCE]
    assert after.select(keep).equals(before.select(keep))
    assert manifest["rebuild"]["records"] == before.num_rows
    assert json.loads((out / "manifest.json").read_text())["rebuild"]["workers"] == 2


def test_rebuild_reflects_a_parser_change_and_fetches_nothing(crawled, monkeypatch):
    site, out = crawled
    # The rebuild reads each page through the crawl's one step from a fetch to a record.
    original = fetched.parse_page

    def shouting_parser(*args, **kwargs):
        result = original(*args, **kwargs)
        result.record.title = result.record.title.upper()
        return result

    monkeypatch.setattr(fetched, "parse_page", shouting_parser)
    # The site is not served any more: a rebuild that tried to fetch would fail.
    rebuild(out, workers=1)
    titles = pq.read_table(out / "qa.parquet", columns=["title"])["title"].to_pylist()
    assert titles and all(t == t.upper() for t in titles)
    monkeypatch.setattr(fetched, "parse_page", original)
    rebuild(out, workers=1)


def test_a_warc_truncated_mid_record_is_read_up_to_the_last_whole_record(crawled, tmp_path,
                                                                          caplog):
    _, out = crawled
    src = sorted(warc_dir(out).glob("*.warc.gz"))[0]
    data = src.read_bytes()
    copy = tmp_path / ".qa-crawler" / "warc"
    copy.mkdir(parents=True)
    whole = [r for r in iter_responses(out) if r.location.file == src.name]
    last = whole[-1]
    # Cut the file in the middle of its last response record, as a crash mid-write would.
    (copy / src.name).write_bytes(data[: last.location.offset + 300])
    with caplog.at_level("WARNING"):
        torn = list(iter_responses(tmp_path))
    assert [r.location for r in torn] == [r.location for r in whole[:-1]]
    assert "truncated" in caplog.text and src.name in caplog.text


def test_no_warc_keeps_no_raw_pages_and_the_card_says_so(tmp_path):
    site = SampleSite(n_pages=10, seed=37)
    with SiteServer(site) as server:
        proc = crawl(server.url("/"), tmp_path, "--no-warc")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not list(warc_dir(tmp_path).glob("*.warc.gz"))
    assert "raw pages were not kept" in (tmp_path / "README.md").read_text()
    rebuild_proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "rebuild",
                                   str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert rebuild_proc.returncode == 2 and "no WARC files" in rebuild_proc.stderr
