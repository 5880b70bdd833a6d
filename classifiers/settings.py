"""`[classifier]` settings for triage: the team's keyword rules and a bring-your-own sentiment
model, validated at start so a typo fails with one line instead of silently muting nothing.

    [classifier]
    sentiment_model = "cardiffnlp/twitter-roberta-base-sentiment-latest"   # optional

    [[classifier.rules]]
    name = "job posts"
    query = '"we are hiring" OR #hiring'
    mute = true
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from classifiers.rules import KeywordRule
from core.query import QueryError, parse
from core.settings import Categories, Strict
from core.triage import URGENCIES


class KeywordRuleSettings(Strict):
    """One `[[classifier.rules]]` entry: matchers (query, terms, authors) and actions."""

    name: str | None = None
    query: str | None = None
    terms: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    tag: Categories = Field(default_factory=list)
    urgency: str | None = None
    mute: bool = False

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse(value)
            except QueryError as exc:
                raise ValueError(f"query does not parse: {exc}") from None
        return value

    @field_validator("terms", "authors")
    @classmethod
    def _no_blanks(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("must not contain empty strings")
        return value

    @field_validator("urgency")
    @classmethod
    def _known_urgency(cls, value: str | None) -> str | None:
        if value is not None and value not in URGENCIES:
            raise ValueError(f"unknown urgency {value!r}; use {', '.join(URGENCIES)}")
        return value

    @model_validator(mode="after")
    def _matches_and_acts(self) -> KeywordRuleSettings:
        if self.query is None and not self.terms and not self.authors:
            raise ValueError("a rule needs something to match: query, terms or authors")
        if not self.tag and self.urgency is None and not self.mute:
            raise ValueError("a rule needs an action: tag, urgency or mute = true")
        return self


def build_rules(rules: list[KeywordRuleSettings]) -> list[KeywordRule]:
    """Compiled rules in settings order, each named for the reasons it leaves on a mention."""
    return [
        KeywordRule(
            name=r.name or f"rule {i + 1}",
            query=parse(r.query) if r.query is not None else None,
            terms=tuple(r.terms),
            authors=tuple(r.authors),
            tag=tuple(r.tag),
            urgency=r.urgency,  # type: ignore[arg-type]
            mute=r.mute,
        )
        for i, r in enumerate(rules)
    ]


def _names_a_model(value: str | None) -> str | None:
    """A model name like 'org/name' or a local path; the hub itself is only asked at load."""
    if value is not None and not value.strip():
        raise ValueError("must name a Hugging Face model (like 'org/name') or a local folder")
    return value


# `[classifier] sentiment_model`: replaces the bundled sentiment call (categories and urgency
# still come from the bundled model and rules).
SentimentModel = Annotated[str | None, AfterValidator(_names_a_model)]

