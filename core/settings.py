"""The base every settings table extends, kept apart so feature modules can define their own
tables without importing config.py (which imports them); and the one check of a URL key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict


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
