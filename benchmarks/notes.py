"""What holds back each target when it is missed: the profile's finding and what would move it.

These notes were written from profiles taken on the benchmark machine (pyinstrument and
cProfile; ``python -m benchmarks.profile parse|crawl|export`` writes them to
``output/bench/profiles/``); :func:`attach` puts the note of a missed figure into
``results.md``. Update a note when a change moves its figure.
"""

from __future__ import annotations

from benchmarks.report import Figure

NOTES: dict[str, str] = {
    "parse": """
**What holds it back** (pyinstrument and cProfile, `parse_page` on 800 pages of 28 KB, and
per-stage timings; the parser as of the parse branch, issue 16): of 0.93 ms a page, lxml's
tree is 0.175 ms (19 %); the visual lines 0.22 ms (24 %), now a compiled pass
(`qa_crawler/parsers/_linewalk.pyx`, Cython over libxml2's nodes; the Python walk in
`reader.py` stays as its reference, held equal by `tests/test_line_pass.py`), of which a third
is still Python objects (100 `Line`s, 30 link targets, ~5 `urljoin`s of `../` links); the
label-anchored reading of the lines is the rest, 0.54 ms (57 %): `_Page.record` 0.27 ms
(Similar Q&A, Related FAQ, free-text runs, each a few regex and substring tests per line),
label-leak checks 0.10 ms (scans of ~20 KB of record text), identity, hash and language
0.07 ms.
**What would move it**: the record from the lines in native code too (the same reading compiled,
as the line pass is, with `doctorqna.py` as its reference), or fewer passes over the lines
(one pass that classifies every line once for all the readings that now test it again).
""",
    "crawl": """
**What holds it back** (cProfile and pyinstrument of `qa-crawler crawl` stopped after 1,000
records, no other load): the crawler process is CPU-bound on one core (CPU 92-100 % of wall),
while bare Scrapy spends about 4 ms of CPU per page and the raw aiohttp fetch far less. Of the
crawler's CPU: `parse_page` 17 %; Scrapy's `LinkExtractor.extract_links` 15 % (it parses every
page a second time with parsel, then `urljoin`, `safe_url_string`, and
`url_has_any_extension` over ~80 ignored extensions for each of ~40 links: 2.2 million
generator steps per 1,000 pages); `QASpider.request_for` 5 % (`canonicalize_url` and a new
`Request` for every link, even those already seen: the dupe filter only drops them later);
validation 5 % (`jsonschema` `iter_errors`, and `to_json_dict`/`dataclasses.asdict` twice per
record, in validation and in store); store 4 % (SQLite upsert, one commit per record); WARC
3 %; at close the dataset export (2 %) and `report.html` (12 %: matplotlib charts, 7.7 s, a
fixed cost that weighs on small crawls); the rest is Scrapy's engine, downloader and
middlewares. Moving the parser off the reactor (`-s QA_PARSE_PROCESSES=1`, its line
"its gain") gained little at the time of this profile (1.04-1.10): the main process stayed
at 100 % CPU without the parser, since the rest of its per-page work (links, requests,
validation, store, WARC, Scrapy) cost several times what bare Scrapy's does. With the changes
below it gains 1.4x: use `-s QA_PARSE_PROCESSES=1` when crawling a fast mirror.
**Done after this profile** (commits "One parse per page", "Store writes the JSON the
validator already made" and "Spider asks once per page"): the links now come from the parser's
own tree (`read_page` returns the record and the links; `LinkExtractor` is gone), each record
is serialised once, and a link to a page the spider already asked for builds no `Request`
(canonical URLs cached, a set of those requested): 53 -> 78 pages/s in the same benchmark; the
figure above was measured with all three.
**What would move it further**: validate with a compiled validator; batch the SQLite commits; draw `report.html` only on
request or in a separate process. Even then, a bare Scrapy at about 0.1 of the aiohttp
ceiling leaves little headroom on 2 cores: 1.0 of bare Scrapy means the whole job costs less
than Scrapy's own per-request overhead.
""",
    "memory": """
**What holds it back**: not the crawl itself. Sampling the RSS of a 5,000-page crawl every
second showed it flat at about 240 MB while fetching (seen sets and the frontier are small),
then rising at the close. Measured on their own, on the folders of this run: the dataset export
peaks at about 230 MB (500 records) and 440 MB (5,000 records) but is bounded by its 2,000-row
batches (260 MB at 5,000 and 280 MB at 100,000 records of 7 KB); `write_report` (report.html,
drawn after every crawl) grows with the dataset: 277 MB for 500 records, 577 MB for 5,000, and
300 MB against 1,000 MB for 5,000 against 100,000 records of 7 KB, because it loads whole text
columns into pandas to draw the length charts. The ratio above is a straight-line
extrapolation of two measured crawls (a 50,000-page crawl takes about 25 minutes here; run
`python -m benchmarks --only memory --memory-small 5000 --pages 50000` to measure it), so it
overstates the export's share and roughly matches the report's.
**Done after this analysis**: the report now counts text lengths with `pyarrow.compute` over
256-row batches of one column (the `more_info` column alone is 35 MB per 2,000-row group once
decompressed): `qa-crawler report` of the 5,000-page crawl went from 553 MB to 347 MB peak RSS,
bounded by the batch, not by the number of rows. The export's batches are now cut by text size
(8 MB of question/answer/More Info text, else 2,000 rows): its peak on the same crawl went from
430 MB to 268 MB. The figure above was measured with both.
**What would move it further**: measure the 50,000-page crawl for real instead of
extrapolating; lower the import footprint at close (matplotlib and pandas, about 150 MB,
are loaded only for the report).
""",
    "rebuild": """
**What holds it back**: Amdahl's law and the machine. `rebuild` parallelises only the parse
(`_parse_chunk` in a process pool); scanning the WARC index (`_latest_pages`), storing every
record in SQLite (one transaction per `replace_record`) and the export plus report.html run in
the main process: 8 to 9 s, a fifth of a single-worker rebuild of 5,000 pages. With a free second
core the scan-parse-store phase scales about 1.7x and the whole command 1.5x to 1.7x (runs
of this benchmark on an idle machine gave 1.48, 1.51 and 1.70: the target is at the edge);
when other work keeps the cores busy (see the calibration lines, before and after: a second
process gains only what that ratio says) two workers can be slower than one.
**What would move it**: store the records in one transaction (`executemany`) and let the
workers return serialised JSON; overlap the export with the parse, or skip report.html; all of
it is bounded by the calibration ratio on this 2-core machine.
""",
    "distributed": """
**What holds it back**: each worker is CPU-bound on one core (the crawl's per-page costs, see
the crawl note, plus a Redis round trip per request for the shared frontier, seen set and
politeness budget), and the machine has 2 cores shared by the two workers, the mirror server
and Redis; each run also pays a fixed start-up (about 5 s), the idle stop (2 s here) and the
close. The calibration lines give the 2-vs-1 gain a pure CPU job gets before and after; the
workers cannot beat it, and the per-run fixed costs pull them below it on a 1,500-page site
(on an idle machine, 1.53 in one run of this benchmark; with tests running beside it, 0.86).
**What would move it**: more cores or machines (the design scales across them); on this machine,
cutting the per-page CPU of a worker (crawl note) and measuring on a larger site so the fixed
costs weigh less.
""",
    "export_parquet": """
**What holds it back** (pyinstrument of `export_dataset`, 5,000 records): the Parquet writes
themselves are about half as fast as one `write_table` (2,000-row row groups, a cast and zstd
per batch; see "its Parquet writes alone"), and they are under 20 % of the export: the rest is
Python per record: `iter_merged_records` (SQLite read and `json.loads` of every record, 28 %),
building row dicts, `DatasetStats.add` (10 %), `Table.from_pylist` per batch (about 15 %), the
flattened similar/related rows, the CSV files, sha256 of every file and the card. The baseline
writes one prebuilt table, so the target asks the whole folder to cost little more than the
Parquet encoding.
**What would move it**: keep the records columnar from the state on (store them as Arrow/Parquet
batches instead of JSON text in SQLite, or decode with `pyarrow.json` per batch), compute the
stats with `pyarrow.compute` on each batch, and write bigger row groups (e.g. 50,000 rows).
""",
}


def attach(figures: list[Figure]) -> None:
    """Give every missed figure its note."""
    for figure in figures:
        if figure.met is False and figure.key in NOTES:
            figure.note = NOTES[figure.key]
