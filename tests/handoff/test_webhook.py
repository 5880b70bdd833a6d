"""The signed webhook: a receiver that checks the signature gets each routed mention once."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.webhook import sign, verify
from core.mention import Mention, Metrics
from fakes.webhook import FakeWebhook
from listenpost.pipeline import hand_off, route_pending
from listenpost.runtime import Runtime
from storage import handoff
from storage.records import StoredMention
from tests.handoff.conftest import Build
from tests.handoff.helpers import routed_mention

SECRET = "whsec-test-0123456789"


def _webhook_route(url: str, extra: str = "") -> str:
    return (
        '[[alerts.routes]]\nname = "crm"\ntarget = "webhook"\nmin_urgency = "high"\n'
        f'{extra}\n[alerts.routes.webhook]\nurl = "{url}"\ntimeout = 2\n'
    )


@pytest.fixture
def hook() -> FakeWebhook:
    with FakeWebhook(SECRET) as fake:
        yield fake  # type: ignore[misc]


def _repost(m: StoredMention, followers: int) -> Mention:
    return Mention(
        m.network,
        m.native_id,
        m.url,
        m.author,
        m.text,
        m.created_at,
        metrics=Metrics(followers=followers),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_routed_mention_reaches_the_receiver_signed_once(
    runtime: Build, hook: FakeWebhook
) -> None:
    rt = runtime(_webhook_route(hook.url), {"LISTENPOST_WEBHOOK_SECRET": SECRET})
    mid = routed_mention(rt)
    assert route_pending(rt) == 1
    assert rt.store.due_alerts(_now()) == []  # not a Slack alert: the Slack pass never sees it

    report = hand_off(rt)
    assert (report.sent, report.failed, hook.rejected) == (1, 0, [])
    (body,) = hook.accepted
    assert body["mention"]["id"] == mid
    assert body["mention"]["text"] == "Acme sync lost all my bookmarks, furious"
    assert body["mention"]["reach"] == 15_000
    assert body["triage"]["urgency"] == "critical"
    assert body["triage"]["categories"] == ["complaint", "outage"]
    request = hook.attempts[0]
    assert request.headers["x-listenpost-delivery"] == f"listenpost-crm-{mid}"
    assert verify(SECRET, request.headers, request.body)  # what a receiver runs

    assert hand_off(rt).sent == 0  # delivered is final
    route_pending(rt)
    assert len(hook.attempts) == 1
    assert handoff.status(rt.store, mid, "crm")[0] == "delivered"


def test_a_500_is_retried_with_backoff_and_the_same_body(runtime: Build, hook: FakeWebhook) -> None:
    rt = runtime(_webhook_route(hook.url), {"LISTENPOST_WEBHOOK_SECRET": SECRET})
    mid = routed_mention(rt)
    route_pending(rt)
    hook.fail_next(500)
    t0 = _now()

    first = hand_off(rt, t0)
    assert (first.sent, first.retried) == (0, 1)
    status, attempts, error, _ = handoff.status(rt.store, mid, "crm")
    assert (status, attempts) == ("pending", 1)
    assert "HTTP 500" in (error or "")
    assert hand_off(rt, t0 + timedelta(seconds=10)).sent == 0  # backing off (30 s)

    # Reach changes while the hand-off waits; the retry still sends the first body.
    grown = rt.store.get_mention(mid)
    assert grown is not None
    rt.store.save_page("Acme", "reddit", [_repost(grown, followers=99_000)], None)
    assert rt.store.get_mention(mid).metrics.followers == 99_000  # type: ignore[union-attr]
    assert hand_off(rt, t0 + timedelta(seconds=31)).sent == 1
    assert len(hook.accepted) == 1
    assert hook.attempts[0].body == hook.attempts[1].body
    assert (
        hook.attempts[0].headers["x-listenpost-delivery"]
        == (hook.attempts[1].headers["x-listenpost-delivery"])
    )


def test_429_retry_after_holds_the_whole_target(runtime: Build, hook: FakeWebhook) -> None:
    rt = runtime(_webhook_route(hook.url), {"LISTENPOST_WEBHOOK_SECRET": SECRET})
    first, second = routed_mention(rt, 1), routed_mention(rt, 2, text="Acme down again")
    route_pending(rt)
    hook.fail_next(429, {"Retry-After": "120"})
    t0 = _now()

    report = hand_off(rt, t0)
    assert (report.sent, report.retried) == (0, 1)
    assert len(hook.attempts) == 1  # the second was not even tried: the receiver asked to wait
    assert hand_off(rt, t0 + timedelta(seconds=119)).sent == 0
    assert hand_off(rt, t0 + timedelta(seconds=121)).sent == 2
    assert {b["mention"]["id"] for b in hook.accepted} == {first, second}


def test_a_timeout_is_retried_not_lost(runtime: Build) -> None:
    # A listening socket nobody answers on: the connection opens, the reply never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        rt = runtime(
            _webhook_route(f"http://127.0.0.1:{port}/hook").replace("timeout = 2", "timeout = 0.3"),
            {"LISTENPOST_WEBHOOK_SECRET": SECRET},
        )
        mid = routed_mention(rt)
        route_pending(rt)
        assert hand_off(rt).retried == 1
    status, attempts, error, _ = handoff.status(rt.store, mid, "crm")
    assert (status, attempts, error) == ("pending", 1, "webhook crm: timed out")


def test_wrong_or_missing_secret_holds_without_leaking_it(
    runtime: Build, hook: FakeWebhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-receivers-secret-123"
    rt = runtime(
        _webhook_route(hook.url, 'brands = ["Acme"]').replace(
            "timeout = 2", 'timeout = 2\nsecret_env = "CRM_HOOK_SECRET"'
        ),
        {"CRM_HOOK_SECRET": wrong},
    )
    mid = routed_mention(rt)
    route_pending(rt)
    report = hand_off(rt)
    assert (report.sent, report.failed, hook.rejected) == (0, 0, ["bad signature"])
    status, _, error, _ = handoff.status(rt.store, mid, "crm")
    assert status == "pending"  # held for a person to fix the secret, not dropped
    assert "HTTP 401" in (error or "")
    assert report.held and "crm" in report.held[0]

    rt2 = runtime(_webhook_route(hook.url), {})
    routed_mention(rt2, 5, text="Acme is down")
    route_pending(rt2)
    held = hand_off(rt2)
    assert held.sent == 0 and "set LISTENPOST_WEBHOOK_SECRET" in held.held[0]
    assert wrong not in caplog.text and SECRET not in caplog.text
    assert not any(wrong in str(v) for v in hook.attempts[0].headers.values())


def test_a_refused_payload_fails_for_good(runtime: Build, hook: FakeWebhook) -> None:
    rt = runtime(_webhook_route(hook.url), {"LISTENPOST_WEBHOOK_SECRET": SECRET})
    mid = routed_mention(rt)
    route_pending(rt)
    hook.fail_next(410)
    assert hand_off(rt).failed == 1
    assert handoff.status(rt.store, mid, "crm")[0] == "failed"


def test_routes_without_a_handoff_target_stay_on_slack(runtime: Build, hook: FakeWebhook) -> None:
    rt: Runtime = runtime('[[alerts.routes]]\nname = "team"\nchannel = "#team"\n', {})
    routed_mention(rt)
    assert route_pending(rt) == 1
    (item,) = rt.store.due_alerts(_now())
    assert (item.route, item.channel) == ("team", "#team")
    assert hand_off(rt).sent == 0


def test_verify_rejects_stale_tampered_and_unsigned_requests() -> None:
    body = json.dumps({"mention": {"id": 1}}).encode()
    now = 1_732_450_000
    headers = {
        "X-Listenpost-Timestamp": str(now),
        "X-Listenpost-Signature": sign(SECRET, now, body),
    }
    assert verify(SECRET, headers, body, now=now + 299)
    assert not verify(SECRET, headers, body, now=now + 301)  # replayed later
    assert not verify(SECRET, headers, body, now=now - 301)  # from the future
    assert not verify(SECRET, headers, body + b" ", now=now)
    assert not verify("other-secret", headers, body, now=now)
    assert not verify(SECRET, {"X-Listenpost-Signature": headers["X-Listenpost-Signature"]}, body)
    # The documented recipe, by hand: HMAC-SHA256 over "v1:{ts}:{body}".
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"v1:{now}:".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Listenpost-Signature"] == f"v1={expected}"


def test_a_revoked_slack_token_does_not_hold_webhooks(runtime: Build, hook: FakeWebhook) -> None:
    rt = runtime(_webhook_route(hook.url), {"LISTENPOST_WEBHOOK_SECRET": SECRET})
    routed_mention(rt)
    route_pending(rt)
    rt.store.pause_channel(None, _now() + timedelta(minutes=10))  # what a dead Slack token does
    assert hand_off(rt).sent == 1
    assert len(hook.accepted) == 1


# Digits that str.isdigit() accepts but a Unix timestamp never is (issue 15, item 11), and a
# length int() refuses to read (Python caps it at 4,300 digits).
_BAD_STAMPS = [
    "\u00b2",  # superscript two
    "".join(chr(0x0660 + int(d)) for d in "1732450000"),  # Arabic-Indic digits
    "".join(chr(0xFF10 + int(d)) for d in "1732450000"),  # fullwidth digits
    "9" * 5000,
    "+1732450000",
    " 1732450000",
]


@pytest.mark.parametrize("stamp", _BAD_STAMPS, ids=["superscript", "arabic", "fullwidth", "huge",
                                                    "plus", "space"])
def test_verify_refuses_timestamps_that_are_not_ascii_digits(stamp: str) -> None:
    body = b'{"mention": {"id": 1}}'
    now = 1_732_450_000
    headers = {"X-Listenpost-Timestamp": stamp, "X-Listenpost-Signature": sign(SECRET, now, body)}
    assert verify(SECRET, headers, body, now=now) is False


def _documented_receiver() -> Callable[[str, Mapping[str, str], bytes], bool]:
    """The receiver recipe in docs/reports.md, run as written."""
    doc = (Path(__file__).parents[2] / "docs" / "reports.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verify" in b]
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["verify"]


@pytest.mark.parametrize("stamp", _BAD_STAMPS, ids=["superscript", "arabic", "fullwidth", "huge",
                                                    "plus", "space"])
def test_the_documented_receiver_refuses_them_too(stamp: str) -> None:
    receiver = _documented_receiver()
    body = b'{"mention": {"id": 1}}'
    now = int(time.time())
    good = {"X-Listenpost-Timestamp": str(now), "X-Listenpost-Signature": sign(SECRET, now, body)}
    assert receiver(SECRET, good, body) is True
    assert receiver(SECRET, {**good, "X-Listenpost-Timestamp": stamp}, body) is False
