"""Urgency as a points table a person can check: what it is about, how angry, how far it reaches.

Points:
  topic     outage, security, legal, safety: 3; a question to the brand: 2; billing,
            cancellation: 1; +1 for each further topic (at most +2). The category words count
            too: privacy words as security, any question as a question.
  harm      +2 when many people are hit at once ("everyone", "every transaction"), or money,
            data or health already came to harm ("someone else's", "moved £900", "wrong dosage")
  promo     a job ad or a promo is low, whatever else it says, unless it is also a scam
  negative  probability >= 0.8: 2; >= 0.5: 1
  reach     (Metrics.reach: followers, else likes + reposts) >= 1M: 3; >= 100k: 2; >= 10k: 1
            -- only when a topic or negativity fired: a famous account being cheerful is not
            urgent
Level: 6+ critical, 4-5 high, 2-3 medium, else low. So an outage report alone is medium, an
angry one high, and an angry one from a 10k-follower account, or one that says everyone is hit,
critical. The levels and harm words were set on the hand-labelled brand mentions of
bench/data/dev and are measured on bench/data (never tuned on).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from classifiers.signals import Signal, brand_question, word_pattern, word_signals
from core.triage import TriageInput, Urgency

TOPIC_POINTS = {"severe": 3, "question": 2, "other": 1}
MAX_EXTRA_TOPIC_POINTS = 2
NEGATIVE_STEPS = ((0.8, 2), (0.5, 1))
REACH_STEPS = ((1_000_000, 3), (100_000, 2), (10_000, 1))
LEVELS: tuple[tuple[int, Urgency], ...] = ((6, "critical"), (4, "high"), (2, "medium"))
HARM_POINTS = 2


# Many people at once: what turns one customer's problem into an incident.
WIDESPREAD = word_pattern(
    r"every(?:one|body)", r"all (?:users|customers|of us|our customers)", r"nationwide",
    r"whole (?:country|city|region|town|of)", r"across (?:the )?(?:whole|country|city|region)",
    r"every (?:till|transaction|customer|user|store|order|payment)", r"neighbou?rs too",
    r"not just me", r"thousands", r"millions", r"widespread", r"mass(?:ive)? outage",
)
# Harm already done: money moved, data in the wrong hands, a person at risk.
HARM = word_pattern(
    r"account takeover", r"someone else'?s", r"quelqu'un d'autre", r"unauthori[sz]ed",
    r"(?:moved|stole|stolen|took|drained|emptied) (?:my|our|all|[£$€] ?\d[\d,.]*)",
    r"data breach",
    r"breach", r"exposed", r"wrong (?:dosage|dose|medication|medicine|pills?)", r"allerg\w*",
    r"injur\w*", r"hospital", r"(?:seed|wallet) phrase", r"passport number",
)


@dataclass(frozen=True, slots=True)
class Assessment:
    urgency: Urgency
    points: int
    reasons: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def format_count(n: int) -> str:
    """120000 -> '120k', 2500000 -> '2.5M': how reach reads in an alert."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}" if value < 10 else f"{value:.0f}"
            return text.removesuffix(".0") + suffix
    return str(n)


def _topic_points(signal: Signal) -> int:
    if signal.severe:
        return TOPIC_POINTS["severe"]
    return TOPIC_POINTS["question" if signal.category == "question" else "other"]


def find_signals(item: TriageInput) -> list[Signal]:
    """The word signals and a question to the brand: what `assess` scores."""
    signals = word_signals(item.text)
    if question := brand_question(item.text, item.brand_terms):
        signals.append(question)
    return signals


def _category_signals(signals: list[Signal], categories: Collection[str]) -> list[Signal]:
    """Signals for what the category words found and the urgency words did not."""
    found = {s.category for s in signals}
    extra = []
    if "security" in categories and "security" not in found:
        extra.append(Signal("security", "security category", True))
    if "question" in categories and "question" not in found:
        extra.append(Signal("question", "asks a question", False))
    return extra


def assess(
    item: TriageInput,
    negative: float,
    signals: list[Signal] | None = None,
    categories: Collection[str] = (),
) -> Assessment:
    """Urgency with every signal that contributed, given the text's negative probability.

    `signals` from `find_signals`, when the caller already has them (the triager uses them for
    categories too: the regexes are most of the rule layer's time); `categories` those the
    word rules found, which add what the urgency words miss (a scam text, a plain question).
    """
    signals = list(find_signals(item) if signals is None else signals)
    if {"job_post", "spam"} & set(categories) and "security" not in categories:
        return Assessment("low", 0, ["a job ad or a promo"], [])
    signals += _category_signals(signals, categories)
    reasons = [s.reason for s in signals]
    topics = [s.category for s in signals]

    points = 0
    if signals:
        topic = sorted((_topic_points(s) for s in signals), reverse=True)
        points += topic[0] + min(len(topic) - 1, MAX_EXTRA_TOPIC_POINTS)
        lowered = item.text.lower()
        for pattern, what in ((WIDESPREAD, "many people hit"), (HARM, "harm done")):
            if match := pattern.search(lowered):
                points += HARM_POINTS
                reasons.append(f"{what}: '{match.group(0)}'")

    negative_points = next((p for limit, p in NEGATIVE_STEPS if negative >= limit), 0)
    if negative_points:
        points += negative_points
        reasons.append(f"negative {negative:.2f}")

    if points:
        reach_points = next((p for limit, p in REACH_STEPS if item.reach >= limit), 0)
        if reach_points:
            points += reach_points
            reasons.append(f"reach {format_count(item.reach)} followers")
            topics.append("reach")

    urgency: Urgency = next((level for limit, level in LEVELS if points >= limit), "low")
    return Assessment(urgency, points, reasons, topics)
