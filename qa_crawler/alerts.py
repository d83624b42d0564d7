"""Alerts where operators look when a monitor fails or the crawl cannot run: Apprise URLs
(``QA_ALERT_URLS``: a JSON webhook, e-mail over SMTP, Slack, ntfy...) and a command
(``QA_ALERT_COMMAND``) given the summary as JSON on its standard input."""

from __future__ import annotations

import json
import logging
import subprocess

from qa_crawler import stats as keys

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT = 60  # seconds an alert command may take before it is given up


class Alerts:
    """The alert actions of a crawl's settings; ``send`` never raises (an alert that cannot go
    out is logged and its error returned, the crawl's own outcome stands)."""

    def __init__(self, urls=None, command: str = ""):
        self.urls = [urls] if isinstance(urls, str) else list(urls or ())
        self.urls = [u.strip() for u in self.urls if u and u.strip()]
        self.apprise = None
        if self.urls:  # Apprise loads its many plugins: only when there is a URL to send to
            import apprise

            self.apprise = apprise.Apprise()
        for url in self.urls:
            if not self.apprise.add(url):
                raise ValueError(f"QA_ALERT_URLS: not an alert URL Apprise knows: {url!r} (see "
                                 "https://github.com/caronc/apprise/wiki for the forms)")
        self.command = (command or "").strip()

    @classmethod
    def from_settings(cls, settings) -> "Alerts":
        return cls(settings.getlist("QA_ALERT_URLS"), settings.get("QA_ALERT_COMMAND") or "")

    def __bool__(self) -> bool:
        return bool(self.urls or self.command)

    def send(self, payload: dict) -> list[str]:
        """Send one alert; the errors of the actions that failed (empty: all went out)."""
        errors = []
        if self.urls:
            import apprise

            ok = self.apprise.notify(title=payload["title"], body=payload["text"],
                                     notify_type=apprise.NotifyType.FAILURE)
            if not ok:
                errors.append("an alert URL could not be notified (see the log)")
        if self.command:
            try:
                proc = subprocess.run(self.command, shell=True, input=json.dumps(payload),
                                      text=True, capture_output=True, timeout=COMMAND_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"QA_ALERT_COMMAND failed: {exc}")
            else:
                if proc.returncode != 0:
                    errors.append(f"QA_ALERT_COMMAND exited {proc.returncode}: "
                                  f"{proc.stderr.strip()[-300:]}")
        for error in errors:
            logger.error("Alert not sent: %s", error)
        return errors


def payload(event: str, stats: dict, *, out_dir=None, start_url=None, problems=None) -> dict:
    """What an alert says: ``event`` is ``monitors_failed``, ``monitor_failed_during_run`` or
    ``cannot_run``; ``problems`` the lines that say what went wrong (the failed checks)."""
    if problems is None:
        problems = [f"{name}: {message}" for name, message
                    in sorted(keys.family(stats, keys.MONITOR_FAILED).items())]
        problems += [f"{step} failed: {error}" for step, error
                     in sorted(keys.family(stats, keys.END_ERROR).items())]
    heading = {"monitors_failed": "a monitor failed",
               "monitor_failed_during_run": "a monitor failed during the run",
               "cannot_run": "the crawl could not run"}[event]
    title = f"qa-crawler: {heading} ({out_dir})"
    reason = stats.get(keys.FINISH_REASON)
    text = "\n".join([
        f"Crawl of {start_url} into {out_dir}: "
        + (keys.finish_reason_words(reason) if reason else "still running"
           if event == "monitor_failed_during_run" else "not started"),
        f"pages fetched {stats.get(keys.PAGES, 0)}, records {stats.get(keys.ITEMS, 0)}, "
        f"failed {keys.failures(stats)}",
        *problems,
    ])
    kept = {k: v for k, v in stats.items() if isinstance(k, str) and k.startswith(keys.KEPT_PREFIXES)
            and isinstance(v, (int, float, str, bool))}
    return {"event": event, "title": title, "text": text, "out_dir": str(out_dir),
            "start_url": start_url, "finish_reason": reason,
            "finish_reason_words": keys.finish_reason_words(reason) if reason else None,
            "problems": problems, "stats": kept}
