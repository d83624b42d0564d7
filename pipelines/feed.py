"""Scrapy feed exporters: Parquet, so ``scrapy crawl qa -O records.parquet`` works, and CSV with
the nested lists (``similar``, ``related_topics``, ``parse_issues``) written as JSON.

Small on purpose: ``pyarrow.parquet.ParquetWriter`` with the record's explicit schema, items
buffered and written as row groups.
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
from itemadapter import ItemAdapter
from scrapy.exporters import BaseItemExporter, CsvItemExporter

from pipelines.privacy import split_of
from qa_crawler.record import QARecord, dataset_schema


class ParquetItemExporter(BaseItemExporter):
    """Writes records to a Parquet file with the declared schema of ``qa.parquet``; never infers
    one. A feed has no crawl history: a page is first and last seen when it was fetched, and its
    split comes from the default ratios."""

    def __init__(self, file, *, row_group_size: int = 1000, **kwargs):
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.schema = dataset_schema()
        self.row_group_size = row_group_size
        self.buffer: list[dict] = []
        self.writer: pq.ParquetWriter | None = None

    def start_exporting(self) -> None:
        self.writer = pq.ParquetWriter(self.file, self.schema, compression="zstd")

    def export_item(self, item) -> None:
        if isinstance(item, QARecord):
            row = dataclasses.asdict(item)
        else:
            row = ItemAdapter(item).asdict()
        row.setdefault("first_seen", row.get("crawled_at"))
        row.setdefault("last_seen", row.get("crawled_at"))
        row.setdefault("split", split_of(row["qa_id"]))
        self.buffer.append(row)
        if len(self.buffer) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if self.buffer and self.writer is not None:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def finish_exporting(self) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()


def _plain(value):
    """Dataclasses (a Similar Q&A entry) as dicts, all the way down."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class JsonListsCsvItemExporter(CsvItemExporter):
    """Scrapy's CSV exporter, with list fields written as JSON arrays (not Python reprs), as the
    JSON and JSON lines feeds write them; ``json.loads`` reads them back."""

    def serialize_field(self, field, name, value):
        if isinstance(value, (list, tuple)):
            return json.dumps(_plain(value), ensure_ascii=False, default=str)
        return super().serialize_field(field, name, value)
