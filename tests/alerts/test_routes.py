from __future__ import annotations

import pytest

from alerts.routes import Route, decide, written_condition
from tests.alerts.factories import stored, triage

DEFAULT = Route(name="default", channel="#brand-alerts")


@pytest.mark.parametrize(
    ("sentiment", "urgency", "alerted"),
    [
        ("negative", "low", True),  # negative is enough
        ("positive", "critical", True),  # so is high urgency, whatever the sentiment
        ("neutral", "high", True),
        ("neutral", "medium", False),
        ("positive", "low", False),
    ],
)
def test_default_route_takes_negative_or_high_urgency(
    sentiment: str, urgency: str, alerted: bool
) -> None:
    mention = stored(triage=triage(sentiment, urgency))
    assert decide(mention, [DEFAULT]) == ([DEFAULT] if alerted else [])


def test_without_min_urgency_only_the_sentiment_counts() -> None:
    route = Route(name="neg", channel="#neg", min_urgency=None)
    assert decide(stored(triage=triage("neutral", "critical")), [route]) == []
    assert decide(stored(triage=triage("negative", "low")), [route]) == [route]


def test_duplicates_and_untriaged_mentions_never_alert() -> None:
    loud = triage("negative", "critical")
    assert decide(stored(triage=loud, duplicate_of=3), [DEFAULT]) == []
    assert decide(stored(triage=None), [DEFAULT]) == []


def test_brand_and_network_filters_narrow_a_route() -> None:
    globex = Route(name="globex", channel="#globex", brands=["Globex"])
    hn = Route(name="hn", channel="#hn", networks=["hackernews"])
    acme_reddit = stored(brands=["Acme"], network="reddit")
    both_hn = stored(brands=["Acme", "Globex"], network="hackernews")

    assert decide(acme_reddit, [DEFAULT, globex, hn]) == [DEFAULT]
    assert decide(both_hn, [DEFAULT, globex, hn]) == [DEFAULT, globex, hn]


def test_a_typo_in_a_route_fails_at_start_up() -> None:
    with pytest.raises(ValueError, match="unknown sentiment 'negatve'"):
        Route(name="x", channel="#x", sentiments=["negatve"])
    with pytest.raises(ValueError, match="unknown urgency 'urgent'"):
        Route(name="x", channel="#x", min_urgency="urgent")


def test_posts_older_than_max_age_alert_nobody() -> None:
    from datetime import timedelta

    route = Route(name="default", channel="#a")
    fresh = stored(triage=triage(sentiment="negative"))
    now = fresh.created_at + timedelta(hours=2)
    assert decide(fresh, [route], max_age=timedelta(hours=24), now=now) == [route]
    old = stored(
        triage=triage(sentiment="negative"), created_at=fresh.created_at - timedelta(days=3)
    )
    assert decide(old, [route], max_age=timedelta(hours=24), now=now) == []
    assert decide(old, [route], now=now) == [route]  # no max_age: age does not matter


def test_what_a_route_lists_is_what_matches() -> None:
    """A condition the user did not write never widens a route; writing neither keeps the
    documented default (negative OR at least high)."""
    negative_medium = stored(triage=triage("negative", "medium"))
    positive_high = stored(triage=triage("positive", "high"))

    def route(sentiments: list[str] | None, min_urgency: str | None) -> Route:
        listed, urgency = written_condition(sentiments, min_urgency)
        return Route(name="r", channel="#r", sentiments=listed, min_urgency=urgency)

    cases = {
        "only min_urgency": (route(None, "high"), [False, True]),
        "only sentiments": (route(["negative"], None), [True, False]),
        "both, OR": (route(["negative"], "high"), [True, True]),
        "neither: the default": (route(None, None), [True, True]),
    }
    for name, (r, expected) in cases.items():
        assert [r.matches(m) for m in (negative_medium, positive_high)] == expected, name


def test_a_route_describes_its_condition_in_words() -> None:
    route = Route(
        name="zendesk-urgent",
        channel="#x",
        sentiments=[],
        min_urgency="high",
        brands=["Acme"],
        target="zendesk",
    )
    assert route.describe() == "route 'zendesk-urgent' → zendesk: urgency ≥ high, brands Acme"
    vip = Route(name="vip", channel="#vip", categories=["purchase_intent"], min_reach=10_000)
    assert vip.describe() == (
        "route 'vip' → #vip: sentiment negative or urgency ≥ high, "
        "categories purchase intent, reach ≥ 10,000"
    )
