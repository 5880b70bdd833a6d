"""How the triager combines the team's rules, the model's scores and the word rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from classifiers.categories import RULES, SIGNAL_CATEGORY
from classifiers.language import LanguageDetector
from classifiers.rules import KeywordRule, apply_rules, handle
from classifiers.settings import build_rules
from classifiers.triager import Triager
from core.query import parse
from core.triage import CATEGORIES, TriageInput
from listenpost.config import Settings, SettingsError, load


@dataclass
class Output:
    sentiment: np.ndarray
    categories: np.ndarray | None
    urgency: np.ndarray | None


class FixedModel:
    """A model whose every answer is set by the test, counting the texts it was shown."""

    version = "fixed-1"

    def __init__(
        self,
        sentiment: Sequence[float] = (0.05, 0.15, 0.8),
        categories: dict[str, float] | None = None,
        urgency: Sequence[float] | None = None,
    ) -> None:
        self.sentiment = np.array(sentiment, dtype=np.float32)
        self.categories = categories
        self.urgency = None if urgency is None else np.array(urgency, dtype=np.float32)
        self.seen: list[str] = []

    def predict(self, texts: Sequence[str]) -> Output:
        self.seen += texts
        n = len(texts)
        cats = None
        if self.categories is not None:
            row = np.array([self.categories.get(c, np.nan) for c in CATEGORIES], np.float32)
            cats = np.tile(row, (n, 1))
        urgency = None if self.urgency is None else np.tile(self.urgency, (n, 1))
        return Output(np.tile(self.sentiment, (n, 1)), cats, urgency)


DETECTOR = LanguageDetector()


def triager(model: FixedModel, rules: Sequence[KeywordRule] = ()) -> Triager:
    return Triager(model=model, rules=rules, detector=DETECTOR)


def test_every_category_rule_names_a_shared_category() -> None:
    assert {c for c, _, _ in RULES} | set(SIGNAL_CATEGORY.values()) <= set(CATEGORIES)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("We're hiring senior engineers at Acme, apply now", "job_post"),
        ("Use code SAVE20 for 20% off, link in bio", "spam"),
        ("Is the Acme X2 back in stock anywhere? Sold out everywhere", "availability"),
        ("Thinking about buying the Acme X2, worth it?", "purchase_intent"),
        ("How do I export my data from Acme?", "question"),
        ("Huge thanks to the Acme team, amazing support", "praise"),
        ("Worst experience ever, still waiting for a reply", "complaint"),
        ("My Acme account was hacked and my data leaked", "security"),
        ("Acme charged me twice this month", "billing"),
        ("The Acme app is down again", "outage"),
        ("Is the Acme family plan shared across two houses?", "question"),
        ("anyone know if Acme works in Australia", "question"),
        ("Acme app keeps logging me out since the update", "outage"),
        ("No funciona la app de Acme desde esta mañana", "outage"),
        ("Got a text pretending to be Acme asking for my card details", "security"),
        ("FreshMart is showing someone else's orders on my account", "security"),
        ("Price went up again, £17.99 a month now", "billing"),
        ("Acme Fold is only available through importers here", "availability"),
        ("about to pull the trigger on the Acme X2", "purchase_intent"),
        ("Acme is recruiting delivery riders, £18/hr", "job_post"),
        ("Free Acme gift card codes! no human verification acme-codes.online", "spam"),
        ("Acme support sorted it in 4 minutes, absolute legend", "praise"),
    ],
)
def test_word_rules_find_each_category(text: str, category: str) -> None:
    (verdict,) = triager(FixedModel()).triage([TriageInput(text)])
    assert category in verdict.categories
    assert verdict.details["rule_hits"]


NEUTRAL = (0.1, 0.8, 0.1)


def test_model_categories_count_above_their_threshold_and_are_explained() -> None:
    model = FixedModel(NEUTRAL, categories={"complaint": 0.83, "billing": 0.41, "praise": 0.02})
    (verdict,) = triager(model).triage([TriageInput("the thing arrived today")])
    assert verdict.categories == ["complaint"]
    scores = verdict.details["category_scores"]
    assert scores == {"complaint": 0.83, "billing": 0.41, "praise": 0.02}
    assert "model: complaint 0.83, billing 0.41" in verdict.reasons
    assert verdict.model_version == "fixed-1"


def test_each_category_can_have_its_own_threshold() -> None:
    model = FixedModel(NEUTRAL, categories={"complaint": 0.6, "spam": 0.6})
    strict = Triager(model=model, detector=DETECTOR, category_thresholds={"spam": 0.9})
    (verdict,) = strict.triage([TriageInput("the thing arrived today")])
    assert verdict.categories == ["complaint"]


def test_a_confident_model_raises_urgency_over_the_points_table() -> None:
    sure = FixedModel(urgency=(0.02, 0.03, 0.92, 0.03))
    unsure = FixedModel(urgency=(0.3, 0.2, 0.45, 0.05))
    (raised,) = triager(sure).triage([TriageInput("the thing arrived today")])
    (kept,) = triager(unsure).triage([TriageInput("the thing arrived today")])
    assert raised.urgency == "high" and "model urgency high 0.92" in raised.reasons
    assert kept.urgency == "low"


def test_model_complaints_need_a_post_that_is_not_happy_and_not_an_ad() -> None:
    scores = {"complaint": 0.95, "outage": 0.99}
    happy = FixedModel((0.05, 0.1, 0.85), categories=scores)
    unhappy = FixedModel((0.8, 0.15, 0.05), categories=scores)
    (praise,) = triager(happy).triage([TriageInput("the new store window is art honestly")])
    (ad,) = triager(unhappy).triage([TriageInput("We're hiring field technicians, apply now")])
    (rant,) = triager(unhappy).triage([TriageInput("third wrong order this month")])
    assert "complaint" not in praise.categories and "outage" not in praise.categories
    assert ad.categories == ["job_post"]
    assert rant.categories == ["complaint", "outage"]


def test_praise_words_in_a_negative_post_are_sarcasm() -> None:
    negative = FixedModel((0.85, 0.1, 0.05))
    (verdict,) = triager(negative).triage(
        [TriageInput("oh great, the update moved every button. thanks so much")]
    )
    assert "praise" not in verdict.categories
    (kind,) = triager(FixedModel()).triage([TriageInput("support sorted it in 4 minutes, legend")])
    assert "praise" in kind.categories


def test_the_model_alone_never_pages_as_critical() -> None:
    sure = FixedModel(urgency=(0.0, 0.0, 0.05, 0.95))
    (verdict,) = triager(sure).triage([TriageInput("the thing arrived today")])
    assert verdict.urgency == "high"  # critical takes a readable rule or a person


def test_mute_rule_stores_as_not_relevant_without_asking_the_model() -> None:
    model = FixedModel()
    rules = [KeywordRule("job posts", query=parse('"we are hiring" OR #hiring'), mute=True)]
    muted, kept = triager(model, rules).triage(
        [TriageInput("We are hiring! #hiring at Acme"), TriageInput("Acme is great")]
    )
    assert muted.relevant is False
    assert muted.reasons == ["team rule 'job posts': muted"]
    assert muted.details["muted_by"] == "rule job posts"
    assert kept.relevant is True
    assert model.seen == ["Acme is great"]


def test_tag_and_urgency_rules_act_before_the_model() -> None:
    rules = [
        KeywordRule("invoices", terms=("invoice", "receipt"), tag=("billing",)),
        KeywordRule("lawyers", terms=("lawyer",), urgency="critical"),
        KeywordRule("vip", authors=("@BigCustomer",), urgency="high"),
    ]
    tagged, legal, vip = triager(FixedModel(), rules).triage(
        [
            TriageInput("Where do I find my Receipt?"),
            TriageInput("Talking to my lawyer about Acme"),
            TriageInput("Acme is fine", author="bigcustomer"),
        ]
    )
    assert "billing" in tagged.categories
    assert tagged.reasons[0] == "team rule 'invoices': tagged billing"
    assert legal.urgency == "critical"
    assert vip.urgency == "high" and vip.relevant


def test_rules_match_only_when_every_matcher_matches() -> None:
    rule = KeywordRule("own posts", query=parse("acme"), authors=("@acme",), mute=True)
    assert apply_rules([rule], TriageInput("acme news", author="@Acme")).muted_by == "own posts"
    assert apply_rules([rule], TriageInput("acme news", author="someone")).muted_by is None
    assert apply_rules([rule], TriageInput("other news", author="acme")).muted_by is None
    assert handle("u/Acme") == handle("@acme@mastodon.social") == "acme"


def _settings(tmp_path: Path, rules: str) -> Settings:
    path = tmp_path / "settings.toml"
    path.write_text(rules)
    return load(path)


def test_rules_from_settings(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        '[[classifier.rules]]\nname = "spam"\nquery = \'"promo code" OR giveaway\'\nmute = true\n'
        '[[classifier.rules]]\nterms = ["chargeback"]\ntag = ["billing"]\nurgency = "high"\n',
    )
    rules = build_rules(settings.classifier.rules)
    assert [r.name for r in rules] == ["spam", "rule 2"]
    (verdict,) = triager(FixedModel(), rules).triage([TriageInput("I filed a chargeback")])
    assert verdict.urgency == "high" and "billing" in verdict.categories


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[[classifier.rules]]\nmute = true\n", "needs something to match"),
        ('[[classifier.rules]]\nterms = ["x"]\n', "needs an action"),
        ('[[classifier.rules]]\nterms = ["x"]\ntag = ["rant"]\n', "unknown category 'rant'"),
        ('[[classifier.rules]]\nterms = ["x"]\nurgency = "asap"\n', "unknown urgency 'asap'"),
        ('[[classifier.rules]]\nquery = "(acme"\nmute = true\n', "query does not parse"),
        ('[[classifier.rules]]\nterms = ["x"]\nmute = true\nmuted = 1\n', "unknown key"),
    ],
)
def test_bad_rules_fail_at_start_with_one_line(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        _settings(tmp_path, toml)
    text = str(caught.value)
    assert message in text and "settings.toml: classifier.rules[0]" in text and "\n" not in text
