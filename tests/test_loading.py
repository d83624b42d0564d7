"""The dataset folder opens as is in Hugging Face `datasets`, polars, DuckDB and pyarrow, and
`load_dataset(DIR, columns=, filters=)` reads only what it is asked for."""

from __future__ import annotations

import datetime as dt
import socket

import duckdb
import fsspec
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import qa_crawler
from qa_crawler.load import load_dataset
from tests.sample_dataset import build_sample_dataset

N_PAGES = 80
ROW_GROUP_ROWS = 10  # a row group every 10 rows: the shape of a large crawl, in miniature


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("loading")
    manifest = build_sample_dataset(out, N_PAGES, batch_rows=ROW_GROUP_ROWS)
    assert manifest["rows"]["qa"] == N_PAGES
    return out


@pytest.fixture(scope="module")
def expected(folder):
    """Ground truth straight from pyarrow, to compare every reader with."""
    qa = pq.read_table(folder / "qa.parquet")
    return {
        "rows": qa.num_rows,
        "similar_rows": pq.read_metadata(folder / "similar.parquet").num_rows,
        "departments": pc.value_counts(qa["department"]).to_pylist(),
        "first": qa.slice(0, 1).to_pylist()[0],
    }


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(self, address, *args):
        raise AssertionError(f"network access attempted: {address!r}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))


# ----- Hugging Face datasets ---------------------------------------------------------------------

@pytest.fixture
def hf_datasets(monkeypatch, tmp_path, no_network):
    """`datasets`, offline, with every cache under tmp_path (nothing in ~/.cache)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    import datasets
    import huggingface_hub.constants

    # The settings are read when the modules are first imported; also set them in case they were.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_CACHE_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf" / "datasets")
    monkeypatch.setattr(datasets.config, "HF_MODULES_CACHE", tmp_path / "hf" / "modules")
    datasets.disable_progress_bars()
    return datasets


def test_hugging_face_datasets_reads_qa_parquet_as_is(folder, expected, hf_datasets, tmp_path):
    cache = tmp_path / "hf-cache"
    ds = hf_datasets.load_dataset("parquet", data_files=str(folder / "qa.parquet"),
                                  split="train", cache_dir=str(cache))
    assert ds.num_rows == expected["rows"]
    assert {"qa_id", "department", "asked_on", "similar", "related_topics"} <= set(ds.column_names)
    # dates stay dates, nested lists stay lists of structs
    assert ds.features["asked_on"].dtype == "date32"
    first = ds[0]
    assert first["qa_id"] == expected["first"]["qa_id"]
    assert first["asked_on"] == expected["first"]["asked_on"]
    assert isinstance(first["asked_on"], dt.date)
    assert first["similar"] == expected["first"]["similar"]
    assert set(first["similar"][0]) >= {"qa_id", "url", "title", "department"}
    assert sum(len(s) for s in ds["similar"]) == expected["similar_rows"]
    # everything it wrote is in the cache we gave it
    assert cache.is_dir() and any(cache.rglob("*.arrow"))


def test_hugging_face_datasets_reads_the_flat_tables_one_by_one(folder, hf_datasets, tmp_path):
    # Each table has its own columns, so each is its own load_dataset call (one call with
    # data_files={"qa": ..., "similar": ...} would try to cast every file to qa's features).
    for name in ("similar", "related_topics"):
        file = folder / f"{name}.parquet"
        table = hf_datasets.load_dataset("parquet", data_files=str(file), split="train",
                                         cache_dir=str(tmp_path / "c"))
        assert table.num_rows == pq.read_metadata(file).num_rows
        assert table.column_names[:2] == ["qa_id", "rank"]


# ----- polars -----------------------------------------------------------------------------------

def test_polars_reads_the_folder_as_is(folder, expected):
    qa = pl.read_parquet(folder / "qa.parquet")
    assert qa.height == expected["rows"]
    assert qa.schema["asked_on"] == pl.Date
    assert qa.schema["crawled_at"] == pl.Datetime("us", "UTC")
    assert qa.schema["asker_age_min"] == pl.Int16
    similar_type = qa.schema["similar"]
    assert isinstance(similar_type, pl.List) and isinstance(similar_type.inner, pl.Struct)
    assert {f.name for f in similar_type.inner.fields} >= {"qa_id", "url", "title", "department"}
    # the nested column and the flat table say the same
    exploded = qa.select("similar").explode("similar").drop_nulls("similar").unnest("similar")
    assert exploded.height == expected["similar_rows"]
    flat = pl.read_parquet(folder / "similar.parquet")
    assert flat.height == expected["similar_rows"]
    assert (exploded.get_column("url").sort().to_list()
            == flat.get_column("similar_url").sort().to_list())
    assert pl.read_parquet(folder / "related_topics.parquet").schema["rank"].is_integer()


def test_polars_scan_pushes_down_projection_and_filter(folder, expected):
    lazy = (pl.scan_parquet(folder / "qa.parquet")
            .filter(pl.col("department") == "Neurology")
            .select("qa_id", "department", "similar"))
    # the optimised plan is a single Parquet scan that reads 3 columns and applies the filter
    plan = lazy.explain()
    assert "FILTER" not in plan and "SELECTION:" in plan and "PROJECT 3/" in plan, plan
    got = lazy.collect()
    want = {d["values"]: d["counts"] for d in expected["departments"]}["Neurology"]
    assert got.height == want and got.columns == ["qa_id", "department", "similar"]
    assert got.get_column("similar").list.len().sum() > 0


# ----- DuckDB -----------------------------------------------------------------------------------

def test_duckdb_reads_nested_and_flat_tables(folder, expected):
    con = duckdb.connect()
    qa = str(folder / "qa.parquet")
    similar = str(folder / "similar.parquet")
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [qa]).fetchone()[0]
    assert rows == expected["rows"]
    types = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                             "read_parquet(?))", [qa]).fetchall())
    assert types["asked_on"] == "DATE" and types["similar"].startswith("STRUCT(")
    # "similar" is an SQL keyword (SIMILAR TO): quote it
    unnested = con.execute('SELECT count(*) FROM (SELECT unnest("similar") FROM read_parquet(?))',
                           [qa]).fetchone()[0]
    assert unnested == expected["similar_rows"]
    joined = con.execute(
        "SELECT count(*) FROM read_parquet(?) q JOIN read_parquet(?) s USING (qa_id)",
        [qa, similar]).fetchone()[0]
    assert joined == expected["similar_rows"]


# ----- qa_crawler.load_dataset -------------------------------------------------------------------

class CountingHandler(pafs.FSSpecHandler):
    """The local disk, counting every byte pyarrow reads from it."""

    def __init__(self):
        super().__init__(fsspec.filesystem("file"))
        self.bytes_read = 0
        self.opened = []

    def open_input_file(self, path):
        fh = open(path, "rb")  # noqa: SIM115 - closed by close(), after pyarrow is done
        self.opened.append(fh)
        return pa.PythonFile(_CountingFile(fh, self), mode="r")

    def close(self):
        for fh in self.opened:
            fh.close()


class _CountingFile:
    def __init__(self, fh, handler):
        self._fh, self._handler = fh, handler

    def read(self, n=-1):
        data = self._fh.read(n)
        self._handler.bytes_read += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self._fh, name)


def bytes_read(folder, **kwargs) -> tuple[int, object]:
    handler = CountingHandler()
    try:
        df = load_dataset(str(folder), filesystem=pafs.PyFileSystem(handler), **kwargs)
    finally:
        handler.close()
    return handler.bytes_read, df


def test_load_dataset_returns_only_the_columns_asked_for(folder, expected):
    df = qa_crawler.load_dataset(folder, columns=["qa_id", "asked_on", "similar"])
    assert list(df.columns) == ["qa_id", "asked_on", "similar"]
    assert len(df) == expected["rows"]
    assert str(df["asked_on"].dtype).startswith("datetime64")
    assert isinstance(df["similar"].iloc[0][0], dict)


def test_load_dataset_filters_rows_even_on_columns_it_does_not_return(folder, expected):
    counts = {d["values"]: d["counts"] for d in expected["departments"]}
    df = qa_crawler.load_dataset(folder, columns=["qa_id"],
                                 filters=[("department", "=", "Neurology")])
    assert list(df.columns) == ["qa_id"] and len(df) == counts["Neurology"] < expected["rows"]
    # OR of ANDs, dates, and pyarrow expressions
    either = qa_crawler.load_dataset(folder, columns=["department"], filters=[
        [("department", "=", "Neurology")], [("department", "=", "Urology")]])
    assert counts["Urology"] > 0  # both sides of the OR hold rows
    assert len(either) == counts["Neurology"] + counts["Urology"]
    since = dt.date(2020, 1, 1)
    recent = qa_crawler.load_dataset(folder, columns=["asked_on"],
                                     filters=[("asked_on", ">=", since)])
    as_expr = load_dataset(folder, columns=["asked_on"], filters=pc.field("asked_on") >= since)
    assert 0 < len(recent) == len(as_expr) < expected["rows"]
    assert (recent["asked_on"] >= "2020-01-01").all()


def test_load_dataset_loads_each_table_by_name(folder, expected):
    similar = qa_crawler.load_dataset(folder, table="similar")
    assert len(similar) == expected["similar_rows"] > 0
    assert {"qa_id", "rank"} <= set(similar.columns) and similar["qa_id"].dtype == "string"
    topics = qa_crawler.load_dataset(folder, table="related_topics", columns=["qa_id", "topic"])
    assert list(topics.columns) == ["qa_id", "topic"]
    assert len(topics) == pq.read_metadata(folder / "related_topics.parquet").num_rows
    failures = qa_crawler.load_dataset(folder, table="failures")
    assert len(failures) == pq.read_metadata(folder / "failures.parquet").num_rows
    with pytest.raises(ValueError, match="no table 'answers'; the tables are qa, similar"):
        qa_crawler.load_dataset(folder, table="answers")


def test_load_dataset_names_unknown_columns(folder):
    with pytest.raises(ValueError, match="no column.*'nope'"):
        qa_crawler.load_dataset(folder, columns=["qa_id", "nope"])


def test_load_dataset_reads_from_disk_only_what_it_is_asked_for(folder, expected):
    """Bytes read from disk: column selection skips column chunks, a filter skips row groups."""
    meta = pq.read_metadata(folder / "qa.parquet")
    assert meta.num_row_groups == -(-expected["rows"] // ROW_GROUP_ROWS)
    data_size = (folder / "qa.parquet").stat().st_size - meta.serialized_size
    ids = pq.read_table(folder / "qa.parquet", columns=["qa_id"])["qa_id"].to_pylist()
    assert ids == sorted(ids)

    # What any read costs: the footer (schema, row group statistics). A filter no row group's
    # statistics can match reads nothing else.
    footer, df = bytes_read(folder, columns=["qa_id"], filters=[("qa_id", "<", ids[0])])
    assert len(df) == 0

    everything, df = bytes_read(folder)
    assert len(df) == expected["rows"] and everything - footer >= 0.8 * data_size

    two_columns, df = bytes_read(folder, columns=["qa_id", "department"])
    assert len(df) == expected["rows"] and list(df.columns) == ["qa_id", "department"]
    assert two_columns - footer < data_size / 4, (two_columns, footer, data_size)

    # rows are stored in qa_id order, so one id lies in one row group: the others are not read
    target = ids[len(ids) // 2]
    one_row, df = bytes_read(folder, columns=["qa_id", "department"],
                             filters=[("qa_id", "=", target)])
    assert df["qa_id"].tolist() == [target]
    assert one_row - footer < (two_columns - footer) / 3, (one_row, two_columns, footer)

