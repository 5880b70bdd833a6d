"""The shipped model and committed head, end to end, on cases nobody could argue about."""

from __future__ import annotations

import pytest

from classifiers.sentiment import DEFAULT_HEAD, SentimentHead
from classifiers.triage import SENTIMENTS, TriageInput, urgency_rank
from classifiers.triager import Triager


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager()


def test_committed_head_is_small_and_documents_itself() -> None:
    head = SentimentHead.load()
    assert DEFAULT_HEAD.stat().st_size < 64 * 1024
    assert head.labels == SENTIMENTS and head.dims == 384
    assert head.meta["model_version"] == f"minilm-l6-v2+{head.version}"
    assert len(head.meta["training_data_sha256"]) == 64
    assert 0.6 <= head.meta["heldout_macro_recall"] <= 1.0


def test_obvious_sentiment(triager: Triager) -> None:
    angry, happy = triager.triage(
        [
            TriageInput("this is the worst service ever, I want a refund"),
            TriageInput("love the new update, great job"),
        ]
    )
    assert angry.sentiment == "negative"
    assert angry.sentiment_scores["negative"] > 0.8
    assert "billing" in angry.categories
    assert happy.sentiment == "positive"
    assert happy.urgency == "low"
    assert triager.model_version.startswith("minilm-l6-v2+sentiment-")


def test_outage_from_a_big_account_is_escalated(triager: Triager) -> None:
    (result,) = triager.triage(
        [
            TriageInput(
                "@acme your app is down again and checkout throws error 500. Fix it!!",
                reach=200_000,
                brand_terms=("acme", "@acme"),
            )
        ]
    )
    assert urgency_rank(result.urgency) >= urgency_rank("high")
    assert "outage" in result.categories
    assert "reach 200k followers" in result.reasons
    assert any(r.startswith("outage words: ") and "error 500" in r for r in result.reasons)
