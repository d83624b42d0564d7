"""Load a dataset folder in pandas with proper dtypes, reading only the columns and rows wanted."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def _types_mapper(t: pa.DataType):
    if pa.types.is_int16(t):
        return pd.Int16Dtype()
    if pa.types.is_int32(t):
        return pd.Int32Dtype()
    if pa.types.is_int64(t):
        return pd.Int64Dtype()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype()
    return None


# The tables of a dataset folder, each a Parquet file of that name.
TABLES = ("qa", "similar", "related_topics", "failures")


def qa_file(path, filesystem: pafs.FileSystem | None = None, table: str = "qa") -> str:
    """The path of ``qa.parquet`` (or another table's file) for a dataset folder (or the file
    itself when given one); FileNotFoundError naming the folder or the file when there is none."""
    if table not in TABLES:
        raise ValueError(f"no table {table!r}; the tables are {', '.join(TABLES)}")
    if filesystem is None:
        folder = Path(path)
        if not folder.exists():
            raise FileNotFoundError(f"{folder}: no such dataset folder")
        file = folder / f"{table}.parquet" if folder.is_dir() else folder
        if not file.is_file():
            raise FileNotFoundError(
                f"{file}: not found; is {folder} a qa-crawler dataset folder? (qa-crawler "
                "export writes it)")
        return str(file)
    path = str(path).rstrip("/")
    if filesystem.get_file_info(path).type == pafs.FileType.Directory:
        path = f"{path}/{table}.parquet"
    if filesystem.get_file_info(path).type != pafs.FileType.File:
        raise FileNotFoundError(f"{path}: no {table}.parquet here; is it a qa-crawler dataset "
                                "folder?")
    return path


def load_dataset(path: str | os.PathLike, columns=None, filters=None, *,
                 filesystem: pafs.FileSystem | None = None, table: str = "qa") -> pd.DataFrame:
    """The ``qa`` table of a dataset folder as a DataFrame, or another of its tables
    (``table="similar"``, ``"related_topics"``, ``"failures"``: one row per entry, keyed by
    ``qa_id`` with a ``rank``, or per URL that failed).

    Text columns are pandas strings, ages nullable Int16, dates ``datetime64`` and timestamps
    UTC-aware; ``similar`` and ``related_topics`` hold lists of dicts.

    ``columns`` (names) and ``filters`` are handed to pyarrow's Parquet scanner, so only what is
    asked for is read: columns not named are never decoded, and row groups whose min/max
    statistics cannot match the filter are skipped without being read (rows are written in
    ``qa_id`` order, so ``qa_id`` ranges skip the most). ``filters`` takes pyarrow's DNF form,
    ``[("department", "=", "Neurology"), ("asked_on", ">=", datetime.date(2020, 1, 1))]`` (AND)
    or a list of such lists (OR), or a ``pyarrow.compute`` expression such as
    ``pc.field("department").isin(["Neurology", "Urology"])``. A filter may use a column that
    ``columns`` leaves out. ``filesystem`` (a ``pyarrow.fs`` filesystem, e.g. S3) reads a folder
    that is not on the local disk.
    """
    file = qa_file(path, filesystem, table)
    columns = None if columns is None else list(columns)
    if isinstance(filters, list) and not filters:
        filters = None
    try:
        table = pq.read_table(file, columns=columns, filters=filters, filesystem=filesystem)
    except pa.ArrowInvalid:
        names = pq.read_schema(file, filesystem=filesystem).names
        missing = [c for c in columns or () if c not in names]
        if not missing:
            raise
        raise ValueError(f"{file}: no column(s) {', '.join(map(repr, missing))}; "
                         f"the columns are {', '.join(names)}") from None
    return table.to_pandas(types_mapper=_types_mapper, date_as_object=False)
