"""Checks a scheduled crawl must notice, after the run and during it, with a verdict for the
summary and manifest.

Why not spidermon: its monitors run on the crawl stats inside ``spider_closed``; ours need the
previous run's counts and the previous dataset's fill rates, which live in the crawl state and
the manifest, and their verdict must be written into the manifest and the exit status. These
checks are small pure functions over those numbers.
"""

from __future__ import annotations

from qa_crawler import settings as project_settings
from qa_crawler import stats as keys
from qa_crawler.record import REQUIRED_PARTS

# The thresholds, set like any Scrapy setting; their defaults are in qa_crawler/settings.py.
LIMITS = ("QA_MONITOR_MIN_FOUND_RATIO", "QA_MONITOR_MAX_FILL_DROP", "QA_MONITOR_MAX_FAILED_SHARE",
          "QA_MONITOR_MAX_ISSUE_SHARE", "QA_MONITOR_MAX_BAN_SHARE", "QA_MONITOR_MIN_REQUESTS")


def limits_of(settings) -> dict[str, float]:
    """The thresholds of a crawl's settings."""
    return {name: settings.getfloat(name) for name in LIMITS}


def pages_found(stats: dict) -> int:
    """Q&A pages this run saw on the site: parsed, skipped as stored, or re-checked unchanged."""
    return (stats.get(keys.ITEMS, 0) + stats.get(keys.SKIPPED_KNOWN, 0)
            + stats.get(keys.NOT_MODIFIED, 0) + stats.get(keys.DUPLICATES, 0))


def read_as_qa(stats: dict) -> int:
    """Pages this run read as Q&A pages: found (see :func:`pages_found`), or dropped as
    invalid."""
    return (pages_found(stats) + stats.get(keys.VALIDATION_PASSED, 0)
            + stats.get(keys.VALIDATION_DROPPED, 0))


def _check(name, ok, value, threshold, message) -> dict:
    return {"name": name, "ok": bool(ok), "value": value, "threshold": threshold,
            "message": message}


def _request_checks(stats: dict, limits: dict) -> list[dict]:
    """The checks that read only this run's requests so far: they mean the same mid-run."""
    fetched = stats.get(keys.PAGES, 0)
    failed = keys.failures(stats)
    share = failed / max(fetched + failed, 1)
    checks = [_check("failed_share", share <= limits["QA_MONITOR_MAX_FAILED_SHARE"],
                     round(share, 4), limits["QA_MONITOR_MAX_FAILED_SHARE"],
                     f"{failed} failed of {fetched + failed} requests")]
    responses = stats.get(keys.RESPONSES, 0)
    if responses:
        banned = keys.ban_responses(stats)
        share = banned / responses
        checks.append(_check(
            "ban_share", share <= limits["QA_MONITOR_MAX_BAN_SHARE"], round(share, 4),
            limits["QA_MONITOR_MAX_BAN_SHARE"],
            f"{banned} of {responses} responses were 403 or 429: the site is pushing back; slow "
            "down (raise DOWNLOAD_DELAY, lower CONCURRENT_REQUESTS_PER_DOMAIN, keep "
            "AUTOTHROTTLE_ENABLED) and put a contact in QA_CONTACT"))
    return checks


def _found_before(previous: dict | None) -> int | None:
    """The previous run's Q&A pages found, comparable with this run's (None: none is)."""
    if not previous:
        return None
    if keys.CLUSTER_PAGES_FOUND in previous:
        return previous[keys.CLUSTER_PAGES_FOUND]
    if keys.CLUSTER_RUN in previous:
        return None  # a worker's share of a cluster run, whose whole was not kept
    return pages_found(previous)  # one process crawled the whole site


def evaluate_running(stats: dict, limits: dict | None = None) -> dict:
    """The checks made during the run (every ``QA_MONITOR_INTERVAL`` seconds); none fails before
    ``QA_MONITOR_MIN_REQUESTS`` responses, so a first unlucky minute does not stop a night's crawl.
    """
    limits = limits or {name: getattr(project_settings, name) for name in LIMITS}
    checks = []
    if stats.get(keys.RESPONSES, 0) >= limits["QA_MONITOR_MIN_REQUESTS"]:
        checks = _request_checks(stats, limits)
    return {"verdict": "pass" if all(c["ok"] for c in checks) else "fail", "checks": checks}


def evaluate(stats: dict, reason: str, previous: dict | None, previous_fill: dict | None,
             limits: dict | None = None) -> dict:
    """Run the checks; ``previous`` is the last finished run's stats, ``previous_fill`` the fill
    rates of the dataset before this run. Returns ``{"verdict": "pass"|"fail", "checks": [...]}``.

    A worker of a distributed crawl fetches a share of the site, which changes from run to run
    (one may fetch only listing pages while another takes every Q&A page): where its stats hold
    the cluster run's counts (``CLUSTER_PAGES_FOUND``, ``CLUSTER_READ_AS_QA``), the checks on
    the Q&A pages found judge those.
    """
    limits = limits or {name: getattr(project_settings, name) for name in LIMITS}
    checks = []

    def check(name, ok, value, threshold, message):
        checks.append(_check(name, ok, value, threshold, message))

    stopped = stats.get(keys.MONITORS_STOPPED)
    check("finish_reason", reason == "finished", reason, "finished",
          f"the crawl {keys.finish_reason_words(reason)}" + (f": {stopped}" if stopped else ""))

    checks.extend(_request_checks(stats, limits))

    fetched = stats.get(keys.PAGES, 0)
    cluster = keys.CLUSTER_PAGES_FOUND in stats
    # A worker that could not read the cluster run's counts (Redis lost as it left) cannot
    # judge the run's Q&A pages by its own share: those two checks are left to the others.
    unknown = keys.CLUSTER_RUN in stats and not cluster
    found = stats[keys.CLUSTER_PAGES_FOUND] if cluster else pages_found(stats)
    # Any page read as a Q&A page, stored or dropped as invalid, counts against this one.
    as_qa = stats.get(keys.CLUSTER_READ_AS_QA, 0) if cluster else read_as_qa(stats)
    if fetched and not as_qa and not unknown:
        whose = " (all workers)" if cluster else ""
        check("qa_pages", False, 0, 1,
              f"{fetched} pages fetched and none was a Q&A page{whose}: is the start URL right, "
              "or has the site changed? (`qa-crawler parse FILE --explain` shows how a page reads)")
    before = None if unknown else _found_before(previous)
    if before is not None:
        ratio = found / before if before else 1.0
        check("pages_found", ratio >= limits["QA_MONITOR_MIN_FOUND_RATIO"], round(ratio, 4),
              limits["QA_MONITOR_MIN_FOUND_RATIO"],
              f"{found} Q&A pages found{' by all workers' if cluster else ''}, {before} in the "
              "previous run")

    parsed = stats.get(keys.ITEMS, 0)
    if parsed:
        doubtful = stats.get(keys.PARSE_ISSUE_ROWS, 0)
        kinds = keys.family(stats, keys.PARSE_ISSUES)
        worst = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:3])
        check("parse_issue_share", doubtful / parsed <= limits["QA_MONITOR_MAX_ISSUE_SHARE"],
              round(doubtful / parsed, 4), limits["QA_MONITOR_MAX_ISSUE_SHARE"],
              f"{doubtful} of {parsed} records have parse issues ({worst or 'none'}); a share "
              f"this high means the site's markup changed or a template is unknown: "
              f"see `qa-crawler parse FILE --explain`")

    if parsed and previous_fill:
        worst = None
        for part in REQUIRED_PARTS:
            now = 1 - stats.get(keys.MISSING + part, 0) / parsed
            drop = previous_fill.get(part, now) - now
            if worst is None or drop > worst[1]:
                worst = (part, drop, now)
        part, drop, now = worst
        check("fill_rate", drop <= limits["QA_MONITOR_MAX_FILL_DROP"], round(drop, 4),
              limits["QA_MONITOR_MAX_FILL_DROP"],
              f"'{part}' filled in {now:.0%} of this run's records, "
              f"{previous_fill.get(part, now):.0%} before (has the site's markup changed?)")

    return {"verdict": "pass" if all(c["ok"] for c in checks) else "fail", "checks": checks}
