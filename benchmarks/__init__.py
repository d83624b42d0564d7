"""Benchmarks of qa-crawler: each figure measured next to its baseline in the same run.

``python -m benchmarks`` (``make bench``) generates the pages with the demo site generator,
serves a pre-rendered mirror from a separate process on 127.0.0.1, runs every figure and its
baseline side by side, prints a table and writes ``benchmarks/results.json`` and
``benchmarks/results.md`` (with the machine description). ``--quick`` uses fewer pages.
"""
