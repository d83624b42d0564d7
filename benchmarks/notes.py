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
**Profile of 2026-12-02** (pyinstrument of the crawler process, 1,000 records, machine shared
with another job): of 15.9 s, the end of the run 4.1 s: the export child 1.5 s, the WARC's
CDXJ index 1.3 s (0.3 s importing cdxj_indexer), and 1.2 s importing the report's charts only
to name report.html (removed since); per page in the crawler, the WARC record about 1 ms
(warcio building it 0.3, gzip and flush 0.4), the spider's parse callback 0.6 ms (routing
links, requests), the store 0.5 ms (half of it the commit). Moved to the page worker since:
the record's JSON text, change key and question signature (the store only writes them).
**What would move it**: the record-from-lines reading compiled; the CDXJ index written as
records are written; batching the store's transactions across pages (durable: a page is
finished only when its batch commits).
""",
    "memory": """
**Where it stands** (2026-12-02): measured as the peak of the crawl's whole process tree (crawl,
page worker, the export child it waits for, and the report process while the crawl is alive),
at 5,000 and 15,000 pages. Per process, sampled every 0.1 s with psutil on the same mirrors
after this session's changes: crawl 228 -> 246 MB, page worker 108 -> 109 MB, export child
350 -> 347 MB, report 356 -> 362 MB; tree peak 539 -> 549 MB (1.02). A benchmark run on a
machine shared with another job measured 545 -> 896 MB once; the per-process probe on the same
mirrors could not reproduce it (see the raw numbers of the next run).
**Done this session**: the near-duplicate groups over one array of signatures (the export child
grew 4-5 KB a row with datasketch's index: 155 -> 199 MB at 5k -> 15k rows, now 156 -> 161);
the signature cache read and written a chunk at a time; the background report started once
the engine has stopped (after the WARC index and the state are closed), and the crawl names it
without importing pandas and matplotlib.
**What would move it**: the report drawn with Arrow instead of pandas; the crawl process's own
growth (about 1.8 KB a page: the seen-ids set, Scrapy's fingerprints).
""",
    "rebuild": """
**What holds it back**: Amdahl's law. `rebuild` parallelises the parse (a process pool, which
now also computes the question signatures); scanning the WARC files, storing every record and
the export run in the main process. Since this session the report is drawn in a process of
its own after the dataset (as after a crawl) and the export is about 4x faster, so the serial
part is smaller.
**What would move it**: the export overlapped with the parse; the store's writes batched.
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
**What holds it back** (pyinstrument and rusage of `export_dataset`, 100,000 records of 7 KB,
2026-12-02, machine shared with another job): 15.3 s of wall, 22.6 s of CPU on 2 cores. The
records are JSON in SQLite: reading them is most of what is left: pyarrow's JSON reader
0.8-0.9 s of CPU per 20,000 records (about 150 MB/s, only 1.4x `json.loads`) and SQLite's
rows 0.5 s; then the files: the qa table is written twice (qa.parquet and the split files),
four CSVs and the checksums; the near-duplicate groups 2.6 s.
**Done this session**: no record is decoded in Python any more: each batch of stored JSON is
read by pyarrow's JSON reader into the qa and flat tables and the card's statistics as columns
(the row-by-row decoding stays as the reference and fallback, tests hold them equal);
question signatures are computed when a record is stored (the page worker, or rebuild's pool)
and kept beside it, so the export reads them and no longer imports datasketch (1.1-1.3 s);
the LSH pairs are checked in bulk and the groups found as connected components in numpy;
Parquet, CSV and split writes of a batch run on 3 threads while the next batch is read.
20,000 records: 16.1 -> 3.2 s; 100,000: 23.2 -> about 15 s on a loaded machine.
**What would move it**: keep the records columnar from the state on (Arrow part files written as
records arrive, so the export is concatenation and casting in pyarrow, with no JSON parse);
write the split files from the same encoded pages as qa.parquet instead of encoding twice.
""",
}


def attach(figures: list[Figure]) -> None:
    """Give every missed figure its note."""
    for figure in figures:
        if figure.met is False and figure.key in NOTES:
            figure.note = NOTES[figure.key]
