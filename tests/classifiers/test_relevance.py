"""The relevance model: per brand, posts like the team's not-relevant ones are noise."""

from __future__ import annotations

from classifiers.relevance import Example, RelevanceModel, vector

JOB = "Acme is hiring a senior Java developer in Berlin, apply now on our careers page"
OUTAGE = "Acme checkout is down again and support does not answer"


def model(*examples: Example) -> RelevanceModel:
    return RelevanceModel(examples, {"Acme": ["acme", "acme cloud"]})


def test_a_post_like_a_not_relevant_one_is_noise_for_that_brand_only() -> None:
    noise = model(Example(1, "Acme", JOB, False), Example(2, "Acme", OUTAGE, True))
    found = noise.noise(["Acme"], "Acme is hiring a senior Python developer in Munich, apply now")
    assert found is not None and found.like == 1 and found.similarity >= 0.5
    assert "like mention #1 marked not relevant for Acme" in found.reason
    assert noise.noise(["Acme"], "Acme billing charged me twice this month") is None
    assert noise.noise(["Acme"], "Acme checkout is down again, support does not answer") is None
    # Also found for a brand nobody marked noise for: relevant there, so not noise.
    assert noise.noise(["Acme", "Globex"], JOB) is None


def test_the_brand_name_alone_makes_no_two_posts_alike() -> None:
    assert vector("Acme Acme ACME!", stop=["acme"]) == {}
    noise = model(Example(1, "Acme", "Acme Acme Acme", False))
    assert noise.noise(["Acme"], "Acme") is None
    assert len(model()) == 0 and len(noise) == 1
