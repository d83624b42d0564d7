"""What changed between two releases of a dataset: rows added, removed, and changed (which columns).

Compares the ``qa`` tables of two dataset folders by ``qa_id`` on the record's content columns
(what a page says, :data:`qa_crawler.record.CONTENT`): a page fetched again without a change,
or stored at another place in the WARC archive, is not a change. Reads Parquet, writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from qa_crawler.load import qa_file
from qa_crawler.record import CONTENT


@dataclass
class DatasetDiff:
    """Ids added, removed and changed from ``old`` to ``new``; ``changed`` maps an id to the
    content columns whose values differ."""

    old: str
    new: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: int = 0
    columns_added: list[str] = field(default_factory=list)  # a newer schema's columns
    columns_removed: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lines = [f"{self.old} -> {self.new}: {len(self.added)} added, {len(self.changed)} changed, "
                 f"{len(self.removed)} removed, {self.unchanged} unchanged"]
        if self.columns_added or self.columns_removed:
            lines.append(f"columns added: {', '.join(self.columns_added) or 'none'}; "
                         f"removed: {', '.join(self.columns_removed) or 'none'}")
        lines += [f"+ {i}" for i in self.added]
        lines += [f"~ {i}: {', '.join(cols)}" for i, cols in self.changed.items()]
        lines += [f"- {i}" for i in self.removed]
        return "\n".join(lines)


def _digests(path: str, present: list[str]) -> dict[str, dict[str, str]]:
    """qa_id -> {column: digest of its value}, a row group at a time (texts are not kept)."""
    pf = pq.ParquetFile(path)
    out: dict[str, dict[str, str]] = {}
    for batch in pf.iter_batches(columns=["qa_id", *present], batch_size=2048):
        rows = batch.to_pylist()
        for row in rows:
            out[row["qa_id"]] = {
                c: hashlib.sha1(json.dumps(row[c], sort_keys=True, default=str,
                                           ensure_ascii=False).encode()).hexdigest()
                for c in present
            }
    return out


def diff_datasets(old: str | os.PathLike, new: str | os.PathLike) -> DatasetDiff:
    """The difference between two dataset folders (or their ``qa.parquet`` files)."""
    old_file, new_file = qa_file(Path(old)), qa_file(Path(new))
    old_cols = set(pq.read_schema(old_file).names)
    new_cols = set(pq.read_schema(new_file).names)
    # Rows are compared on the content columns both releases have; a column one of them lacks
    # (a newer schema, a column redacted by dropping) is a change of the schema, said once.
    columns = [c for c in CONTENT if c != "qa_id" and c in old_cols and c in new_cols]
    before = _digests(old_file, columns)
    after = _digests(new_file, columns)
    result = DatasetDiff(str(old), str(new))
    result.columns_added = [c for c in CONTENT if c in new_cols - old_cols]
    result.columns_removed = [c for c in CONTENT if c in old_cols - new_cols]
    result.added = sorted(set(after) - set(before))
    result.removed = sorted(set(before) - set(after))
    for qa_id in sorted(set(after) & set(before)):
        a, b = before[qa_id], after[qa_id]
        cols = [c for c in columns if a[c] != b[c]]
        if cols:
            result.changed[qa_id] = cols
        else:
            result.unchanged += 1
    return result
