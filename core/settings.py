"""The base every settings table extends, kept apart so feature modules can define their own
tables without importing config.py (which imports them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors: a typo in settings.toml must not silently disable a feature."""

    model_config = ConfigDict(extra="forbid")
