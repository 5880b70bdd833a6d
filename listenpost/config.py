"""settings.toml -> validated settings, or one clear line naming the wrong key and the fix.

Secrets never live here: tokens come from the environment only, so settings.toml can be
committed and shared.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
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
from classifiers.settings import (
    Categories,
    KeywordRuleSettings,
    Languages,
    SentimentModel,
)
from core.durations import parse_duration
from core.query import Query, QueryError, parse
from core.settings import Strict
from core.triage import SENTIMENTS, URGENCIES
from listeners import registry
from listeners.base import SourceSettings
from listeners.errors import NotConfigured
from listenpost.settings_brands import BrandExtras, check_brands
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


class RouteSettings(RouteHandoff):  # target, webhook, zendesk: alerts/handoff_settings.py
    name: str
    min_reach: int | None = Field(default=None, ge=0)  # Metrics.reach of the post
    channel: str | None = None
    sentiments: list[str] = Field(default_factory=lambda: ["negative"])
    min_urgency: str | None = "high"
    brands: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    languages: Languages = Field(default_factory=list)  # classifiers/settings.py
    categories: Categories = Field(default_factory=list)  # classifiers/settings.py
    sla: Sla = None  # "30m" or { dm = "30m", comment = "1h", post = "24h" }: alerts/settings.py
    quiet_hours: QuietHours = None  # "22:00-07:00" in `timezone`: alerts/settings.py
    timezone: TimeZone = "UTC"  # alerts/settings.py
    escalate_to: EscalateTo = None  # "#leads" or "<!subteam^S0123>": alerts/settings.py

    @field_validator("sentiments")
    @classmethod
    def _known_sentiments(cls, value: list[str]) -> list[str]:
        for s in value:
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


def _hint(value: str, known: list[str]) -> str:
    """' (did you mean 'X'?)' when something is close, else the list of what is allowed."""
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1)
    if close:
        return f" (did you mean {by_lower[close[0]]!r}?)"
    return f"; configured: {', '.join(known)}" if known else "; none configured"


def _source_settings(name: str, table: Mapping[str, Any]) -> SourceSettings:
    try:
        cls = registry.load(name)
    except NotConfigured as exc:
        raise SettingsError(f"sources.{name}: {exc}") from None
    if not isinstance(table, Mapping):
        raise SettingsError(f"sources.{name}: must be a table, like [sources.{name}]")
    try:
        validated = cls.Settings.model_validate(dict(table))
    except ValidationError as exc:
        raise SettingsError(_explain(exc, prefix=f"sources.{name}", model=cls.Settings)) from None
    base_url = getattr(validated, "base_url", None)
    if base_url is not None and not _is_http_url(base_url):
        raise SettingsError(
            f"sources.{name}.base_url: {base_url!r} is not an http(s) URL; "
            "use one like https://example.com"
        )
    return validated


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _explain(exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """Turn pydantic's report into one line naming the key and what to do about it."""
    err = exc.errors()[0]
    loc = _dotted(err["loc"])
    path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        hint = ""
        known = _known_keys(model, err["loc"][:-1]) if model else []
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        elif known:
            hint = f" (allowed: {', '.join(known)})"
        msg = f"{path}: unknown key{hint}"
    elif err["type"] == "missing":
        msg = f"{path}: required key is missing"
    else:
        msg = f"{path}: {err['msg'].removeprefix('Value error, ')}"
        if "input" in err and err["type"] not in {"value_error", "assertion_error"}:
            msg += f" (got {err['input']!r})"
    more = len(exc.errors()) - 1
    return msg + (f" [and {more} more problem{'s' if more > 1 else ''}]" if more else "")


def _dotted(loc: tuple[Any, ...]) -> str:
    """('brands', 0, 'query') -> 'brands[0].query', the way people read TOML paths."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the nested model at `loc`, for 'did you mean' hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        inner = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else inner
        if current is None:
            return []
    return sorted(current.model_fields) if hasattr(current, "model_fields") else []


def resolve_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    """--settings, then $LISTENPOST_SETTINGS, then ./settings.toml; None means embedded defaults."""
    if explicit:
        return Path(explicit)
    if env.get(SETTINGS_ENV):
        return Path(env[SETTINGS_ENV])
    local = Path(DEFAULT_FILE)
    return local if local.exists() else None


def load(path: Path | None) -> Settings:
    """Read and validate settings; every failure is a SettingsError with one line of text."""
    if path is None:
        data: dict[str, Any] = {}
        where = "embedded defaults"
    else:
        where = str(path)
        try:
            # utf-8-sig: editors on Windows like to start the file with a byte-order mark.
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise SettingsError(f"{where}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{where}: cannot read ({exc})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{where}: not valid TOML: {exc}") from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"{where}: {_explain(exc, model=Settings)}") from None
    try:
        settings.source_settings()
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return settings
