"""Load a dataset folder in pandas with proper dtypes, reading only the columns and rows asked for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _types_mapper(t: pa.DataType):
    if pa.types.is_int16(t):
        return pd.Int16Dtype()
    if pa.types.is_int32(t):
        return pd.Int32Dtype()
    if pa.types.is_int64(t):
        return pd.Int64Dtype()
    if pa.types.is_string(t):
        return pd.StringDtype()
    return None


def load_dataset(path, columns=None, filters=None) -> pd.DataFrame:
    """The ``qa`` table of a dataset folder as a DataFrame.

    Text columns are pandas strings, ages nullable Int16, dates ``datetime64`` and timestamps
    UTC-aware; ``similar`` and ``related_topics`` hold lists of dicts. ``columns`` and
    ``filters`` (pyarrow's, e.g. ``[("department", "=", "Neurology")]``) are passed down to the
    Parquet reader, so only what is asked for is read.
    """
    folder = Path(path)
    file = folder / "qa.parquet" if folder.is_dir() else folder
    if not file.exists():
        raise FileNotFoundError(f"{folder}: no qa.parquet here; is it a qa-crawler dataset folder?")
    table = pq.read_table(file, columns=columns, filters=filters)
    return table.to_pandas(types_mapper=_types_mapper, date_as_object=False)
