"""`about:"…"`: the part of a query only the embedding model can decide.

Listeners check everything else; each page they yield passes through `keep_about` before it is
stored, so a post about apples (the fruit) never reaches the database of a brand that asked
for Apple the company. The score is kept in the mention's raw fields (`raw["about"][brand]`)
and triage names it among the reasons (`about_reasons`), so a person can see why it was kept.

The words the query searches for are taken out of the post and the description before they
are compared: every candidate says "apple", so that word only pulls the fruit and the company
together (on tests/wiring/about_set.py masking it is what separates them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from core.mention import Mention
from core.query import About, Query, fields

ABOUT_KEY = "about"


class Scorer(Protocol):
    def similarity(self, texts: Sequence[str], description: str) -> list[float]: ...


def masked(text: str, words: Sequence[str]) -> str:
    """The text without the query's own words (whole words, any case)."""
    if not words:
        return text
    pattern = r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?:'?s)?(?!\w)"
    return " ".join(re.sub(pattern, " ", text, flags=re.IGNORECASE).split())


def scores(scorer: Scorer, query: Query, texts: Sequence[str]) -> list[float]:
    """Each text's similarity to the query's description, the searched words masked."""
    assert query.about is not None
    words = query.words()
    description = masked(query.about.description, words) or query.about.description
    return scorer.similarity([masked(t, words) for t in texts], description)


def about_text(title: str | None, text: str) -> str:
    """What the model reads: the title and the body, as a person would."""
    return fields(title, text).replace("\x1f", "\n")


def keep_about(scorer: Scorer, brand: str, query: Query, mentions: list[Mention]) -> list[Mention]:
    """The mentions whose meaning is close enough to the description, each with its score."""
    about = query.about
    if about is None or not mentions:
        return mentions
    said = scores(scorer, query, [about_text(m.title, m.text) for m in mentions])
    return [
        replace(m, raw={**m.raw, ABOUT_KEY: {**_about_of(m.raw), brand: _record(s, about)}})
        for m, s in zip(mentions, said, strict=True)
        if s >= about.threshold
    ]


def _record(score: float, about: About) -> dict[str, Any]:
    return {"score": score, "threshold": about.threshold, "description": about.description}


def _about_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    found = raw.get(ABOUT_KEY)
    return dict(found) if isinstance(found, dict) else {}


def about_reasons(raw: Mapping[str, Any], brands: Iterable[str]) -> list[str]:
    """`about 0.52 >= 0.35 ("the technology company")` for each brand that asked."""
    found = _about_of(raw)
    out = []
    for brand in brands:
        record = found.get(brand)
        if isinstance(record, dict) and isinstance(record.get("score"), int | float):
            out.append(
                f"about {record['score']:.2f} >= {record.get('threshold', 0):.2f} "
                f"({record.get('description', '')!r})"
            )
    return out
