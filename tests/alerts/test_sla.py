"""SLAs: an alert nobody acknowledged in time is escalated once, and the breach is recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from alerts import actions, render
from alerts.digest import Period, render_digest
from alerts.outbox import deliver_due
from alerts.routes import Route
from alerts.settings import DigestSettings
from alerts.sla import check_slas
from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from storage import Store, cases, stats
from tests.alerts.queueing import T0, mention, queue

ROUTE = Route("support", "#support", sla="30m", escalate_to="#leads")


def alert(store: Store, sender: SlackSender, route: Route = ROUTE, **kw: object) -> int:
    queue(store, [mention(1, **kw)], routes=[route])
    assert deliver_due(store, sender, now=T0, routes=[route]).sent == 1
    (item,) = [c.mention_id for c in cases.list_cases(store)]
    return item


def test_unacknowledged_alert_is_escalated_once_and_the_breach_recorded(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    mention_id = alert(store, sender)
    case = cases.get_case(store, mention_id)
    assert case is not None and case.sla_due_at == T0 + timedelta(minutes=30)

    assert check_slas(store, [ROUTE], now=T0 + timedelta(minutes=29)) == 0
    late = T0 + timedelta(minutes=31)
    assert check_slas(store, [ROUTE], now=late) == 1
    deliver_due(store, sender, now=late, routes=[ROUTE])
    # The check runs every minute; the breach is escalated once, however often it runs.
    for minutes in (32, 45, 120):
        now = T0 + timedelta(minutes=minutes)
        assert check_slas(store, [ROUTE], now=now) == 0
        deliver_due(store, sender, now=now, routes=[ROUTE])

    escalations = [m for m in slack.messages if m["channel"] == "#leads"]
    assert len(escalations) == 1
    assert "SLA breached" in escalations[0]["text"]
    body = json.dumps(escalations[0]["blocks"])
    assert "not acknowledged within 30 min" in body and "#support" in body
    case = cases.get_case(store, mention_id)
    assert case is not None and case.breached_at == late and case.escalated_at == late
    assert [e.action for e in cases.events(store, mention_id)][-2:] == ["breach", "escalate"]


def test_an_escalated_but_unacknowledged_case_is_still_breached(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    """Escalate is asking for help, not answering: past its SLA the case is breached, so
    `cases --status breached`, the digest and the report count it; nobody is escalated twice."""
    mention_id = alert(store, sender)
    click = actions.Click(render.ESCALATE, mention_id, "U0ANN")
    actions.apply(store, click, now=T0 + timedelta(minutes=5))
    late = T0 + timedelta(minutes=31)
    assert check_slas(store, [ROUTE], now=late) == 1
    assert check_slas(store, [ROUTE], now=late + timedelta(minutes=1)) == 0
    deliver_due(store, sender, now=late, routes=[ROUTE])

    assert [m for m in slack.messages if m["channel"] == "#leads"] == []  # escalated by hand
    case = cases.get_case(store, mention_id)
    assert case is not None and case.breached_at == late
    assert case.escalated_at == T0 + timedelta(minutes=5)
    assert [c.mention_id for c in cases.list_cases(store, breached=True)] == [mention_id]
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert stats.case_times(store, *window).breached == 1  # the digest's and report's count
    assert [b.mention_id for b in stats.breaches(store, *window)] == [mention_id]
    digest = DigestSettings(channel="#digest")
    text, _ = render_digest(store, digest, Period(*window))
    assert "1 breached" in text


def test_acknowledged_in_time_is_never_escalated(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    mention_id = alert(store, sender)
    cases.act(store, mention_id, "acknowledge", "U0ANN", at=T0 + timedelta(minutes=10))
    assert check_slas(store, [ROUTE], now=T0 + timedelta(hours=5)) == 0
    deliver_due(store, sender, now=T0 + timedelta(hours=5), routes=[ROUTE])
    assert [m["channel"] for m in slack.messages] == ["#support"]
    case = cases.get_case(store, mention_id)
    assert case is not None and case.breached_at is None


def test_a_user_group_is_pinged_in_the_route_channel_and_post_mentions_stay_inert(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    route = Route("support", "#support", sla="30m", escalate_to="<!subteam^S0LEADS>")
    alert(store, sender, route, text="<!subteam^S0EVIL> <!channel> Acme charged me twice")
    check_slas(store, [route], now=T0 + timedelta(hours=1))
    deliver_due(store, sender, now=T0 + timedelta(hours=1), routes=[route])

    _, escalation = slack.messages
    assert escalation["channel"] == "#support"
    assert escalation["text"].startswith("<!subteam^S0LEADS> ")
    sent = escalation["text"] + json.dumps(escalation["blocks"])
    assert "<!subteam^S0EVIL>" not in sent and "<!channel>" not in sent
    assert "&lt;!subteam^S0EVIL&gt;" in sent


def test_without_escalate_to_the_breach_is_still_recorded(
    store: Store, slack: FakeSlack, sender: SlackSender
) -> None:
    route = Route("support", "#support", sla="30m")
    mention_id = alert(store, sender, route)
    assert check_slas(store, [route], now=T0 + timedelta(hours=1)) == 1
    deliver_due(store, sender, now=T0 + timedelta(hours=1), routes=[route])
    assert len(slack.messages) == 1
    case = cases.get_case(store, mention_id)
    assert case is not None and case.breached_at is not None and case.escalated_at is None


@pytest.mark.parametrize(
    ("reply_to", "due"), [(None, timedelta(hours=24)), ("t3_parent", timedelta(hours=1))]
)
def test_sla_per_kind_of_post(
    store: Store, sender: SlackSender, reply_to: str | None, due: timedelta
) -> None:
    route = Route("support", "#support", sla={"comment": "1h", "post": "24h"})
    mention_id = alert(store, sender, route, in_reply_to=reply_to)
    case = cases.get_case(store, mention_id)
    assert case is not None and case.sla_due_at == T0 + due


def test_bad_sla_settings_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match="sla: unknown kind 'tweet'"):
        Route("r", "#r", sla={"tweet": "1h"})
    with pytest.raises(ValueError, match="escalate_to"):
        Route("r", "#r", escalate_to="<!channel>")
    with pytest.raises(ValueError, match="quiet_hours"):
        Route("r", "#r", quiet_hours="late")
    with pytest.raises(ValueError, match="timezone"):
        Route("r", "#r", timezone="Mars/Olympus")
