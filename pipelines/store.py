"""Deduplicate records by qa_id, store them durably as they arrive, write the dataset at the end.

Storage is the crawl state of the output folder (:mod:`qa_crawler.state`): every record is
committed when it arrives, so a killed crawl keeps what it collected. When the spider closes,
the dataset folder is written from the state (:func:`pipelines.dataset.export_dataset`).
"""

from __future__ import annotations

import json
import logging

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from qa_crawler.record import QARecord, to_json_dict
from pipelines.privacy import export_options
from qa_crawler.guard import REASON as WRITE_ERROR
from qa_crawler.guard import storage_failed
from qa_crawler.state import STATE_DIRNAME, StorageError, for_crawler

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler, state):
        self.crawler = crawler
        self.stats = crawler.stats
        self.state = state
        self.seen: set[str] = set()
        self.export_on_close = crawler.settings.getbool("QA_EXPORT_ON_CLOSE", True)
        settings = crawler.settings
        # Kept in the folder now, so a killed crawl's next run and `export` apply them too.
        export_options(
            state.out_dir / STATE_DIRNAME,
            settings.getlist("QA_REDACT") if settings.get("QA_REDACT") is not None else None,
            settings.get("QA_SPLIT_RATIOS") or None,
        )

    @classmethod
    def from_crawler(cls, crawler):
        state = for_crawler(crawler)
        if state is None:
            raise NotConfigured("QA_OUT_DIR is not set: records go only to feed exports")
        pipeline = cls(crawler, state)
        # The finish reason is known only in spider_closed, after the pipelines have closed.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider=None):
        spider = spider or self.crawler.spider
        try:
            self.state.start_run(getattr(spider, "start_url", None))
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def process_item(self, item):
        if not isinstance(item, QARecord):
            return item
        if item.qa_id in self.seen:
            self.stats.inc_value("qa/duplicates")
            raise DropItem(f"duplicate qa_id {item.qa_id} ({item.url})")
        self.seen.add(item.qa_id)
        fetch = getattr(item, "fetch_info", None)
        data = getattr(item, "validated_json", None) or to_json_dict(item)
        try:
            outcome = self.state.upsert(
                data, fetch.url if fetch else item.url,
                etag=fetch.etag if fetch else None,
                last_modified=fetch.last_modified if fetch else None,
                seen_at=item.crawled_at,
            )
        except StorageError as exc:
            storage_failed(self.crawler, exc)
            raise DropItem(f"not stored: {exc}", log_level="DEBUG") from None
        self.stats.inc_value(f"qa/records/{outcome}")
        return item

    def spider_closed(self, spider, reason):
        from pipelines import monitor

        stats = self.stats.get_stats()
        previous = self.state.last_finished_run_stats()
        manifest_path = self.state.out_dir / "manifest.json"
        previous_fill = None
        if manifest_path.exists():
            previous_fill = json.loads(manifest_path.read_text(encoding="utf-8")).get("fill_rates")
        limits = {k: self.crawler.settings.getfloat(k, v) for k, v in monitor.DEFAULTS.items()}
        verdict = monitor.evaluate(stats, reason, previous, previous_fill, limits)
        self.stats.set_value("qa/monitors/verdict", verdict["verdict"])
        for c in verdict["checks"]:
            if not c["ok"]:
                self.stats.set_value(f"qa/monitors/failed/{c['name']}", c["message"])
                logger.warning("Monitor %s failed: %s", c["name"], c["message"])
        summary = {k: v for k, v in stats.items()
                   if k.startswith(("qa/", "item_scraped_count", "downloader/response_count"))}
        try:
            self.state.finish_run(str(reason), summary, monitors=verdict)
        except StorageError as exc:
            storage_failed(self.crawler, exc)
        if reason == WRITE_ERROR or stats.get("qa/write_error"):
            return  # the folder cannot be written: the dataset published before stays as it was
        if stats.get("qa/start_failed") and not stats.get("qa/pages"):
            return  # nothing was reached: no empty dataset over what the folder held
        if self.export_on_close:
            from pipelines.dataset import ExportBusy, export_dataset

            try:
                manifest = export_dataset(
                    self.state.out_dir, start_url=getattr(spider, "start_url", None),
                    lock_wait=self.crawler.settings.getfloat("QA_EXPORT_LOCK_WAIT"))
            except (ExportBusy, StorageError) as exc:
                self.stats.set_value("qa/dataset_error", str(exc))
                logger.error("The dataset was not written: %s", exc)
                return
            self.stats.set_value("qa/dataset_rows", manifest["rows"]["qa"])
            logger.info("Dataset written to %s (%d Q&A rows)", self.state.out_dir,
                        manifest["rows"]["qa"])
            if self.crawler.settings.getbool("QA_REPORT", True):
                self._write_report()

    def _write_report(self) -> None:
        """The charts are a convenience: a failure to draw them is logged, the dataset stands."""
        from pipelines.report import try_write_report

        path, error = try_write_report(self.state.out_dir)
        if path is None:
            self.stats.set_value("qa/report_error", error)
            logger.warning("Could not write the report: %s", error)
        else:
            self.stats.set_value("qa/report", str(path))
