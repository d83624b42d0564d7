"""The dataset folder: files SPEC.md lists, Arrow types, CSV flattening, manifest, card, loading."""

import csv
import datetime as dt
import hashlib
import json

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import qa_crawler
from pipelines.dataset import export_dataset
from qa_crawler.record import SCHEMA_VERSION, dataset_schema
from qa_crawler.state import CrawlState
from tests.sample_dataset import state_from_pages

SPEC_FILES = ["qa.parquet", "similar.parquet", "related_topics.parquet", "qa.csv", "similar.csv",
              "related_topics.csv", "manifest.json", "README.md"]
CASES = ["seed_semantic", "no_similar", "age_under_10", "entities_nbsp", "unicode_names"]


def _formula(case, rec):
    if case == "entities_nbsp":
        rec.subject = "=HYPERLINK(\"http://evil\")"  # a formula a spreadsheet would run


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = state_from_pages(tmp_path_factory.mktemp("ds"), CASES, _formula)
    state = CrawlState(out)
    state.record_failure("https://doctorqna.com/en/article/999", "http_error", status=503,
                         error="HTTP 503", attempts=5)
    state.close()
    manifest = export_dataset(out)
    return out, manifest


def test_folder_holds_every_file_spec_lists(dataset):
    out, _ = dataset
    for name in SPEC_FILES:
        assert (out / name).is_file(), name


def test_qa_parquet_has_the_declared_arrow_types(dataset):
    out, _ = dataset
    table = pq.read_table(out / "qa.parquet")
    assert table.schema.equals(dataset_schema(), check_metadata=False)
    assert table.num_rows == len(CASES)
    assert table.schema.field("asked_on").type == pa.date32()
    assert table.schema.field("asker_age_max").type == pa.int16()
    assert str(table.schema.field("crawled_at").type) == "timestamp[us, tz=UTC]"
    seed = table.filter(pa.compute.equal(table["qa_id"], "110525")).to_pylist()[0]
    assert seed["asked_on"] == dt.date(2016, 8, 23)
    assert len(seed["similar"]) == 4 and seed["related_topics"][0]["topic"] == "Muscle Twitching"
    assert seed["first_seen"] is not None


def test_rows_are_ordered_by_qa_id(dataset):
    ids = pq.read_table(dataset[0] / "qa.parquet", columns=["qa_id"])["qa_id"].to_pylist()
    assert ids == sorted(ids)


def test_flat_tables_keep_order_with_a_rank_keyed_by_qa_id(dataset):
    out, _ = dataset
    similar = pq.read_table(out / "similar.parquet").to_pylist()
    seed_rows = [r for r in similar if r["qa_id"] == "110525"]
    assert [r["rank"] for r in seed_rows] == [1, 2, 3, 4]
    assert seed_rows[0]["similar_url"].startswith("https://doctorqna.com/en/article/")
    with open(out / "related_topics.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["qa_id"] == "110525"]
    assert [r["topic"] for r in rows][:2] == ["Muscle Twitching", "Eyelid Twitching"]
    assert rows[0]["rank"] == "1"


def test_csv_neutralises_formulas_but_parquet_keeps_the_text(dataset):
    out, _ = dataset
    with open(out / "qa.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    subjects = [r["subject"] for r in rows]
    assert "'=HYPERLINK(\"http://evil\")" in subjects
    assert not any(s.startswith(("=", "+", "-", "@")) for s in subjects)
    assert "similar" not in rows[0] and "related_topics" not in rows[0]
    raw = pq.read_table(out / "qa.parquet", columns=["subject"])["subject"].to_pylist()
    assert "=HYPERLINK(\"http://evil\")" in raw


def test_formula_escaping_by_first_character_matches_the_regex_on_every_kind_of_cell():
    from pipelines.dataset import neutralise_formulas, neutralise_formulas_by_regex

    cells = ["=SUM(A1)", "+1", "-2", "@cmd", "\tTab", "\rCR", "", None, "plain", " =later",
             "é=", "日本=", "''=", "'=already", "=", "\n=next line", "a\n=b", "-", "+", "👍=x"]
    table = pa.table({"text": pa.array(cells, pa.string()),
                      "other": pa.array(list(reversed(cells)), pa.string()),
                      "rank": pa.array(range(len(cells)), pa.int16())})
    ours, reference = neutralise_formulas(table), neutralise_formulas_by_regex(table)
    assert ours.equals(reference)
    assert ours.column("text").to_pylist()[:8] == [
        "'=SUM(A1)", "'+1", "'-2", "'@cmd", "'\tTab", "'\rCR", "", None]
    assert ours.column("rank").to_pylist() == list(range(len(cells)))
    # Sliced and chunked columns, one without any formula (left as it was) and an all-null one.
    chunked = pa.table({"text": pa.chunked_array([cells[3:9], cells[9:]]),
                        "clean": pa.chunked_array([["a", "b"], ["c"], [None] * 14]),
                        "none": pa.chunked_array([[None] * 6, [None] * 11], pa.string())})
    assert neutralise_formulas(chunked).equals(neutralise_formulas_by_regex(chunked))
    assert neutralise_formulas(table.slice(2, 9)).equals(
        neutralise_formulas_by_regex(table.slice(2, 9)))


def test_csv_keeps_unicode_and_multiline_cells(dataset):
    out, _ = dataset
    with open(out / "qa.csv", newline="", encoding="utf-8") as fh:
        rows = {r["qa_id"]: r for r in csv.DictReader(fh)}
    seed = rows["110525"]
    assert seed["question"].count("\n") == 8
    assert seed["asked_on"] == "2016-08-23"


def test_manifest_lists_files_with_rows_and_checksums(dataset):
    out, manifest = dataset
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert set(on_disk["schema_history"]) == {str(v) for v in range(1, SCHEMA_VERSION + 1)}
    assert on_disk["rows"]["qa"] == len(CASES)
    assert on_disk["rows"]["failures"] == 1
    for name, entry in on_disk["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name
    assert on_disk["crawl"]["started_at"] and on_disk["crawl"]["finished_at"]
    assert on_disk["start_url"] == "https://doctorqna.com/en/"


def test_card_describes_counts_schema_privacy_and_loading(dataset):
    out, manifest = dataset
    card = (out / "README.md").read_text()
    assert "| Neurology |" in card
    assert "| 2016 |" in card
    for column in dataset_schema().names:
        assert f"`{column}`" in card, column
    assert "## Personal data" in card and "`asker_name`" in card
    assert "load_dataset" in card and "duckdb" in card
    assert "HTTP 503" not in card and "1 page(s) are not in the dataset" in card


def test_failures_table_names_url_status_and_attempts(dataset):
    rows = pq.read_table(dataset[0] / "failures.parquet").to_pylist()
    assert rows == [{
        "url": "https://doctorqna.com/en/article/999", "kind": "http_error", "status": 503,
        "error": "HTTP 503", "attempts": 5, "last_attempt": rows[0]["last_attempt"]}]


def test_load_dataset_gives_pandas_with_proper_dtypes(dataset):
    df = qa_crawler.load_dataset(dataset[0])
    assert len(df) == len(CASES)
    assert str(df["asker_age_min"].dtype) == "Int16"
    assert str(df["asked_on"].dtype).startswith("datetime64")
    assert str(df["crawled_at"].dtype).startswith("datetime64") and "UTC" in str(df["crawled_at"].dtype)
    assert df["qa_id"].dtype == "string"


def test_load_dataset_passes_columns_and_filters_down(dataset):
    df = qa_crawler.load_dataset(dataset[0], columns=["qa_id", "department"],
                                 filters=[("qa_id", "=", "110525")])
    assert list(df.columns) == ["qa_id", "department"] and df["department"].tolist() == ["Neurology"]


def test_load_dataset_names_a_folder_that_is_not_a_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        qa_crawler.load_dataset(tmp_path)


def test_duckdb_and_polars_open_the_folder_without_options(dataset):
    out, _ = dataset
    con = duckdb.connect()
    n = con.execute(f"SELECT count(*) FROM '{out}/qa.parquet'").fetchone()[0]
    assert n == len(CASES)
    assert con.execute(f"SELECT count(*) FROM '{out}/qa.csv'").fetchone()[0] == len(CASES)
    assert pl.read_parquet(out / "qa.parquet").height == len(CASES)
    assert pl.read_parquet(out / "similar.parquet").height > 0


def test_export_leaves_no_temporary_files(dataset):
    out, _ = dataset
    assert not (out / ".qa-crawler" / "export-tmp").exists()
    assert not list(out.glob("*.tmp"))


def test_parquet_keeps_min_max_statistics_for_filters_but_not_for_free_texts_and_lists(dataset):
    """Readers skip row groups by their statistics (qa_id ranges, departments, dates); the
    min and max of a question or of a list of similar Q&As skip nothing and cost the export."""
    out, _ = dataset
    for name in ("qa.parquet", "data/qa-train.parquet"):
        group = pq.ParquetFile(out / name).metadata.row_group(0)
        with_stats = {group.column(i).path_in_schema.split(".")[0]
                      for i in range(group.num_columns) if group.column(i).is_stats_set}
        assert {"qa_id", "department", "asked_on", "crawled_at", "asker_age_min"} <= with_stats
        assert not with_stats & {"question", "answer", "more_info", "similar", "related_topics"}
    skipped = pq.read_table(out / "qa.parquet", filters=[("qa_id", "=", "no-such-id")])
    assert skipped.num_rows == 0


def test_a_write_failing_mid_export_names_the_file_and_leaves_no_set(tmp_path, monkeypatch):
    """Each file's writes run on a thread of their own; an error of one surfaces as the
    export's own, and the half-written set is removed."""
    from pipelines import dataset as module
    from qa_crawler.state import StorageError

    out = state_from_pages(tmp_path / "ds", CASES)
    real = module._TableSink._write_csv

    def failing(self, table):
        if self.name == "similar":
            raise OSError(28, "No space left on device", str(self.csv_path))
        return real(self, table)

    monkeypatch.setattr(module._TableSink, "_write_csv", failing)
    with pytest.raises(StorageError, match=r"cannot write .*similar\.csv: No space left"):
        export_dataset(out)
    assert not (out / "qa.parquet").exists()
    assert [p for p in (out / ".qa-dataset").iterdir()] == []
    monkeypatch.undo()
    export_dataset(out)
    assert pq.read_table(out / "qa.parquet").num_rows == len(CASES)


def test_a_data_file_is_hashed_as_it_is_written_and_ends_fsynced(tmp_path, monkeypatch):
    """Each data file's SHA-256 is taken from what its writer hands over (no second read),
    with the kernel's writeback started every few MB: same bytes, same digest as hashing the
    file afterwards, for writes of every size."""
    from pipelines import dataset as module

    monkeypatch.setattr(module, "WRITEBACK_BYTES", 1000)
    started = []
    real = module._start_writeback
    monkeypatch.setattr(module, "_start_writeback",
                        lambda fd, offset, length: started.append((offset, length)) or
                        real(fd, offset, length))
    path = tmp_path / "x.bin"
    file = module.HashedFile(path)
    chunks = [bytes([k % 251]) * size for k, size in enumerate([0, 1, 999, 4096, 70_000, 3])]
    for chunk in chunks:
        assert file.write(memoryview(chunk)) == len(chunk)
    assert file.tell() == sum(map(len, chunks))
    file.close()
    file.close()  # twice: nothing more
    assert path.read_bytes() == b"".join(chunks)
    assert file.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert started and all(a + n == b for (a, n), (b, _) in zip(started, started[1:]))
    # Through pyarrow's writers, as the export writes them
    import pyarrow.csv as pacsv

    table = pa.table({"a": ["x,\"y\nz"] * 5000, "b": list(range(5000))})
    for name, write in [("t.parquet", lambda f: pq.write_table(table, f)),
                        ("t.csv", lambda f: pacsv.write_csv(table, f))]:
        file = module.HashedFile(tmp_path / name)
        write(file)
        file.close()
        assert file.hexdigest() == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
