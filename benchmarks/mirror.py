"""Pre-render a demo site (qa_crawler.demo.site.SampleSite) to disk, in parallel, once.

A mirror is a folder with ``index.json`` (path -> part file, offset, length, status, headers)
and ``part-N.bin`` files holding the bodies back to back. The static server
(:mod:`benchmarks.static_server`) loads it into memory and answers from there, so serving a
page costs a dictionary look-up, not a page rendering. Mirrors are cached under
``output/bench/`` keyed by their parameters (the generator is deterministic).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from qa_crawler.demo import site as site_mod
from qa_crawler.demo.site import SampleSite

FORMAT = 1


def site_paths(site: SampleSite) -> list[str]:
    """Every path the sample site answers that a crawl of it can reach (robots.txt first)."""
    paths = ["/robots.txt", "/", "/en/faq/", "/static/app.css", "/static/logo.png"]
    paths += [f"/en/faq/{slug}" for _, _, slug in site_mod.TOPICS]
    for d, slug in enumerate(site_mod.DEPT_SLUGS):
        n_listed = len(site._dept_listed[d])
        pages = max(1, math.ceil(n_listed / site_mod.PER_PAGE))
        paths.append(f"/en/department/{slug}")
        paths += [f"/en/department/{slug}?page={p}" for p in range(2, pages + 1)]
    paths += [site.article_path(qa_id) for qa_id in site.qa_ids()]
    return paths


def _render_part(args: tuple[int, int, int | None, str, list[str]]) -> dict:
    n_pages, seed, page_kb, part_path, paths = args
    site = SampleSite(n_pages=n_pages, seed=seed, page_kb=page_kb)
    index = {}
    offset = 0
    with open(part_path, "wb") as fh:
        for path in paths:
            status, headers, body = site.render(path)
            fh.write(body)
            index[path] = [Path(part_path).name, offset, len(body), status, headers]
            offset += len(body)
    return index


def mirror_dir(root: Path, n_pages: int, page_kb: int | None, seed: int = 0) -> Path:
    return root / f"mirror-n{n_pages}-kb{page_kb or 'var'}-s{seed}-f{FORMAT}"


def build_mirror(root: Path, n_pages: int, page_kb: int | None, seed: int = 0,
                 workers: int | None = None, log=print) -> tuple[Path, dict]:
    """The mirror folder of SampleSite(n_pages, seed, page_kb), rendered unless cached."""
    out = mirror_dir(root, n_pages, page_kb, seed)
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        meta["cached"] = True
        log(f"  mirror of {n_pages} pages: cached in {out}")
        return out, meta
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    began = time.perf_counter()
    site = SampleSite(n_pages=n_pages, seed=seed, page_kb=page_kb)
    paths = site_paths(site)
    workers = workers or os.cpu_count() or 1
    chunk = math.ceil(len(paths) / (workers * 4))
    tasks = [(n_pages, seed, page_kb, str(out / f"part-{k}.bin"), paths[i:i + chunk])
             for k, i in enumerate(range(0, len(paths), chunk))]
    index: dict = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(_render_part, tasks):
            index.update(part)
    seconds = time.perf_counter() - began
    articles = [p for p in paths if p.startswith("/en/article/")]
    article_bytes = sum(index[p][2] for p in articles)
    meta = {
        "format": FORMAT, "n_pages": n_pages, "page_kb": page_kb, "seed": seed,
        "paths": len(paths), "articles": len(articles),
        "mean_article_bytes": round(article_bytes / max(1, len(articles))),
        "total_bytes": sum(v[2] for v in index.values()),
        "render_seconds": round(seconds, 2), "render_workers": workers,
    }
    (out / "index.json").write_text(json.dumps(index))
    (out / "paths.txt").write_text("\n".join(paths) + "\n")
    meta_path.write_text(json.dumps(meta, indent=2))  # last: a mirror with meta.json is complete
    meta["cached"] = False
    log(f"  mirror of {n_pages} pages: rendered {len(paths)} paths "
        f"({meta['total_bytes'] / 1e6:.0f} MB) in {seconds:.1f}s on {workers} processes")
    return out, meta


def load_mirror(path: Path) -> dict[str, tuple[int, dict, bytes]]:
    """path -> (status, headers, body), all in memory."""
    index = json.loads((path / "index.json").read_text())
    parts: dict[str, bytes] = {}
    pages = {}
    for url_path, (part, offset, length, status, headers) in index.items():
        if part not in parts:
            parts[part] = (path / part).read_bytes()
        pages[url_path] = (status, headers, parts[part][offset:offset + length])
    return pages


def crawlable_paths(path: Path) -> list[str]:
    """The paths a crawl of the site fetches: HTML pages and robots.txt (no static assets)."""
    return [p for p in (path / "paths.txt").read_text().split() if not p.startswith("/static/")]


def article_bodies(path: Path, limit: int | None = None) -> list[tuple[str, bytes]]:
    """(path, body) of the Q&A pages of a mirror, in id order of the generator."""
    pages = load_mirror(path)
    out = [(p, v[2]) for p, v in pages.items() if p.startswith("/en/article/")]
    return out[:limit] if limit else out
