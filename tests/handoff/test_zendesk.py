"""Zendesk tickets for routes that should open one: authenticated, once, with the right fields."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from core.mention import Metrics
from fakes.zendesk import EMAIL, TOKEN, FakeZendesk
from listenpost.pipeline import hand_off, route_pending
from storage import handoff
from storage.schema import outbox
from tests.handoff.conftest import Build
from tests.handoff.helpers import routed_mention

ENV = {"ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": TOKEN}


@pytest.fixture
def zd() -> Iterator[FakeZendesk]:
    with FakeZendesk() as fake:
        yield fake


def _route(base_url: str) -> str:
    return (
        '[[alerts.routes]]\nname = "support"\ntarget = "zendesk"\nmin_urgency = "medium"\n\n'
        f'[alerts.routes.zendesk]\nbase_url = "{base_url}"\ntags = ["social", "Listen Post"]\n'
    )


def test_a_ticket_is_opened_with_auth_priority_tags_and_external_id(
    runtime: Build, zd: FakeZendesk
) -> None:
    rt = runtime(_route(zd.base_url), ENV)
    mid = routed_mention(rt, text="Acme billing charged me twice <b>", urgency="critical")
    assert route_pending(rt) == 1
    report = hand_off(rt)
    assert (report.sent, report.failed) == (1, 0)

    (created,) = zd.tickets
    assert created["priority"] == "urgent"  # critical -> urgent
    assert created["external_id"] == f"listenpost-mention-{mid}"
    assert created["subject"].startswith("[Acme] reddit post by user1: Acme billing charged")
    body = created["comment"]["body"]
    assert "Acme billing charged me twice <b>" in body  # plain text, kept as written
    assert "https://www.reddit.com/r/acme/comments/1/" in body
    assert "Reach: 15,000" in body
    assert "urgency: critical" in body
    assert created["tags"] == [
        "social",
        "listen_post",
        "route_support",
        "brand_acme",
        "sentiment_negative",
        "urgency_critical",
        "complaint",
        "outage",
    ]
    request = zd.attempts[0]
    basic = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
    user, _, password = basic.partition(":")
    assert (user, password) == (f"{EMAIL}/token", TOKEN)
    assert request.headers["idempotency-key"] == f"listenpost-support-{mid}"
    assert handoff.status(rt.store, mid, "support") == ("delivered", 0, None, "1")


def test_a_min_urgency_only_route_ignores_a_medium_urgency_negative_post(
    runtime: Build, zd: FakeZendesk
) -> None:
    """What the route lists is what matches: no sentiment was written, so "negative" must not
    open tickets for posts below the urgency asked for."""
    route = _route(zd.base_url).replace('min_urgency = "medium"', 'min_urgency = "high"')
    rt = runtime(route, ENV)
    routed_mention(rt, 1, urgency="medium")  # negative, but only medium
    urgent = routed_mention(rt, 2, urgency="high")
    assert route_pending(rt) == 1
    assert hand_off(rt).sent == 1
    (created,) = zd.tickets
    assert created["external_id"] == f"listenpost-mention-{urgent}"


def test_a_retry_after_a_lost_answer_does_not_open_a_second_ticket(
    runtime: Build, zd: FakeZendesk
) -> None:
    rt = runtime(_route(zd.base_url), ENV)
    mid = routed_mention(rt)
    route_pending(rt)
    t0 = datetime.now(UTC)
    hand_off(rt, t0)
    # As if the process died after Zendesk created the ticket but before we recorded it: the
    # row is still claimed ("sending") until its lease runs out.
    with rt.store.engine.begin() as conn:
        conn.execute(update(outbox).values(status="sending", ts=None))
    assert hand_off(rt, t0 + timedelta(seconds=60)).sent == 0  # lease still held
    assert hand_off(rt, t0 + timedelta(minutes=3)).sent == 1
    assert len(zd.tickets) == 1
    assert handoff.status(rt.store, mid, "support")[3] == "1"


def test_429_waits_for_retry_after_then_creates_once(runtime: Build, zd: FakeZendesk) -> None:
    rt = runtime(_route(zd.base_url), ENV)
    mid = routed_mention(rt)
    route_pending(rt)
    zd.fail_next(429, retry_after=93)
    t0 = datetime.now(UTC)
    assert hand_off(rt, t0).retried == 1
    status, attempts, error, _ = handoff.status(rt.store, mid, "support")
    assert (status, attempts) == ("pending", 1)
    assert "HTTP 429" in (error or "") and "Rate limit" in (error or "")
    assert hand_off(rt, t0 + timedelta(seconds=90)).sent == 0
    assert hand_off(rt, t0 + timedelta(seconds=94)).sent == 1
    assert len(zd.tickets) == 1


def test_422_fails_for_good_with_zendesks_reason(runtime: Build, zd: FakeZendesk) -> None:
    rt = runtime(_route(zd.base_url), ENV)
    mid = routed_mention(rt)
    route_pending(rt)
    zd.fail_next(422)
    assert hand_off(rt).failed == 1
    status, _, error, _ = handoff.status(rt.store, mid, "support")
    assert status == "failed"
    assert "HTTP 422" in (error or "") and "Requester: is suspended" in (error or "")


def test_a_bad_token_holds_tickets_and_never_logs_it(
    runtime: Build, zd: FakeZendesk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "zd-wrong-token-987654321"
    rt = runtime(_route(zd.base_url), {"ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": wrong})
    mid = routed_mention(rt)
    route_pending(rt)
    report = hand_off(rt)
    assert (report.sent, report.failed, zd.tickets) == (0, 0, [])
    status, _, error, _ = handoff.status(rt.store, mid, "support")
    assert status == "pending" and "HTTP 401" in (error or "")
    assert "Couldn't authenticate you" in (error or "")
    assert wrong not in caplog.text and wrong not in (error or "")

    rt2 = runtime(_route(zd.base_url), {"ZENDESK_EMAIL": EMAIL})
    routed_mention(rt2, 2, text="Acme outage")
    route_pending(rt2)
    held = hand_off(rt2)
    assert "set ZENDESK_API_TOKEN" in held.held[0]


def test_min_reach_sends_only_influencers(runtime: Build, zd: FakeZendesk) -> None:
    settings = _route(zd.base_url).replace("\ntarget", "\nmin_reach = 10000\ntarget")
    rt = runtime(settings, ENV)
    big = routed_mention(rt, 1, metrics=Metrics(followers=250_000))
    routed_mention(rt, 2, text="Acme broke", metrics=Metrics(followers=120))
    engaged = Metrics(likes=9_000, reposts=2_000)  # no follower count: engagement is the reach
    viral = routed_mention(rt, 3, text="Acme lost data", metrics=engaged)
    assert route_pending(rt) == 2
    hand_off(rt)
    assert sorted(t["external_id"] for t in zd.tickets) == sorted(
        [f"listenpost-mention-{big}", f"listenpost-mention-{viral}"]
    )
