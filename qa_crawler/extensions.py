"""Scrapy extension for the life of a run in the crawl state: opened, then at the end monitors ->
run finished -> dataset export -> report, in that order.

Each step of the end runs even when an earlier one failed (the report alone needs the export);
a failure is logged and kept in the stats (``qa/end/<step>``, ``qa/report_error``) so that the
summary and the exit status can name it. Off (NotConfigured) without a crawl state.
"""

from __future__ import annotations

import json
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

from qa_crawler import stats as keys
from qa_crawler.guard import storage_failed
from qa_crawler.state import StorageError, for_crawler

logger = logging.getLogger(__name__)


class RunLifecycle:
    def __init__(self, crawler, state):
        self.crawler = crawler
        self.state = state
        self.stats = crawler.stats
        settings = crawler.settings
        self.export_on_close = settings.getbool("QA_EXPORT_ON_CLOSE")
        self.report = settings.getbool("QA_REPORT")

    @classmethod
    def from_crawler(cls, crawler):
        state = for_crawler(crawler)
        if state is None:
            raise NotConfigured("QA_OUT_DIR is not set: no crawl state to keep the run in")
        ext = cls(crawler, state)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        # The finish reason is known only in spider_closed, after the pipelines have closed.
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        try:
            self.state.start_run(getattr(spider, "start_url", None))
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def spider_closed(self, spider, reason):
        verdict = self._step("monitors", self.run_monitors, reason)
        self._step("run", self.finish_run, reason, verdict)
        stats = self.stats.get_stats()
        if stats.get(keys.WRITE_ERROR):
            return  # the folder cannot be written: the dataset published before stays as it was
        if stats.get(keys.START_FAILED) and not stats.get(keys.PAGES):
            return  # nothing was reached: no empty dataset over what the folder held
        if self.export_on_close:
            manifest = self._step("export", self.export, spider)
            if self.report:
                if manifest is not None:
                    self.write_report()
                else:
                    self.stats.set_value(keys.REPORT_ERROR, "the dataset was not written")

    def _step(self, name, step, *args):
        """Run one step of the end; its failure is logged and kept, and the next steps run."""
        try:
            return step(*args)
        except Exception as exc:  # any failure: the steps after it must still run
            from pipelines.dataset import ExportBusy

            # Our own errors are one line already (the file, the cause, what to do).
            named = isinstance(exc, (StorageError, ExportBusy))
            message = str(exc) if named else f"{type(exc).__name__}: {exc}"
            self.stats.set_value(keys.END_ERROR + name, message)
            logger.error("End of run, %s failed: %s", name, message)
            logger.debug("End of run, %s failed", name, exc_info=True)
            return None

    def run_monitors(self, reason) -> dict:
        from pipelines import monitor

        previous = self.state.last_finished_run_stats()
        manifest_path = self.state.out_dir / "manifest.json"
        previous_fill = None
        if manifest_path.exists():
            previous_fill = json.loads(manifest_path.read_text(encoding="utf-8")).get("fill_rates")
        verdict = monitor.evaluate(self.stats.get_stats(), reason, previous, previous_fill,
                                   monitor.limits_of(self.crawler.settings))
        self.stats.set_value(keys.MONITORS_VERDICT, verdict["verdict"])
        for c in verdict["checks"]:
            if not c["ok"]:
                self.stats.set_value(keys.MONITOR_FAILED + c["name"], c["message"])
                logger.warning("Monitor %s failed: %s", c["name"], c["message"])
        return verdict

    def finish_run(self, reason, verdict) -> None:
        summary = {k: v for k, v in self.stats.get_stats().items()
                   if k.startswith(keys.KEPT_PREFIXES)}
        try:
            self.state.finish_run(str(reason), summary, monitors=verdict)
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def export(self, spider) -> dict:
        from pipelines.dataset import export_dataset

        manifest = export_dataset(
            self.state.out_dir, start_url=getattr(spider, "start_url", None),
            keep_removed=self.crawler.settings.getbool("QA_KEEP_REMOVED"),
            lock_wait=self.crawler.settings.getfloat("QA_EXPORT_LOCK_WAIT"))
        self.stats.set_value(keys.DATASET_ROWS, manifest["rows"]["qa"])
        logger.info("Dataset written to %s (%d Q&A rows)", self.state.out_dir,
                    manifest["rows"]["qa"])
        return manifest

    def write_report(self) -> None:
        """The charts are a convenience: a failure to draw them is logged, the dataset stands."""
        from pipelines.report import try_write_report

        path, error = try_write_report(self.state.out_dir)
        if path is None:
            self.stats.set_value(keys.REPORT_ERROR, error)
            logger.warning("Could not write the report: %s", error)
        else:
            self.stats.set_value(keys.REPORT, str(path))
