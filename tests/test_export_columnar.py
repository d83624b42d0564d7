"""The export reads each batch of stored records with pyarrow's JSON reader (no record decoded
in Python); these tests hold it to the row-by-row reference (``RecordBatches.by_rows``, each
record decoded, as the export did before) on records of every shape a crawl stores."""

from __future__ import annotations

import copy
import json

import pyarrow as pa
import pytest

from pipelines.dataset import DatasetStats, RecordBatches
from qa_crawler.record import dataset_schema
from tests.conftest import PAGES

META = {"first_seen": "2026-11-01T08:00:00+00:00", "last_seen": "2026-11-24T12:00:00.250000+00:00",
        "changed_at": None, "removed_at": None}


def _fixture_records() -> list[dict]:
    records = []
    for folder in sorted(PAGES.iterdir()):
        expected = folder / "expected.json"
        if expected.is_file():
            record = json.loads(expected.read_text(encoding="utf-8"))
            record.setdefault("crawled_at", "2026-11-24T12:00:00Z")
            records.append(record)
    return records


def _shapes(base: dict) -> list[dict]:
    """The same record with the values a crawl can store: nulls, empties, issues, odd text."""
    out = []

    def variant(**changes):
        r = copy.deepcopy(base)
        r.update(changes)
        out.append(r)

    variant(department=None, similar=[], related_topics=[])
    variant(department="", parse_issues=["unreadable_date: answered_on '2016/13/45'",
                                         "unreadable_date: asked_on 'x'", "no_reply"])
    variant(asked_on=None, answered_on=None, asker_age_min=None, asker_age_max=None)
    variant(asker_age_min=0, asker_age_max=0, http_status=304, warc_offset=2**40)
    variant(question="=SUM(A1:A9)\n+1 line two\t\"quoted\", comma", answer="@mention\r\nnext")
    variant(subject="日本語の質問 — émigré", asker_name="", more_info=None)
    variant(similar=[{"qa_id": "9", "url": "https://doctorqna.com/en/article/9", "title": None,
                      "question_excerpt": "", "doctor_name": None, "department": None,
                      "answer_excerpt": None}],
            related_topics=[{"topic": "Flu", "department": None, "url": None}] * 3)
    variant(crawled_at="2026-11-24T12:00:00.123456Z", warc_file=None, warc_offset=None)
    r = copy.deepcopy(base)  # keys a record of an older parser version lacks
    for key in ("more_info", "related_topics", "parse_issues"):
        r.pop(key, None)
    out.append(r)
    r = copy.deepcopy(base)
    r["not_a_column"] = {"kept": "nowhere"}  # a key that is no column is left out
    out.append(r)
    return out


def _rows(records) -> list[tuple[str, str, dict]]:
    rows = []
    for k, record in enumerate(records):
        record = dict(record, qa_id=f"{k:06d}")
        meta = dict(META)
        if k % 3 == 0:
            meta["changed_at"] = "2026-11-20T00:00:00+00:00"
        if k % 7 == 0:
            meta["removed_at"] = "2026-11-23T00:00:00+00:00"
        rows.append((record["qa_id"], json.dumps(record, ensure_ascii=False, sort_keys=True),
                     meta))
    return rows


def _batches(drop=frozenset(), hashed=()):
    schema = dataset_schema(drop)
    groups = {"000001": "000001", "000002": "000001", "000005": "000005", "000009": "000005"}
    return RecordBatches(schema, groups, (("train", 0.8), ("validation", 0.1), ("test", 0.1)),
                         list(hashed), b"salt")


@pytest.fixture(scope="module")
def rows():
    records = _fixture_records()
    assert len(records) >= 30  # every saved page's record
    return _rows(records + _shapes(records[0]) + _shapes(records[-1]))


@pytest.mark.parametrize("drop, hashed", [
    (frozenset(), ()),
    (frozenset({"asker_name", "similar"}), ("doctor_name", "subject")),
], ids=["all columns", "dropped and hashed columns"])
def test_columnar_batches_hold_the_same_values_as_records_decoded_one_by_one(rows, drop, hashed):
    batches = _batches(drop, hashed)
    table, flat = batches.columnar(rows)
    ref_table, ref_flat = batches.by_rows(rows)
    assert table.schema.equals(ref_table.schema, check_metadata=True)
    for name in table.column_names:
        assert table.column(name).to_pylist() == ref_table.column(name).to_pylist(), name
    assert table.equals(ref_table)
    for name, t in flat.items():
        assert t.schema.equals(ref_flat[name].schema, check_metadata=True)
        assert t.to_pylist() == ref_flat[name].to_pylist(), name
        assert t.num_rows > 0
    if hashed:
        assert table.column("subject")[0].as_py() != json.loads(rows[0][1])["subject"]


def test_a_batch_the_json_reader_refuses_is_read_record_by_record_with_the_same_values(rows):
    batch = list(rows[:5])
    record = json.loads(batch[2][1])
    record["crawled_at"] = "2026-11-24T12:00:00"  # no zone: Arrow refuses, Python reads it as UTC
    batch[2] = (batch[2][0], json.dumps(record), batch[2][2])
    batches = _batches()
    with pytest.raises(pa.ArrowInvalid):
        batches.columnar(batch)
    table, flat = batches.tables(batch)
    assert (batches.columnar_batches, batches.row_batches) == (0, 1)
    assert table.equals(batches.by_rows(batch)[0])
    assert table.column("crawled_at")[2].as_py().isoformat() == "2026-11-24T12:00:00+00:00"
    batches.tables(rows[:5])
    assert (batches.columnar_batches, batches.row_batches) == (1, 1)


def test_stats_of_a_table_are_those_of_its_rows_one_by_one(rows):
    batches = _batches(hashed=("asker_name",))
    table, _ = batches.columnar(rows)
    by_table, by_row = DatasetStats(table.schema.names), DatasetStats(table.schema.names)
    by_table.add_table(table.slice(0, 17))
    by_table.add_table(table.slice(17))
    by_table.see(max(meta["last_seen"] for _, _, meta in rows))
    for qa_id, text, meta in rows:
        row = dict(json.loads(text), **meta)
        i = [r[0] for r in rows].index(qa_id)
        row.update(dup_cluster=table.column("dup_cluster")[i].as_py(),
                   split=table.column("split")[i].as_py(),
                   asker_name=table.column("asker_name")[i].as_py())
        by_row.add(row)
    assert vars(by_table) == vars(by_row)
    assert by_table.issue_rows >= 2 and by_table.by_department["(none)"] >= 4


def test_parquet_rows_written_a_batch_at_a_time_are_gathered_into_row_groups_in_order(
        rows, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from pipelines import release

    table, _ = _batches().tables(rows)
    batches = [table.slice(i, 3) for i in range(0, table.num_rows, 3)]
    monkeypatch.setattr(release, "ROW_GROUP_BYTES", table.nbytes // 4)
    writer = release.RowGroupWriter(tmp_path / "qa.parquet", table.schema, compression="zstd")
    for batch in batches:
        writer.write_table(batch)
    writer.write_table(table.slice(0, 0))  # an empty batch adds nothing
    writer.close()
    written = pq.ParquetFile(tmp_path / "qa.parquet")
    assert 3 <= written.metadata.num_row_groups <= 6 < len(batches)
    # The same values as the whole table written at once (the reference: what Parquet keeps)
    pq.write_table(table, tmp_path / "whole.parquet", compression="zstd")
    assert written.read().equals(pq.read_table(tmp_path / "whole.parquet"))

    splits = release.SplitWriters(tmp_path, table.schema, {"compression": "zstd"})
    for batch in batches:
        splits.write(batch)
    counts = splits.close()
    for split in release.SPLITS:
        name = release.SPLIT_FILE.format(split=split)
        expected = table.filter(pa.compute.equal(table.column("split"), split))
        pq.write_table(expected, tmp_path / "expected.parquet", compression="zstd")
        assert pq.read_table(tmp_path / name).equals(pq.read_table(tmp_path / "expected.parquet"))
        assert counts[name] == expected.num_rows
    assert sum(counts.values()) == table.num_rows


def test_a_parquet_file_object_gets_the_writers_pages_gathered_in_a_native_buffer_and_stays_open(
        rows, tmp_path, monkeypatch):
    import io

    import pyarrow.parquet as pq

    from pipelines import release

    class Recording(io.RawIOBase):  # what a HashedFile sees
        def __init__(self):
            super().__init__()
            self.data, self.sizes = bytearray(), []

        def writable(self):
            return True

        def write(self, b):
            self.data += bytes(b)
            self.sizes.append(len(b))
            return len(b)

        def tell(self):
            return len(self.data)

    table, _ = _batches().tables(rows)
    big = pa.concat_tables([table] * 40)  # pages of every column, several row groups
    monkeypatch.setattr(release, "ROW_GROUP_BYTES", big.nbytes // 8)
    monkeypatch.setattr(release, "WRITE_BUFFER_BYTES", 64 << 10)
    buffered = Recording()
    writer = release.RowGroupWriter(buffered, big.schema, compression="zstd")
    for i in range(0, big.num_rows, 50):
        writer.write_table(big.slice(i, 50))
    writer.close()
    assert not buffered.closed  # its owner fsyncs, hashes and closes it
    written = pq.ParquetFile(io.BytesIO(bytes(buffered.data)))
    assert written.read().equals(big)
    groups = written.metadata.num_row_groups
    assert groups >= 4
    # Straight on the file object, the writer writes each page and page header on its own
    direct = Recording()
    with pq.ParquetWriter(pa.PythonFile(direct, mode="w"), big.schema, compression="zstd") as w:
        w.write_table(big, row_group_size=-(-big.num_rows // groups))
    assert len(buffered.sizes) * 10 < len(direct.sizes)
    assert len(buffered.sizes) <= len(buffered.data) // (64 << 10) + 2 * groups + 2


def test_the_package_makes_jemalloc_arrows_pool_unless_the_user_chose_one():
    import os
    import subprocess
    import sys

    probe = ("import qa_crawler, pyarrow as pa\n"
             "try:\n    pa.jemalloc_memory_pool(); has = True\n"
             "except NotImplementedError:\n    has = False\n"
             "print(has, pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    if out[0] == "False":
        pytest.skip("this pyarrow has no jemalloc")
    assert out[1] == "jemalloc"
    chosen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**env, "ARROW_DEFAULT_MEMORY_POOL": "system"},
                            check=True).stdout.split()
    assert chosen[1] == "system"


@pytest.mark.parametrize("config, expected", [
    ("#define ARROW_JEMALLOC\n#define ARROW_JEMALLOC_VENDORED\n#define ARROW_MIMALLOC\n", True),
    ("#define ARROW_MIMALLOC\n/* #undef ARROW_JEMALLOC */\n", False),  # e.g. Windows' pyarrow
    (None, False),  # headers not installed: Arrow's own default stays
])
def test_jemalloc_is_asked_of_arrow_only_when_its_build_has_it(tmp_path, monkeypatch, config,
                                                               expected):
    import importlib.machinery
    import importlib.util

    import qa_crawler

    package = tmp_path / "pyarrow"
    (package / "include" / "arrow" / "util").mkdir(parents=True)
    if config is not None:
        (package / "include" / "arrow" / "util" / "config.h").write_text(config)
    spec = importlib.machinery.ModuleSpec("pyarrow", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert qa_crawler._arrow_has_jemalloc() is expected
