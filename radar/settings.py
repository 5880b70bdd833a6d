"""The `[radar]` table: how the crisis radar watches for spikes and where it reports them.

Kept apart from config.py (which imports it) so the radar's knobs live beside the radar.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from core.durations import parse_duration
from core.query import QueryError, parse
from core.settings import Categories, Strict
from radar.detect import HOUR, SENSITIVITIES, Params

Scope = Literal["brand", "category", "term"]
# The categories whose sudden rise is news for the team; praise and job posts are not crises.
DEFAULT_CATEGORIES = ["complaint", "outage", "security", "billing", "availability"]


class RadarSettings(Strict):
    enabled: bool = True
    window: str = "15m"  # mentions are counted per window; the check runs once a window
    # Posts reach us up to a poll interval after they are written: a window is judged this long
    # after it closed, so it is not judged half-fetched (match your sources' `every`).
    lag: str = "5m"
    sensitivity: str = "medium"  # low | medium | high
    min_count: int = Field(default=6, ge=1)  # fewer mentions than this in a window never alert
    confirm: int = Field(default=2, ge=1, le=12)  # anomalous windows in a row before alerting
    end_after: int = Field(default=4, ge=1, le=96)  # calm windows in a row that end a spike
    cooldown: str = "6h"  # a flare-up this soon after a spike ended continues the same alert
    history_weeks: int = Field(default=4, ge=1, le=12)  # weeks the seasonal baseline looks back
    channel: str | None = None  # default: alerts.slack.channel
    scopes: list[Scope] = Field(default_factory=lambda: ["brand", "category", "term"])
    categories: Categories = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    # Terms and hashtags watched on their own (each is a query: `outage`, `"acme cloud"`,
    # `#acmedown`); the brand's whole volume is always watched.
    terms: list[str] = Field(default_factory=list)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        window = parse_duration(value)
        if HOUR % window or window > HOUR:
            raise ValueError(f"{value!r} must divide an hour evenly, like '5m', '15m' or '1h'")
        return value

    @field_validator("lag", "cooldown")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("sensitivity")
    @classmethod
    def _sensitivity(cls, value: str) -> str:
        if value not in SENSITIVITIES:
            raise ValueError(f"unknown sensitivity {value!r}; use {', '.join(SENSITIVITIES)}")
        return value

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: list[str]) -> list[str]:
        for term in value:
            try:
                parse(term)
            except QueryError as exc:
                raise ValueError(f"term {term!r} does not parse: {exc}") from None
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must name a channel, like '#crisis' or a channel id")
        return value

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def lag_delta(self) -> timedelta:
        return parse_duration(self.lag)

    def params(self) -> Params:
        """The detector's parameters these settings stand for."""
        return Params.preset(
            self.sensitivity,
            window=self.window_delta,
            min_count=self.min_count,
            confirm=self.confirm,
            end_after=self.end_after,
            cooldown=parse_duration(self.cooldown),
            history_weeks=self.history_weeks,
            long_windows=max(2, HOUR // self.window_delta),  # the slow-burn test spans an hour
        )
