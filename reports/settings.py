"""The `[reports]` table: a report posted to Slack on a schedule (reports/schedule.py).

config.py only composes it; off unless `slack_channel` is set.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from core.durations import parse_duration
from core.settings import Strict


class ReportSettings(Strict):
    """A report posted to Slack on a schedule (off unless `slack_channel` is set)."""

    slack_channel: str | None = None
    every: Literal["weekly", "monthly"] = "monthly"
    brands: list[str] = Field(default_factory=list)  # empty: every brand that alerts
    dir: str = "reports"  # where the files are written before upload (and kept)
    # How late after the period ends the report goes out (data from slow sources arrives).
    delay: str = "1h"

    @field_validator("delay")
    @classmethod
    def _delay(cls, value: str) -> str:
        parse_duration(value)
        return value
