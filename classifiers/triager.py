"""Turns mentions into verdicts: the team's rules first, then the model, then readable rules.

Order matters and is the contract a crisis responder relies on:
1. team keyword rules (settings) tag, raise urgency or mute; a muted mention skips the model;
2. the model scores sentiment (or the user's own hub model does), categories and urgency;
3. word rules (classifiers/signals.py, classifiers/categories.py) add categories and the
   points-table urgency (classifiers/urgency.py), the higher of that and a confident model wins;
4. the language is detected when the network did not say;
5. labels people gave override all of it (applied by the caller, who knows the mention ids:
   storage.label_rows.overridden).
Every step leaves a reason, so the alert can say why in one line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from classifiers.categories import rule_hits
from classifiers.language import LanguageDetector, normalise
from classifiers.model import TriageModel
from classifiers.rules import KeywordRule, RuleOutcome, apply_rules
from classifiers.urgency import assess, find_signals
from core.triage import (
    CATEGORIES,
    SENTIMENTS,
    URGENCIES,
    Triage,
    TriageInput,
    Urgency,
    urgency_rank,
)

CATEGORY_THRESHOLD = 0.5  # a model category counts from here, unless the model says otherwise
# The outage column learned from crisis tweets (power, water, roads) and fires on brand news and
# job posts; on the hand-labelled brand mentions of bench/data/dev it helps only when near sure.
MODEL_CATEGORY_THRESHOLDS = {"outage": 0.95}
URGENCY_MODEL_MIN = 0.9  # the model may raise urgency above the points table only when this sure
# Its urgency was learned from a proxy (crisis-tweet informativeness): alone it may ask for
# "high", never page someone at 2 a.m. as "critical"; that takes readable rules or the team.
URGENCY_MODEL_CAP: Urgency = "high"
TOP_CATEGORY_SCORES = 2  # how many model category scores the reasons name


class ModelOutput(Protocol):
    sentiment: np.ndarray  # n x 3, SENTIMENTS order
    categories: np.ndarray | None  # n x len(CATEGORIES), NaN where the model has no opinion
    urgency: np.ndarray | None  # n x 4, URGENCIES order


class Model(Protocol):
    """What the triager needs from a model: classifiers.model.TriageModel (the default, the
    committed model or `model_dir`), or any object with the same `predict`."""

    version: str

    def predict(self, texts: Sequence[str]) -> ModelOutput: ...


class SentimentModel(Protocol):
    version: str

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


class Triager:
    """Loads its models once; `triage` is then safe to call per batch."""

    def __init__(
        self,
        model_dir: Path | None = None,
        batch_size: int = 32,
        *,
        model: Model | None = None,
        sentiment_model: str | SentimentModel | None = None,
        rules: Sequence[KeywordRule] = (),
        detector: LanguageDetector | None = None,
        category_thresholds: dict[str, float] | None = None,
    ) -> None:
        self.model: Model = model or TriageModel.load(model_dir, batch_size=batch_size)
        if isinstance(sentiment_model, str):
            from classifiers.hub_model import HubSentiment

            sentiment_model = HubSentiment(sentiment_model, batch_size)
        self.sentiment_model = sentiment_model
        self.rules = list(rules)
        self.detector = (detector or LanguageDetector()).load()
        thresholds = {c: CATEGORY_THRESHOLD for c in CATEGORIES} | MODEL_CATEGORY_THRESHOLDS
        thresholds.update(getattr(self.model, "thresholds", None) or {})
        thresholds.update(category_thresholds or {})
        self.thresholds = np.array([thresholds[c] for c in CATEGORIES], dtype=np.float32)
        self.model_version: str = self.model.version + (
            f"+{sentiment_model.version}" if sentiment_model is not None else ""
        )

    def triage(self, items: Sequence[TriageInput]) -> list[Triage]:
        """One verdict per item, in order."""
        if not items:
            return []
        outcomes = [apply_rules(self.rules, item) for item in items]
        langs = [normalise(item.lang) or self.detector.detect(item.text) for item in items]
        results: dict[int, Triage] = {
            i: self._muted(items[i], o, langs[i]) for i, o in enumerate(outcomes) if o.muted_by
        }
        scored = [i for i in range(len(items)) if i not in results]
        if scored:
            texts = [items[i].text for i in scored]
            out = self.model.predict(texts)
            sentiment = (
                self.sentiment_model.predict_proba(texts)
                if self.sentiment_model is not None
                else out.sentiment
            )
            for row, i in enumerate(scored):
                results[i] = self._verdict(
                    items[i],
                    outcomes[i],
                    langs[i],
                    sentiment[row],
                    out.categories[row] if out.categories is not None else None,
                    out.urgency[row] if out.urgency is not None else None,
                )
        return [results[i] for i in range(len(items))]

    def _verdict(
        self,
        item: TriageInput,
        outcome: RuleOutcome,
        lang: str | None,
        sentiment_row: np.ndarray,
        category_row: np.ndarray | None,
        urgency_row: np.ndarray | None,
    ) -> Triage:
        scores = {s: round(float(p), 4) for s, p in zip(SENTIMENTS, sentiment_row, strict=True)}
        sentiment = SENTIMENTS[int(np.argmax(sentiment_row))]
        signals = find_signals(item)
        hits = rule_hits(item.text, signals)

        if sentiment == "negative":
            # Praise words in a negative post are sarcasm ("great, down again") or the kind
            # half of a complaint; the complaint is what needs an answer.
            hits = [h for h in hits if h.category != "praise"]
        categories = {h.category for h in hits} | set(outcome.tags)
        points = assess(item, scores["negative"], signals, categories)
        category_scores: dict[str, float] = {}
        # A job ad or a promo is not a complaint or an outage, however the model scores it
        # (it never saw one), and a happy post is no complaint.
        trusted = not categories & {"job_post", "spam"} and sentiment != "positive"
        if category_row is not None:
            for c, p, limit in zip(CATEGORIES, category_row, self.thresholds, strict=True):
                if not math.isnan(float(p)):
                    category_scores[c] = round(float(p), 3)
                    if p >= limit and trusted:
                        categories.add(c)

        urgency: Urgency = points.urgency
        reasons = [*outcome.reasons, *points.reasons]
        reasons += [h.reason for h in hits if h.reason not in reasons]
        urgency_scores: dict[str, float] = {}
        if urgency_row is not None:
            urgency_scores = {
                u: round(float(p), 3) for u, p in zip(URGENCIES, urgency_row, strict=True)
            }
            top = int(np.argmax(urgency_row))
            raised = min(top, urgency_rank(URGENCY_MODEL_CAP))
            if urgency_row[top] >= URGENCY_MODEL_MIN and raised > urgency_rank(urgency):
                urgency = URGENCIES[raised]
                reasons.append(f"model urgency {urgency} {float(urgency_row[top]):.2f}")
        if outcome.min_urgency and urgency_rank(outcome.min_urgency) > urgency_rank(urgency):
            urgency = outcome.min_urgency
        top_scores = sorted(category_scores.items(), key=lambda kv: kv[1], reverse=True)
        named = [f"{c} {p:.2f}" for c, p in top_scores[:TOP_CATEGORY_SCORES] if p >= 0.3]
        if named:
            reasons.append(f"model: {', '.join(named)}")

        details: dict[str, Any] = {
            "rule_hits": [h.reason for h in hits],
            "urgency_points": points.points,
        }
        if category_scores:
            details["category_scores"] = category_scores
        if urgency_scores:
            details["urgency_scores"] = urgency_scores
        if outcome.reasons:
            details["team_rules"] = list(outcome.reasons)
        return Triage(
            sentiment=sentiment,
            sentiment_scores=scores,
            urgency=urgency,
            reasons=reasons,
            categories=[c for c in CATEGORIES if c in categories],
            model_version=self.model_version,
            lang=lang,
            details=details,
        )

    def _muted(self, item: TriageInput, outcome: RuleOutcome, lang: str | None) -> Triage:
        """A mention a team rule muted: stored, never alerted, and never shown to the model."""
        return Triage(
            sentiment="neutral",
            sentiment_scores={},
            urgency=outcome.min_urgency or "low",
            reasons=list(outcome.reasons),
            categories=[c for c in CATEGORIES if c in outcome.tags],
            model_version=self.model_version,
            relevant=False,
            lang=lang,
            details={"muted_by": f"rule {outcome.muted_by}", "team_rules": list(outcome.reasons)},
        )
