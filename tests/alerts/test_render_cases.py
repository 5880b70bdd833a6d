"""The case part of an alert: buttons that fit the case's state, and who did what, when."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from alerts import render as r
from alerts.render import render
from fakes.slack import block_problems
from storage.cases import Case, CaseEvent
from tests.alerts.factories import CREATED, stored

OPENED = CREATED + timedelta(minutes=5)


def case(status: str = "open", **overrides: Any) -> Case:
    fields: dict[str, Any] = {
        "mention_id": 7,
        "route": "support",
        "status": status,
        "assignee": None,
        "opened_at": OPENED,
        "acknowledged_at": None,
        "first_response_at": None,
        "resolved_at": None,
        "sla_due_at": None,
        "breached_at": None,
        "escalated_at": None,
        "updated_at": OPENED,
    }
    fields.update(overrides)
    return Case(**fields)


def event(action: str, actor: str = "U0ANA", minutes: int = 10, **kw: Any) -> CaseEvent:
    at = OPENED + timedelta(minutes=minutes)
    return CaseEvent(7, action, actor, kw.get("note"), kw.get("data"), at)


def controls(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def status_line(blocks: list[dict[str, Any]]) -> str:
    assert blocks[-1]["type"] == "context"
    return blocks[-1]["elements"][0]["text"]


def test_a_new_alert_offers_every_action_with_the_mention_id() -> None:
    _, blocks = render(stored())
    found = controls(blocks)
    assert list(found) == [
        "view_post",
        "case_acknowledge",
        "case_resolve",
        "case_replies",
        "case_escalate",
        "case_mute_author",
        "case_assign",
        "case_not_relevant",
        "case_sentiment",
    ]  # these ids are a contract with every alert already posted
    assert found["case_acknowledge"]["style"] == "primary"
    for action_id in ("case_acknowledge", "case_resolve", "case_replies", "case_escalate"):
        assert found[action_id]["value"] == "7"
    assert found["case_assign"]["type"] == "users_select"
    block_ids = {b.get("block_id") for b in blocks if b["type"] == "actions"}
    assert block_ids == {"case:7", "case_more:7"}
    reasons = [o["value"] for o in found["case_not_relevant"]["options"]]
    assert reasons == ["7:spam", "7:job_post", "7:not_us", "7:handled", "7:other"]
    sentiments = [o["value"] for o in found["case_sentiment"]["options"]]
    assert sentiments == ["7:neutral", "7:positive"]  # not the one the model already gave
    assert blocks[-1]["type"] == "actions"  # nothing done yet: no status line
    assert block_problems(blocks) == []


def test_acknowledged_case_drops_acknowledge_and_says_who_and_when() -> None:
    history = [event("open", "listenpost", 0), event("acknowledge", "U0ANA", 4)]
    text, blocks = render(stored(), case("acknowledged"), history)
    assert "case_acknowledge" not in controls(blocks)
    line = status_line(blocks)
    assert line.startswith("👀 *Acknowledged*")
    stamp = int((OPENED + timedelta(minutes=4)).timestamp())
    assert f"• <!date^{stamp}^{{date_short_pretty}} at {{time}}|" in line
    assert line.endswith("acknowledged by <@U0ANA>")
    assert text.endswith("· Acknowledged")
    assert block_problems(blocks) == []


def test_assigned_case_preselects_the_assignee() -> None:
    history = [event("assign", "U0ANA", data={"assignee": "U0BO"})]
    _, blocks = render(stored(), case("assigned", assignee="U0BO"), history)
    assert controls(blocks)["case_assign"]["initial_user"] == "U0BO"
    first, step = status_line(blocks).splitlines()
    assert first == "👤 *Assigned* · <@U0BO>"
    assert step.endswith("assigned to <@U0BO> by <@U0ANA>")


def test_closed_case_offers_only_reopen_the_link_and_relabelling() -> None:
    history = [event("not_relevant", note="Job post")]
    _, blocks = render(stored(), case("not_relevant"), history)
    assert set(controls(blocks)) == {"view_post", "case_reopen", "case_sentiment"}
    assert status_line(blocks).endswith("marked not relevant by <@U0ANA> (Job post)")
    assert block_problems(blocks) == []


def test_escalated_case_has_no_second_escalate_and_shows_the_breach() -> None:
    history = [event("breach", "listenpost"), event("escalate", "listenpost", note="SLA breached")]
    late = case(breached_at=OPENED + timedelta(minutes=30), escalated_at=OPENED)
    _, blocks = render(stored(), late, history)
    assert "case_escalate" not in controls(blocks)
    line = status_line(blocks)
    assert line.startswith("🆕 *Open* · ⏰ SLA breached")
    assert line.endswith("escalated by listenpost (SLA breached)")


def test_history_from_outside_slack_stays_inert() -> None:
    hostile = "<!channel> *boss*"
    history = [
        event("assign", actor=hostile, data={"assignee": "<!here>"}),
        event("resolve", actor="cli:ana", note="<https://evil.example|refund here>"),
    ]
    _, blocks = render(stored(), case("resolved", assignee="<!here>"), history)
    sent = json.dumps(blocks)
    for control in ("<!channel>", "<!here>", "<https://evil"):
        assert control not in sent
    assert "&lt;!channel&gt;" in status_line(blocks)


def test_only_the_newest_steps_are_shown() -> None:
    history = [event("relabel", minutes=i, note=f"sentiment step{i}") for i in range(8)]
    _, blocks = render(stored(), case("acknowledged"), history)
    steps = status_line(blocks).splitlines()[1:]
    assert len(steps) == r.HISTORY_SHOWN
    assert steps[-1].endswith("(sentiment step7)")
