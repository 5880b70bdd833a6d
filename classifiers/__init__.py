"""Triage of mentions: sentiment, categories and urgency from a small transformer plus rules
a person can read.

`Triager` is imported on first use: it loads ONNX Runtime and the language detector, and code
that only needs the `Triage` types (config, storage, alerts) should not pay for them.
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
