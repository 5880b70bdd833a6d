"""Triage of mentions: sentiment from a small transformer, urgency from readable rules.

`Triager` is imported on first use: it pulls in torch, which takes seconds, and code that only
needs the `Triage` types (config, storage, alerts) should not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifiers.triager import Triager

__all__ = ["Triager"]


def __getattr__(name: str) -> Any:
    if name == "Triager":
        from classifiers.triager import Triager

        return Triager
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
