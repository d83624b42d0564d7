"""Figure 1, parse: our full parser against ``lxml.html.fromstring`` alone, same pages, one core.

Both run in this process on the same Q&A pages of the mirror, in alternating rounds; each side's
best round counts (the least disturbed by whatever else the machine does). A breakdown of our
parser's time (decode + lxml, visual lines, the rest) goes into the details.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

from benchmarks.mirror import article_bodies
from benchmarks.report import Figure, Measure
from qa_crawler.parsers import reader
from qa_crawler.parsers.doctorqna import decode, parse_page
from qa_crawler.parsers.reader import parse_html, read_lines

TARGET = 0.25  # the target; its stretch is 0.5
CONTENT_TYPE = "text/html; charset=utf-8"  # what the mirror serves


def sample_pages(mirror: Path, n: int) -> list[tuple[str, bytes]]:
    """``n`` Q&A pages spread evenly over the mirror (so every page template is in)."""
    pages = article_bodies(mirror)
    step = max(1, len(pages) // n)
    return [(f"https://doctorqna.com{path}", body) for path, body in pages[::step][:n]]


def _seconds(fn: Callable[[bytes, str], object], pages: list[tuple[str, bytes]]) -> float:
    began = time.perf_counter()
    for url, body in pages:
        fn(body, url)
    return time.perf_counter() - began


def _lxml_only(body: bytes, url: str):
    return lxml.html.fromstring(body)


def _ours(body: bytes, url: str):
    return parse_page(body, url, content_type=CONTENT_TYPE)


def _breakdown(pages: list[tuple[str, bytes]]) -> dict[str, float]:
    """Milliseconds per page in the parser's stages (decode and lxml tree; visual lines)."""
    tree = lines = 0.0
    for url, body in pages:
        t0 = time.perf_counter()
        root = parse_html(decode(body, CONTENT_TYPE))  # the parser's own first two steps
        t1 = time.perf_counter()
        read_lines(root, url)
        t2 = time.perf_counter()
        tree += t1 - t0
        lines += t2 - t1
    n = len(pages)
    return {"lxml_tree_ms": round(tree / n * 1e3, 3), "visual_lines_ms": round(lines / n * 1e3, 3)}


def run(mirror: Path, n_pages: int, rounds: int, log=print) -> Figure:
    pages = sample_pages(mirror, n_pages)
    for url, body in pages[:20]:  # warm up (imports, regex caches, allocator)
        _ours(body, url)
        _lxml_only(body, url)
    base_runs, our_runs = [], []
    for r in range(rounds):
        base_runs.append(_seconds(_lxml_only, pages))
        our_runs.append(_seconds(_ours, pages))
        log(f"  round {r + 1}/{rounds}: lxml {len(pages) / base_runs[-1]:,.0f} pages/s, "
            f"parse_page {len(pages) / our_runs[-1]:,.0f} pages/s")
    base = len(pages) / min(base_runs)
    ours = len(pages) / min(our_runs)
    total_ms = min(our_runs) / len(pages) * 1e3
    stages = _breakdown(pages)
    stages["records_from_lines_ms"] = round(
        total_ms - stages["lxml_tree_ms"] - stages["visual_lines_ms"], 3)
    return Figure(
        key="parse", title="Parse (1 core)",
        ours=Measure("parse_page", ours, "pages/s"),
        baseline=Measure("lxml.html.fromstring", base, "pages/s"),
        ratio=ours / base, target=TARGET,
        details={"pages": len(pages), "mean_bytes": round(sum(len(b) for _, b in pages)
                                                          / len(pages)),
                 "rounds_seconds": {"lxml": [round(x, 3) for x in base_runs],
                                    "parse_page": [round(x, 3) for x in our_runs]},
                 "parse_page_ms_per_page": round(total_ms, 3), "stages": stages,
                 # which line pass parse_page used: the compiled one, or the Python reference
                 # (the package was installed without its extension built)
                 "line_pass": "native" if reader._native is not None else "python reference"},
    )
