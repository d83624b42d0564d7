"""The subcommands that crawl or read a crawl's folder: crawl, export, wacz, show, rebuild, ..."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from qa_crawler import stats as keys
from qa_crawler.exits import EXIT_CANNOT_RUN, EXIT_MONITORS, EXIT_OK, EXIT_USAGE
# Marks a folder `qa-crawler demo` made, the only kind of non-empty folder it may replace.
DEMO_MARKER = ".qa-crawler-demo"


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"-s expects NAME=VALUE, got {text!r}")
    return name.strip(), value


def _http_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


def _checked(check):
    """An argparse type that runs ``check(text)`` and turns its ValueError into a usage error."""
    def convert(text: str) -> str:
        try:
            check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return convert


def _check_duration(text: str) -> None:
    from qa_crawler.durations import parse_duration

    parse_duration(text)


def _check_redaction(text: str) -> None:
    from pipelines.privacy import parse_redactions

    if text != "none":
        parse_redactions([text])


def _check_ratios(text: str) -> None:
    from pipelines.privacy import parse_ratios

    parse_ratios(text)


def _check_redis_url(text: str) -> None:
    from qa_crawler.cluster import check_url

    check_url(text)


_duration = _checked(_check_duration)
_redis_url = _checked(_check_redis_url)
_redaction = _checked(_check_redaction)
_ratios = _checked(_check_ratios)


def _dataset_options(p) -> None:
    """--redact and --split-ratios: kept in the folder, so later runs and exports apply them."""
    p.add_argument("--redact", action="append", type=_redaction, metavar="COLUMN[:hash|:drop]",
                   help="replace a column by a salted hash (default) or drop it; repeatable; "
                        "kept for later exports of the folder ('--redact none' clears)")
    p.add_argument("--split-ratios", type=_ratios, metavar="TRAIN,VALIDATION,TEST",
                   help="shares of the split column (default 0.8,0.1,0.1); kept for later exports")
    p.add_argument("--keep-removed", action="store_true",
                   help="keep pages withdrawn from the site (a re-check answered 404 or 410; "
                        "their removed_at says when) in the published tables")


def register(sub) -> None:
    """Add the crawl, export and demo subcommands to the CLI."""
    p = sub.add_parser("crawl", help="crawl a site and write (or update) a dataset folder")
    p.add_argument("--start-url", type=_http_url, default=None,
                   help="listing, FAQ or Q&A page to start from (default: the site's home)")
    p.add_argument("--out", required=True, metavar="DIR", help="dataset folder (holds the state)")
    p.add_argument("--recheck-older-than", type=_duration, metavar="DURATION",
                   help="re-fetch stored pages fetched longer ago than this (30d, 12h; 0s: all)")
    p.add_argument("-s", "--set", dest="settings", action="append", type=_setting, default=[],
                   metavar="NAME=VALUE", help="set a Scrapy setting for this run (repeatable)")
    p.add_argument("--redis", metavar="URL", type=_redis_url,
                   help="join a distributed crawl coordinated by this Redis (redis://HOST:PORT/DB); "
                        "then run `qa-crawler export DIR` when the workers are done")
    p.add_argument("--no-warc", action="store_true",
                   help="do not keep the raw pages (WARC); `rebuild` and `show` need them")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    _dataset_options(p)
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("rebuild", help="re-parse the stored raw pages and write the dataset again")
    p.add_argument("dir", metavar="DIR", help="dataset folder a crawl wrote (holds its raw pages)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("show", help="print the stored raw page of one record")
    p.add_argument("dir", metavar="DIR", help="dataset folder a crawl wrote (holds its raw pages)")
    p.add_argument("qa_id", metavar="QA_ID", help="the record's qa_id (a column of qa.parquet)")
    p.add_argument("--browser", action="store_true", help="open it in a web browser instead")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("export", help="write the dataset folder from the state a crawl left in DIR")
    p.add_argument("dir", metavar="DIR", help="dataset folder a crawl wrote (holds its state)")
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for another export of DIR to finish (default: "
                        "QA_EXPORT_LOCK_WAIT, 300); then give up with exit status 3")
    _dataset_options(p)
    p.add_argument("--wacz", action="store_true",
                   help="also package the raw pages as WACZ (DIR/.qa-crawler/archive.wacz) for "
                        "ReplayWeb.page and other replay tools")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("wacz", help="package the raw pages (WARC) of DIR as one WACZ file for "
                                    "ReplayWeb.page and other replay tools")
    p.add_argument("dir", metavar="DIR", help="dataset folder a crawl wrote (holds its raw pages)")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="where to write it (default DIR/.qa-crawler/archive.wacz)")
    p.set_defaults(func=cmd_wacz)

    p = sub.add_parser("demo", help="crawl the bundled sample site on loopback into output/demo")
    p.add_argument("--pages", type=int, default=300, help="Q&A pages of the sample site")
    p.add_argument("--out", default="output/demo", metavar="DIR",
                   help="dataset folder to write (default output/demo; replaced each time)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("report", help="write DIR/report.html: charts of what the dataset holds "
                                      "(self-contained, opens offline) and print its path")
    p.add_argument("dir", metavar="DIR", help="dataset folder (holds qa.parquet)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "diff", help="what changed between two releases of a dataset: ids added, changed "
                     "(which columns) and removed")
    p.add_argument("old", metavar="OLD_DIR", help="the older dataset folder (or its qa.parquet)")
    p.add_argument("new", metavar="NEW_DIR", help="the newer dataset folder (or its qa.parquet)")
    p.add_argument("--json", action="store_true", help="print the difference as JSON")
    p.set_defaults(func=cmd_diff)


def run_crawl(start_url: str | None, out_dir: str, *, overrides=(), recheck: str | None = None,
              verbose: bool = False, stream=None) -> int:
    """Run one crawl into ``out_dir`` and print its summary; returns the exit status."""
    from scrapy.settings import Settings

    from qa_crawler import worker

    stream = stream or sys.stdout
    settings = Settings()
    settings.setmodule("qa_crawler.settings", priority="project")
    settings.set("LOG_LEVEL", "INFO" if verbose else "WARNING", priority="cmdline")
    for name, value in overrides:
        settings.set(name, value, priority="cmdline")
    settings.set("QA_OUT_DIR", str(out_dir), priority="cmdline")
    if start_url:
        settings.set("QA_START_URL", start_url, priority="cmdline")
    if recheck:
        settings.set("QA_RECHECK_OLDER_THAN", recheck, priority="cmdline")
    try:
        if worker.worker_wanted(settings):
            worker.prestart()  # its imports beside the crawler's (worker.prestart)
    except ValueError:
        pass  # a bad QA_PARSE_PROCESSES: the spider says so
    try:
        return _run_crawl(settings, out_dir, stream)
    finally:
        worker.discard_prestarted()


def _run_crawl(settings, out_dir: str, stream) -> int:
    from scrapy.crawler import CrawlerProcess

    from qa_crawler.spiders.qa import QASpider
    from qa_crawler.state import CrawlState, LockedError, StorageError, verify_state_files

    start_url = settings.get("QA_START_URL")
    from qa_crawler.extensions import checked_alerts

    try:
        checked_alerts(settings)
    except ValueError as exc:
        print(f"qa-crawler crawl: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN

    unreachable = _unreachable(start_url, settings.getfloat("DOWNLOAD_TIMEOUT"))
    if unreachable:
        print(f"qa-crawler crawl: cannot reach {start_url}: {unreachable}", file=sys.stderr)
        _alert_cannot_run(settings, out_dir, start_url, f"cannot reach {start_url}: {unreachable}")
        return EXIT_CANNOT_RUN
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        verify_state_files(out_dir)
        state = CrawlState(out_dir, worker=settings.get("QA_WORKER") or "main")
        state.lock(distributed=bool(settings.get("REDIS_URL")))
    except (LockedError, StorageError) as exc:
        print(f"qa-crawler crawl: {exc}", file=sys.stderr)
        _alert_cannot_run(settings, out_dir, start_url, str(exc))
        return EXIT_CANNOT_RUN
    except OSError as exc:
        if Path(out_dir).is_file():
            problem = f"--out {out_dir} is a file, not a folder"
        else:
            problem = f"cannot create the output folder {out_dir}: {exc.strerror or exc}"
        print(f"qa-crawler crawl: {problem}", file=sys.stderr)
        _alert_cannot_run(settings, out_dir, start_url, problem)
        return EXIT_CANNOT_RUN

    class Process(CrawlerProcess):
        def _log_shutdown(self, signum):  # on the reactor, right after the signal
            super()._log_shutdown(signum)
            print("qa-crawler: stopping after the requests in flight; Ctrl-C again to stop now",
                  file=sys.stderr, flush=True)

    began = time.monotonic()
    process = Process(settings)
    # The crawler opens its own connection to the state (qa_crawler.context); this one holds
    # the folder's lock until the crawl is over.
    crawler = process.create_crawler(QASpider)
    process.crawl(crawler, start_url=start_url)
    process.start()
    try:
        stats = crawler.stats.get_stats()
    except RuntimeError:  # the crawl never started (its error is in the log)
        stats = {}
    state.close()

    print_summary(stats, out_dir, time.monotonic() - began, stream)
    if stats.get(keys.WRITE_ERROR):
        print(f"qa-crawler crawl: {stats[keys.WRITE_ERROR]}; what was stored is kept in the "
              "folder: make room (or fix the disk) and run the same command again to go on",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    if stats.get(keys.REDIS_LOST):
        print(f"qa-crawler crawl: lost Redis: {stats[keys.REDIS_LOST]}; what was stored is kept "
              "in the folder, run the same command again to go on", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if stats.get(keys.CLUSTER_WORKER):
        print(f"qa-crawler: worker {stats[keys.CLUSTER_WORKER]} is done; when every worker is, "
              f"write the dataset with: qa-crawler export {out_dir}", file=stream)
    if stats.get(keys.START_FAILED) and not stats.get(keys.PAGES):
        print(f"qa-crawler crawl: the start URL {start_url} could not be fetched: "
              f"{stats[keys.START_FAILED]}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if "finish_reason" not in stats:
        print("qa-crawler crawl: the crawl did not start (see the log above)", file=sys.stderr)
        _alert_cannot_run(settings, out_dir, start_url, "the crawl did not start (see its log)")
        return EXIT_CANNOT_RUN
    if stats.get(keys.END_ERROR + "export"):
        print(f"qa-crawler crawl: the dataset could not be written to {out_dir}: "
              f"{stats[keys.END_ERROR + 'export']}; what was crawled is kept in the folder",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    if settings.getbool("QA_EXPORT_ON_CLOSE") and keys.DATASET_ROWS not in stats:
        # 0 and 4 say the dataset was written: never give them when it was not.
        print("qa-crawler crawl: the dataset was not written (see the log above)",
              file=sys.stderr)
        return EXIT_CANNOT_RUN
    if stats.get(keys.MONITORS_VERDICT) == "fail":
        return EXIT_MONITORS
    return EXIT_OK


def _alert_cannot_run(settings, out_dir, start_url, problem: str) -> None:
    """Alert on a crawl that could not run before its crawler did (the crawler alerts after)."""
    from qa_crawler.alerts import Alerts, payload

    try:
        alerts = Alerts.from_settings(settings)
    except ValueError as exc:
        print(f"qa-crawler crawl: {exc}", file=sys.stderr)
        return
    if alerts:
        alerts.send(payload("cannot_run", {}, out_dir=out_dir, start_url=start_url,
                            problems=[problem]))


def _unreachable(url: str, timeout: float) -> str | None:
    """Why the start URL's server cannot be reached (a TCP connection), or None if it can.

    Checked before the crawl, so that a wrong host or port fails at once in one line instead of
    retrying robots.txt and the start page for half a minute. Skipped (None) when a proxy is set
    for the URL: then only the proxy could tell.
    """
    import socket
    import urllib.request

    parts = urlsplit(url)
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(
            parts.hostname):
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=min(timeout, 30)).close()
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror as exc:
        return f"unknown host {parts.hostname} ({exc.strerror})"
    except TimeoutError:
        return f"no answer from {parts.hostname}:{port} in {min(timeout, 30):g}s"
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return None


def print_summary(stats: dict, out_dir, elapsed: float, stream) -> None:
    failures = keys.family(stats, keys.FAILURES)
    missing = keys.family(stats, keys.MISSING)
    records = keys.family(stats, keys.RECORDS)
    failed = sum(failures.values())
    lines = [
        "",
        f"qa-crawler: crawl {keys.finish_reason_words(stats.get(keys.FINISH_REASON))} "
        f"in {elapsed:.1f}s",
        f"  pages fetched     {stats.get(keys.PAGES, 0)}",
        f"  new               {records.get('new', 0)}",
        f"  changed           {records.get('changed', 0)}",
        f"  unchanged         {records.get('unchanged', 0)}",
        f"  not modified      {stats.get(keys.NOT_MODIFIED, 0)} (answered 304)",
        f"  removed           {stats.get(keys.REMOVED, 0)}" + (
            " stored pages the site no longer has (404/410: removed_at set, left out of the "
            "tables unless --keep-removed)" if stats.get(keys.REMOVED) else ""),
        f"  skipped (stored)  {stats.get(keys.SKIPPED_KNOWN, 0)}",
        f"  failed            {failed}" + (
            " (" + ", ".join(f"{k} {v}" for k, v in sorted(failures.items())) + ")"
            if failed else ""),
    ]
    if stats.get(keys.FRONTIER_RESUMED):
        lines.append(f"  resumed           {stats[keys.FRONTIER_RESUMED]} URLs an earlier run "
                     "left pending")
    if stats.get(keys.FRONTIER_PENDING):
        lines.append(f"  still pending     {stats[keys.FRONTIER_PENDING]} URLs in the frontier "
                     "(the next run with this folder fetches them)")
    if stats.get(keys.PAGE_WORKER_DIED):
        lines.append(f"  page worker       {stats[keys.PAGE_WORKER_DIED]}; "
                     f"{stats.get(keys.PAGE_WORKER_LEFT_PENDING, 0)} pages it was reading left "
                     "pending, the rest read in the crawl's process")
    if missing:
        lines.append("  parts missing     " + ", ".join(f"{k} {v}" for k, v in sorted(missing.items())))
    issues = keys.family(stats, keys.PARSE_ISSUES)
    if issues:
        lines.append(f"  parse issues      {stats.get(keys.PARSE_ISSUE_ROWS, 0)} records ("
                     + ", ".join(f"{k} {v}" for k, v in sorted(issues.items())) + ")")
    if stats.get(keys.VALIDATION_DROPPED):
        lines.append(f"  invalid (dropped) {stats[keys.VALIDATION_DROPPED]}")
    verdict = stats.get(keys.MONITORS_VERDICT)
    if verdict:
        failed = keys.family(stats, keys.MONITOR_FAILED)
        lines.append(f"  monitors          {verdict}"
                     + "".join(f"\n    {name}: {msg}" for name, msg in sorted(failed.items())))
    if stats.get(keys.MONITORS_ALERTED):
        lines.append(f"  during the run    failed and alerted on: {stats[keys.MONITORS_ALERTED]}")
    if stats.get(keys.ALERTS_SENT):
        lines.append(f"  alerts sent       {stats[keys.ALERTS_SENT]}")
    if stats.get(keys.ALERT_ERROR):
        lines.append(f"  alerts not sent   {stats[keys.ALERT_ERROR]}")
    for step, error in sorted(keys.family(stats, keys.END_ERROR).items()):
        lines.append(f"  {step + ' failed':<17} {error}")
    if keys.DATASET_ROWS in stats:
        lines.append(f"  dataset           {out_dir} ({stats[keys.DATASET_ROWS]} rows in qa)")
    if keys.REPORT in stats:
        lines.append(f"  report            {stats[keys.REPORT]}"
                     + (" (being drawn in the background; `qa-crawler report DIR` draws it now)"
                        if stats.get(keys.REPORT_BACKGROUND) else ""))
    elif keys.REPORT_ERROR in stats:
        lines.append(f"  report            not written: {stats[keys.REPORT_ERROR]}")
    print("\n".join(lines), file=stream)


def cmd_crawl(args) -> int:
    overrides = list(args.settings)
    if args.no_warc:
        overrides.append(("QA_WARC_ENABLED", "False"))
    if args.redact:
        overrides.append(("QA_REDACT", ",".join(args.redact)))
    if args.split_ratios:
        overrides.append(("QA_SPLIT_RATIOS", args.split_ratios))
    if args.keep_removed:
        overrides.append(("QA_KEEP_REMOVED", "True"))
    if args.redis:
        from qa_crawler.cluster import connect, default_worker_name

        try:
            connect(args.redis).close()
        except (ValueError, ConnectionError) as exc:
            print(f"qa-crawler crawl: {exc}", file=sys.stderr)
            return EXIT_CANNOT_RUN
        names = {name for name, _ in overrides}
        overrides += [("REDIS_URL", args.redis),
                      ("SCHEDULER", "qa_crawler.cluster.ClusterScheduler"),
                      ("QA_EXPORT_ON_CLOSE", "False")]
        if "QA_WORKER" not in names:
            overrides.append(("QA_WORKER", default_worker_name()))
    return run_crawl(args.start_url, args.out, overrides=overrides,
                     recheck=args.recheck_older_than, verbose=args.verbose)


def _never_crawled(folder, command: str) -> bool:
    """Say so (the same words for report, export and rebuild) when ``folder`` holds neither a
    crawl's state nor a dataset."""
    from qa_crawler.state import state_files

    folder = Path(folder)
    if not folder.is_dir():
        print(f"qa-crawler {command}: {folder}: no such dataset folder", file=sys.stderr)
        return True
    if state_files(folder) or (folder / "qa.parquet").is_file():
        return False
    print(f"qa-crawler {command}: {folder} was never crawled: it holds no crawl state and no "
          f"dataset (run `qa-crawler crawl --out {folder}` first)", file=sys.stderr)
    return True


def cmd_rebuild(args) -> int:
    from pipelines.dataset import ExportBusy
    from pipelines.rebuild import print_progress, rebuild
    from qa_crawler.state import StorageError

    if _never_crawled(args.dir, "rebuild"):
        return EXIT_USAGE
    try:
        manifest = rebuild(args.dir, workers=args.workers, progress=print_progress)
    except FileNotFoundError as exc:
        print(f"qa-crawler rebuild: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ExportBusy, StorageError) as exc:
        print(f"qa-crawler rebuild: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    info = manifest["rebuild"]
    print(f"qa-crawler: rebuilt {args.dir} with parser {info['parser_version']}: "
          f"{info['records']} Q&A records from {info['pages_parsed']} stored pages "
          f"({info['not_qa_pages']} not Q&A pages) in {info['seconds']}s on {info['workers']} "
          "process(es); nothing was fetched")
    for path in info.get("damaged_state_set_aside") or ():
        print(f"qa-crawler: the damaged crawl state was set aside as {path}; the pages' history "
              "(first seen, runs) starts again from the raw pages")
    report = _report_after(Path(args.dir), "rebuild")
    if report is not None:
        print(f"qa-crawler: report: {report}")
    return EXIT_OK


def cmd_show(args) -> int:
    import json as _json
    import tempfile
    import webbrowser

    from qa_crawler.folder import iter_merged_records
    from qa_crawler.warc import Location, read_at

    found = next((r for r, _ in iter_merged_records(args.dir) if r["qa_id"] == args.qa_id), None)
    if found is None:
        print(f"qa-crawler show: no record {args.qa_id!r} in {args.dir}", file=sys.stderr)
        return EXIT_USAGE
    if not found.get("warc_file"):
        print(f"qa-crawler show: the raw page of {args.qa_id} was not kept (crawled with "
              "--no-warc)", file=sys.stderr)
        return EXIT_USAGE
    try:
        stored = read_at(args.dir, Location(found["warc_file"], found["warc_offset"]))
    except OSError as exc:
        print(f"qa-crawler show: cannot read the raw page of {args.qa_id} from "
              f"{exc.filename or found['warc_file']}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.browser:
        with tempfile.NamedTemporaryFile("wb", suffix=".html", delete=False) as fh:
            fh.write(stored.body)
        webbrowser.open(Path(fh.name).as_uri())
        print(fh.name)
        return EXIT_OK
    sys.stderr.write(_json.dumps({"url": stored.url, "date": stored.date,
                                  "warc": f"{found['warc_file']}:{found['warc_offset']}"}) + "\n")
    sys.stdout.buffer.write(stored.body)
    return EXIT_OK


def cmd_export(args) -> int:
    from pipelines.dataset import ExportBusy, export_dataset
    from qa_crawler.state import StorageError, state_files, verify_state_files

    if _never_crawled(args.dir, "export"):
        return EXIT_USAGE
    if not state_files(args.dir):
        print(f"qa-crawler export: {args.dir} holds a dataset but no crawl state to write it "
              "from (it was copied without its .qa-crawler folder?)", file=sys.stderr)
        return EXIT_USAGE
    try:
        verify_state_files(args.dir)
        manifest = export_dataset(args.dir, redact=args.redact, split_ratios=args.split_ratios,
                                  keep_removed=args.keep_removed, lock_wait=args.wait)
    except (ExportBusy, StorageError) as exc:
        print(f"qa-crawler export: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    rows = manifest["rows"]
    print(f"qa-crawler: dataset written to {args.dir}: {rows['qa']} Q&A rows, "
          f"{rows['similar']} similar, {rows['related_topics']} related topics, "
          f"{rows['failures']} failures; workers: {', '.join(manifest['workers'])}")
    from qa_crawler.warc import write_index

    index = write_index(args.dir)
    if index is not None:
        print(f"qa-crawler: CDXJ index of the raw pages: {index}")
    report = _report_after(Path(args.dir), "export")
    if report is not None:
        print(f"qa-crawler: report: {report}")
    if args.wacz:
        return _wacz(args.dir, None, "export")
    return EXIT_OK


def _wacz(folder, dest, command: str) -> int:
    from pipelines.replay import write_wacz

    try:
        path, pages = write_wacz(folder, dest)
    except (OSError, LookupError, RuntimeError) as exc:
        print(f"qa-crawler {command}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"qa-crawler: WACZ written to {path} ({pages} Q&A pages); open it in ReplayWeb.page")
    return EXIT_OK


def cmd_wacz(args) -> int:
    return _wacz(args.dir, args.out, "wacz")


def cmd_demo(args) -> int:
    from qa_crawler.demo.server import SiteServer
    from qa_crawler.demo.site import SampleSite

    out = Path(args.out)
    # The demo site gets a new port each time, so a previous demo's state would not match it:
    # a previous demo's folder is replaced; any other folder that holds something is refused.
    marker = out / DEMO_MARKER
    if out.is_symlink() or out.exists() and not out.is_dir():
        print(f"qa-crawler demo: {out} is not a folder; give --out a new or empty folder",
              file=sys.stderr)
        return EXIT_USAGE
    if out.is_dir() and any(out.iterdir()):
        if not marker.is_file():
            print(f"qa-crawler demo: {out} is not empty and not a previous demo's folder (it has "
                  f"no {DEMO_MARKER}; demos before this marker left none, remove such a folder "
                  "yourself); give --out a new or empty folder", file=sys.stderr)
            return EXIT_USAGE
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text("Made by `qa-crawler demo`, which replaces this folder when run again.\n",
                      encoding="utf-8")
    site = SampleSite(n_pages=args.pages)
    with SiteServer(site) as server:
        print(f"qa-crawler demo: serving a sample site of {args.pages} Q&A pages at "
              f"{server.base_url}/ (loopback only)")
        code = run_crawl(
            f"{server.base_url}/", str(out),
            overrides=[("AUTOTHROTTLE_ENABLED", "False"), ("DOWNLOAD_DELAY", "0"),
                       ("CONCURRENT_REQUESTS", "32"), ("CONCURRENT_REQUESTS_PER_DOMAIN", "32"),
                       ("QA_PROGRESS_INTERVAL", "2"),
                       # The demo ends by pointing at the report: drawn before the crawl ends.
                       ("QA_REPORT_BACKGROUND", "False")],
        )
    if code == EXIT_OK:
        print(f"\nOpen it: .venv/bin/python -c \"import qa_crawler; "
              f"print(qa_crawler.load_dataset('{out}').head())\"")
        print(f"The dataset card: {out / 'README.md'}")
    if (out / "qa.parquet").is_file():  # written also when a monitor failed (exit status 4)
        # The crawl draws the report when it writes the dataset; draw it here if that failed.
        report = (out / "report.html").resolve()
        if not report.is_file():
            report = _write_report(out, "demo")
            if report is None:
                return EXIT_CANNOT_RUN
        print(f"The report (charts; open it in a browser): {report}")
    return code


def _report_after(folder: Path, command: str):
    """The report after a command that wrote the dataset: drawn by ``qa-crawler report`` in a
    process of its own when ``QA_REPORT_BACKGROUND`` (the command ends once the dataset is
    written, as a crawl does), else now. What to print of it, or None after saying why not."""
    from qa_crawler.settings import QA_REPORT_BACKGROUND

    if QA_REPORT_BACKGROUND:
        from qa_crawler.apart import start_report
        from qa_crawler.folder import REPORT_NAME

        try:
            _, log = start_report(folder)
        except OSError as exc:
            print(f"qa-crawler {command}: could not start drawing the report in the background "
                  f"({exc}); drawing it now", file=sys.stderr)
        else:
            return (f"{(folder / REPORT_NAME).resolve()} (being drawn in the background, log "
                    f"{log}; `qa-crawler report {folder}` draws it now)")
    return _write_report(folder, command)


def _write_report(folder, command: str):
    """Write ``report.html`` into ``folder``; its path, or None after saying why it failed."""
    from pipelines.report import try_write_report

    path, error = try_write_report(folder)
    if path is None:
        print(f"qa-crawler {command}: {error}", file=sys.stderr)
    return path


def cmd_diff(args) -> int:
    from pipelines.diff import diff_datasets

    try:
        result = diff_datasets(args.old, args.new)
    except (FileNotFoundError, OSError) as exc:
        print(f"qa-crawler diff: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if args.json:
        json.dump(result.as_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(result.text())
    return EXIT_OK


def cmd_report(args) -> int:
    if _never_crawled(args.dir, "report"):
        return EXIT_CANNOT_RUN
    path = _write_report(Path(args.dir), "report")
    if path is None:
        return EXIT_CANNOT_RUN
    print(path)
    return EXIT_OK
