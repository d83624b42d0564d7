"""After-run checks a scheduled crawl must notice, with a verdict for the summary and manifest.

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
          "QA_MONITOR_MAX_ISSUE_SHARE")


def limits_of(settings) -> dict[str, float]:
    """The thresholds of a crawl's settings."""
    return {name: settings.getfloat(name) for name in LIMITS}


def pages_found(stats: dict) -> int:
    """Q&A pages this run saw on the site: parsed, skipped as stored, or re-checked unchanged."""
    return (stats.get(keys.ITEMS, 0) + stats.get(keys.SKIPPED_KNOWN, 0)
            + stats.get(keys.NOT_MODIFIED, 0) + stats.get(keys.DUPLICATES, 0))


def evaluate(stats: dict, reason: str, previous: dict | None, previous_fill: dict | None,
             limits: dict | None = None) -> dict:
    """Run the checks; ``previous`` is the last finished run's stats, ``previous_fill`` the fill
    rates of the dataset before this run. Returns ``{"verdict": "pass"|"fail", "checks": [...]}``.
    """
    limits = limits or {name: getattr(project_settings, name) for name in LIMITS}
    checks = []

    def check(name, ok, value, threshold, message):
        checks.append({"name": name, "ok": bool(ok), "value": value, "threshold": threshold,
                       "message": message})

    check("finish_reason", reason == "finished", reason, "finished",
          f"the crawl ended with '{reason}'")

    fetched = stats.get(keys.PAGES, 0)
    failed = keys.failures(stats)
    share = failed / max(fetched + failed, 1)
    check("failed_share", share <= limits["QA_MONITOR_MAX_FAILED_SHARE"], round(share, 4),
          limits["QA_MONITOR_MAX_FAILED_SHARE"], f"{failed} failed of {fetched + failed} requests")

    found = pages_found(stats)
    if previous:
        before = pages_found(previous)
        ratio = found / before if before else 1.0
        check("pages_found", ratio >= limits["QA_MONITOR_MIN_FOUND_RATIO"], round(ratio, 4),
              limits["QA_MONITOR_MIN_FOUND_RATIO"],
              f"{found} Q&A pages found, {before} in the previous run")

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
