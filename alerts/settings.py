"""Settings for how alerts reach people: SLAs, quiet hours, escalation, burst grouping, pacing
and digests. config.py mixes these into its tables; the meaning of each key is in
alerts/timing.py (routes), alerts/fatigue.py (bursts, pacing) and alerts/digest.py (digests).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from alerts.timing import escalation_target, parse_quiet_hours, parse_sla, zone
from core.durations import parse_duration
from core.settings import Strict

if TYPE_CHECKING:
    from alerts.fatigue import Policy

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = Weekday.__args__


def _sla(value: str | dict[str, str] | None) -> str | dict[str, str] | None:
    parse_sla(value)
    return value


def _quiet(value: str | None) -> str | None:
    if value is not None:
        parse_quiet_hours(value)
    return value


def _zone(value: str) -> str:
    zone(value)
    return value


def _escalation(value: str | None) -> str | None:
    if value is not None:
        escalation_target(value)
    return value


def _clock(value: str) -> str:
    parse_quiet_hours(f"{value}-{'00:01' if value.strip() == '00:00' else '00:00'}")
    return value.strip()


# Route keys (one field line each in config.RouteSettings).
Sla = Annotated[str | dict[str, str] | None, AfterValidator(_sla)]
QuietHours = Annotated[str | None, AfterValidator(_quiet)]
TimeZone = Annotated[str, AfterValidator(_zone)]
EscalateTo = Annotated[str | None, AfterValidator(_escalation)]


class FatigueSettings(Strict):
    """[alerts.fatigue]: burst grouping and per-channel pacing (alerts/fatigue.py)."""

    group_after: int = Field(default=5, ge=1, le=1000)
    group_window: str = "10m"
    per_second: float = Field(default=1.0, gt=0, le=10)
    burst: int = Field(default=3, ge=1, le=50)
    list_size: int = Field(default=20, ge=1, le=45)

    @field_validator("group_window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)
        return value

    def policy(self) -> Policy:
        """The delivery pass's Policy (imported here so settings stay light to load)."""
        from alerts.fatigue import Policy

        return Policy(
            group_after=self.group_after,
            group_window=parse_duration(self.group_window),
            per_second=self.per_second,
            burst=self.burst,
            list_size=self.list_size,
        )


class DigestSettings(Strict):
    """One [[alerts.digests]] entry: a daily or weekly summary posted to `channel`."""

    channel: str = Field(min_length=1)
    every: Literal["daily", "weekly"] = "daily"
    at: Annotated[str, AfterValidator(_clock)] = "09:00"
    timezone: TimeZone = "UTC"
    weekday: Weekday = "monday"  # weekly digests only
    brands: list[str] = Field(default_factory=list)  # empty: every brand

    @property
    def period(self) -> timedelta:
        return timedelta(days=7 if self.every == "weekly" else 1)
