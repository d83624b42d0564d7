"""Scrapy extension for the life of a run in the crawl state: opened, monitors every
``QA_MONITOR_INTERVAL`` seconds, then at the end monitors -> run finished -> dataset export ->
report -> alerts, in that order.

Each step of the end runs even when an earlier one failed (the report alone needs the export);
a failure is logged and kept in the stats (``qa/end/<step>``, ``qa/report_error``) so that the
summary and the exit status can name it. Off (NotConfigured) without a crawl state.
"""

from __future__ import annotations

import gc
import json
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import MemoryStatsCollector
from twisted.internet import task

from qa_crawler import stats as keys
from qa_crawler.alerts import Alerts, payload
from qa_crawler.guard import storage_failed
from qa_crawler.context import state_of
from qa_crawler.state import STATE_DIRNAME, StorageError

logger = logging.getLogger(__name__)


def checked_alerts(settings) -> Alerts:
    """The alert actions of the settings; ValueError naming a setting that is wrong (the CLI
    checks this before it starts a crawl)."""
    on_fail = settings.get("QA_MONITOR_ON_FAIL")
    if on_fail not in ("alert", "stop"):
        raise ValueError(f"QA_MONITOR_ON_FAIL must be 'alert' or 'stop', not {on_fail!r}")
    return Alerts.from_settings(settings)


class Stats(MemoryStatsCollector):
    """Scrapy's MemoryStatsCollector (STATS_CLASS), its methods called directly. Scrapy wraps
    them, looked up on every access, to warn about a ``spider`` argument none of our calls
    passes: the crawl's profile counted that at about 40 lookups a page (0.3 ms of it under
    cProfile), the most of any Scrapy function's own time."""

    __getattribute__ = object.__getattribute__


class CollectorThreshold:
    """Python's cyclic garbage collector run less often while the crawl runs
    (``QA_GC_THRESHOLD``: the first generation's threshold; 0 leaves Python's, 700).

    The crawl's objects nearly all live until their page is stored, few are cycles, and with
    Python's threshold the collector ran some 1,800 times in a 5,000-page crawl: 1.9 s of the
    crawler's ~15 s of CPU (gen0 0.42, gen1 0.47, 14 full collections 1.02 s), for 12,000
    objects collected. At 50,000 it ran 5 times (0.07 s) and still collected the cycles
    (4,800 objects), for the same peak memory. The thresholds
    in place before are put back as the engine stops."""

    def __init__(self, threshold: int):
        self.threshold = threshold
        self.before: tuple[int, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler):
        threshold = crawler.settings.getint("QA_GC_THRESHOLD")
        if threshold <= 0:
            raise NotConfigured
        ext = cls(threshold)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_started(self) -> None:
        self.before = gc.get_threshold()
        gc.set_threshold(self.threshold, *self.before[1:])

    def engine_stopped(self) -> None:
        if self.before is not None:
            gc.set_threshold(*self.before)
            self.before = None


class RunLifecycle:
    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.export_on_close = settings.getbool("QA_EXPORT_ON_CLOSE")
        self.report = settings.getbool("QA_REPORT")
        self.report_background = settings.getbool("QA_REPORT_BACKGROUND")
        self.monitor_interval = settings.getfloat("QA_MONITOR_INTERVAL")
        self.on_fail = settings.get("QA_MONITOR_ON_FAIL")
        self.alerts = checked_alerts(settings)
        self.alerted: set[str] = set()  # checks that failed during the run, alerted on once
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("QA_OUT_DIR"):
            # No crawl state to keep the run in (QA_OUT_DIR not set): a plain `scrapy crawl -O`,
            # so no message (Scrapy logs a NotConfigured's message as a warning).
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        # The finish reason is known only in spider_closed, after the pipelines have closed.
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    @property
    def state(self):
        # Not looked up in __init__: the context that owns it is built beside this extension.
        return state_of(self.crawler)

    def spider_opened(self, spider):
        try:
            self.state.start_run(getattr(spider, "start_url", None))
        except StorageError as exc:
            storage_failed(self.crawler, exc)
        if self.monitor_interval > 0:
            self.loop = task.LoopingCall(self.check_running, spider)
            self.loop.start(self.monitor_interval, now=False)

    def check_running(self, spider) -> None:
        """The checks during the run: a new failure is logged and alerted on, and with
        ``QA_MONITOR_ON_FAIL = "stop"`` ends the crawl (its finish reason then says so)."""
        from pipelines import monitor

        verdict = monitor.evaluate_running(self.stats.get_stats(),
                                           monitor.limits_of(self.crawler.settings))
        failed = [c for c in verdict["checks"] if not c["ok"] and c["name"] not in self.alerted]
        if not failed:
            return
        self.alerted.update(c["name"] for c in failed)
        self.stats.set_value(keys.MONITORS_ALERTED, ", ".join(sorted(self.alerted)))
        problems = [f"{c['name']}: {c['message']}" for c in failed]
        for problem in problems:
            logger.warning("Monitor failed during the run: %s", problem)
        stop = self.on_fail == "stop"
        if stop:
            self.stats.set_value(keys.MONITORS_STOPPED, "; ".join(problems))
            problems.append("the crawl is being stopped (QA_MONITOR_ON_FAIL = stop)")
        self.send_alert("monitor_failed_during_run", spider, problems, in_thread=True)
        if stop:
            self.loop.stop()
            engine = self.crawler.engine
            if hasattr(engine, "close_spider_async"):
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(engine.close_spider_async(reason=keys.STOPPED_BY_MONITOR))
            else:  # Scrapy before 2.14
                engine.close_spider(spider, keys.STOPPED_BY_MONITOR)

    def send_alert(self, event, spider, problems=None, *, in_thread: bool = False):
        """Send an alert; during the run in a thread, so that a slow webhook or mail server
        does not hold up the crawl (the result is counted back on the reactor)."""
        if not self.alerts:
            return None
        message = payload(event, self.stats.get_stats(), out_dir=self.state.out_dir,
                          start_url=getattr(spider, "start_url", None), problems=problems)
        if in_thread:
            from twisted.internet.threads import deferToThread

            return deferToThread(self.alerts.send, message).addCallback(self._alert_sent)
        self._alert_sent(self.alerts.send(message))
        return None

    def _alert_sent(self, errors) -> None:
        if errors:
            self.stats.set_value(keys.ALERT_ERROR, "; ".join(errors))
        else:
            self.stats.inc_value(keys.ALERTS_SENT)

    def spider_closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.commit_pages()
        verdict = self._step("monitors", self.run_monitors, reason)
        self._step("run", self.finish_run, reason, verdict)
        self.publish(spider)
        self._step("alerts", self.alert_at_end, spider)

    def publish(self, spider) -> None:
        """Export and report, unless the run has nothing it may publish."""
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

    def alert_at_end(self, spider) -> None:
        stats = self.stats.get_stats()
        cannot_run = (stats.get(keys.START_FAILED) and not stats.get(keys.PAGES)) or any(
            step in keys.family(stats, keys.END_ERROR) for step in ("monitors", "run", "export"))
        if cannot_run or stats.get(keys.WRITE_ERROR):
            problems = None
            if stats.get(keys.WRITE_ERROR):
                problems = [f"the folder could not be written: {stats[keys.WRITE_ERROR]}"]
            elif stats.get(keys.START_FAILED) and not stats.get(keys.PAGES):
                problems = [f"the start URL could not be fetched: {stats[keys.START_FAILED]}"]
            self.send_alert("cannot_run", spider, problems)
        elif stats.get(keys.MONITORS_VERDICT) == "fail":
            self.send_alert("monitors_failed", spider)

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

    def commit_pages(self) -> None:
        """The state handed over before anything at the end reads it from another process (the
        export): the pages the store holds uncommitted (it commits a few at a time), and the
        last columns part (written only as the state closed, after the export, its records were
        read from their JSON texts: up to 4 MB of them)."""
        from qa_crawler.state import StorageError

        try:
            self.state.hand_over()
        except StorageError as exc:  # they are pending again: the next run fetches them
            storage_failed(self.crawler, exc)

    def finish_run(self, reason, verdict) -> None:
        summary = {k: v for k, v in self.stats.get_stats().items()
                   if k.startswith(keys.KEPT_PREFIXES)}
        try:
            self.state.finish_run(str(reason), summary, monitors=verdict)
        except StorageError as exc:
            storage_failed(self.crawler, exc)

    def export(self, spider) -> dict:
        """The dataset, written by a process of its own (:mod:`qa_crawler.apart`: the crawl's
        heap does not carry the export's peak); the crawl waits for it."""
        from pipelines.dataset import export_dataset
        from qa_crawler.apart import in_fresh_process

        # Without pandas, which the export never uses: pyarrow imports it (if installed) on
        # its first array of Python values only to check they are not pandas objects, 51 MB
        # of the export process's peak and 0.2-0.4 s.
        manifest = in_fresh_process(
            export_dataset, self.state.out_dir, blocked=("pandas",),
            start_url=getattr(spider, "start_url", None),
            keep_removed=self.crawler.settings.getbool("QA_KEEP_REMOVED"),
            lock_wait=self.crawler.settings.getfloat("QA_EXPORT_LOCK_WAIT"))
        self.stats.set_value(keys.DATASET_ROWS, manifest["rows"]["qa"])
        logger.info("Dataset written to %s (%d Q&A rows)", self.state.out_dir,
                    manifest["rows"]["qa"])
        return manifest

    def write_report(self) -> None:
        """The charts are a convenience: a failure to draw them is logged, the dataset stands.
        With QA_REPORT_BACKGROUND they are drawn by ``qa-crawler report`` in a process that
        outlives the crawl, which ends as soon as the dataset is written."""
        from qa_crawler.folder import REPORT_NAME

        if self.report_background:
            # Started once the engine has stopped (the WARC index written, the state closed):
            # the report's process then never runs beside the crawl's whole heap.
            self._report_dir = self.state.out_dir
            self.stats.set_value(keys.REPORT, str((self._report_dir / REPORT_NAME).resolve()))
            self.stats.set_value(keys.REPORT_BACKGROUND,
                                 str(self._report_dir / STATE_DIRNAME / "report.log"))
            self.crawler.signals.connect(self._start_report, signal=signals.engine_stopped)
            return
        self._draw_report(self.state.out_dir)

    def _start_report(self) -> None:
        from qa_crawler.apart import start_report

        try:
            pid, log = start_report(self._report_dir)
        except OSError as exc:
            logger.warning("Could not start drawing the report in the background (%s); "
                           "drawing it now", exc)
            self.stats.set_value(keys.REPORT_BACKGROUND, None)
            self._draw_report(self._report_dir)
        else:
            logger.info("Drawing the report in the background (pid %d, log %s)", pid, log)

    def _draw_report(self, out_dir) -> None:
        from pipelines.report import try_write_report

        path, error = try_write_report(out_dir)
        if path is None:
            self.stats.set_value(keys.REPORT_ERROR, error)
            logger.warning("Could not write the report: %s", error)
        else:
            self.stats.set_value(keys.REPORT, str(path))
