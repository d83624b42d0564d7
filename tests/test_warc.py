"""The raw archive: WARC files that standard tools read, `show`, and `rebuild` without fetching."""

import base64
import dataclasses
import gzip
import hashlib
import json
import os
from pathlib import Path
import subprocess
import sys
import zipfile

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from pipelines.rebuild import rebuild
from qa_crawler import fetched, record
from qa_crawler import settings as project_settings
from qa_crawler.demo.server import SiteServer
from qa_crawler.demo.site import SampleSite
from qa_crawler.warc import iter_responses, stored_headers, warc_dir
from tests.crawl_helpers import crawl, qa_rows

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


def test_a_rebuild_that_changes_the_records_writes_their_columns_in_id_order(crawled,
                                                                             monkeypatch):
    """The pages are re-parsed in the order of their ids, the export's: each part the rebuild
    writes holds a range of ids after the one before, so an export batch reads one part or two
    (in file order every part would hold ids from the whole range)."""
    import pyarrow as pa

    from qa_crawler import columns

    _, out = crawled
    before = set(columns.part_files(out / ".qa-crawler"))
    original = fetched.parse_page

    def changed_parser(*args, **kwargs):
        result = original(*args, **kwargs)
        result.record.title = f"{result.record.title} (again)"
        return result

    monkeypatch.setattr(fetched, "parse_page", changed_parser)
    monkeypatch.setattr(columns, "PART_ROWS", 4)
    rebuild(out, workers=2)
    written = [p for p in columns.part_files(out / ".qa-crawler") if p not in before]
    assert len(written) > 2
    ranges = []
    for path in sorted(written):
        ids = pa.ipc.open_file(pa.memory_map(str(path))).read_all().column("qa_id").to_pylist()
        ranges.append((min(ids), max(ids)))
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:])), ranges
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
    wacz_proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "wacz", str(tmp_path)],
                               capture_output=True, text=True, timeout=60)
    assert wacz_proc.returncode == 3
    assert wacz_proc.stderr.startswith("qa-crawler wacz: ") and "no WARC files" in wacz_proc.stderr
    assert len(wacz_proc.stderr.splitlines()) == 1


def _records(out):
    """Every record of every WARC file: (file name, offset, record type, WARC headers, HTTP
    headers or None, payload)."""
    found = []
    for path in sorted(warc_dir(out).glob("*.warc.gz")):
        with open(path, "rb") as fh:
            iterator = ArchiveIterator(fh)
            for rec in iterator:
                payload = rec.content_stream().read()
                found.append((path.name, iterator.get_record_offset(), rec.rec_type,
                              rec.rec_headers, rec.http_headers, payload))
    return found


@pytest.fixture(scope="module")
def rechecked(tmp_path_factory):
    """Two crawls of one site: the first with a gzip page, a chunked gzip page and a redirected
    page; the second re-checks every stored page after one of them changed."""
    site = SampleSite(n_pages=12, seed=41)
    out = tmp_path_factory.mktemp("replay")
    ids = site.qa_ids()
    paths = {name: site.article_path(qa_id) for name, qa_id in
             zip(("gzip", "chunked", "redirected", "changed"), ids)}
    with SiteServer(site) as server:
        server.faults[paths["gzip"]] = [{"gzip": True}]
        server.faults[paths["chunked"]] = [{"gzip": True, "chunked": True}]
        server.faults[paths["redirected"]] = [
            {"status": 301, "headers": {"Location": paths["redirected"] + "?from=old"}}]
        first = crawl(server.url("/"), out, "-s", "QA_CONTACT=mailto:archivist@example.org")
        assert first.returncode == 0, first.stderr[-2000:]
        first_records = _records(out)
        first_rows = qa_rows(out)
        site.change_page(ids[3])
        second = crawl(server.url("/"), out, "--recheck-older-than", "0s",
                       "-s", "ROBOTSTXT_OBEY=False")
        assert second.returncode == 0, second.stderr[-2000:]
        base = server.base_url
    return site, out, base, paths, first_records, first_rows


def test_each_warc_file_opens_with_a_warcinfo_record(rechecked):
    _, out, _, _, _, _ = rechecked
    files = sorted(warc_dir(out).glob("*.warc.gz"))
    assert len(files) == 2  # one per run
    operators = []
    for path, robots in zip(files, ("obey", "ignore")):
        with open(path, "rb") as fh:
            first = next(iter(ArchiveIterator(fh)))
            assert first.rec_type == "warcinfo"
            assert first.rec_headers.get_header("WARC-Filename") == path.name
            fields = dict(line.split(": ", 1) for line in
                          first.content_stream().read().decode().splitlines())
        assert fields["software"].startswith("qa-crawler/")
        assert fields["robots"] == robots
        assert fields["format"] == "WARC File Format 1.1"
        assert fields["http-header-user-agent"].startswith("qa-crawler/")
        assert fields["isPartOf"] == out.name
        operators.append(fields["operator"])
    # The first run was given a contact; the second has the project's default.
    assert operators[0] == "mailto:archivist@example.org"
    assert operators[1] == project_settings.QA_CONTACT


def test_a_304_recheck_is_a_revisit_of_the_stored_original(rechecked):
    site, out, base, paths, first_records, first_rows = rechecked
    originals = {h.get_header("WARC-Target-URI"): h for _, _, kind, h, http, _ in first_records
                 if kind == "response" and http.get_statuscode() == "200"}
    records = _records(out)
    revisits = [(h, http) for _, _, kind, h, http, _ in records if kind == "revisit"]
    revisited = {h.get_header("WARC-Target-URI") for h, _ in revisits}
    # Every stored page was re-checked; all but the changed one answered 304.
    article_urls = {base + site.article_path(i) for i in site.qa_ids()}
    assert revisited == article_urls - {base + paths["changed"]}
    for h, http in revisits:
        url = h.get_header("WARC-Target-URI")
        assert h.get_header("WARC-Profile") == \
            "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
        assert http.get_statuscode() == "304"
        original = originals.get(url) or originals[url + "?from=old"]
        assert h.get_header("WARC-Refers-To-Target-URI") == original.get_header("WARC-Target-URI")
        assert h.get_header("WARC-Refers-To-Date") == original.get_header("WARC-Date")
        assert h.get_header("WARC-Refers-To") == original.get_header("WARC-Record-ID")
    # No empty 304 response records.
    assert not [1 for _, _, kind, _, http, _ in records
                if kind == "response" and http.get_statuscode() == "304"]
    # The changed page is a new response record, and its row points at it.
    row = qa_rows(out)[site.qa_ids()[3]]
    changed = [(name, off) for name, off, kind, h, _, _ in records
               if kind == "response" and h.get_header("WARC-Target-URI") == base + paths["changed"]]
    assert len(changed) == 2 and (row["warc_file"], row["warc_offset"]) == changed[-1]
    # The rows of unchanged pages still point at their first response record.
    unchanged = site.qa_ids()[0]
    assert qa_rows(out)[unchanged]["warc_offset"] == first_rows[unchanged]["warc_offset"]


def test_redirects_are_archived_and_the_row_points_at_the_final_page(rechecked):
    site, out, base, paths, first_records, first_rows = rechecked
    redirects = [(h, http) for _, _, kind, h, http, _ in first_records
                 if kind == "response" and http.get_statuscode() == "301"]
    assert [h.get_header("WARC-Target-URI") for h, _ in redirects] == [base + paths["redirected"]]
    assert redirects[0][1].get_header("Location") == paths["redirected"] + "?from=old"
    row = first_rows[site.qa_ids()[2]]
    kind, h, http = next((kind, h, http) for name, off, kind, h, http, _ in first_records
                         if (name, off) == (row["warc_file"], row["warc_offset"]))
    assert kind == "response" and http.get_statuscode() == "200"
    assert h.get_header("WARC-Target-URI") == base + paths["redirected"] + "?from=old"
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "show", str(out),
                           site.qa_ids()[2]], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert row["title"].encode() in proc.stdout.replace(b"&amp;", b"&")


def test_decoded_payloads_keep_their_wire_headers_prefixed(rechecked):
    site, out, base, paths, first_records, _ = rechecked
    by_url = {h.get_header("WARC-Target-URI"): (http, body)
              for _, _, kind, h, http, body in first_records if kind == "response"}
    for name in ("gzip", "chunked"):
        http, body = by_url[base + paths[name]]
        assert body.startswith(b"<!DOCTYPE html") or b"<html" in body[:200]
        assert http.get_header("Content-Encoding") is None
        assert http.get_header("X-Crawler-Content-Encoding") == "gzip"
        assert http.get_header("Content-Length") == str(len(body))
    gz, _ = by_url[base + paths["gzip"]]
    assert int(gz.get_header("X-Crawler-Content-Length")) < int(gz.get_header("Content-Length"))
    # Twisted de-chunks and hides Transfer-Encoding (and the missing Content-Length) from
    # Scrapy: the record says only what Scrapy was told.
    chunked, _ = by_url[base + paths["chunked"]]
    assert chunked.get_header("Transfer-Encoding") is None
    assert chunked.get_header("X-Crawler-Content-Length") is None
    # A page served plainly carries no X-Crawler- header.
    plain, _ = by_url[base + site.article_path(site.qa_ids()[5])]
    assert not [k for k, _ in plain.headers if k.startswith("X-Crawler-")]


def test_a_cdxj_index_lists_every_response_and_revisit(rechecked):
    _, out, _, _, _, _ = rechecked
    lines = (warc_dir(out) / "index.cdxj").read_text().splitlines()
    assert lines == sorted(lines)
    indexed = set()
    for line in lines:
        _key, _ts, fields = line.split(" ", 2)
        entry = json.loads(fields)
        indexed.add((entry["filename"], int(entry["offset"])))
    archived = {(name, off) for name, off, kind, *_ in _records(out)
                if kind in ("response", "revisit")}
    assert indexed == archived


# cdxj-indexer leaves a record's SpooledTemporaryFile to the garbage collector (its
# buffer_record_content): in this process that is a ResourceWarning, in a crawl nothing.
@pytest.mark.filterwarnings("ignore::ResourceWarning",
                            "ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_index_is_cdxj_indexers_of_all_files_and_indexes_only_files_that_grew(
        rechecked, tmp_path, monkeypatch):
    import shutil

    import cdxj_indexer.main

    from qa_crawler.warc import write_index

    _, crawled, _, _, _, _ = rechecked
    out = tmp_path / "copy"
    shutil.copytree(crawled, out)
    files = sorted(str(p) for p in warc_dir(out).glob("*.warc.gz"))
    assert len(files) >= 2  # one per run at least
    whole = tmp_path / "whole.cdxj"
    cdxj_indexer.main.write_cdx_index(str(whole), files, {"sort": True})
    assert write_index(out).read_text() == whole.read_text()

    indexed = []
    real = cdxj_indexer.main.write_cdx_index
    monkeypatch.setattr(cdxj_indexer.main, "write_cdx_index",
                        lambda output, inputs, opts: indexed.extend(inputs) or real(output, inputs,
                                                                                   opts))
    write_index(out)
    assert indexed == []  # nothing written since: every file's index is kept
    grown = max(files, key=lambda f: os.path.getsize(f))
    with open(grown, "ab") as fh, open(files[0], "rb") as first:
        fh.write(first.read())  # the file grows (a later run's records)
    assert write_index(out).read_text() != whole.read_text()
    assert indexed == [grown]  # only the file that grew is indexed again
    assert len(list((warc_dir(out) / ".index").glob(Path(grown).name + ".*.cdxj"))) == 1


def test_export_wacz_packages_the_archive_and_wacz_validates_it(rechecked, tmp_path):
    site, out, base, _, _, _ = rechecked
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "export", str(out), "--wacz"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    path = out / ".qa-crawler" / "archive.wacz"
    assert str(path) in proc.stdout
    assert "`qa-crawler wacz DIR`" in (out / "README.md").read_text()  # the card says so
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(path)],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + check.stderr
    with zipfile.ZipFile(path) as wacz:
        names = set(wacz.namelist())
        assert {f"archive/{p.name}" for p in warc_dir(out).glob("*.warc.gz")} <= names
        index = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode().splitlines()
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
    # The 304 re-checks are in the WACZ's index as revisits, and every Q&A row is a page.
    assert sum('"mime": "warc/revisit"' in line for line in index) == len(site.qa_ids()) - 1
    rows = qa_rows(out)
    assert sorted(p["title"] for p in pages[1:]) == sorted(r["title"] for r in rows.values())
    # The subcommand writes one where it is told to.
    other = tmp_path / "copy.wacz"
    proc = subprocess.run([sys.executable, "-m", "qa_crawler.cli", "wacz", str(out), "--out",
                           str(other)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and other.is_file(), proc.stderr


def test_rebuild_reads_a_folder_with_revisits_and_redirects(rechecked, tmp_path):
    site, out, _, _, _, _ = rechecked
    before = pq.read_table(out / "qa.parquet")
    manifest = rebuild(out, workers=1)
    after = pq.read_table(out / "qa.parquet")
    keep = [c for c in before.column_names if c not in PROVENANCE]
    assert after.select(keep).equals(before.select(keep))
    assert manifest["rebuild"]["records"] == len(site.qa_ids())


def test_stored_headers_prefix_the_wire_encoding_headers():
    headers = [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked"),
               ("Content-Length", "120"), ("Content-Encoding", "zstd")]
    assert stored_headers(headers, 300, wire_encoding="br, zstd") == [
        ("Content-Type", "text/html"), ("X-Crawler-Transfer-Encoding", "chunked"),
        ("X-Crawler-Content-Length", "120"), ("Content-Encoding", "zstd"),
        ("X-Crawler-Content-Encoding", "br, zstd"), ("Content-Length", "300")]
    # Nothing decoded: the headers stay as they came.
    assert stored_headers([("Content-Length", "5")], 5) == [("Content-Length", "5")]


def _record_bytes(tmp_path, body: bytes) -> tuple[bytes, object]:
    from qa_crawler.warc import WarcArchive

    archive = WarcArchive(tmp_path)
    where = archive.write("http://127.0.0.1:8123/en/article/1", method="GET",
                          request_headers=[], status=200, reason="OK",
                          response_headers=[("Content-Type", "text/html")], body=body)
    archive.close()
    return (warc_dir(tmp_path) / where.file).read_bytes(), where


_LONG_BODY = b"<html><body>" + b"<p>Reply Date: 2016/08/23</p>" * 400 + b"</body></html>"


def test_records_are_isal_gzip_members_that_read_back_not_warcios_level_9(tmp_path):
    from qa_crawler import warc

    assert warc._isal is not None, "isal (a dependency) is not installed"
    data, where = _record_bytes(tmp_path, _LONG_BODY)
    # A gzip member; the header's XFL byte says 2 for zlib's level 9 (warcio's), 0 for ISA-L's.
    assert data[where.offset:where.offset + 2] == b"\x1f\x8b"
    assert data[where.offset + 8] == 0
    assert warc.read_at(tmp_path, where).body == _LONG_BODY
    # Every member is a whole gzip stream that Python's own gzip reads (readers other than ours).
    assert _LONG_BODY in gzip.decompress(data)


def test_without_isal_records_are_zlib_members_of_the_chosen_level(tmp_path, monkeypatch):
    from qa_crawler import warc

    monkeypatch.setattr(warc, "_isal", None)
    data, where = _record_bytes(tmp_path, _LONG_BODY)
    # XFL: 2 for level 9, 4 for 1, 0 for the levels between.
    assert data[where.offset:where.offset + 2] == b"\x1f\x8b"
    assert data[where.offset + 8] == {9: 2, 1: 4}.get(warc.GZIP_LEVEL, 0) != 2
    assert warc.read_at(tmp_path, where).body == _LONG_BODY


def test_isal_members_are_about_as_small_as_zlibs_at_the_chosen_level(tmp_path, monkeypatch):
    """The trade the module makes: ISA-L's level is faster and must not cost disk (within 3 %,
    over the saved pages of every fixture, each a record)."""
    from qa_crawler import warc

    pages = sorted((Path(__file__).parent / "fixtures" / "pages").glob("*/*.html"))
    assert len(pages) > 20
    sizes = {}
    for backend in ("isal", "zlib"):
        if backend == "zlib":
            monkeypatch.setattr(warc, "_isal", None)
        sizes[backend] = sum(len(_record_bytes(tmp_path / backend / p.parent.name,
                                               p.read_bytes())[0]) for p in pages)
    assert sizes["isal"] <= sizes["zlib"] * 1.03


def _newest_by_warc_date(out):
    """The reference: each URL's newest 200 HTML response by its WARC-Date, every file read."""
    latest = {}
    for r in iter_responses(out, with_body=False):
        if r.status != 200 or (r.content_type and "html" not in r.content_type.lower()):
            continue
        if r.url not in latest or r.date >= latest[r.url][0]:
            latest[r.url] = (r.date, r.location)
    return {url: loc for url, (_, loc) in latest.items()}


def test_rebuild_finds_each_urls_newest_page_from_the_cdxj_index_without_reading_the_files(
        rechecked, monkeypatch):
    from pipelines.rebuild import _latest_pages
    from qa_crawler import warc

    _, out, _, paths, _, _ = rechecked
    expected = _newest_by_warc_date(out)
    # A page fetched twice with a 200 (the changed one) and 304 revisits: the newest 200 counts.
    statuses = [r.status for r in iter_responses(out, with_body=False)
                if r.url.endswith(paths["changed"])]
    assert statuses.count(200) == 2
    monkeypatch.setattr(warc, "_responses_of",
                        lambda *a, **k: pytest.fail("a WARC file was read"))
    assert _latest_pages(out) == expected


@pytest.mark.parametrize("damage", ["no index pieces", "a file grew since it was indexed"])
def test_rebuild_reads_the_files_themselves_where_the_index_does_not_match_them(
        rechecked, tmp_path, damage):
    import shutil

    from pipelines.rebuild import _latest_pages

    _, out, _, _, _, _ = rechecked
    copy = tmp_path / "copy"
    shutil.copytree(out / ".qa-crawler", copy / ".qa-crawler")
    expected = _newest_by_warc_date(out)
    folder = warc_dir(copy)
    if damage == "no index pieces":
        shutil.rmtree(folder / ".index")
    else:  # a newer copy of one page appended (by a crawl killed before it indexed the file)
        import io

        from warcio.statusandheaders import StatusAndHeaders

        from qa_crawler import warc

        path = sorted(folder.glob("*.warc.gz"))[-1]
        url = sorted(expected)[0]
        with open(path, "ab") as fh:
            writer = warc._Writer(fh, warc_version="1.1")
            http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(b"<p>newer</p>"), length=12, http_headers=http))
        before = expected[url]
        expected = _newest_by_warc_date(copy)
        assert expected[url] != before and list((folder / ".index").glob(f"{path.name}.*"))
    assert _latest_pages(copy) == expected


def test_of_two_pages_stored_in_one_second_the_later_one_is_the_newest(tmp_path, monkeypatch):
    """CDXJ dates go to the second: within a file the later record is newer; across two files
    (two workers) their WARC-Dates, to the microsecond, tell."""
    from pipelines.rebuild import _latest_pages
    from qa_crawler import warc

    dates = iter([])
    monkeypatch.setattr(warc._Writer, "_make_warc_date",
                        classmethod(lambda cls, use_micros=False: next(dates)))
    url = "http://127.0.0.1:8123/en/article/{}"
    page = dict(method="GET", request_headers=[], status=200, reason="OK",
                response_headers=[("Content-Type", "text/html; charset=utf-8")])

    def archive(worker, stamps, urls, bodies):
        nonlocal dates
        dates = iter([f"2026-12-03T06:32:{s}Z" for s in stamps])
        a = warc.WarcArchive(tmp_path, worker=worker)
        where = [a.write(u, body=b, **page) for u, b in zip(urls, bodies)]
        a.close()
        warc.index_files(warc_dir(tmp_path), [a.name])
        return where

    def digest(body):
        return base64.b32encode(hashlib.sha1(body).digest())

    # Article 2's two copies: bodies whose digests put the later copy first in the index's
    # sorted lines, so that only the offsets can tell which one was written last.
    first = b"<p>x</p>"
    later = next(b for b in (b"<p>x%d</p>" % i for i in range(100)) if digest(b) < digest(first))
    # Worker a: article 1 at .900 s; article 2 twice in the same second.
    a = archive("a", ["20.000000", "20.900000", "20.900000", "21.000000", "21.000000",
                      "21.000000", "21.000000"], [url.format(1), url.format(2), url.format(2)],
                [first, first, later])
    # Worker b (its file read after a's): article 1 at .100 s, the same second, stored before.
    b = archive("b", ["19.000000", "20.100000", "20.100000"], [url.format(1)], [first])
    seconds = {(h.url, h.location): h.second for h in warc.response_heads(tmp_path)}
    assert seconds[url.format(1), a[0]] == seconds[url.format(1), b[0]] == "20261203063220"
    assert seconds[url.format(2), a[1]] == seconds[url.format(2), a[2]]
    latest = _latest_pages(tmp_path)
    assert latest[url.format(1)] == a[0] != b[0]
    assert latest[url.format(2)] == a[2]


def test_a_page_stored_under_two_urls_is_rebuilt_from_its_newest_copy_with_its_dates(
        tmp_path, monkeypatch):
    """Archived pages no state holds (a damaged state set aside, or none at all) are stored
    again; of one page's two copies (two URLs, one qa_id) the newer one, seen when it was."""
    from qa_crawler import warc

    site = SampleSite(n_pages=3, seed=7)
    qa_id = site.qa_ids()[0]
    _, headers, body = site.render(site.article_path(qa_id))
    dates = iter(["2026-12-01T10:00:00Z"] * 3 + ["2026-12-02T10:00:00Z"] * 2)
    monkeypatch.setattr(warc._Writer, "_make_warc_date",
                        classmethod(lambda cls, use_micros=False: next(dates)))
    archive = warc.WarcArchive(tmp_path)
    url = f"https://doctorqna.com{site.article_path(qa_id)}"
    for u in (url + "?from=listing", url):  # the same page, a day apart
        archive.write(u, method="GET", request_headers=[], status=200, reason="OK",
                      response_headers=list(headers.items()), body=body)
    archive.close()
    manifest = rebuild(tmp_path, workers=1)
    assert manifest["rebuild"]["records"] == 1
    [row] = pq.read_table(tmp_path / "qa.parquet").to_pylist()
    assert row["url"] == url and str(row["crawled_at"]).startswith("2026-12-02 10:00")
    assert row["last_seen"] == row["first_seen"] == row["crawled_at"]


def _tasks(out):
    from pipelines.rebuild import _in_id_order, _latest_pages, article_url_pattern

    pattern = article_url_pattern(out)
    ordered = _in_id_order(_latest_pages(out), pattern)
    return [(str(out), ordered, pattern)]


def test_a_page_parsed_again_to_its_stored_text_comes_back_without_text_or_signature(crawled):
    """What the states hold is read where the pages are parsed: a record re-parsed to the very
    text stored (a rebuild by the same parser) is neither signed again nor sent back whole."""
    from pipelines.rebuild import StoredTexts, _parse_chunk

    _, out = crawled
    [task] = _tasks(out)
    stored = StoredTexts(out)
    try:
        kept = [p for p in _parse_chunk(task, stored) if p.ident is not None]
    finally:
        stored.close()
    whole = [p for p in _parse_chunk(task, StoredTexts(None)) if p.ident is not None]
    assert kept and len(kept) == len(whole)
    assert all(p.unchanged and p.encoded is None and p.signature is None for p in kept)
    assert all(p.unchanged is None and p.encoded and p.signature for p in whole)
    assert [p.unchanged for p in kept] == [p.encoded.text_digest for p in whole]


def test_a_rebuild_of_unchanged_pages_signs_no_question_again(crawled, monkeypatch):
    from pipelines import rebuild as rebuild_module

    _, out = crawled
    before = pq.read_table(out / "qa.parquet")
    calls = []
    original = rebuild_module.signature_of
    monkeypatch.setattr(rebuild_module, "signature_of",
                        lambda record: calls.append(record["qa_id"]) or original(record))
    rebuild(out, workers=1)
    assert calls == []
    keep = [c for c in before.column_names if c not in PROVENANCE]
    assert pq.read_table(out / "qa.parquet").select(keep).equals(before.select(keep))


def test_a_record_stored_anew_after_its_page_was_parsed_is_parsed_again_whole(crawled,
                                                                              monkeypatch):
    """The parsing process compares with what it read; if the state holds another text by the
    time the record is stored (another page of the same qa_id stored meanwhile), the page is
    parsed again in the storing process and its record written, not taken as kept."""
    from pipelines import rebuild as rebuild_module
    from qa_crawler.state import CrawlState, state_files

    _, out = crawled
    [task] = _tasks(out)
    stored = rebuild_module.StoredTexts(out)
    try:
        read = {p.ident["qa_id"]: p.unchanged for p in rebuild_module._parse_chunk(task, stored)
                if p.ident is not None}
    finally:
        stored.close()
    assert all(read.values())
    # The state now holds other texts than those the parsing process read.
    [path] = state_files(out)
    state = CrawlState(out, worker=path.stem.removeprefix("state-"))
    url = state.db.execute("SELECT fetched_url FROM pages LIMIT 1").fetchone()[0]
    record = state.stored_record(url)
    title = record["title"]
    assert state.replace_record(dict(record, title="Stored meanwhile"))
    state.close()
    # ... while each parsing process still reports what it read before.
    monkeypatch.setattr(rebuild_module.StoredTexts, "digest",
                        lambda self, qa_id: read.get(qa_id) if self.dbs else None)
    rebuild(out, workers=1)
    titles = dict(zip(*pq.read_table(out / "qa.parquet", columns=["qa_id", "title"])
                      .to_pydict().values()))
    assert titles[record["qa_id"]] == title


def test_a_records_crawled_at_is_the_warc_date_of_its_response_record(crawled):
    """One moment for the archive and the record: a rebuild from the archive gives the crawl's
    very records again (their crawled_at read from the WARC-Date), not ones a few ms apart."""
    import datetime as dt

    from qa_crawler.warc import Location, read_date

    _, out = crawled
    rows = pq.read_table(out / "qa.parquet",
                         columns=["crawled_at", "warc_file", "warc_offset"]).to_pylist()
    assert rows
    for row in rows:
        date = read_date(out, Location(row["warc_file"], row["warc_offset"]))
        assert dt.datetime.fromisoformat(date.replace("Z", "+00:00")) == row["crawled_at"]


def test_of_two_copies_in_one_file_the_later_fetched_is_the_newest_whatever_their_order(
        tmp_path):
    """A record is dated when its response came; one that waited for the page worker's queue
    is written after a copy fetched later. The WARC-Dates, not the order in the file, tell."""
    from pipelines.rebuild import _latest_pages
    from qa_crawler import warc

    url = "http://127.0.0.1:8123/en/article/7"
    page = dict(method="GET", request_headers=[], status=200, reason="OK",
                response_headers=[("Content-Type", "text/html; charset=utf-8")])
    archive = warc.WarcArchive(tmp_path, worker="a")
    later = archive.write(url, body=b"<p>fetched later</p>", date="2026-12-03T06:32:20.700000Z",
                          **page)
    earlier = archive.write(url, body=b"<p>fetched first</p>",
                            date="2026-12-03T06:32:20.200000Z", **page)
    same_moment = archive.write(url + "?b", body=b"<p>1</p>", date="2026-12-03T06:32:21.0Z",
                                **page)
    written_last = archive.write(url + "?b", body=b"<p>2</p>", date="2026-12-03T06:32:21.0Z",
                                 **page)
    archive.close()
    warc.index_files(warc_dir(tmp_path), [archive.name])
    assert earlier.offset > later.offset and written_last.offset > same_moment.offset
    latest = _latest_pages(tmp_path)
    assert latest[url] == later
    assert latest[url + "?b"] == written_last


def test_merging_the_pieces_the_page_worker_made_imports_no_indexer(tmp_path):
    """The crawler's end merges the files' CDXJ pieces; cdxj-indexer (which imports pyamf and
    pkg_resources: 0.15-0.2 s of the crawl's end) is imported only to make a missing piece."""
    from qa_crawler import warc

    archive = warc.WarcArchive(tmp_path, worker="w1")
    archive.write("http://127.0.0.1:8123/en/article/1", method="GET", request_headers=[],
                  status=200, reason="OK", response_headers=[("Content-Type", "text/html")],
                  body=b"<p>x</p>")
    archive.close()
    warc.index_files(warc_dir(tmp_path), [archive.name])
    code = ("import sys; from qa_crawler.warc import write_index; "
            f"print(write_index({str(tmp_path)!r}) is not None, 'cdxj_indexer' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.split() == ["True", "False"], proc.stderr


# cdxj-indexer leaves a temporary file of its own unclosed reading a revisit record.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_cdxj_piece_kept_as_a_file_is_written_is_what_cdxj_indexer_reads_from_it(tmp_path):
    """The archive keeps each file's CDXJ lines as it writes its records; cdxj-indexer, reading
    the file again, gives the very same piece: every kind of record the crawl writes (pages,
    a redirect, a server error, robots.txt, a body without a Content-Type, a 304 revisit with
    and without its original, percent-encoded URLs, a gzip-decoded page, several files)."""
    from cdxj_indexer.main import write_cdx_index

    from qa_crawler import warc

    archive = warc.WarcArchive(tmp_path, worker="w9", max_bytes=2500)
    base = "http://127.0.0.1:8123"
    html = [("Content-Type", "text/html; charset=utf-8")]
    exchanges = [
        (f"{base}/en/article/1", 200, "OK", html, b"<p>one</p>" * 50, None),
        (f"{base}/robots.txt", 200, "OK", [("Content-Type", "text/plain")], b"User-agent: *\n",
         None),
        (f"{base}/en/old-article-7", 301, "Moved Permanently",
         [("Location", f"{base}/en/article/7")], b"", None),
        (f"{base}/en/article/2", 503, "Service Unavailable", html, b"busy", None),
        (f"{base}/en/list?page=2&x=%C3%A9", 200, "OK", html, "<p>é</p>".encode(), None),
        (f"{base}/en/article/%C3%A9-3", 200, "OK", html, b"<p>3</p>", None),
        (f"{base}/blob", 200, "OK", [], os.urandom(3000), None),
        (f"{base}/en/article/1", 304, "Not Modified", [],
         b"", warc.Original(f"{base}/en/article/1", "2026-12-03T06:32:20.000000Z", None)),
        (f"{base}/en/article/9", 304, "Not Modified", [], b"", None),
        (f"{base}/en/article/4", 200, "OK", html + [("Content-Encoding", "gzip")],
         b"<p>four</p>", None),
    ]
    for url, status, reason, headers, body, original in exchanges:
        archive.write(url, method="GET", request_headers=[("User-Agent", "qa-crawler/test")],
                      status=status, reason=reason, response_headers=headers, body=body,
                      original=original, wire_encoding="gzip" if "article/4" in url else None)
    archive.close()
    files = sorted(warc_dir(tmp_path).glob("*.warc.gz"))
    assert len(files) > 2  # rolled over by size
    for path in files:
        [piece] = (warc_dir(tmp_path) / ".index").glob(f"{path.name}.*.cdxj")
        reference = tmp_path / f"{path.name}.reference.cdxj"
        write_cdx_index(str(reference), [str(path)], {"sort": True})
        assert piece.read_text() == reference.read_text(), path.name


def test_a_file_a_write_tore_gets_no_piece_of_its_index(tmp_path):
    from qa_crawler import warc

    archive = warc.WarcArchive(tmp_path, worker="w8")
    page = dict(method="GET", request_headers=[], status=200, reason="OK",
                response_headers=[("Content-Type", "text/html")])
    archive.write("http://127.0.0.1:8123/en/article/1", body=b"<p>1</p>", **page)
    write = archive.writer.write_record

    def full(record, params=None):
        archive.fh.write(b"\x1f\x8b half a record")
        raise OSError(28, "No space left on device")

    archive.writer.write_record = full
    with pytest.raises(OSError):
        archive.write("http://127.0.0.1:8123/en/article/2", body=b"<p>2</p>", **page)
    archive.writer.write_record = write
    archive.close()
    assert not list((warc_dir(tmp_path) / ".index").glob(f"{archive.name}.*"))
