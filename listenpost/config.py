"""settings.toml -> validated settings, or one clear line naming the wrong key and the fix.

Secrets never live here: tokens come from the environment only, so settings.toml can be
committed and shared.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from alerts.app_settings import SavedReply, SlackAppSettings
from alerts.handoff_settings import RouteHandoff
from alerts.settings import (
    DigestSettings,
    EscalateTo,
    FatigueSettings,
    QuietHours,
    Sla,
    TimeZone,
)
from classifiers.settings import KeywordRuleSettings, SentimentModel
from core.durations import parse_duration
from core.query import Query, QueryError, parse
from core.settings import Categories, Languages, Strict, is_http_url
from core.triage import SENTIMENTS, URGENCIES
from listeners import registry
from listeners.base import SourceSettings
from listeners.errors import NotConfigured
from listenpost.settings_brands import BrandExtras, check_brands
from listenpost.settings_errors import format_problems, problems
from listenpost.settings_queue import MetricsSettings, QueueSettings, check_distributed
from radar.settings import RadarSettings
from reports.settings import ReportSettings

SETTINGS_ENV = "LISTENPOST_SETTINGS"
DEFAULT_FILE = "settings.toml"


class SettingsError(Exception):
    """A settings problem explained in one line, shown to the user instead of a traceback."""


_Strict = Strict


_DB_BACKENDS = ("sqlite", "postgresql")
_DB_EXAMPLE = "sqlite:///listenpost.db or postgresql+psycopg://user@host/listenpost"


class StorageSettings(_Strict):
    url: str = "sqlite:///listenpost.db"

    @field_validator("url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError(
                f"{value!r} is not a database URL; use one like {_DB_EXAMPLE}"
            ) from None
        if backend not in _DB_BACKENDS:
            raise ValueError(
                f"{backend!r} databases are not supported ({value!r}); "
                f"use sqlite or postgresql, like {_DB_EXAMPLE}"
            )
        return value


class BrandSettings(BrandExtras):  # competitors, alerts, topics: settings_brands.py
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except QueryError as exc:
            raise ValueError(f"query does not parse: {exc}") from None
        return value

    @property
    def parsed(self) -> Query:
        return parse(self.query)


class SlackSettings(SlackAppSettings):  # app_mode, http_*: alerts/app_settings.py
    channel: str = "#brand-alerts"
    base_url: str | None = None

    @field_validator("channel")
    @classmethod
    def _names_a_channel(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a channel, like '#brand-alerts' or a channel id")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_base_url(cls, value: str | None) -> str | None:
        if value is not None and not is_http_url(value):
            raise ValueError(f"{value!r} is not an http(s) URL; use one like https://slack.com/api/")
        return value


class RouteSettings(RouteHandoff):  # target, webhook, zendesk: alerts/handoff_settings.py
    name: str
    min_reach: int | None = Field(default=None, ge=0)  # Metrics.reach of the post
    channel: str | None = None
    # What is listed is what matches; neither listed: negative OR high+ (alerts/routes.py).
    sentiments: list[str] | None = None
    min_urgency: str | None = None
    brands: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    languages: Languages = Field(default_factory=list)
    categories: Categories = Field(default_factory=list)
    sla: Sla = None  # "30m" or { dm = "30m", comment = "1h", post = "24h" }: alerts/settings.py
    quiet_hours: QuietHours = None  # "22:00-07:00" in `timezone`: alerts/settings.py
    timezone: TimeZone = "UTC"  # alerts/settings.py
    escalate_to: EscalateTo = None  # "#leads" or "<!subteam^S0123>": alerts/settings.py

    @field_validator("sentiments")
    @classmethod
    def _known_sentiments(cls, value: list[str] | None) -> list[str] | None:
        for s in value or []:
            if s not in SENTIMENTS:
                raise ValueError(f"unknown sentiment {s!r}; use {', '.join(SENTIMENTS)}")
        return value

    @field_validator("min_urgency")
    @classmethod
    def _known_urgency(cls, value: str | None) -> str | None:
        if value is not None and value not in URGENCIES:
            raise ValueError(f"unknown urgency {value!r}; use {', '.join(URGENCIES)}")
        return value


class AlertSettings(_Strict):
    slack: SlackSettings = Field(default_factory=SlackSettings)
    routes: list[RouteSettings] = Field(default_factory=list)
    fatigue: FatigueSettings = Field(default_factory=FatigueSettings)  # alerts/settings.py
    digests: list[DigestSettings] = Field(default_factory=list)  # alerts/settings.py
    replies: list[SavedReply] = Field(default_factory=list)  # alerts/app_settings.py
    # Posts older than this are stored and triaged but alert nobody (first polls, backfills).
    max_age: str = "24h"

    @field_validator("max_age")
    @classmethod
    def _valid_max_age(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def max_age_delta(self) -> timedelta:
        return parse_duration(self.max_age)


class ClassifierSettings(_Strict):
    batch_size: int = Field(default=32, ge=1, le=1024)
    rules: list[KeywordRuleSettings] = Field(default_factory=list)  # classifiers/settings.py
    sentiment_model: SentimentModel = None  # your own HF model: classifiers/settings.py


class Settings(_Strict):
    storage: StorageSettings = Field(default_factory=StorageSettings)
    brands: list[BrandSettings] = Field(default_factory=list)
    # Present = enabled. With no [sources] at all, the public sources that need no key are on.
    sources: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"hackernews": {}, "reddit": {}, "rss": {}}
    )
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    radar: RadarSettings = Field(default_factory=RadarSettings)  # radar/settings.py
    queue: QueueSettings = Field(default_factory=QueueSettings)  # settings_queue.py
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # settings_queue.py

    @model_validator(mode="after")
    def _unique_brands(self) -> Settings:
        names = [b.name for b in self.brands]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"brand names must be unique; repeated: {', '.join(dupes)}")
        return self

    @field_validator("queue")
    @classmethod
    def _on_postgresql(cls, value: QueueSettings, info: ValidationInfo) -> QueueSettings:
        if storage := info.data.get("storage"):  # absent: storage had its own error
            check_distributed(value, storage.url)
        return value

    @model_validator(mode="after")
    def _competitors_are_brands(self) -> Settings:
        check_brands(self.brands, self.reports)
        return self

    @model_validator(mode="after")
    def _routes_name_known_things(self) -> Settings:
        brands = [b.name for b in self.brands]
        networks = sorted(registry.LISTENERS)
        for i, route in enumerate(self.alerts.routes):
            where = f"alerts.routes[{i}] ({route.name!r})"
            for kind, values, known in (
                ("brand", route.brands, brands),
                ("network", route.networks, networks),
            ):
                for value in values:
                    if value not in known:
                        raise ValueError(f"{where}: unknown {kind} {value!r}{_hint(value, known)}")
        return self

    def source_settings(self) -> dict[str, SourceSettings]:
        """Each enabled source's table validated by its own listener's Settings model."""
        return {name: _source_settings(name, table) for name, table in self.sources.items()}

    def poll_settings(self) -> dict[str, SourceSettings]:
        """The sources searched on a schedule; streams run as long-lived tasks instead."""
        return {n: s for n, s in self.source_settings().items() if n not in registry.STREAMS}


def _hint(value: str, known: list[str]) -> str:
    """' (did you mean 'X'?)' when something is close, else the list of what is allowed."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1)
    if close:
        return f" (did you mean {by_lower[close[0]]!r}?)"
    return f"; configured: {', '.join(known)}" if known else "; none configured"


def _source_settings(name: str, table: Mapping[str, Any]) -> SourceSettings:
    validated, found = _check_source(name, table)
    if validated is None:
        raise SettingsError("; ".join(found))
    return validated


def _check_source(name: str, table: Any) -> tuple[SourceSettings | None, list[str]]:
    """A source table validated by its own listener's Settings model, or its problems."""
    try:
        cls = registry.load(name)
    except NotConfigured as exc:
        return None, [f"sources.{name}: {exc}"]
    if not isinstance(table, Mapping):
        return None, [f"sources.{name}: must be a table, like [sources.{name}]"]
    try:
        validated = cls.Settings.model_validate(dict(table))
    except ValidationError as exc:
        return None, problems(exc, cls.Settings, prefix=f"sources.{name}")
    base_url = getattr(validated, "base_url", None)
    if base_url is not None and not is_http_url(base_url):
        return None, [
            f"sources.{name}.base_url: {base_url!r} is not an http(s) URL; "
            "use one like https://example.com"
        ]
    return validated, []


@dataclass(frozen=True)
class SettingsOrigin:
    """Which settings file is in use and how it was found, or where none was: `doctor` and
    `--verbose` say it, so running from another folder is never a mystery."""

    path: Path | None
    text: str


def locate(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> SettingsOrigin:
    """--settings, then $LISTENPOST_SETTINGS, then ./settings.toml; no path: embedded defaults."""
    if explicit:
        return SettingsOrigin(Path(explicit), f"{Path(explicit).absolute()} (--settings)")
    if env.get(SETTINGS_ENV):
        path = Path(env[SETTINGS_ENV])
        return SettingsOrigin(path, f"{path.absolute()} (${SETTINGS_ENV})")
    local = Path(DEFAULT_FILE)
    if local.exists():
        return SettingsOrigin(local, f"{local.absolute()} (./{DEFAULT_FILE})")
    return SettingsOrigin(
        None,
        f"none found (no --settings, no ${SETTINGS_ENV}, no {local.absolute()}); "
        "using the embedded defaults",
    )


def load(path: Path | None) -> Settings:
    """Read and validate settings; every failure is a SettingsError listing each problem."""
    where = "embedded defaults" if path is None else str(path)
    try:
        return _load(path, where)
    except RecursionError:  # a 1,000-deep nested array, say: tomllib and pydantic recurse
        raise SettingsError(f"{where}: arrays or tables nest too deeply") from None


def _load(path: Path | None, where: str) -> Settings:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            # utf-8-sig: editors on Windows like to start the file with a byte-order mark.
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise SettingsError(f"{where}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{where}: cannot read ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{where}: not valid TOML: {exc}") from None
    found: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        found += problems(exc, Settings)
    # Each source's own table too, even when something else is wrong: every problem at once.
    sources = settings.sources if settings is not None else data.get("sources", {})
    if isinstance(sources, Mapping):
        for name, table in sources.items():
            found += _check_source(str(name), table)[1]
    if found:
        raise SettingsError(format_problems(where, found))
    assert settings is not None
    return settings
