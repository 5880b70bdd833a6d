from __future__ import annotations

import pytest

from classifiers.signals import brand_question, word_signals
from classifiers.urgency import assess, format_count
from core.triage import TriageInput


def test_outage_complaint_from_200k_account_is_critical_with_reasons() -> None:
    item = TriageInput("Acme is down again, not working since 9am", reach=200_000)
    result = assess(item, negative=0.91)
    assert result.urgency == "critical"
    assert result.reasons == [
        "outage words: 'is down', 'not working'",
        "negative 0.91",
        "reach 200k followers",
    ]
    assert result.categories == ["outage", "reach"]


def test_neutral_post_not_about_the_brand_is_low() -> None:
    item = TriageInput("Went for a walk downtown, calm down everyone", reach=300)
    result = assess(item, negative=0.1)
    assert result.urgency == "low"
    assert result.reasons == []
    assert result.categories == []


@pytest.mark.parametrize(
    ("text", "category", "word"),
    [
        ("my account got hacked, is this a data breach?", "security", "hacked"),
        ("got a phishing email pretending to be you", "security", "phishing"),
        ("I will sue, my lawyer is on it", "legal", "lawyer"),
        ("the charger caught fire on my desk", "safety", "caught fire"),
        ("there is a product recall for the heater", "safety", "product recall"),
        ("I was overcharged and want a refund", "billing", "refund"),
        ("charged twice for one order", "billing", "charged twice"),
        ("cancelling today and switching to Globex", "cancellation", "switching to"),
        ("how do I unsubscribe from these emails", "cancellation", "unsubscribe"),
        ("site down? getting 503 error everywhere", "outage", "503 error"),
    ],
)
def test_each_topic_rule_fires_and_names_the_word(text: str, category: str, word: str) -> None:
    signals = {s.category: s.reason for s in word_signals(text)}
    assert category in signals
    assert f"'{word}'" in signals[category]


@pytest.mark.parametrize(
    "text",
    [
        "my phone is fully charged and the charger is great",
        "Sue and Bill went downtown",
        "I don't recall the meeting",
        "calm down, the sale is tomorrow",
        "in charge of the firewall team",
    ],
)
def test_look_alike_words_do_not_fire(text: str) -> None:
    assert word_signals(text) == []


def test_question_aimed_at_the_brand() -> None:
    brand = ("acme", "@acme")
    asked = brand_question("@Acme do you ship to Canada?", brand)
    assert asked is not None and asked.category == "question"
    assert "'@acme'" in asked.reason
    assert brand_question("Will it rain tomorrow?", brand) is None
    assert brand_question("Acme ships to Canada.", brand) is None
    result = assess(TriageInput("@Acme do you ship to Canada?", brand_terms=brand), 0.1)
    assert result.urgency == "medium"
    assert result.categories == ["question"]


def test_reach_amplifies_problems_not_praise() -> None:
    praise = assess(TriageInput("new phone from acme, lovely", reach=5_000_000), negative=0.02)
    assert praise.urgency == "low"
    assert praise.reasons == []
    rant = assess(TriageInput("acme is a joke", reach=5_000_000), negative=0.95)
    assert rant.urgency == "high"
    assert rant.reasons == ["negative 0.95", "reach 5M followers"]


def test_severe_topic_escalates_with_negativity() -> None:
    text = "Acme leaked my data"
    assert assess(TriageInput(text), negative=0.2).urgency == "medium"
    assert assess(TriageInput(text), negative=0.85).urgency == "high"
    assert assess(TriageInput(text, reach=150_000), negative=0.85).urgency == "critical"


def test_reach_reads_like_a_person_would_write_it() -> None:
    assert format_count(950) == "950"
    assert format_count(1_234) == "1.2k"
    assert format_count(120_000) == "120k"
    assert format_count(2_500_000) == "2.5M"
    assert format_count(1_000_000) == "1M"


def test_harm_already_done_or_everyone_hit_is_critical() -> None:
    takeover = "someone logged into my Acme account and moved £900, I never authorised it"
    verdict = assess(TriageInput(takeover), negative=0.6, categories={"security"})
    assert verdict.urgency == "critical"
    assert any(r.startswith("harm done") for r in verdict.reasons)
    outage = "Acme payments failing for every transaction since lunch"
    assert assess(TriageInput(outage), negative=0.6).urgency == "critical"
    assert assess(TriageInput("Acme payments failing since lunch"), 0.6).urgency == "high"


def test_a_plain_question_deserves_an_answer_today() -> None:
    text = "does the Acme hub work without wifi"
    assert assess(TriageInput(text), 0.1).urgency == "low"
    assert assess(TriageInput(text), 0.1, categories={"question"}).urgency == "medium"


def test_job_ads_and_promos_are_low_unless_they_are_a_scam() -> None:
    ad = "Acme is hiring! earn $500/day, apply now, everyone welcome"
    assert assess(TriageInput(ad), 0.9, categories={"job_post"}).urgency == "low"
    scam = "Your Acme account is suspended, verify your identity at acme-secure.top"
    assert assess(TriageInput(scam), 0.3, categories={"spam", "security"}).urgency != "low"
