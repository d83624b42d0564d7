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
**Where it stands** (2026-12-02, third session of the day; the host's CPU contended all session:
the same in-process worker loop measured 2.95 ms a page at 19:40 and 3.7-3.9 ms at 20:05, so
read only the ratios of one run). Changes of this session: (1) Scrapy's MetaRefreshMiddleware
decoded every page (`response.text`) to look for a meta refresh: 0.4 ms a page in the
crawler's cProfile; ours passes a page whose first 16 KB (4,096 characters' worth) cannot hold
one (`may_refresh`) without decoding it; (2) Scrapy's stats collector wraps its methods on
every lookup to warn of a deprecated `spider` argument: ~40 lookups a page, the most own time of
any Scrapy function; `STATS_CLASS` is now ours without it; (3) the page worker writes the WARC
(the middleware hands it each response and leaves a ticket; the worker indexes its files as it
ends, in parallel with the closing export) and has flow control (past 4 MB of frames waiting the
crawler waits: without it a crawler ahead of its worker buffered responses, the 15,000-page
tree reached 889 MB); (4) in the worker, the record's JSON form without `dataclasses.asdict`
(0.65 ms -> ~0.1 ms a record under cProfile) and link routes cached (0.53 ms -> ~0.05).
**What the A/B runs showed** (5,000 pages, interleaved, /proc CPU per process): the session's
first commit against the last: wall 39.7 / 43.5 s against 40.2 / 39.8 s; the crawler's CPU
30.6-32.8 -> 23.5-23.9 s, the worker's 27.1-29.5 -> 32.3-32.6 s. The two cores are full either
way: moving work from one process to the other does not shorten the crawl (also tried: the
store's values made by the worker only while no frame waited, else by the store: with 32 pages
in flight a frame nearly always waits, and the crawl ran 25 % slower; and all of them in the
store: no difference within the noise). Only less CPU in total moves the figure: about 10.8 ms
a page now over both processes, against bare Scrapy's ~3 ms.
**Where the CPU goes** (cProfile of the crawler, 2,083 pages, before this session's changes;
worker loop in process, 1,000 pages, after): crawler: Scrapy and Twisted themselves (engine,
downloader, headers, signals: 7.1 + 3.7 s of 37 s under the profiler), the spider's callback
(links to requests, 0.7 ms a page), the store (0.6 ms, a third the commit); worker: the parser
2.7 of 4.8 s, WARC 0.9 (warcio building the record and its two digests, gzip), the signature
0.46, the stored text and change key 0.39 (two `json.dumps`), validation 0.26.
**What would move it**: the parser's label-anchored reading compiled (see the parse note), the
CDXJ lines made as the worker writes each record (no re-read at the end), the store's
transactions batched (a page finished only when its batch commits), fewer Scrapy components
per page (each downloader middleware and signal costs on every response).
""",
    "memory": """
**Where it stands** (2026-12-02): the peak of the crawl's whole process tree (crawl, page worker,
export child; the report process while the crawl is alive), at 5,000 and 15,000 pages. Since
the page worker writes the WARC it stays alive during the closing export (indexing its files),
so the tree holds the worker's ~140 MB beside the export child's ~350 MB: a constant, not a
slope. Per process on the same mirrors (/proc every 0.1 s, after the flow control): crawler
162-169 MB at 5k, 169-179 at 15k; worker 139 -> 155-156; export child 338-344 -> 351-355.
A run before the flow control measured the tree at 653 -> 889 MB: the crawler buffered the
responses its slower worker had not read.
**What would move it**: the report drawn with Arrow instead of pandas; the crawl process's own
growth (the seen-ids set, Scrapy's fingerprints).
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
