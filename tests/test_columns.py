"""The records' columns kept beside the state (qa_crawler.columns) are only a faster way to read
the state: an export that takes its records from them writes the same dataset as one that
reads every record's JSON text, whatever became of the parts (stale rows of records changed
since, parts a kill lost, a damaged or foreign file)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines import dataset
from pipelines.dataset import DATA_FILES, export_dataset
from qa_crawler import columns
from pipelines.release import split_files
from qa_crawler.state import STATE_DIRNAME, CrawlState
from tests.test_export_columnar import _fixture_records, _shapes

UTC = dt.timezone.utc


def _records() -> list[dict]:
    base = _fixture_records()
    records = base + _shapes(base[0]) + _shapes(base[-1])
    out = []
    for k, record in enumerate(records):
        record = copy.deepcopy(record)
        # ids whose text order differs from the order they are stored in
        record["qa_id"] = str((k * 7919) % 100_003)
        record["url"] = f"https://doctorqna.com/en/article/{record['qa_id']}"
        out.append(record)
    return out


def _build(out, records, *, part_rows=7):
    """Two workers storing overlapping pages, some changed after their first part was written
    (their part rows stale), some re-parsed by replace_record, parts of a few rows each."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columns, "PART_ROWS", part_rows)
        first, second = CrawlState(out, worker="w1"), CrawlState(out, worker="w2")
        day = dt.datetime(2026, 11, 1, tzinfo=UTC)
        for k, record in enumerate(records):
            state = first if k % 3 else second
            state.upsert(record, record["url"], seen_at=day + dt.timedelta(minutes=k))
        for k, record in enumerate(records[::4]):  # the other worker stores them again, later
            changed = dict(record, answer=f"{record.get('answer') or ''} (edited {k})")
            state = second if records.index(record) % 3 else first
            state.upsert(changed, record["url"], seen_at=day + dt.timedelta(days=2, minutes=k))
        for record in records[1::5]:  # re-parsed in place, as rebuild does
            first.replace_record(dict(record, title=f"{record.get('title')} (re-read)")) or \
                second.replace_record(dict(record, title=f"{record.get('title')} (re-read)"))
        first.close()
        second.close()
    return out


def _state_with(out, records) -> CrawlState:
    """An open state in ``out`` that has stored ``records``."""
    state = CrawlState(out)
    for record in records:
        state.upsert(record, record["url"])
    return state


def _dataset(out) -> dict[str, object]:
    """Every data file's content: Parquet as tables, CSV as bytes."""
    names = [*DATA_FILES, *split_files()]
    return {name: (pq.read_table(out / name) if name.endswith(".parquet")
                   else (out / name).read_bytes()) for name in names}


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], pa.Table):
            assert a[name].equals(b[name]), name
        else:
            assert a[name] == b[name], name


def _export_without_parts(out, tmp_path):
    """The reference: the same state exported with no part at all (every text read)."""
    copy_ = tmp_path / "reference"
    shutil.copytree(out / STATE_DIRNAME, copy_ / STATE_DIRNAME,
                    ignore=shutil.ignore_patterns(columns.COLUMNS_DIRNAME))
    assert not columns.part_files(copy_ / STATE_DIRNAME)
    export_dataset(copy_)
    return _dataset(copy_)


@pytest.fixture(scope="module")
def records():
    return _records()


def test_an_export_from_the_parts_writes_the_dataset_an_export_from_the_texts_writes(
        tmp_path, records, monkeypatch):
    out = _build(tmp_path / "ds", records)
    assert len(columns.part_files(out / STATE_DIRNAME)) > 4
    taken = []
    real_take = columns.PartIndex.take
    monkeypatch.setattr(columns.PartIndex, "take",
                        lambda self, places: taken.append(len(places)) or real_take(self, places))
    monkeypatch.setattr(dataset, "BATCH_ROWS", 9)  # batches across parts and texts
    export_dataset(out)
    # Most records came from the parts, and the stale ones (changed, re-read) from their texts.
    assert sum(taken) >= len(records) // 2
    _same(_dataset(out), _export_without_parts(out, tmp_path))


def _mapped_kb(paths) -> int:
    """Kilobytes of ``paths`` mapped into this process (Linux's /proc/self/smaps)."""
    names, total, current = {str(p) for p in paths}, 0, False
    with open("/proc/self/smaps", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                current = fields[-1] in names
            elif current and fields[0] == "Rss:":
                total += int(fields[1])
    return total


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="reads Linux's smaps")
def test_rows_taken_from_many_parts_are_copies_and_leave_no_part_pages_mapped(
        tmp_path, records):
    """A crawl's parts each hold ids from the whole range, so a batch takes a few rows of every
    part; what reading them maps (the kernel maps ~64 KB around each page read) is let go at
    once, so the export's memory does not grow with the number of parts."""
    out = _build(tmp_path / "ds", records, part_rows=3)
    index = columns.PartIndex(out / STATE_DIRNAME)
    by_part = {}
    for number in index.where.values():
        by_part.setdefault(int(index.part_of[number]), []).append(number)
    assert len(by_part) > columns.COPY_GROUP_PARTS
    places = [numbers[0] for numbers in by_part.values()]  # one row of every part
    places.reverse()  # in another order than the parts'
    index.release()
    taken = index.take(places)
    assert _mapped_kb(index.paths) == 0
    expected = pa.concat_tables([index.tables[index.part_of[n]].slice(index.row_of[n], 1)
                                 for n in places])
    assert taken.equals(expected.select(taken.schema.names))
    # From a few parts the rows stay views of the mapped files (no copy).
    few = places[:2]
    index.release()
    view = index.take(few)
    assert view.column("qa_id").to_pylist() == expected.column("qa_id").to_pylist()[:2]
    assert _mapped_kb(index.paths) > 0


def test_parts_a_kill_lost_or_damaged_or_of_another_schema_are_read_from_the_texts(
        tmp_path, records, monkeypatch, caplog):
    out = _build(tmp_path / "ds", records, part_rows=5)
    parts = columns.part_files(out / STATE_DIRNAME)
    parts[0].unlink()  # never written: a kill before the part was flushed
    parts[1].write_bytes(parts[1].read_bytes()[:300])  # damaged
    foreign = pa.table({"qa_id": ["1"], columns.SIZE: pa.array([1], pa.int32()),
                        columns.DIGEST: pa.array([b"0" * 16], pa.binary(16))})
    with pa.OSFile(str(parts[2]), "wb") as sink, pa.ipc.new_file(sink, foreign.schema) as w:
        w.write_table(foreign)  # another version of the record's columns
    (parts[3].parent / f".{parts[3].name}.tmp").write_bytes(b"half a part")  # being written
    monkeypatch.setattr(dataset, "BATCH_ROWS", 9)
    with caplog.at_level(logging.WARNING, logger="qa_crawler.columns"):
        export_dataset(out)
    assert parts[1].name in caplog.text
    _same(_dataset(out), _export_without_parts(out, tmp_path))


def test_a_part_row_is_used_only_for_the_text_of_its_digest(tmp_path, records):
    out = tmp_path / "ds"
    state = CrawlState(out)
    record = records[0]
    state.upsert(record, record["url"])
    state.parts.flush()
    changed = dict(record, answer="a new answer")
    state.upsert(changed, record["url"])
    state.close()
    index = columns.PartIndex(out / STATE_DIRNAME)
    assert len(index) == 2  # both texts have their row; the state holds the second's digest
    export_dataset(out)
    assert pq.read_table(out / "qa.parquet").column("answer").to_pylist() == ["a new answer"]


def test_an_unchanged_page_adds_no_part_row_and_a_state_from_before_parts_exports_as_before(
        tmp_path, records, monkeypatch):
    out = tmp_path / "ds"
    state = _state_with(out, records[:6])
    for record in records[:6]:
        assert state.upsert(record, record["url"]) == "unchanged"
    state.close()
    assert len(columns.PartIndex(out / STATE_DIRNAME)) == 6
    export_dataset(out)
    from_parts = _dataset(out)
    # A state stored before the digests: no digest, so no part row is taken, every record is
    # read from its text; the same dataset.
    import sqlite3

    db = sqlite3.connect(out / STATE_DIRNAME / "state-main.sqlite")
    db.execute("UPDATE pages SET record_digest = NULL")
    db.commit()
    db.close()
    monkeypatch.setattr(columns.PartIndex, "take", lambda self, places: pytest.fail("taken"))
    export_dataset(out)
    _same(_dataset(out), from_parts)


def test_parts_holding_more_stale_rows_than_live_ones_are_compacted_by_the_export(
        tmp_path, records):
    out = tmp_path / "ds"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columns, "PART_ROWS", 8)
        state = CrawlState(out)
        for round_ in range(3):  # every record changed twice: two thirds of the rows stale
            for record in records:
                state.upsert(dict(record, answer=f"round {round_}"), record["url"])
        state.close()
        before = columns.part_files(out / STATE_DIRNAME)
        assert len(before) >= 3 * len(records) // 8
        export_dataset(out)
        after = columns.part_files(out / STATE_DIRNAME)
    assert not set(after) & set(before) and 0 < len(after) < len(before)
    index = columns.PartIndex(out / STATE_DIRNAME)
    assert len(index) == sum(t.num_rows for t in index.tables) == len(records)
    for table in index.tables:  # each part in qa_id order
        ids = table.column("qa_id").to_pylist()
        assert ids == sorted(ids)
    first = _dataset(out)
    assert set(first["qa.parquet"].column("answer").to_pylist()) == {"round 2"}
    export_dataset(out)  # from the compacted parts: the same dataset, and nothing compacted
    assert columns.part_files(out / STATE_DIRNAME) == after
    _same(_dataset(out), first)
    _same(first, _export_without_parts(out, tmp_path))


def test_a_rebuild_giving_the_stored_text_again_writes_nothing_and_a_changed_one_is_written(
        tmp_path, records):
    out = tmp_path / "ds"
    state = _state_with(out, records[:4])
    state.parts.flush()
    rows_before = len(columns.PartIndex(out / STATE_DIRNAME))
    changes = state.db.total_changes
    assert all(state.replace_record(record) for record in records[:4])  # the same texts
    assert state.db.total_changes == changes
    state.parts.flush()
    assert len(columns.PartIndex(out / STATE_DIRNAME)) == rows_before
    assert state.replace_record(dict(records[0], title="Re-read"))
    assert not state.replace_record(dict(records[5], qa_id="not-stored"))
    state.close()
    assert len(columns.PartIndex(out / STATE_DIRNAME)) == rows_before + 1
    export_dataset(out)
    titles = pq.read_table(out / "qa.parquet").column("title").to_pylist()
    assert "Re-read" in titles and len(titles) == 4


def test_half_written_parts_of_killed_processes_go_when_the_folder_is_next_locked(tmp_path):
    """A kill while a part was being written leaves ``.<name>.arrow.tmp``: the next crawl of the
    folder removes those of processes gone from this machine, once untouched for an hour; a
    live process's, and a recent one (maybe another machine's, on a shared folder), stay."""
    state = CrawlState(tmp_path)
    folder = tmp_path / STATE_DIRNAME / columns.COLUMNS_DIRNAME
    folder.mkdir()
    dead = 2**22 + 12345  # above Linux's largest pid: no such process
    old = folder / f".main-{dead}-a1b2c3-000004.arrow.tmp"
    old_compact = folder / f".compact-{dead}-0f0f0f-000000.arrow.tmp"
    recent = folder / f".w2-{dead}-abcdef-000001.arrow.tmp"
    live = folder / f".main-{os.getpid()}-123456-000000.arrow.tmp"
    whole = folder / "main-1-abcdef-000000.arrow"
    for path in (old, old_compact, recent, live, whole):
        path.write_bytes(b"half a part")
    hours_ago = time.time() - 2 * columns.STALE_TMP_SECONDS
    for path in (old, old_compact, live, whole):
        os.utime(path, (hours_ago, hours_ago))
    state.lock()
    try:
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in (recent, live, whole))
    finally:
        state.close()  # (and its lock)


def _reference_index(out) -> list[tuple]:
    """The folder's pages as the row-by-row merge gives them (the reference of the index)."""
    from qa_crawler.folder import MergedPages, _merged_pages

    with MergedPages(out) as pages:
        return [(qa_id, meta["first_seen"], meta["last_seen"], meta["changed_at"],
                 meta["removed_at"], digest, source)
                for qa_id, digest, meta, source in _merged_pages(
                    pages.conns, "record_digest", ("record_digest",))]


@pytest.mark.parametrize("workers", [1, 2])
def test_the_export_reads_the_page_index_as_columns_with_the_merges_values(
        tmp_path, records, workers):
    """The export reads every page's history and digest as columns, in chunks (one query per
    worker's file, or the merge of several): the same rows, in qa_id order, as the merge."""
    from qa_crawler.folder import MergedPages

    out = tmp_path / "ds"
    if workers == 2:
        _build(out, records)
    else:
        state = _state_with(out, records)
        state.close()
        import sqlite3

        db = sqlite3.connect(out / STATE_DIRNAME / "state-main.sqlite")
        db.execute("UPDATE pages SET changed_at = '' WHERE rowid % 4 = 0")
        db.execute("UPDATE pages SET removed_at = last_seen WHERE rowid % 5 = 0")
        db.commit()
        db.close()
    expected = _reference_index(out)
    with MergedPages(out) as pages:
        index = pages.index(chunk_rows=4)
    assert [tuple(row.values()) for row in index.to_pylist()] == expected
    assert [row[0] for row in expected] == sorted(row[0] for row in expected)
    assert len({row[6] for row in expected}) == workers
    if workers == 1:
        assert any(row[4] for row in expected) and not any(row[3] == "" for row in expected)


def test_every_parquet_file_ends_its_row_groups_with_the_same_batch(tmp_path, records,
                                                                    monkeypatch):
    """What the seven Parquet files buffer together is the same range of rows whatever the
    dataset's size: a row group of a split file or of a flat table never holds rows of two of
    the qa file's row groups."""
    from pipelines import release

    out = tmp_path / "ds"
    _state_with(out, records).close()
    monkeypatch.setattr(dataset, "BATCH_ROWS", 4)
    # A few batches a group of the qa file: the small files would hold their rows for longer
    # if their own size ended their groups.
    monkeypatch.setattr(release, "ROW_GROUP_BYTES", 60_000)
    export_dataset(out)

    def groups(name, column="qa_id"):
        file = pq.ParquetFile(out / name)
        return [set(file.read_row_group(i, columns=[column]).column(column).to_pylist())
                for i in range(file.metadata.num_row_groups)]

    qa_groups = groups("qa.parquet")
    assert len(records) // 4 > len(qa_groups) >= 3
    owner = {qa_id: i for i, ids in enumerate(qa_groups) for qa_id in ids}
    for name in [*split_files(), "similar.parquet", "related_topics.parquet"]:
        found = groups(name)
        assert found, name
        for ids in found:
            assert len({owner[qa_id] for qa_id in ids}) == 1, name


def test_writing_parts_does_not_make_pyarrow_import_pandas(tmp_path):
    """The crawler writes the parts: pandas (0.3 s of its start-up) is no part of crawling."""
    script = (
        "import sys\n"
        "from qa_crawler import columns\n"
        "from qa_crawler.state import CrawlState\n"
        "from tests.test_export_columnar import _fixture_records\n"
        "columns.PART_ROWS = 2\n"
        "state = CrawlState(sys.argv[1])\n"
        "for r in _fixture_records()[:5]:\n"
        "    state.upsert(r, r['url'])\n"
        "state.close()\n"
        "from pathlib import Path\n"
        "assert columns.part_files(Path(sys.argv[1]) / '.qa-crawler'), 'no part written'\n"
        "print('pandas' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=os.getcwd(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"

