from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from alerts.render import render
from alerts.sender import Delivery, DeliveryFailed, RetryLater
from alerts.slack import SlackSender, rate_limit_wait
from fakes.slack import FakeSlack
from tests.alerts.factories import stored


def sender_for(slack: FakeSlack, token: str | None = None) -> SlackSender:
    return SlackSender(token or slack.token, base_url=slack.base_url)


def test_posts_blocks_and_fallback_with_the_bot_token(slack: FakeSlack) -> None:
    text, blocks = render(stored())
    delivery = sender_for(slack).send("#brand-alerts", text, blocks)

    assert delivery == Delivery(channel_id="C0123", ts="1712345678.000100")
    request = slack.server.requests[-1]
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {slack.token}"
    (message,) = slack.messages
    assert (message["channel"], message["text"], message["blocks"]) == (
        "#brand-alerts",
        text,
        blocks,
    )
    assert message["unfurl_links"] is False and message["unfurl_media"] is False


def test_rate_limit_is_reported_not_slept_on(slack: FakeSlack) -> None:
    slack.rate_limit(retry_after=42)
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        sender_for(slack).send("#brand-alerts", "hi", [])
    assert caught.value.after_seconds == 42
    assert "ratelimited" in caught.value.reason
    assert len(slack.posts) == 1  # no retry inside the client
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_later_with_backoff(slack: FakeSlack, status: int) -> None:
    slack.server_error(status)
    with pytest.raises(RetryLater) as caught:
        sender_for(slack).send("#brand-alerts", "hi", [])
    assert caught.value.after_seconds is None  # the outbox picks the backoff
    assert len(slack.posts) == 1


def test_slack_transient_error_body_is_retried_later(slack: FakeSlack) -> None:
    slack.error("internal_error")
    with pytest.raises(RetryLater):
        sender_for(slack).send("#brand-alerts", "hi", [])


def test_unknown_channel_is_permanent_with_a_hint(slack: FakeSlack) -> None:
    slack.error("channel_not_found")
    with pytest.raises(DeliveryFailed) as caught:
        sender_for(slack).send("#nope", "hi", [])
    assert caught.value.error.startswith("channel_not_found: ")
    assert "alert routes" in caught.value.error


def test_bad_token_is_permanent_and_never_echoed(slack: FakeSlack) -> None:
    token = "xoxb-0000-wrong-secret"
    with pytest.raises(DeliveryFailed) as caught:
        sender_for(slack, token).send("#brand-alerts", "hi", [])
    assert caught.value.error.startswith("invalid_auth")
    assert token not in str(caught.value)
    assert slack.messages == []


def test_dropped_connection_is_tried_once_per_pass(slack: FakeSlack) -> None:
    slack.disconnect()
    with pytest.raises(RetryLater) as caught:
        sender_for(slack).send("#brand-alerts", "hi", [])
    assert caught.value.after_seconds is None
    assert len(slack.posts) == 1  # slack_sdk's own connection retry handler is off
    assert slack.messages == []


def test_unreachable_slack_is_retried_later_without_waiting() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = SlackSender("xoxb-1", base_url=f"http://127.0.0.1:{port}/api/")
    started = time.monotonic()
    with pytest.raises(RetryLater) as caught:
        sender.send("#brand-alerts", "hi", [])
    assert caught.value.after_seconds is None
    assert "unreachable" in caught.value.reason
    assert time.monotonic() - started < 2


def test_check_names_the_workspace(slack: FakeSlack) -> None:
    assert sender_for(slack).check() == "Slack workspace Acme Corp as listenpost"
    assert slack.server.requests[-1].path == "/api/auth.test"
    with pytest.raises(DeliveryFailed, match="invalid_auth"):
        sender_for(slack, "xoxb-revoked").check()


def test_retry_after_header_forms() -> None:
    now = datetime(2024, 4, 5, 12, 0, tzinfo=UTC)
    assert rate_limit_wait({"Retry-After": "30"}) == 30
    assert rate_limit_wait({"retry-after": "0"}) == 1  # never "retry immediately"
    http_date = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert rate_limit_wait({"Retry-After": http_date}, now=now) == 90
    assert rate_limit_wait({"Retry-After": "soon"}) == 30
    assert rate_limit_wait({"Retry-After": "inf"}) == 30
    assert rate_limit_wait({}) == 30
