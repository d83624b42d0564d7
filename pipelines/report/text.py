"""How values are written in the report: escaped text, counts, shares and UTC times."""

from __future__ import annotations

import datetime as dt
import html


def escape(value) -> str:
    """``value`` as HTML text (None as nothing)."""
    return html.escape("" if value is None else str(value))


def fmt_count(value: int) -> str:
    return f"{value:,}"


def fmt_share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def fmt_when(value) -> str:
    if not value:
        return "unknown"
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M")


