"""Durations as people write them on the command line: ``30d``, ``12h``, ``90m``, ``0s``."""

from __future__ import annotations

import datetime as dt
import re

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.I)


def parse_duration(text: str) -> dt.timedelta:
    """``30d`` or ``1d12h`` to a timedelta; ValueError naming the text otherwise."""
    cleaned = (text or "").strip().lower()
    parts = _PART.findall(cleaned)
    if not parts or _PART.sub("", cleaned).strip():
        raise ValueError(
            f"invalid duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 30d, 12h, 0s)"
        )
    total = dt.timedelta()
    for number, unit in parts:
        total += dt.timedelta(**{_UNITS[unit.lower()]: float(number)})
    return total
