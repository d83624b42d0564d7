"""The crawl's own stats keys (``qa/...``), named once, and the sums and words read from them.

Every component that counts, and every reader of the counts (progress line, monitors, summary,
run history), uses these names; a key spelled anywhere else is a key nobody reads.
"""

from __future__ import annotations

# Scrapy's own keys that we read.
ITEMS = "item_scraped_count"  # records that reached the end of the pipelines
RESPONSES = "downloader/response_count"
RESPONSE_STATUS = "downloader/response_status_count/"  # + an HTTP status: responses with it
FINISH_REASON = "finish_reason"

PAGES = "qa/pages"  # responses the spider handled
SKIPPED_KNOWN = "qa/skipped_known"  # Q&A pages not fetched: stored and fresh
SKIPPED_NOT_HTML = "qa/skipped_not_html"
SKIPPED_IGNORED = "qa/skipped_ignored"  # robots.txt, offsite: a choice, not a failure
NOT_MODIFIED = "qa/recheck/not_modified"  # re-checks answered 304
DUPLICATES = "qa/duplicates"
REMOVED = "qa/removed"  # stored pages a re-check found withdrawn (404, 410)
PARSE_ISSUE_ROWS = "qa/parse_issue_rows"  # records with any parse issue
START_FAILED = "qa/start_failed"  # why the start URL could not be fetched
ARTICLE_URL_PATTERN = "qa/article_url_pattern"  # kept with the run for `rebuild`
WARC_RECORDS = "qa/warc/records"
PAGE_WORKER = "qa/page_worker/pid"  # the process reading pages, when there is one
PAGE_WORKER_PAGES = "qa/page_worker/pages"  # pages it read
PAGE_WORKER_DIED = "qa/page_worker/died"  # how it ended, when it died during the crawl
PAGE_WORKER_LEFT_PENDING = "qa/page_worker/left_pending"  # its pages in flight then: pending
FRONTIER_RESUMED = "qa/frontier/resumed"  # URLs an earlier run left pending, scheduled again
FRONTIER_PENDING = "qa/frontier/pending"  # URLs still pending when the run closed
VALIDATION_PASSED = "qa/validation/passed"
VALIDATION_DROPPED = "qa/validation/dropped"
MONITORS_VERDICT = "qa/monitors/verdict"
MONITORS_STOPPED = "qa/monitors/stopped"  # a check during the run stopped the crawl: its message
MONITORS_ALERTED = "qa/monitors/alerted"  # checks during the run that failed and were alerted on
ALERTS_SENT = "qa/alerts/sent"
ALERT_ERROR = "qa/alerts/error"
DATASET_ROWS = "qa/dataset_rows"
REPORT = "qa/report"  # path of report.html
REPORT_BACKGROUND = "qa/report_background"  # log of the process drawing it after the crawl
REPORT_ERROR = "qa/report_error"
REDIS_LOST = "qa/redis_lost"
WRITE_ERROR = "qa/write_error"  # the file that could not be written and why: the crawl stopped
SITE_RULE_DROPPED = "qa/site_rule/dropped"  # requests (redirects) off the crawl's site
CLUSTER_WORKER = "qa/cluster/worker"
CLUSTER_RUN = "qa/cluster/run"
CLUSTER_RECOVERED = "qa/cluster/recovered"
CLUSTER_SKIPPED_STORED = "qa/cluster/skipped_stored"  # recovered requests for stored pages
# The whole cluster run's counts (every worker's), as the worker saw them when it left: the
# monitors judge a run's Q&A pages by these, not by one worker's share.
CLUSTER_PAGES_FOUND = "qa/cluster/pages_found"
CLUSTER_READ_AS_QA = "qa/cluster/read_as_qa"

# Families of keys, one per name: ``FAILURES + kind`` and so on.
FAILURES = "qa/failures/"  # + http_error, network_error, too_large, not_qa_page
MISSING = "qa/missing/"  # + a required part the page lacked
PARSE_ISSUES = "qa/parse_issues/"  # + a kind of parse issue: records with one of that kind
RECORDS = "qa/records/"  # + new, changed, unchanged (the store's outcome)
VALIDATION = "qa/validation/"  # + the field that failed
MONITOR_FAILED = "qa/monitors/failed/"  # + the check's name: its message
END_ERROR = "qa/end/"  # + a step of the end of the run (monitors, run, export): its error

# What a run keeps of its stats in the crawl state (and the manifest's runs).
KEPT_PREFIXES = ("qa/", ITEMS, RESPONSES)


def family(stats: dict, prefix: str) -> dict[str, object]:
    """The keys of one family, by their last part: ``{"http_error": 3, ...}``."""
    return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix)}


def failures(stats: dict) -> int:
    """Requests that failed after their retries, all kinds."""
    return sum(v for v in family(stats, FAILURES).values() if isinstance(v, (int, float)))


# Responses that mean the site is pushing back on the crawl.
BAN_STATUSES = (403, 429)

# The reason a monitor gives when it stops the crawl during the run.
STOPPED_BY_MONITOR = "qa_monitor_stop"

_REASONS = {
    "finished": "finished",
    "closespider_pagecount": "stopped at the page limit (CLOSESPIDER_PAGECOUNT)",
    "closespider_itemcount": "stopped at the record limit (CLOSESPIDER_ITEMCOUNT)",
    "closespider_timeout": "stopped at the time limit (CLOSESPIDER_TIMEOUT)",
    "closespider_timeout_no_item": "stopped: no record for CLOSESPIDER_TIMEOUT_NO_ITEM seconds",
    "closespider_errorcount": "stopped after too many errors (CLOSESPIDER_ERRORCOUNT)",
    "shutdown": "stopped by Ctrl-C or a stop signal",
    "cancelled": "cancelled",
    STOPPED_BY_MONITOR: "stopped by a monitor during the run",
}


def finish_reason_words(reason) -> str:
    """Scrapy's finish reason (``closespider_pagecount``) as an operator reads it."""
    if reason is None:
        return "not started"
    return _REASONS.get(str(reason), f"ended: {reason}")


def ban_responses(stats: dict) -> int:
    """Responses answered 403 or 429, retries included."""
    return sum(stats.get(f"{RESPONSE_STATUS}{code}", 0) for code in BAN_STATUSES)
