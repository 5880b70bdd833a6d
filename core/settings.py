"""The base every settings table extends, kept apart so feature modules can define their own
tables without importing config.py (which imports them); and the one check of a URL key."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict

from core.triage import CATEGORIES


class Strict(BaseModel):
    """Unknown keys are errors: a typo in settings.toml must not silently disable a feature."""

    model_config = ConfigDict(extra="forbid")


def is_http_url(value: Any) -> bool:
    """An http(s) URL with a host: a `file:///etc/passwd` base_url must never reach a client."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _language_codes(value: list[str]) -> list[str]:
    codes = [v.strip().lower() for v in value]
    for code in codes:
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise ValueError(f"{code!r} is not a language code; use ISO 639-1 like 'en', 'fr'")
    return codes


def _category_ids(value: list[str]) -> list[str]:
    for category in value:
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; use {', '.join(CATEGORIES)}")
    return value


# Lists of languages and triage categories, as routes, saved replies, rules and the radar take
# them (`languages = ["fr"]`, `categories = ["outage"]`).
Languages = Annotated[list[str], AfterValidator(_language_codes)]
Categories = Annotated[list[str], AfterValidator(_category_ids)]
