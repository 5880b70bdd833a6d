"""Urgency as a points table a person can check: what it is about, how angry, how far it reaches.

Points:
  topic     outage, security, legal, safety: 3; a question to the brand: 2; billing,
            cancellation: 1; +1 for each further topic (at most +2)
  negative  probability >= 0.8: 2; >= 0.5: 1
  reach     followers >= 1M: 3; >= 100k: 2; >= 10k: 1 -- only when a topic or negativity
            fired: a famous account being cheerful is not urgent
Level: 7+ critical, 4-6 high, 2-3 medium, else low. So an outage report alone is medium, an
angry one high, and an angry one from a 100k-follower account critical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from classifiers.signals import Signal, brand_question, word_signals
from classifiers.triage import TriageInput, Urgency

TOPIC_POINTS = {"severe": 3, "question": 2, "other": 1}
MAX_EXTRA_TOPIC_POINTS = 2
NEGATIVE_STEPS = ((0.8, 2), (0.5, 1))
REACH_STEPS = ((1_000_000, 3), (100_000, 2), (10_000, 1))
LEVELS: tuple[tuple[int, Urgency], ...] = ((7, "critical"), (4, "high"), (2, "medium"))


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


def assess(item: TriageInput, negative: float, signals: list[Signal] | None = None) -> Assessment:
    """Urgency with every signal that contributed, given the text's negative probability.

    `signals` from `find_signals`, when the caller already has them (the triager uses them for
    categories too: the regexes are most of the rule layer's time).
    """
    signals = list(find_signals(item) if signals is None else signals)
    reasons = [s.reason for s in signals]
    categories = [s.category for s in signals]

    points = 0
    if signals:
        topic = sorted((_topic_points(s) for s in signals), reverse=True)
        points += topic[0] + min(len(topic) - 1, MAX_EXTRA_TOPIC_POINTS)

    negative_points = next((p for limit, p in NEGATIVE_STEPS if negative >= limit), 0)
    if negative_points:
        points += negative_points
        reasons.append(f"negative {negative:.2f}")

    if points:
        reach_points = next((p for limit, p in REACH_STEPS if item.reach >= limit), 0)
        if reach_points:
            points += reach_points
            reasons.append(f"reach {format_count(item.reach)} followers")
            categories.append("reach")

    urgency: Urgency = next((level for limit, level in LEVELS if points >= limit), "low")
    return Assessment(urgency, points, reasons, categories)
