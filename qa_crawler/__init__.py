"""qa-crawler: crawl doctorqna.com Q&A pages and export them as a documented dataset."""

from __future__ import annotations

import os as _os

# Arrow's memory pool: jemalloc, unless the user chose one. Arrow reads the variable when it
# first allocates, so it is set here, before anything of ours imports pyarrow (pipelines and
# benchmarks import this package first); child processes inherit it. Measured on 2026-12-08
# (AMD EPYC, the benchmark's export of 100,000 records, fresh processes, interleaved): with
# mimalloc, pyarrow's default, the export's fresh memory came as huge pages the kernel had to
# zero (clear_page_erms 7 % of its CPU, from mi_page_free_list_extend); jemalloc reuses what
# was given back: 5.7-5.9 s of CPU against 6.4-7.0, a peak RSS 80-100 MB lower at the same row
# groups, pq.write_table itself 2 % faster. Set through pyarrow.set_memory_pool instead, after
# the import, it left Arrow's own allocations (the Parquet writer's) on mimalloc: no gain.
# Only where the installed pyarrow has jemalloc (Windows' has not): Arrow warns of a pool it
# lacks on every process's first allocation.


def _arrow_has_jemalloc() -> bool:
    """Whether the installed pyarrow was built with jemalloc, as its configuration header says
    (read without importing pyarrow); False where that header is not installed."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pyarrow")
    for base in (spec.submodule_search_locations or []) if spec else []:
        try:
            config = (Path(base) / "include" / "arrow" / "util" / "config.h").read_text()
        except OSError:
            continue
        return "#define ARROW_JEMALLOC\n" in config
    return False


if "ARROW_DEFAULT_MEMORY_POOL" not in _os.environ and _arrow_has_jemalloc():
    _os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"

__version__ = "0.1.0"

__all__ = ["__version__", "load_dataset"]


def load_dataset(path, columns=None, filters=None, table="qa"):
    """Load the ``qa`` table of a dataset folder (or ``table="similar"``, ``"related_topics"``,
    ``"failures"``) as a pandas DataFrame (see :mod:`qa_crawler.load`)."""
    from qa_crawler.load import load_dataset as _load

    return _load(path, columns=columns, filters=filters, table=table)
