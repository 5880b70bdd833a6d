"""HTTP etiquette every client of ours keeps, whatever it talks to: who we say we are, and how
long a server that said "not now" asked us to wait."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version


def _package_version() -> str:
    try:
        return version("listenpost")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.1"


# Networks (Reddit first) throttle generic agents; a versioned one with a link names who calls.
USER_AGENT = f"listenpost/{_package_version()} (+https://github.com/listenpost/listenpost)"


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from `now` that a Retry-After header (delta-seconds or an HTTP date) asks us to
    wait, never negative; None when the header is missing or unreadable.

    Only the reading is shared: each caller knows its own default and its own ceiling (a
    listener pauses a source, Slack and hand-offs park one channel or target).
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(seconds, 0.0) if math.isfinite(seconds) else None
