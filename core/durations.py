"""One way to write a length of time in settings, slash commands and CLI options: '30s', '5m',
'1h', '7d'."""

from __future__ import annotations

import re
from datetime import timedelta

# ASCII digits only (`\d` would take other scripts' digits), and few enough that int() is cheap.
_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Ten years: longer than any interval, window or age that means something here, and far inside
# what datetime arithmetic can hold (a bigger one overflowed deep inside the scheduler).
MAX_DAYS = 3650


def parse_duration(text: str) -> timedelta:
    """'30s', '5m', '1h', '7d' -> timedelta, longer than zero and at most ten years; ValueError
    names the form expected, so a settings error reads as one line."""
    m = _DURATION.match(text)
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{shown} is not a duration like '30s', '5m', '1h' or '7d'")
    amount, unit = int(m.group(1)), m.group(2)
    if amount * _SECONDS[unit] > MAX_DAYS * 86400:
        raise ValueError(f"{shown} is longer than {MAX_DAYS} days; use a duration like '7d'")
    return timedelta(**{_UNITS[unit]: amount})
