"""What a click on an alert's button does: one case step, the label it teaches, the new message.

Kept apart from the Slack app so the rules ("Not relevant" closes the case AND tells the
classifier) read in one place and hold whichever way the click arrived (Socket Mode or HTTP).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alerts import render as r
from alerts.timing import escalation_target
from core.triage import SENTIMENTS
from storage import cases, labels
from storage.cases import Case, CaseError, CaseEvent
from storage.records import StoredMention

if TYPE_CHECKING:
    from alerts.routes import Route
    from storage import Store

# Every case action id the alert's buttons and menus send (View post only opens a link).
CASE_ACTIONS = (
    r.ACKNOWLEDGE,
    r.ASSIGN,
    r.RESOLVE,
    r.NOT_RELEVANT,
    r.MUTE_AUTHOR,
    r.ESCALATE,
    r.REOPEN,
    r.SENTIMENT,
)
EXCERPT = 300  # characters of the post an escalation quotes
_SIMPLE = {
    r.ACKNOWLEDGE: "acknowledge",
    r.RESOLVE: "resolve",
    r.ESCALATE: "escalate",
    r.REOPEN: "reopen",
}


class ClickError(CaseError):
    """A click that cannot be applied; its message is shown to the person who clicked."""


@dataclass(frozen=True, slots=True)
class Click:
    action_id: str
    mention_id: int
    user_id: str
    choice: str | None = None  # the reason, sentiment or user picked in a menu


@dataclass(frozen=True, slots=True)
class Outcome:
    mention: StoredMention
    case: Case
    history: list[CaseEvent]
    text: str
    blocks: list[dict[str, Any]]


def parse_click(action: Mapping[str, Any], user_id: str) -> Click:
    """One entry of a block_actions payload's `actions` -> Click, or ClickError."""
    action_id = str(action.get("action_id", ""))
    if action_id not in CASE_ACTIONS:
        raise ClickError(f"unknown button {action_id!r}")
    if action_id == r.ASSIGN:
        prefix, _, raw_id = str(action.get("block_id", "")).partition(":")
        choice = action.get("selected_user")
        if prefix != r.MORE_BLOCK or not choice:
            raise ClickError("pick a person to assign the case to")
    elif action_id in (r.NOT_RELEVANT, r.SENTIMENT):
        selected = action.get("selected_option") or {}
        raw_id, _, choice = str(selected.get("value", "")).partition(":")
    else:
        raw_id, choice = str(action.get("value", "")), None
    if not raw_id.isdigit():
        raise ClickError("this button does not name a mention (was the message edited?)")
    return Click(action_id, int(raw_id), user_id, choice or None)


def apply(store: Store, click: Click, now: datetime) -> Outcome:
    """Store what the click means and return the alert as it must now look."""
    mention = store.get_mention(click.mention_id)
    if mention is None:
        raise ClickError(f"mention #{click.mention_id} is no longer stored")
    if cases.get_case(store, mention.id) is None:
        # Alerts posted before cases existed (or by an older version) still get buttons.
        messages = cases.alert_messages(store, mention.id)
        route = messages[0].route if messages else "slack"
        cases.open_case(store, mention.id, route, opened_at=now)
    _record(store, mention, click, now)
    return outcome(store, mention.id)


def outcome(store: Store, mention_id: int) -> Outcome:
    """The alert for a mention re-rendered from what is stored (labels applied)."""
    mention = store.get_mention(mention_id)
    case = cases.get_case(store, mention_id)
    if mention is None or case is None:
        raise ClickError(f"mention #{mention_id} has no case")
    history = cases.events(store, mention_id)
    text, blocks = r.render(mention, case, history)
    return Outcome(mention, case, history, text, blocks)


def _record(store: Store, mention: StoredMention, click: Click, now: datetime) -> None:
    who = click.user_id
    if click.action_id in _SIMPLE:
        cases.act(store, mention.id, _SIMPLE[click.action_id], who, at=now)
    elif click.action_id == r.ASSIGN:
        cases.act(store, mention.id, "assign", who, assignee=click.choice, at=now)
    elif click.action_id == r.NOT_RELEVANT:
        reason = r.NOT_RELEVANT_REASONS.get(click.choice or "")
        if reason is None:
            raise ClickError(f"unknown reason {click.choice!r}")
        # The case first: if it cannot change, no label is stored either.
        cases.act(store, mention.id, "not_relevant", who, note=reason, at=now)
        labels.add_label(store, mention.id, "relevant", False, who, origin="slack", at=now)
    elif click.action_id == r.SENTIMENT:
        if click.choice not in SENTIMENTS:
            raise ClickError(f"unknown sentiment {click.choice!r}")
        cases.act(store, mention.id, "relabel", who, note=f"sentiment {click.choice}", at=now)
        labels.add_label(store, mention.id, "sentiment", click.choice, who, origin="slack", at=now)
    elif click.action_id == r.MUTE_AUTHOR:
        cases.add_mute(store, "author", mention.author, who, network=mention.network, now=now)
        where = r.network_name(mention.network)
        cases.act(store, mention.id, "mute_author", who, note=f"on {where}", at=now)


@dataclass(frozen=True, slots=True)
class Escalation:
    channel: str
    text: str
    blocks: list[dict[str, Any]]


def escalation(
    outcome: Outcome, route: Route | None, user_id: str, alert_channel: str, link: str | None
) -> Escalation | None:
    """The message a manual Escalate sends to the route's `escalate_to`, or None without one.

    A channel gets the message; a user group is pinged in the alert's own channel (the same
    places the SLA check escalates to, so people look in one place).
    """
    if route is None or not route.escalate_to:
        return None
    kind, target = escalation_target(route.escalate_to)
    mention = outcome.mention
    author = r.inert(" ".join(mention.author.split()) or "unknown author", r.LINE_LIMIT)
    where = r.network_name(mention.network)
    ping = f"{target} " if kind == "group" else ""  # validated at start-up: a real group id
    head = f"{ping}📣 *Escalated* by {r.person(user_id)}: *{author}* on {where}"
    excerpt = r.inert(" ".join(mention.text.split()), EXCERPT)
    context = f"route _{r.inert(route.name, r.LINE_LIMIT)}_ · mention #{mention.id}"
    if link and (url := r.safe_url(link)):
        context = f"<{r.escape(url)}|Open the alert> · {context}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": head, "verbatim": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context, "verbatim": True}]},
    ]
    if excerpt:
        section = {"type": "section", "text": {"type": "mrkdwn", "text": excerpt, "verbatim": True}}
        blocks.insert(1, section)
    text = f"{ping}📣 Escalated by {r.person(user_id)}: {author} on {where}"
    return Escalation(target if kind == "channel" else alert_channel, text, blocks)
