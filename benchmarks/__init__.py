"""Benchmarks of qa-crawler: each figure measured next to its baseline in the same run.

``python -m benchmarks`` (``make bench``) generates the pages with the demo site generator,
serves a pre-rendered mirror from a separate process on 127.0.0.1, runs every figure and its
baseline side by side, prints a table and writes ``benchmarks/results.json`` and
``benchmarks/results.md`` (with the machine description). ``--quick`` uses fewer pages.

Modules: ``__main__`` (sizes and order of the run), ``bench_parse``, ``bench_crawl`` (crawl,
memory, rebuild), ``bench_cluster`` (distributed), ``bench_export``; the helpers ``mirror`` and
``static_server`` (the pre-rendered site), ``bare_scrapy`` and ``fetch_aiohttp`` (baselines run
as their own processes), ``measure`` (child processes: wall, CPU, peak RSS), ``calibrate`` (what
a second process can gain right now), ``machine``, ``report`` (table, JSON, Markdown), ``notes``
(what holds missed targets back) and ``profile`` (the profiles behind the notes).
"""

import qa_crawler  # noqa: F401,E402  (first: Arrow's memory pool, as in the command line)
