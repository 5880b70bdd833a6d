"""The team's own keyword rules, applied before the model: the team knows its noise and its
emergencies better than any model.

A rule matches when every matcher it names matches (its query, any of its terms, any of its
authors) and then does what it says: tag categories, raise urgency to at least a level, or mute
(stored and triaged as not relevant, never alerted: spam, job posts, the brand's own posts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.query import Query
from core.triage import TriageInput, Urgency, urgency_rank


@dataclass(frozen=True, slots=True)
class KeywordRule:
    name: str
    query: Query | None = None
    terms: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()  # as written in settings: "@acme", "acme", "u/acme"
    tag: tuple[str, ...] = ()
    urgency: Urgency | None = None
    mute: bool = False
    _terms: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.terms:
            body = "|".join(re.escape(t.strip()) for t in self.terms if t.strip())
            object.__setattr__(self, "_terms", re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.I))

    def matches(self, item: TriageInput) -> bool:
        if self.query is not None and not self.query.matches(item.text, item.lang):
            return False
        if self._terms is not None and not self._terms.search(item.text):
            return False
        return not self.authors or handle(item.author) in {handle(a) for a in self.authors}


def handle(author: str) -> str:
    """'@Acme', 'acme', 'u/acme' and 'acme@mastodon.social' name the same account for a rule."""
    name = author.strip().lower().removeprefix("@")
    for prefix in ("u/", "/u/"):
        name = name.removeprefix(prefix)
    return name.split("@", 1)[0]


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """What the team's rules decided for one mention, before the model looks at it."""

    tags: list[str] = field(default_factory=list)
    min_urgency: Urgency | None = None
    muted_by: str | None = None
    reasons: list[str] = field(default_factory=list)


def apply_rules(rules: Sequence[KeywordRule], item: TriageInput) -> RuleOutcome:
    """Every matching rule acts; tags add up, urgency takes the highest floor, one mute suffices."""
    tags: list[str] = []
    floor: Urgency | None = None
    muted_by: str | None = None
    reasons: list[str] = []
    for rule in rules:
        if not rule.matches(item):
            continue
        did: list[str] = []
        if rule.mute and muted_by is None:
            muted_by = rule.name
            did.append("muted")
        for tag in rule.tag:
            if tag not in tags:
                tags.append(tag)
        if rule.tag:
            did.append(f"tagged {', '.join(rule.tag)}")
        if rule.urgency and (floor is None or urgency_rank(rule.urgency) > urgency_rank(floor)):
            floor = rule.urgency
        if rule.urgency:
            did.append(f"urgency at least {rule.urgency}")
        reasons.append(f"team rule {rule.name!r}: {'; '.join(did)}")
    return RuleOutcome(tags, floor, muted_by, reasons)
