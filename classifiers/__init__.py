"""Triage of mentions: sentiment, categories and urgency from a small transformer plus rules
a person can read.

`Triager` is imported on first use: it loads ONNX Runtime and the language detector, and code
that only needs the `Triage` types (config, storage, alerts) should not pay for them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# The user's own HF_HUB_OFFLINE, read before training forces offline mode for the bundled
# all-MiniLM-L6-v2 (every `classifiers.*` import runs this file first): a bring-your-own model may
# come from the hub unless the user said not to (classifiers/hub_model.py).
USER_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))

if TYPE_CHECKING:
    from classifiers.triager import Triager

__all__ = ["Triager"]


def __getattr__(name: str) -> Any:
    if name == "Triager":
        from classifiers.triager import Triager

        return Triager
    raise AttributeError(f"module 'classifiers' has no attribute {name!r}")
