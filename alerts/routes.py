"""Which triaged mentions deserve a person's attention, and in which channel.

Routing is a pure function of the stored mention so it can run again after a crash and give the
same answer; the outbox's uniqueness on (route, mention) does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.timing import SlaSetting, escalation_target, parse_quiet_hours, parse_sla, zone
from classifiers.language import normalise
from core.triage import SENTIMENTS, URGENCIES, urgency_rank
from storage.records import StoredMention

# What a route that names neither `sentiments` nor `min_urgency` matches (and what the default
# route does when no routes are configured): negative posts, or high/critical urgency.
DEFAULT_SENTIMENTS = ("negative",)
DEFAULT_MIN_URGENCY = "high"


def written_condition(
    sentiments: list[str] | None, min_urgency: str | None
) -> tuple[list[str], str | None]:
    """(sentiments, min_urgency) for a route as its settings wrote them (None: not written).

    What the user lists is what matches; a condition they did not write never widens a route:
    only `sentiments` -> those sentiments; only `min_urgency` -> that urgency or above; both ->
    either one (OR); neither -> negative OR at least high, as the default route.
    """
    if sentiments is None and min_urgency is None:
        return list(DEFAULT_SENTIMENTS), DEFAULT_MIN_URGENCY
    return list(sentiments or []), min_urgency


@dataclass(frozen=True, slots=True)
class Route:
    """Send mentions that are (in `sentiments`) OR (at least `min_urgency`) to `channel`.

    Empty `brands`/`networks` mean "any"; a non-empty list narrows the route to those.
    Settings build routes through `written_condition`.
    """

    name: str
    channel: str
    sentiments: list[str] = field(default_factory=lambda: list(DEFAULT_SENTIMENTS))
    min_urgency: str | None = DEFAULT_MIN_URGENCY
    brands: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    # Only posts that could reach this many people (Metrics.reach: followers, else
    # likes + reposts): an influencer's complaint goes first.
    min_reach: int | None = None
    target: str = "slack"  # slack | webhook | zendesk (alerts/handoff.py delivers the others)
    # Answer-by times, quiet hours and who hears about a miss: alerts/timing.py explains them.
    sla: SlaSetting = None
    quiet_hours: str | None = None
    timezone: str = "UTC"
    escalate_to: str | None = None
    # Only posts in these languages (ISO 639-1; unknown language passes: a short post the
    # detector cannot place must not go unseen) / about any of these categories.
    languages: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A typo here would silently route nothing; fail at start-up instead.
        unknown = [s for s in self.sentiments if s not in SENTIMENTS]
        if unknown:
            raise ValueError(
                f"route {self.name!r}: unknown sentiment {unknown[0]!r}; "
                f"use {', '.join(SENTIMENTS)}"
            )
        if self.min_urgency is not None and self.min_urgency not in URGENCIES:
            raise ValueError(
                f"route {self.name!r}: unknown urgency {self.min_urgency!r}; "
                f"use {', '.join(URGENCIES)}"
            )
        # A bad SLA, quiet hours, time zone or escalation target fails at start-up too.
        try:
            parse_sla(self.sla)
            zone(self.timezone)
            if self.quiet_hours:
                parse_quiet_hours(self.quiet_hours)
            if self.escalate_to:
                escalation_target(self.escalate_to)
        except ValueError as exc:
            raise ValueError(f"route {self.name!r}: {exc}") from None

    def matches(self, mention: StoredMention) -> bool:
        triage = mention.triage
        # Copies and reposts were already alerted through their original; untriaged mentions
        # have no verdict yet and are routed once they get one.
        if triage is None or mention.duplicate_of is not None:
            return False
        if not triage.relevant:  # muted by a team rule, or a person said "not relevant"
            return False
        if self.brands and not set(self.brands) & set(mention.brands):
            return False
        if self.networks and mention.network not in self.networks:
            return False
        lang = normalise(mention.lang or triage.lang)
        if self.languages and lang is not None and lang not in self.languages:
            return False
        if self.categories and not set(self.categories) & set(triage.categories):
            return False
        if self.min_reach is not None and mention.metrics.reach() < self.min_reach:
            return False
        if triage.sentiment in self.sentiments:
            return True
        return self.min_urgency is not None and urgency_rank(triage.urgency) >= urgency_rank(
            self.min_urgency
        )

    def describe(self) -> str:
        """The route's condition in words, as `listenpost doctor` prints it: "route 'vip' →
        #vip: sentiment negative or urgency ≥ high, brands Acme, reach ≥ 10,000"."""
        where = self.channel if self.target == "slack" else self.target
        what: list[str] = []
        if self.sentiments:
            what.append("sentiment " + "/".join(self.sentiments))
        if self.min_urgency is not None:
            what.append(f"urgency ≥ {self.min_urgency}")
        parts = [" or ".join(what) if what else "nothing (no sentiments, no min_urgency)"]
        for label, values in (
            ("brands", self.brands),
            ("networks", self.networks),
            ("languages", self.languages),
            ("categories", [c.replace("_", " ") for c in self.categories]),
        ):
            if values:
                parts.append(f"{label} {', '.join(values)}")
        if self.min_reach is not None:
            parts.append(f"reach ≥ {self.min_reach:,}")
        return f"route {self.name!r} → {where}: {', '.join(parts)}"


def decide(
    mention: StoredMention,
    routes: Sequence[Route],
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> list[Route]:
    """Every route the mention goes to; one alert is queued per route.

    A post older than `max_age` is stored and triaged but alerts nobody: a first poll, a new
    brand or a backfill must not page the team about last year's complaints.
    """
    if max_age is not None and mention.created_at < (now or datetime.now(UTC)) - max_age:
        return []
    return [route for route in routes if route.matches(mention)]
