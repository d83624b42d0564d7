"""After-run checks a scheduled crawl must notice, with a verdict for the summary and manifest.

Why not spidermon: its monitors run on the crawl stats inside ``spider_closed``; ours need the
previous run's counts and the previous dataset's fill rates, which live in the crawl state and
the manifest, and their verdict must be written into the manifest and the exit status. These
checks are small pure functions over those numbers.
"""

from __future__ import annotations

from qa_crawler.record import REQUIRED_PARTS

DEFAULTS = {
    "QA_MONITOR_MIN_FOUND_RATIO": 0.8,   # Q&A pages found vs the previous run
    "QA_MONITOR_MAX_FILL_DROP": 0.2,     # fall in a required column's fill rate (absolute)
    "QA_MONITOR_MAX_FAILED_SHARE": 0.1,  # failed requests / pages fetched
    "QA_MONITOR_MAX_ISSUE_SHARE": 0.25,  # records with parse issues / records parsed
}


def pages_found(stats: dict) -> int:
    """Q&A pages this run saw on the site: parsed, skipped as stored, or re-checked unchanged."""
    return (stats.get("item_scraped_count", 0) + stats.get("qa/skipped_known", 0)
            + stats.get("qa/recheck/not_modified", 0) + stats.get("qa/duplicates", 0))


def failures(stats: dict) -> int:
    return sum(v for k, v in stats.items() if k.startswith("qa/failures/"))


def evaluate(stats: dict, reason: str, previous: dict | None, previous_fill: dict | None,
             limits: dict | None = None) -> dict:
    """Run the checks; ``previous`` is the last finished run's stats, ``previous_fill`` the fill
    rates of the dataset before this run. Returns ``{"verdict": "pass"|"fail", "checks": [...]}``.
    """
    limits = {**DEFAULTS, **(limits or {})}
    checks = []

    def check(name, ok, value, threshold, message):
        checks.append({"name": name, "ok": bool(ok), "value": value, "threshold": threshold,
                       "message": message})

    check("finish_reason", reason == "finished", reason, "finished",
          f"the crawl ended with '{reason}'")

    fetched = stats.get("qa/pages", 0)
    failed = failures(stats)
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

    parsed = stats.get("item_scraped_count", 0)
    if parsed:
        doubtful = stats.get("qa/parse_issues/rows", 0)
        kinds = {k.rsplit("/", 1)[1]: v for k, v in stats.items()
                 if k.startswith("qa/parse_issues/") and not k.endswith("/rows")}
        worst = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:3])
        check("parse_issue_share", doubtful / parsed <= limits["QA_MONITOR_MAX_ISSUE_SHARE"],
              round(doubtful / parsed, 4), limits["QA_MONITOR_MAX_ISSUE_SHARE"],
              f"{doubtful} of {parsed} records have parse issues ({worst or 'none'}); a share "
              f"this high means the site's markup changed or a template is unknown: "
              f"see `qa-crawler parse FILE --explain`")

    if parsed and previous_fill:
        worst = None
        for part in REQUIRED_PARTS:
            now = 1 - stats.get(f"qa/missing/{part}", 0) / parsed
            drop = previous_fill.get(part, now) - now
            if worst is None or drop > worst[1]:
                worst = (part, drop, now)
        part, drop, now = worst
        check("fill_rate", drop <= limits["QA_MONITOR_MAX_FILL_DROP"], round(drop, 4),
              limits["QA_MONITOR_MAX_FILL_DROP"],
              f"'{part}' filled in {now:.0%} of this run's records, "
              f"{previous_fill.get(part, now):.0%} before (has the site's markup changed?)")

    return {"verdict": "pass" if all(c["ok"] for c in checks) else "fail", "checks": checks}
