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
**Where it stands** (branch parse3, 2026-12-02; measured on 2 cores shared with another
session's test runs, load 1.5-3.7, so wall-clock rounds swung by 30 % and more: the decisions
were made on instruction counts, callgrind over 200 mirror pages of 28 KB read once before, as
the benchmark's best round reads them). Instructions a page: `lxml.html.fromstring` 1.43M;
`parse_page` 7.44M before (a ratio of 0.19 in instructions), 6.52M now (0.22). Wall clock, 800
pages, best of 3, CPU time, interleaved with the old code in the same minutes: old 1.45 ms, new
1.25 ms a page (-13 %); lxml's best round 0.19 ms; ratio about 0.15 then (0.16 in `make bench`
before this branch). The target, 0.25, is not reached.
**What moved it**: the line pass cleans a 1-byte text in place, caches link targets by what they
depend on (origin, folder or base, and the href), builds its `Line`s without `Line.__init__`
(allocated by the type, slots written where the member descriptors say) and makes a line's block
element an lxml proxy only when a reading asks; lower-casing compiled (ASCII eight characters at
a time) for the page's lines and the leak checks; around "more info" (in "for more information",
most texts' only label word) the leak pattern is tried only at a line's start, the one place it
can match there; a UTF-8 body under a UTF-8 Content-Type decoded without w3lib reading the
header twice.
**Tried and taken out** (no gain in instructions): a compiled key-word scan for the leak checks
(Python's substring search skips ahead and is as cheap), a one-pass word-at-a-time whitespace
collapse (English has a space every 5-6 characters), starting label regexes at their hint's
position and testing the reply verb on the lower-cased line (regexes on short lines are cheap;
the Python around them is not), one HTML parser reused per thread (0.2 % of the tree's
instructions).
**What holds it back now** (callgrind, instructions a page, measured stage by stage during the
branch): lxml's tree 1.43M (as much as the baseline itself: a floor) and decoding and checks
~0.15M; the line pass 1.2M, a third of it the whitespace collapse (~14 instructions a byte over
22 KB of text), the rest `Line` objects, text decoding and the walk; the label-anchored reading
2.0M, nearly all Python bytecode around short regex and substring tests (by pyinstrument's
shares of `_Page.record`: `_similar` 29 %, `_related` 24 %, `_content` 13 %, `_main_ask` and
`_section_starts` 12 %); label-leak checks 0.55M (five substring scans of ~21 KB of record
text); the page's lower-cased lines and index 0.2M; SHA-256 of the body (0.76M under callgrind,
which does not run SHA-NI; 0.02 ms on the CPU).
**What would move it**: the reading itself in native code (`_similar`, `_related`, `_content`
over per-line flags computed in the line pass: stop, ad, link-only, read-more, header hint),
with `doctorqna.py` kept as its reference; the leak checks on the lines each field is joined
from (their lower-cased texts are already there) instead of on the joined 20 KB.
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
