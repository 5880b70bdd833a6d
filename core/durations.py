"""One way to write a length of time in settings, slash commands and CLI options: '30s', '5m',
'1h', '7d'."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """'30s', '5m', '1h', '7d' -> timedelta, always longer than zero; ValueError names the form
    expected, so a settings error reads as one line."""
    m = _DURATION.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like '30s', '5m', '1h' or '7d'")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
