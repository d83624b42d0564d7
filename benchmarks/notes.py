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
**2026-12-08** (Intel Xeon): 0.16 (ours 1.0 ms a page, lxml 0.162). py-spy over 12 rounds of
800 pages: lxml's tree 15.6 %, the line pass 17.6 %, `_Page.record` 31.8 % (`_similar` 8.8,
`_related` 6.9, `_match_header` 4.2, `_content` 3.7, `_main_ask` 2.8), the leak checks 8.5 %,
`_binary_kind` 2.8 %, head_info 2.2 %, decoding 2 %. Nothing changed in the parser; the
collector's threshold made no difference here (its cost is in the crawler's process).
**2026-12-07, evening** (AMD EPYC, ours 0.735 ms a page against lxml's 0.118 in process,
0.16). Shares by py-spy (500 Hz over 800 mirror pages for 15 s): lxml's tree 15 %, the line pass
18 %, the label-anchored reading 34 % (`_similar` 10, `_related` 7 of which
`_topic_and_department` 3, `_match_header` 4.5, `_content` 4.3, `_main_ask` 2.6), the leak
checks 10 %. The leak checks scan ~19 KB of record text five times (one substring test per
label key and field, 2.6 ns a character with the lower-casing); tried again and taken out: the
fields joined and lower-cased once (slower: a joined text is of the 2-byte kind when any field
holds a non-ASCII character, and str.lower() of a 2-byte text costs 2.7 ns a character against
0.12 for a 1-byte one), and a compiled one-pass key scan without lower-casing (1.8 ns a
character: the branch on every candidate first letter mispredicts; within the noise of the
parse). The profile is flat: no single part of the reading is worth more than a few percent
in Python; the figure needs the reading itself native.
**2026-12-03** (Intel Xeon, 2 cores, uncontended): 0.17 (ours 1,185 pages/s, lxml 6,937); the
parser did not change. Per page in process: ours 0.83 ms, lxml 0.145 ms; 0.25 needs ours at
0.58 ms, i.e. the label-anchored reading about halved (below).
**This session** (new machine): lxml's best round is the most variable number of the run
(4,394-7,707 pages/s between rounds of the same `make bench`; ours 907-1,071), so the ratio
read 0.14-0.17 with the same code. `doctorqna.py` compiled as is with Cython: no gain (see the
crawl note).
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
**2026-12-08, later** (AMD EPYC): 0.82 in `make bench` (ours 474 pages/s, bare Scrapy 577;
by hand, interleaved: bare 9.2-9.5 s, ours 11.4-11.6). What moved, each on interleaved runs:
the start page was read 0.42 s after it came (the log's timestamps: its links reached the
department pages then), because the page worker, started when the spider opened, was still
importing, and its first page imported `qa_crawler.guard` (with it Scrapy, 176 ms) and surt
(61 ms): the worker now starts as `qa-crawler crawl` starts and imports them before the
crawler's first frame: the gap 0.06-0.1 s, the crawl 11.68 -> 11.5 s. Every local crawl's
start imported `qa_crawler.cluster` (redis, scrapy-redis: 68 ms) to learn its politeness
middleware was not configured, and jsonschema (24 ms) for records that mostly never fail:
both now only when needed. The package's bytecode: PYTHONDONTWRITEBYTECODE is set on these
machines (and in many containers), and an editable install has none, so every process compiled
our modules again (0.07 s of each start): `make bench` compiles them first. Where it stands:
per process over a crawl (os.times(), 5,354 pages) the page worker 9.7 s of CPU, the crawler
9.35, the closing export 1.1, and nginx beside them: the two cores ~93 % busy for 11.5 s. The
fetch itself runs at ~510 pages/s from the first second to the last (no tail); the start (to
the spider opened) ~1 s and the end (the closing export of 100 MB of CSV and 15 MB of Parquet
for these 5,000 pages) ~0.8 s are the rest. Reaching bare Scrapy needs about 4 s of CPU less
per crawl across the two processes (the worker's reading, 0.75 ms a page of its 1.8; the
crawler's Scrapy machinery), not more overlap.
**2026-12-08** (Intel Xeon, 2 cores): `make bench` 0.76 (ours 427 pages/s, bare Scrapy 564);
`--only crawl` read 0.66 before this session's changes and 0.70 after the first two, the same
machine within the hour. The CPU of each process over a crawl
(sampled from `os.times()` in each; 5,354 pages): the crawler 14.5 s, the page worker 15.0 s
in the 15.1 s it lived: **the worker was the bottleneck**, a core's worth for the whole fetch.
What moved it, each measured in interleaved rounds (3 pairs or more):
- Python's cyclic garbage collector ran ~1,800 times in the crawler (gen0 0.42 s, gen1 0.47,
  14 full collections 1.02: 1.9 s of its CPU) and collected 12,000 objects; at a first-
  generation threshold of 50,000 (`QA_GC_THRESHOLD`, the `CollectorThreshold` extension) it
  runs 5 times (0.07 s) and still collects the cycles. Crawler 14.5 -> 13.1 s; no change of the
  wall by itself (the worker bound it). The worker's collector cost 0.14 s: left.
- With that room in the crawler, the question's MinHash moved from the worker to the store:
  worker 15.2 -> 13.7 s, crawler 12.5 -> 13.3, crawl 18.0 -> 16.6 s.
- The WARC records' gzip by ISA-L (python-isal, level 2) instead of zlib's level 3: 0.040 ms
  a page against 0.135, the archive 0.5 % larger on the fixtures and 0.4 % smaller on the mirror;
  -0.7 s of the worker's CPU, the crawl -0.4 s.
- The change key's text (json.dumps's bytes, the meaning of every stored key) from orjson's
  indented text with its line breaks taken out: 0.048 ms a record against 0.111 (held equal by
  a property test; floats and what orjson refuses go to json.dumps).
- The worker sends an answer itself when the socket has room (`MSG_DONTWAIT`) and uses its
  sending thread only when the buffer is full: worker 13.1-14.7 -> 12.5-13.8 s, the crawl
  0.3-1.0 s faster.
Where the wall goes now (one crawl, 12.5-16 s): start-up ~1 s, the fetch ~11-13 s (~400-430
pages/s: within a tenth of bare Scrapy's fetch of a URL list), the tail where only a chain of
listing pages is left (`?page=30..34`, one at a time), and the close ~2 s, of which the
closing export 1.37 s (5,000 records, in its own process: 0.2 s of imports, then pandas
imported by pyarrow's `pa.array()` of the page index's Python values, 0.1-0.15 s of a
5,000-record export measured with pandas kept out; 38 such calls in the export's modules).
Measured and not taken: `OPENBLAS_NUM_THREADS=1` (the crawler's BLAS thread showed 0.9 % in
perf; no difference); Arrow's buffered row groups (see the qa.parquet note); Scrapy's Depth, UrlLength
and Referer spider middlewares off (the crawler -0.3 to -1.0 s of CPU, the crawl -0.2 to
-0.7 s in 3 pairs: `-s DEPTH_LIMIT`, the URL-length guard against URL traps and the Referer
header a site sees are Scrapy's behaviour its users count on).
**What would move it**: the close (an export without pandas; the dataset's files from the
parts without the index's Python round trip), then both processes again: the worker's parser
(45 % of it), the crawler's Scrapy machinery (spider middlewares' async generators, 30 %) and
its store (15 %: 24 KB of JSON text a page written to SQLite and to the Arrow parts).
**2026-12-07, evening** (AMD EPYC; bare Scrapy 421-641 pages/s between runs minutes apart,
ours 13.7-26 s a crawl, so only interleaved runs say anything). py-spy over both processes
(200 Hz): the crawler 20.8 s of samples, the page worker 19.7: balanced, each the bottleneck in
turn. Crawler: the store 12-15 % (the commits of 32 pages 4 %: the state holds 24.7 KB a
record, written through the WAL), the worker's answers 3.7 %, the rest Scrapy, Twisted and
asyncio. Worker: the parser 45 %, the WARC archive 16 %, routes 7.3 %, the question signature
6.4 %, the change key 3.8 % (`json.dumps`'s C encoder 2.9 %: stored keys are of its bytes).
- The crawler imported pandas (0.3 s by `-X importtime`): pyarrow does on the first `pa.array()`
  of a Python list, which the columns parts made for their size and digest columns; they are
  made from buffers now (a test holds a state writing parts to a process without pandas).
  Other start-up imports: Scrapy's tldextract 121 ms (its cookies middleware) and aiohttp
  105 ms (its remote control extension: Scrapy loads every key of a components setting to find
  duplicates, so turning the extension off does not spare the import); ours, small and left:
  redis 56 ms (the cluster module, loaded for its politeness middleware when no cluster runs)
  and jsonschema 23 ms (the validator of the error messages).
- Scrapy 2.19's experimental aiohttp download handler, measured: it loads only when the crawl
  starts inside the running event loop (`callLater(0, crawl)`; `callWhenRunning` is too early).
  Bare Scrapy 1.48-1.52 ms of CPU a page against 1.63-1.84 with the default handler; our crawl,
  3 interleaved pairs: 15.6/14.8, 14.9/17.7, 20.7/19.7 s (aiohttp/default): no difference, so
  not taken (it also says it is not for production). Scrapy's reactorless mode
  (`AsyncCrawlerProcess`, `TWISTED_REACTOR_ENABLED=False`, aiohttp handler): bare 1.34-1.86 ms
  a page, the same as the aiohttp handler on the asyncio reactor.
- The closing export's process started with the crawl (its imports made while the crawler
  imports Scrapy, then waiting for the call): the export call 1.16-1.51 -> 0.95-1.32 s over 4
  interleaved pairs, ~0.2 s of a 15-20 s crawl. Not taken: a ~100 MB process held for the
  whole crawl, and its signals and ends to manage, for 1 %.
**2026-12-07, last `make bench`**: 0.72 (ours 331 pages/s, bare Scrapy 462); the same day's
earlier full runs read 0.63 and 0.69. Of the rise from 12-04's 0.57, what was measured directly
is ~0.5 s of a ~17 s crawl (the teardown, the last part before the export); the rest is the
machine's run-to-run spread (bare Scrapy read 430-513 pages/s across these runs).
**2026-12-07** (AMD EPYC, 2 cores; this machine ran slower than on 12-04: the same 5,000-page
crawl took 19-25 s between runs, so single runs say little). Profiled with py-spy (speedscope
output, samples in order, `--idle`), the crawler alone:
- After the crawl's last line of Python, 0.45-0.55 s passed before the process ended: the
  interpreter's teardown freeing a ~250 MB heap object by object, after the summary and the
  dataset. The `qa-crawler` program now ends with `os._exit` once its atexit handlers have run
  and its streams are flushed (`qa_crawler.exits.exit_now`; the ordinary exit where a thread
  other than the main one is still running): 0.03 s. The export child of the crawl's close ends
  the same way once its result is written (its teardown, 50-85 ms, was waited for).
- The last columns part (up to 4 MB of records) was written when the state closed, after the
  export, which read those records from their JSON texts; it is now written before the export.
- Where the crawler's samples go (30.9 s of samples for a 37 s crawl under py-spy): Scrapy's
  downloader and HTTP client 29 %, asyncio 15 %, the scraper 13 %, the store 16 % (SQLite 10.5 %,
  of which the batched commits 3 %; the columns parts 5 %, 0.43 s of it pyarrow importing pandas
  on the first part), the engine 5 %, the answers from the page worker 5 %, the spider 4 %.
  The crawler and the page worker together cost ~5.9 ms of CPU a page against bare Scrapy's
  ~2 ms: parity needs both about halved, not a few percent here and there.
- Measured and not taken: `wal_autocheckpoint` 1,000 -> 10,000 pages (commits 0.11 -> 0.09 ms a
  page, the checkpoint moved to the close); an answer without its `stored` dict (its strings
  are the record's own objects, so pickle shares them: 40.9 -> 40.5 KB, 0.05 ms a page);
  `QA_PARSE_PROCESSES=0` on one core (`taskset`: 39-47 s either way, no difference in the
  noise); the spider middlewares' async generators (0.5 s of `WeakSet.add` in asyncio's
  first-iteration hook) are Scrapy's own.
**2026-12-04, second session** (AMD EPYC, 2 cores; 0.53 -> 0.55-0.64 in `--only crawl` and full
runs, the machine's speed drifting by a fifth between them). Profiled with py-spy over both
processes (`--subprocesses`, 250 Hz; pyinstrument's overhead had tripled the crawl's wall):
- The page worker sat in `sendall` for 15 % of its time: a page's answer is ~45 KB (the record,
  its JSON form and its stored text) and the socket's default buffer, 208 KB, held four, so
  the worker waited whenever the crawler was busy. Both ends now ask for 4 MB (this machine
  allows it, `net.core.wmem_max`), and the worker sends its answers from a thread: interleaved,
  3 rounds, 23.5-26.4 s -> 19.7-21.1 s a crawl (the buffers); with the buffers held at 208 KB,
  18.7-21.3 -> 17.7-19.9 s (the thread). CPU share of the crawl 1.51 -> 1.72-1.77.
- The store committed every page: 1.31-1.43 s of the crawler's ~20 s. It now commits 32 pages
  at a time (or 0.5 s after the first), each page a savepoint, a kill leaving the uncommitted
  pages pending: 0.73 s.
- The worker indexed its WARC file again with cdxj-indexer as it ended (1.2 s of CPU beside the
  closing export); the archive now keeps each file's CDXJ lines as it writes the records (the
  same lines, held to cdxj-indexer's by a test). The crawler imported cdxj-indexer (pyamf,
  pkg_resources: 0.15-0.2 s) to merge pieces it did not have to make; now only to make one.
- Scrapy 2.19's remote control (an aiohttp server per crawl) is off: 0.2 s of each start.
- Tried and dropped: HttpAuth, MetaCopyDetection and Depth middlewares off (-3 % CPU, within
  the noise of 6 interleaved rounds).
**What holds it back now** (py-spy, 5,354 pages): the crawler ~20 s of samples against the
worker's ~17.5: the crawler is the bottleneck again. Of it, the store 14 % (upserts 1.8 s, of
which Arrow parts 1.0 s: the JSON texts parsed into columns in the crawler), the spider 6 %,
answers 3 %, and Scrapy and Twisted the rest. The closing export takes ~2.8 s of a ~17 s crawl
(1.2-1.5 s alone in a fresh process: its first-use costs and page faults in this VM are half of
it); the crawl-ordered parts make its takes gather from every part.
**2026-12-03** (Intel Xeon, 2 cores): 0.54 (286 against 533 pages/s). Measured: the page worker's
stages in process, per page: reading 1.05 ms, validation 0.08, question signature 0.18, stored
text and change key 0.27 -> 0.17 (the text is now orjson's; the change key stays json.dumps's
so stored keys keep their meaning), routes 0.07. The crawl is bound by the CPU of all its
processes together (crawler ~3 ms, worker ~3.6 ms in the crawl, nginx: on 2 cores about the
3.5 ms a page of wall measured); parity with bare Scrapy (~2 ms on one core) needs their sum
near 4 ms. Of the signature, the per-shingle SHA-1 calls are the cost (a shingle sliced from
one encoded text instead of joined: 8 %, not taken).
**Where it stands** (2026-12-02, fourth session, a new uncontended machine, AMD EPYC 2 cores:
read the ratios of one run). Nothing of this session moved the crawl itself; what it measured:
- Per process, 5,354 requests (CPU from /proc): crawler ~15-18 s (2.8-3.4 ms a page), page
  worker ~18-21 s (3.4-3.9 ms), export child 2.6 s; bare Scrapy ~2.2 ms a page in all.
- Run states sampled at ~200 Hz during the fetch phase: worker running 85 % of the time, crawler
  69 %, both at once 54 %. The worker is the bottleneck; cutting it by ~20 % would make the
  crawler one too, so the figure needs both processes much cheaper (about half each).
- The crawl's wall: start-up ~1.3 s, fetch ~22 s, closing export ~2.7 s (in its child; 0.4 s
  of it pyarrow importing pandas, which `pa.array` of Python lists does on first use), exit
  ~0.6 s. The worker indexes its WARC files (cdxj-indexer re-reads them: 5.2 of the worker's
  43 s under cProfile) beside the export and ends ~0.3 s after it: off the critical path.
- Worker (cProfile, 2,000 pages in process): the parser 63 % (`read_page`), the question
  signature 11 %, the stored text and change key 8.5 % (a one-pass encoder measured 0.087 ->
  0.062 ms a record: 0.7 % of the worker, not taken), validation 6 %, routes 6.5 %, the
  answer's pickle 4 %. Crawler (cProfile): Scrapy and Twisted spread thin (deferreds 1.7 s,
  Headers 1.5 s, asyncio 1.3 s, HTTP/1.1 client 0.7 s of ~24 s), SQLite 1.5 s, our spider 0.4 s.
**Tried and dropped**: `doctorqna.py` compiled as it is with Cython 3 (`annotation_typing`
off): 1.148 against 1.166 ms a page, no gain (the time is in short regex and string calls, not
bytecode dispatch); the routes splitting each URL once (Python 3.11's `urlsplit` has its own
cache: 6 % of the routing); Scrapy 2.19's experimental aiohttp download handler (does not load
under our CrawlerProcess, "no running event loop", and says it is not for production);
CONCURRENT_REQUESTS 64 against 32: no difference within the noise.
**What would move it**: the parser's label-anchored reading in native code (see the parse
note: the worker's largest share by far); a leaner Scrapy process (the issue's prototype:
~1 ms a page of Scrapy with unused components off); the store's SQLite writes batched.
""",
    "memory": """
**2026-12-08, later** (AMD EPYC): 1.17 (met; 646 MB against 553). Row groups of 64 MB took
it to 1.22 (741 MB against 608: the export of 50,000 records 519 MB against 385 at 16 MB);
32 MB with jemalloc as Arrow's pool keep the export at 422 MB.
**2026-12-07**: the figure now reads the crawl tree's summed high-water marks (`VmHWM` of each
process alive at a sample, summed; the peak of that over the samples): an upper bound of the
tree's peak that no sample misses, since a mark keeps a process's largest RSS so far. With the
sampled sum of RSS two `--only memory` runs of the same code read 1.18 and 1.19, and the
12-04 run 1.29: the closing export's top, under a second, was caught in some runs and not in
others. Per process at 5,000 / 15,000 pages (every 10 ms, /proc): crawler 268 / 276 MB, page
worker 153 / 158 (it ends before the export's top), export child 432 / 442, report 120 / 126
(it starts after the export ends); the marks' peak 694 / 723 in one run: the crawler's and the
export child's marks together. What grows: the export child ~1 KB a page (the page index, the
signatures, the near-duplicate groups: read whole by design) and the crawler ~0.8 KB a page
(Scrapy's seen fingerprints, the spider's sets): 50,000 pages extrapolate to ~1.19, at the
target. **Open**: the export's index as columns that a batch reads in ranges instead of whole.
Then measured at 50,000 pages instead of extrapolated from 15,000 (`make bench`'s default now):
647 -> 758 MB, 1.17; the same code's extrapolation from 15,000 had read 1.45 in the full run
before (638 -> 702 MB: the small crawl's peak 30-50 MB below other runs', the slope times 4.5).
Per process, the crawler's Python heap (tracemalloc at the crawl's close) grew 2.5 MB from 5,000
to 15,000 pages of the crawler's ~14 MB: the seen sets and Scrapy's fingerprints, and requests
in reference cycles the collector had not reached yet; the rest is native (SQLite, Arrow, the
allocators' fragmentation).
**2026-12-04, second session**: the crawl tree's peak fell from ~820 to ~675 MB at 5,000 pages
(the page worker no longer indexes its WARC file beside the closing export, so it ends before
the export's peak). The first `make bench` after read 1.23 (652 -> 686 MB): sampled every
0.2 s, the export's short peak was missed by ~25 MB at 5,000 pages and caught at 15,000, which
doubled the slope. Sampled every 0.03 s: 674 -> 689 MB (per process: crawler 250 -> 258,
worker 141 -> 147, export 433 -> 434). The benchmark now samples every 0.05 s; its last run
still read 1.29 (654 -> 696 MB): the 5,000-page tree peak is the crawler (~250 MB) and the
export child (~430 MB) at the export's brief top, which the samples catch less often in the
shorter export. **Open**: a figure that does not hang on that coincidence (each process's own
high-water mark from /proc, summed over the processes alive together), and the crawler's own
growth (~0.8 KB a page: Scrapy's fingerprints, the seen sets).
**2026-12-04** (AMD EPYC): the first `make bench` with the export's 16 MB batches and row groups
read 1.24 (tree 848 -> 894 MB). Measured per process (/proc every 50 ms): the export child's
anonymous memory grew with its batches (Arrow's pool in use flat at ~180 MB, the process
372 -> 446 MB from 7 to 21 batches): each file's row group ended at its own size, so the
small files (a split of 10 %, the related topics) held all their rows to the end of a small
export and 16 MB each in a larger one. Now every file's group ends with the qa file's, batches
are 8 MB again (16: 60-80 MB more), and the crawl's closing export runs without pandas (pyarrow
imported it on its first array of Python values only to check for pandas objects: 51 MB of
RSS). Per process at 5,000 / 15,000 pages: crawler 257 / 270 MB, page worker 154 / 156, export
child 440 / 431, report 111 / 112; the tree 846 / 842. The tree's peak is a sum sampled at
instants (the report process starts as the export ends), and reads +-40 MB between runs.
**2026-12-03, later session** (Intel Xeon, 2 cores): the first `make bench` of the columnar
state (Arrow part files, `qa_crawler/columns.py`) read 1.46, missed (tree 963 -> 1,061 MB).
Per process (/proc every 0.1 s, 5,000 -> 15,000 pages): export child 442 -> 509 MB, crawler
342 -> 356, page worker 150 -> 153. The export child's slope was mapped file pages (RssFile
93 -> 146-172 MB): a crawl's parts each hold ids from the whole range, so a batch (a range of
ids) reads a few rows of every part, and the kernel's fault-around maps ~64 KB around each small
column's page read: 55-59 MB a batch of 400 rows at 21 parts, kept until the next batch. The
parts' pages are now let go as soon as the batch's rows are copied: export child 449 -> 447,
the figure 1.02 (met). Its anonymous memory plateaus after ~10 batches (Arrow's pool in use is
flat at 33-64 MB; mimalloc keeps what was freed), so a 5,000-page export is not yet at the
plateau and the linear extrapolation overstates; `release_unused()` after every batch flattened
it (236-242 MB at both sizes) but cost 12 % of the export's time: not taken. The crawl process,
~200 MB without parts, holds pyarrow and up to 16 MB of texts (4x that while a part is made):
338-342 MB, 325 with Arrow's freed memory returned after each part, and growing (313 -> 342
from 5,000 to 15,000 pages: the figure read 1.23 with it); with parts of 4 MB 250 -> 266 and the
tree flat (822 -> 816). The price: 4x the parts, and an export batch of a crawl's interleaved
parts costs ~0.6 ms a part it reads from (15,000 pages: 3.2-3.5 s with 81 parts against
2.9-3.1 with 21), which grows with the crawl: parts compacted into sorted runs would end it.
**Measured wrong before this session**: `wait4`'s `ru_maxrss` counts, on Linux, the pages a child
had at the fork, i.e. the benchmark process's own size: after the 15,000-page mirror was
rendered every crawl and rebuild of the full run read 889.6 MB (memory 2.79 "missed"; the same
crawl measured alone: 659 MB, 1.11). The 889 MB noted above "before the flow control" may have
been this too. `benchmarks/measure.py` now samples the largest process and the tree's sum.
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
**2026-12-08, later** (AMD EPYC): 0.90 (met; 2 vs 1 processes 1.72 against 1.90). The
rebuild's export, serial at its end, is faster (jemalloc, larger row groups, the collector
leaving the rebuild's objects alone), and every process starts without compiling the package.
**2026-12-08** (Intel Xeon): 0.89 in the full `make bench` (2 vs 1 processes 1.68 against a
calibration of 1.86-1.92), 0.92 (met) in `--only rebuild` ten minutes later with the same code
(1.79 against 1.92-1.98): the figure sits at its target, within the run-to-run spread of the
one-process rebuild (573-638 pages/s). Nothing of the rebuild changed this session but the
change key's text (faster in both configurations).
**2026-12-07, evening**: the rebuild's serial tail at 5,000 records is its export, 0.55-0.65 s
warm in one process (1.1 s in a cold one); its imports are paid during the parse (pandas by a
thread since 12-04; the rest, ~10 ms, is not worth it).
**2026-12-07** (AMD EPYC): 0.896 in the last `make bench` (2 vs 1 1.67, the parse phase 1.85,
against a calibration of 1.86-1.87), 0.90-0.94 in `--only rebuild` runs; 0.72 in a run where it
came right after the memory figure's 50,000-page crawl (the writeback and removal of its
gigabytes: the parse phase scaled 1.51), so that crawl now runs last. What holds it at the edge:
the export after the parse (1.5-1.6 s, one process, in both configurations).
**2026-12-04, second session** (AMD EPYC): 0.81-0.85 in `--only rebuild` runs before, 0.91 in
`make bench` after (2 vs 1 1.72 against a calibration of 1.86-1.93). The parse phase scaled
1.60-1.80: the storing process was idle, so the loss was in the workers, whose CPU in the
2-process run was ~17 % above the 1-process run's (pickling ~100 MB of texts back, signing
every question again). Now each worker reads what the states hold (read-only, opened after the
fork) and a record re-parsed to its stored text comes back as its digest, unsigned; the storing
process checks the digest again and re-parses the page itself if the state holds another text
by then. Tasks of 50 pages instead of 200 (the pool's tail: 0.3-0.5 s of a 2-process run).
Parse phase 2 vs 1 in-process: 1.91-2.01. Found on the way: a crawl's records had a
`crawled_at` 1-10 ms off their response's WARC-Date, so the first rebuild after a crawl
rewrote every record; the record now takes the archive's moment.
**What holds it back**: the fixed part (start-up, the closing export: ~1.4 s of a 5.5 s run).
**2026-12-03, later session** (Intel Xeon): 0.87 in both `make bench` runs (2 vs 1 1.73-1.74
against a calibration of 1.98-2.0; the scan, parse and store phase alone 1.93-1.96). What is
left is the closing export (~1.1 s at 5,000 records, paid by both configurations).
**This session** (2026-12-03, Intel Xeon 2 cores, uncontended): measured per phase in the process
(5,353 pages, 5,000 records) before: scan 0.79 s, parse (pool) 8.5 s with 1 process / 4.4 s
with 2, store 1.3 s, export 1.5 s: 2 vs 1 1.50 (0.77 of the calibration). Done: each URL's
newest page is found from the WARC files' CDXJ pieces (`.index/`, made when a crawl ends; a file
without a piece for its size and time is read as before): 0.79 -> 0.02 s. Each chunk of parsed
pages is stored as it arrives, one transaction per state, while the pool parses the next; the
pool also encodes the records (a JSON text crosses the pipe instead of a pickled dict: the
store's share of the main process 1.3 s -> 0.2-0.3 s); the export's imports (pyarrow's first
array imports pandas, 0.2-0.4 s) are made on a thread while the main process waits on the pool.
2 vs 1: 1.50 -> 1.66-1.67 (0.84-0.86 of a 1.95-2.0 calibration); the parse phase alone 1.84.
**What holds it back**: what is left outside the pool: the export, 1.1-1.4 s, which already
uses ~1.5 cores (its write threads) in both configurations, and the process start (0.3 s). With
the export at zero the ratio would read ~0.91: the target needs the export itself faster (see
the export note), not more parallel parsing.
""",
    "distributed": """
**2026-12-07** (AMD EPYC, slower than on 12-04): 1.26 pinned, 0.83 unpinned. `QA_REDIS_IDLE_SECONDS` is
now 1 s (was 10 s; the benchmark had used 2): a request stays in flight until its page is
stored, so an empty frontier with nothing in flight anywhere means nothing is left, except the
links of a page another worker stored a moment ago, which that worker then fetches itself. The
figure barely moved because the workers' CPU, not the wait, bounds it: one worker used 13.8-14.0 s
of CPU for the 1,688 pages, two used 8.9-10.0 s each (18-20 s together, 40 % more for the same
pages): each worker's own start (Python, Scrapy, its page worker: ~0.8 s of CPU to import and
start), its Redis round trips per page and per link (the dupefilter), and the two
sharing nginx's and Redis's cores with the benchmark. **What would move it**: the dupefilter's
checks of a page's links in one pipelined round trip; a start that imports less.
Measured and not taken: asking the seen set about a page's links in one SMISMEMBER before
they are queued (two workers: 470-670 links a worker dropped that way, but one more round trip
on most pages: a round trip costs the client ~80-110 us of CPU here, redis-py's machinery and
two syscalls in this VM, whatever the command; 1.26 -> 1.32 and back within the noise); hiredis
(the parser is not where the time goes: ~10 %). What would pay is fewer round trips: the
enqueue scripts of a page's links sent in one pipeline, which needs the scheduler to take them
as one batch (Scrapy hands it one request at a time).
**2026-12-03, later session** (Intel Xeon): 1.38-1.48 pinned, 0.98-0.99 unpinned. A page lost
in about one run in 12 of the resume test under load was found and mended: a worker whose
heartbeat came late was recovered while alive and unregistered, and what it took afterwards
sat in a hash no one looked at once it was killed. A pop now registers its worker and recovery
checks, requeues and unregisters in one script (one more SADD a pop: no measurable cost).
**2026-12-03** (Intel Xeon): 1.38-1.49 pinned, 0.89-0.93 unpinned in two `make bench` runs. Of a pinned run, ~4 s of the 12.6 s
(one worker) is fixed (start-up ~1.5 s, the 2 s idle stop, the close): the crawls themselves
scale ~1.7x. This session made the after-run checks of a worker judge the whole run (a worker
whose share held only listing pages exited 4, which failed CI): the run's found pages are a
Redis set sent with each page's ack, in the same round trip.
**How it is measured**: each worker pinned to a core of its own (`taskset`), as if each were a
one-core machine: on 2 cores a single unpinned worker already keeps both busy (the crawler and
its page worker), so two unpinned workers only share the same cores (reported beside it).
**Done this session**: two unpinned workers were slower than one (0.68): a worker whose
frontier was empty for a moment (the other held the start page) waited for Scrapy's engine
heartbeat (5 s) before asking Redis again, and every request waiting for one of the cluster's
politeness slots polled Redis 20 times a second (26 scripts in 0.3 s for 4 waiting requests;
the CPU of two workers was 70 % above one's for the same pages). Now an idle worker asks every
`QA_REDIS_POLL_SECONDS` (0.5 s), and a worker's waiting requests queue behind one that polls, a
slot the worker frees going to the next at once: unpinned 0.68 -> 1.01-1.10. One core per
worker measured 1.65 alone and 1.17-1.36 in full `make bench` runs: the one-worker runs swing
most (13.4-21.3 s for the same 1,688 pages; the two-worker runs 9.8-13.2 s), so read it with the
raw runs below.
**What holds it back**: each worker's fixed start-up (Python, Scrapy, the page worker), the idle
stop (`QA_REDIS_IDLE_SECONDS`, 2 s here) and the close, paid by both configurations; and a Redis
round trip per request and per link seen (the dupefilter), made synchronously on the reactor.
**What would move it**: the dupefilter's checks of a page's links in one pipelined round trip.
""",
    "export_parquet": """
**2026-12-08, later** (AMD EPYC): 0.17 in `make bench` (3.9 s against 0.67; the same code in a
fresh process 3.3-3.9 s: the first export after the 50,000-page crawl reads its input from
disk again). Measured in fresh processes, three rounds interleaved each: (1) Arrow's pool: with
mimalloc the export's fresh memory came as huge pages the kernel zeroed (`clear_page_erms`
7 % of its CPU, from `mi_page_free_list_extend`); jemalloc: 3.98-4.07 -> 3.48-3.61 s, peak RSS
620 -> 515-547 MB. It has to be chosen before pyarrow loads (`ARROW_DEFAULT_MEMORY_POOL`, set
by `qa_crawler/__init__.py`): `pa.set_memory_pool` afterwards left the Parquet writer's own
allocations on mimalloc (no gain). (2) The Parquet writers wrote every page and page header
through the hashing file object, a call into Python each (5,166 for qa.parquet): a 1 MB native
buffer makes them a few dozen (qa.parquet's writes -7 % of CPU). (3) Row groups 16 -> 32 MB
and 2 writing threads instead of 3 (16 MB: 3.56-3.66 s; 32: 3.49-3.64; 64: 3.60-4.18 and
530-546 MB). (4) `gc.freeze()` while it runs: in a process that imported Scrapy, Twisted and
aiohttp (117,000 objects) 3.72 -> 3.48-3.50 s. The main thread now waits 1.8 s of 3.6 for the
writing threads, which run both cores: 5.5 s of CPU in all (qa.parquet 0.85, the CSV files
1.5-1.6, the split files ~1, the flat tables, the main thread's takes from the parts 0.45);
0.2 needs ~3.3 s, i.e. about 0.6 s of CPU less in the writes. Measured and not taken: pyarrow's
CSV `batch_size` 1,024 -> 65,536 (0.65 s for qa.csv's 417 MB either way); no dictionaries for
`qa_id` and `url` (files 11 % larger, no faster on these data).
**2026-12-08** (Intel Xeon): 0.11 in `--only export` (7.5 s against pq.write_table's 0.85),
0.14 in the full `make bench` (nothing of the export changed). perf over the
100,000-record export (9.7 s of CPU: user 7.3, sys 2.4): the kernel 21 % (copying 780 MB into
the page cache 6.2 %, zeroing fresh pages 5.9 %: mimalloc's huge pages faulted in as the
dictionary builders grow), libc's memmove 8 %, zstd 8 % (2.7 % of it making a context for
every page), SHA-256 5.3 %, pyarrow's CSV writer 4.6 %, Python 12.7 %, numpy's BLAS threads
1 %. Per file (thread CPU of the writes): qa.parquet 1.53 s, qa-train.parquet 1.18,
qa-validation and qa-test 0.28 each (10 % of the rows in groups of ~230 rows: twice the cost
a row), qa.csv's file writes 0.74 (hash and page cache for 417 MB). The writes run at 1.8
cores: the CPU bounds it. Measured and not taken: mimalloc's purge delay (2 s, never), glibc's
mmap and trim thresholds (within the noise).
**2026-12-07, evening** (AMD EPYC): 0.14 (5.2 s; 4.0-5.6 s in runs minutes apart). Timeline
at 100,000 records: the serial start 0.86-0.99 s (near-duplicate groups 0.38-0.44, the parts'
index 0.09, the page index 0.28-0.32, the first batch 0.11), the writes 2.8-3.9 s on both
cores, the end 0.35 s (failures and manifest 0.2, publish 0.15). CPU: the main thread 2.0-2.2 s,
the writing threads ~6 s: qa.parquet 1.2-1.3, the split files about as much (the same rows
encoded again), the CSVs 2.1-2.9 (qa.csv alone 1.05 s for its 417 MB: pyarrow's CSV writer at
~400 MB/s; the formula escaping 0.08), the flat tables 0.6. The floor on two cores is the CPU
over two: ~4 s; 0.2 needs 3.6 s, so the writes themselves must cost less, not only overlap.
**2026-12-07** (AMD EPYC, slower than on 12-04: pq.write_table 0.78-0.98 s): 0.13, the export
5.9-6.0 s in `make bench`'s process and 6.2-6.5 s in a fresh one. Its timeline (CPU sampled
every 0.25 s, 100,000 records): the serial start 1.48 s on one core (near-duplicate groups 0.55,
the parts' index 0.38, of which 0.2 s pyarrow importing pandas in a fresh process, the page
index 0.37), the writes 4.8 s at 1.85 cores (8.8 s of CPU), the end 0.55 s (failures, changes,
manifest, card, publish). Of the writes' CPU (py-spy, per thread): the Parquet files about a
fifth, the CSVs a fifth, the split files a fifth, the main thread's tables (takes from the parts,
casts) a quarter, and writing the 650 MB of CSV into the page cache the rest: this VM pays for
memory the kernel has not handed out before (650 MB written 1.4 s of sys time into fresh pages,
0.17 s into pages a deleted file gave back), so the same export costs more on a machine whose
memory has not held files before.
Measured and not taken: no dictionary for the three long texts (qa.parquet's writes -5 % of
CPU, 5 rounds interleaved; the nested similar fields must keep theirs: without them +11 % of
bytes); rows combined into one chunk before a row group is encoded (no difference); the split
files cut once per row group from the qa file's own batches instead of batch by batch (4 rounds
interleaved, fresh processes: 5.59 -> 5.80 s, 457 -> 493 MB: the whole group's copy at its end
costs more than the parts held); row groups of 32 MB instead of 16 (5.83 -> 5.53 s, 8.8 -> 8.3 s
of CPU, but 457 -> 497 MB: not worth 40 MB of every export's peak).
**2026-12-04, `make bench`**: 0.14 (the export 5.3 s, best of 2 turns, against pq.write_table's
0.74); the same code alone (`--only export`, minutes later) 4.5-4.7 s against 0.68-0.72 (0.15),
and 3.9-4.6 s in a fresh process: the benchmark process, after the crawls, is slower at it.
**2026-12-04** (AMD EPYC, 2 cores; this machine's speed drifted by a third within minutes, so
every choice below was made on interleaved runs, three rounds or more, and the figure now takes
the best of `repeats` turns of the export and of its baseline): 100,000 records 6.3-7.2 s ->
3.9-4.6 s against pq.write_table's 0.71-0.77 s (0.11-0.12 -> 0.16-0.19 in single runs).
What the profile showed first (pyinstrument of the main thread, CPU of each writing thread):
main 2.8 s, writers 5.6 s (Parquet 3.6 of which the split files 1.9, CSV 1.6, sha256 0.5), 1.45
of the 2 cores used: (1) a barrier per batch (every write of a batch ended before the next
started); (2) the state's rows read one by one beside the writing threads: SQLite lets go of
the GIL at every row, and 100,000 rows that take 0.23 s alone took 0.93 s beside two threads;
(3) row groups of 4 MB (570 rows of 7 KB) cost the qa table 1.38 s of CPU against 0.74 for
pq.write_table's single group, and min/max statistics of the free texts 20 % of the encoding;
(4) the near-duplicate pass (1.26 s), serial before any write, walked every page in Python;
(5) the sha256 pass and the fsyncs (0.5 + 0.3-0.4 s) after the last write.
**Done**: each file's writes in order on 3 shared threads, no barrier (`_Writes`); the page
index (history, digests) read whole as columns before the writes start, batches cut and found
in the parts with numpy; row groups of 16 MB ending together in every file (ending at each
file's own size made the small files hold their rows to the end: memory that grew with the
crawl); no statistics for the free texts and lists; the signatures read in bulk, joined by
chunks; split and dup_cluster derived once for the whole index; a part the batch takes many
rows of is sliced, slices in order joined instead of gathered; each data file hashed as it is
written and its writeback started every 8 MB (`HashedFile`). Compression costs nothing here
(zstd 0.90 s, none 0.88): the Parquet cost is encoding, the nested `similar` column the most.
**Tried and dropped**: the near-duplicate pass on a thread beside the index reads (slower:
both let go of the GIL at every row); one thread per file (7: 20 % more CPU); batches of 16 MB
(within the noise, 60-80 MB more peak); views of the parts instead of one copy a batch (-0.2 s
of CPU, within the noise, and the views' pages count in the export's memory); Arrow's system
allocator (the export's peak 239 MB flat, but 50 % slower) and mimalloc's eager purge
(`MIMALLOC_PURGE_DELAY=0`: 100 MB less, 20-30 % more CPU, pq.write_table's too).
**What holds it back**: the writers' CPU, ~5 s on two cores: the split files encode the qa
rows a second time (1.3-1.8 s; they came after the issue's floor of 0.23x, which counted 3
Parquet files, 3 CSVs and the checksums); pyarrow's CSV writer formats a timestamp with a time
zone at ~1.1 us (0.42 s of qa.csv's 1.05 s, three columns), while a naive timestamp formats 30x
faster, but as text it would be written quoted, unlike the other non-text columns: the CSV's
bytes would change, not taken; the serial start (groups, parts, index: ~0.65 s, one core idle).
**2026-12-03, later session** (Intel Xeon, 2 cores): 0.13-0.14 in two `make bench` runs (0.09
in the run before the columnar state). The records are taken from Arrow part files written as
they are stored (no JSON parse for them); what is left, measured on AMD EPYC in the session
that built it (100,000 records, 6.5-8 s of wall, 9.3-11 s of CPU): the CSVs 4.2 s of CPU
(pyarrow's writer 1.1 s of it for qa), the Parquet files 4.4 s (the split files encode the qa
rows a second time), the main thread ~5 s (near-duplicate groups 1.0, building the tables 1.6,
the state's rows 0.7), checksums 0.4. Parquet options measured on the benchmark's qa table
(CPU of one `pq.write_table`): zstd 0.92 s; without dictionaries 1.03; dictionaries only on the
low-cardinality columns 1.07; no statistics 1.01; zstd level 1 1.04: none is cheaper, so the
writer keeps pyarrow's defaults with zstd (the benchmark's records repeat every 10,000, which
dictionaries find). **What would move it**: the split files from the same encoded pages as
qa.parquet, and one pass over the rows for both CSV and Parquet.
**2026-12-03** (Intel Xeon): 0.10 (9.1 s against pq.write_table's 0.9 s). cProfile of the 100,000-record
export: pyarrow's JSON reader (`columnar`) 2.8 s, the state's rows from SQLite 1.7 s, the
signatures 0.8 s and the near-duplicate groups 0.75 s, `changes_since` 0.4 s, fsyncs 0.3 s.
**This session** (100,000 records, uncontended machine): 11-13 s of wall, 17-19 s of CPU: CPU-bound
on 2 cores. Reading the state's rows on a thread one batch ahead of pyarrow's JSON parse (both
off the GIL) made it slower (12.5 s against 11.1-11.6, interleaved): the three write threads
already keep both cores busy; dropped. `columnar` (pyarrow's JSON reader) is 4.3 s of the
main thread, the SQLite rows 2.0 s, the near-duplicate groups 1.7 s, `changes_since` 0.8 s.
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
    "export_qa_parquet": """
**2026-12-08, later** (AMD EPYC): 0.79 in `make bench`, 0.81 in `--only export` minutes
before (pq.write_table 0.67-0.70 s of CPU, the qa file's writes 0.84-0.88): at the target.
Alone, outside the export (the benchmark's table, best of 3): groups of 16 MB 0.88 s, 32 MB
0.78-0.81, 64 MB 0.74-0.76, one group 0.66 (jemalloc); in the export 0.85-0.86 at 32 MB,
0.81-0.82 at 64. The rest is the other writing thread on the second core (the CSV and split
files' writes of the same batch). 64 MB would meet it, at 100 MB more of the export's peak and
the memory figure over its target (1.22).
**2026-12-08** (Intel Xeon): Arrow's buffered row group (`FileWriter::NewBufferedRowGroup` and
`WriteRecordBatch`, which pyarrow does not expose) built as a small Cython extension against
pyarrow 26's declarations and measured on the benchmark's qa table (100,000 rows, 613 MB), CPU
of the writes alone, best of 3: one `pq.write_table` 0.82 s, the export's row groups (29 of
16 MB) 1.09; buffered, the export's batches of 1,100 rows: 1.17 s in groups of 16 MB,
1.20-1.26 in groups of 64-128 MB, 1.30 as one group; batches of 10,000 rows 0.93, the table as
one batch 0.88. Each batch written costs ~3 ms more than in a whole table (every column writer
is visited per batch), more than the groups' restarts: not taken, the extension removed. No
dictionaries for the three long texts: 1.13 vs 1.11 s, the file 11 % larger: no. In the
export the qa.parquet writes cost 1.53 s of their thread's CPU against 1.09 alone: 5,166
writes through the hashing file (0.115 s of CPU, 0.59 s of wall waiting for the GIL) and three
writing threads on two cores.
**2026-12-07, evening**: where the row groups' cost is, column by column (100,000 rows, 3,500
a group against one group, alone): `similar` (list of structs, 180 MB) +57 ms of 236,
`more_info` +24 of 179, `title` +10 of 4, `question`, `answer`, `subject` +7.5 each, every small
column ~1-4 ms: +0.17 s in all. Writer options tried at 3,500 rows a group, none faster beyond
the noise: dictionaries only for the low-cardinality columns (46.3 MB against 43.3, no less
CPU: without dictionaries zstd has more to compress), `write_batch_size` 8,192 and 65,536,
`data_page_size` 4 MB, `dictionary_pagesize_limit` 64 and 256 KB, zstd level 1 and 3, data
page v1, no page index. Chunked input (batches of 8 chunks) against contiguous: within the noise.
**2026-12-07** (first measured): 0.59 (the export's qa.parquet writes 1.27 s of CPU against
pq.write_table's 0.75 for the same 100,000 rows). Alone, outside the export (best of 3): one row
group 0.71-0.74 s, the export's groups of 16 MB (38 of them) 0.95-1.03: each group's column
chunks start their dictionaries, pages and statistics again; the rest is the export's threads
sharing two cores (a thread's CPU time grows when three run on two cores). Larger groups cost
memory (the groups of every file are buffered together, ~16 MB each); pyarrow does not expose
the Parquet writer's buffered row group (`WriteRecordBatch`), which would encode rows as they
come and hold only encoded pages. **What would move it**: that writer (a small extension, or a
pyarrow that exposes it), then groups of 64 MB and more for less memory than now.
""",
}


def attach(figures: list[Figure]) -> None:
    """Give every missed figure its note."""
    for figure in figures:
        if figure.met is False and figure.key in NOTES:
            figure.note = NOTES[figure.key]
