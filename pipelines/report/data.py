"""What the report reads from a dataset folder: the manifest, chart columns (through the project's
own loader), text lengths (measured by pyarrow a row group at a time) and fill rates. Reads only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from qa_crawler import stats as keys
from qa_crawler.load import load_dataset, qa_file
from qa_crawler.record import NESTED

CHART_COLUMNS = {  # what the charts read, and the dtype to give a column the file lacks
    "department": "string", "asked_on": "datetime64[ms]", "answered_on": "datetime64[ms]",
    "asker_age_min": "Int16", "asker_age_max": "Int16", "asker_gender": "string",
}


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_columns(folder: Path, present: set[str], wanted: dict[str, str]) -> pd.DataFrame:
    """The wanted columns of ``qa``; one the file lacks (or that was redacted) comes back empty."""
    df = load_dataset(folder, columns=[c for c in wanted if c in present])
    for name, dtype in wanted.items():
        if name not in present:
            df[name] = pd.Series(pd.NA if dtype != "datetime64[ms]" else pd.NaT,
                                 index=df.index, dtype=dtype)
    return df


def text_lengths(folder: Path, column: str) -> np.ndarray:
    """Character lengths of one text column's non-null cells, counted by Arrow a row group at a
    time: the texts themselves never sit in memory all at once, whatever the dataset's size."""
    lengths = []
    with pq.ParquetFile(qa_file(folder)) as qa:
        for batch in qa.iter_batches(columns=[column], batch_size=256):  # long texts: small batches
            counted = pc.drop_null(pc.utf8_length(batch.column(0)))
            lengths.append(counted.to_numpy(zero_copy_only=False).astype(np.int64))
    return np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)


def fill_rates(folder: Path, manifest: dict, present: list[str]) -> tuple[dict, str]:
    """Share of rows with a value per column: the manifest's, else counted from the file."""
    rates = manifest.get("fill_rates")
    if rates:
        return {c: float(v or 0) for c, v in rates.items()}, "manifest.json"
    rates = {}
    rows = pq.ParquetFile(folder / "qa.parquet").metadata.num_rows
    for name in present:
        values = pq.read_table(folder / "qa.parquet", columns=[name])[name]
        if name in NESTED:  # a list is filled when it has at least one entry
            filled = sum(1 for v in values.to_pylist() if v)
        else:
            filled = len(values) - values.null_count
        rates[name] = filled / rows if rows else 0.0
    return rates, "qa.parquet"



def run_numbers(run: dict) -> dict[str, int]:
    stats = run.get("stats") or {}
    return {
        "pages fetched": int(stats.get(keys.PAGES, 0)),
        "new records": int(stats.get(keys.RECORDS + "new", 0)),
        "changed records": int(stats.get(keys.RECORDS + "changed", 0)),
        "failed pages": int(keys.failures(stats)),
    }

