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
**Where it stands** (2026-12-02): 0.24 -> 0.53 of bare Scrapy in this session, from the page
worker (`qa_crawler/worker.py`: one process, fed over a socket pair with length-prefixed
frames read by an asyncio protocol, no helper threads, reads each page: parse, links routed,
record to JSON, validation), the compiled line pass (parse 2x), WARC at gzip level 3, the
closing export in a child process and the report drawn after the crawl ends. Per page,
measured from /proc on 2,000 pages: the crawler process 2.8-3.1 ms of CPU (was 5.6-6.4), the
worker 2.2-2.8 ms, the hand-off 0.3 ms on the crawler's side; "its gain" above is the worker's
(reading in the crawl's own process instead).
**What holds it back**: the two cores are full: crawler and worker together cost about 5.7 ms
a page, and parity with bare Scrapy on 2 cores needs about 3.8. Left in them: the parser in the
worker (about 2 ms: its record-from-lines reading, see the parse note), Scrapy's own engine,
downloader and middlewares in the crawler (turning off the unused ones measured no gain),
`to_json_dict` (`dataclasses.asdict`), the store's upsert (`json.dumps` twice and the content
hash, 0.3 ms), the CDXJ index rebuilt at close from every WARC file (0.56 s per 2,000 pages).
Writing the WARC in the worker moved 0.3 ms off the crawler but made the worker the
bottleneck (5 % slower): dropped.
**What would move it**: the record-from-lines reading compiled; orjson in the store (a new
change-key version); the CDXJ index written as records are written; batching the store's
transactions across pages (durable: a page is finished only when its batch commits).
""",
    "memory": """
**Where it stands** (2026-12-02): measured as the peak of the crawl's whole process tree (crawl,
page worker, the export child it waits for, and the report process while the crawl is alive),
at 5,000 and 15,000 pages. Per process, sampled with psutil on the same mirrors: the crawl
217 -> 223 MB and the page worker 97 -> 98 MB (flat); the export child 328 -> 378 MB (about
5 KB a row); the report, drawn after the dataset in a process of its own, 225 -> 381 MB. Runs
vary: one sampling gave a tree peak of 485 -> 603 MB (1.24), the benchmark run above more,
when the report overlapped the crawl's close.
**What holds it back**: the report grows with the dataset (pandas columns for the charts) and
is counted while the crawl process is still closing; the export child grows slowly
(signature and stats dictionaries, row-group metadata).
**Done this session**: the closing export runs in a fresh process (`qa_crawler/apart.py`: the
crawl's fragmented heap no longer carries its peak: in-process the end of a 5,000-page crawl
reached 597 MB); the split files are written from the qa batches in the same pass (reading
qa.parquet back took the export from 336 to 412 MB at 5,000 rows).
**What would move it**: draw the report after the crawl process has exited (or with Arrow
instead of pandas), and bound the export's per-row dictionaries.
""",
    "rebuild": """
**What holds it back**: Amdahl's law. `rebuild` parallelises the parse (a process pool);
scanning the WARC files, storing every record, the export and report.html run in the main
process. The scan-parse-store phase reaches 1.66 of a 1.8-1.9 calibration (0.88 of it); the
export and the report, the same with 1 or 2 workers, pull the whole command to 1.37. The
faster parser (compiled line pass) makes the parallel part smaller and the ratio worse.
**What would move it**: the report drawn in the background as after a crawl, the export
overlapped with the parse (the near-duplicate signatures are cached now, so it is cheaper).
""",
    "distributed": """
**What holds it back**: on 2 cores, one crawl now already uses both (crawler plus page worker,
CPU 145 % of wall), so a second worker has no core to gain from: 1.00 here, against 1.22 before
the page worker. Each worker also pays a fixed start-up, the idle stop and the close, and a
Redis round trip per request.
**What would move it**: more cores or machines (the design scales across them); on one 2-core
machine `-s QA_PARSE_PROCESSES=0` per worker is the fairer comparison.
""",
    "export_parquet": """
**What holds it back** (pyinstrument of `export_dataset`, 20,000 records, 13.3 s): the
near-duplicate signatures are 60 % of a first export (MinHash.bulk 3.5 s, shingles 1.7 s,
datasketch's import 1.1 s, LSH 0.65 s), the table writes 2.5 s (Parquet, splits and CSV from
the same batches since this session), `json.loads` of the stored records 0.9 s, the flat rows
0.8 s. The signatures are now kept between exports (`.qa-crawler/near-duplicates.sqlite`), so a
re-export of an unchanged folder skips them; the benchmark measures a first export.
**What would move it**: keep the records columnar from the state on (Arrow part files written as
records arrive, so the export is concatenation and casting in pyarrow); compute the signatures
when the page is read (in the page worker) and store them with the record.
""",
}


def attach(figures: list[Figure]) -> None:
    """Give every missed figure its note."""
    for figure in figures:
        if figure.met is False and figure.key in NOTES:
            figure.note = NOTES[figure.key]
