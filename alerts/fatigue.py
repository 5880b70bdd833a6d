"""Alert fatigue control: bursts folded into one message, quiet hours, and what replies look like.

A team that gets forty near-identical alerts in ten minutes stops reading them. Before each
delivery pass the due alerts are looked at together:

- quiet hours: a route's non-critical alerts due during its quiet hours are held for the
  channel's next digest (or, when the channel has no digest, sent when the quiet hours end);
  critical alerts always go out;
- bursts: when more than `group_after` alerts of one route for the same brand and category
  come due within `group_window`, the first ones are sent as usual, then ONE "N more like this"
  message goes out and the rest are listed in its thread (`list_size` per reply), not posted
  one by one. Alike alerts arriving while that burst's window is open join the same thread.

Pacing (at most `per_second` messages per channel, `burst` at once) is enforced by the outbox
from the delivered rows, so it holds across passes, restarts and processes without sleeping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.render import LINE_LIMIT, SECTION_LIMIT, escape, inert, network_name, safe_url
from alerts.timing import in_quiet_hours, parse_quiet_hours, zone
from core.mention import display_text
from storage import alerting
from storage.records import OutboxItem, StoredMention

if TYPE_CHECKING:
    from alerts.routes import Route
    from storage import Store

EXCERPT = 160  # characters of a post shown on one listed line


@dataclass(frozen=True, slots=True)
class Policy:
    group_after: int = 5
    group_window: timedelta = timedelta(minutes=10)
    per_second: float = 1.0  # Slack: about one message per second per channel
    burst: int = 3  # messages one channel may get at once after a quiet spell
    list_size: int = 20  # folded alerts per thread reply (Slack allows 50 blocks)

    @property
    def pace_window(self) -> timedelta:
        """At most `burst` messages per this window: `per_second` on average."""
        return timedelta(seconds=self.burst / self.per_second)


@dataclass
class Prepared:
    held: int = 0
    postponed: int = 0
    folded: int = 0
    groups: set[int] = field(default_factory=set)


def prepare(
    store: Store,
    due: Sequence[OutboxItem],
    routes: Sequence[Route],
    policy: Policy,
    digest_channels: Collection[str],
    now: datetime,
) -> Prepared:
    """Hold quiet-hours alerts and fold bursts, before anything of this pass is sent."""
    done = Prepared()
    by_name = {r.name: r for r in routes}
    alerts = [i for i in due if i.kind == alerting.ALERT]
    hold: list[int] = []
    postpone: dict[datetime, list[int]] = defaultdict(list)
    sendable: list[OutboxItem] = []
    for item in alerts:
        route = by_name.get(item.route)
        if (
            route is not None
            and in_quiet_hours(route.quiet_hours, route.timezone, now)
            and not _critical(item.mention)
        ):
            if item.channel in digest_channels:
                hold.append(item.id)
            else:
                postpone[quiet_hours_end(route, now)].append(item.id)
        else:
            sendable.append(item)
    done.held = alerting.hold(store, hold)
    for until, ids in postpone.items():
        done.postponed += alerting.postpone(store, ids, until)
    _fold_bursts(store, sendable, policy, now, done)
    return done


def _fold_bursts(
    store: Store, items: list[OutboxItem], policy: Policy, now: datetime, done: Prepared
) -> None:
    keys = alerting.burst_keys(store, [i.mention.id for i in items])
    by_route: dict[str, dict[tuple[str, str], list[OutboxItem]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for item in items:
        by_route[item.route][keys[item.mention.id]].append(item)
    since = now - policy.group_window
    for route, bursts in by_route.items():
        groups = alerting.open_groups(store, route, since)
        recent = alerting.burst_keys(store, alerting.recent_alerts(store, route, since))
        for key, alike in bursts.items():
            group = groups.get(key)
            if group is not None:
                # Alike alerts queued after the burst got its thread join it; the burst's
                # first alerts, still waiting for their turn to be sent, stay their own.
                fold = [i for i in alike if i.id > group]
            else:
                sent = sum(1 for k in recent.values() if k == key)
                if sent + len(alike) <= policy.group_after:
                    continue
                fold = alike[max(policy.group_after - sent, 0) :]
            if not fold:
                continue
            ids = [i.id for i in fold]
            group_id = alerting.fold(store, route, fold[0].channel, key, ids, group, now)
            done.folded += len(fold)
            done.groups.add(group_id)


def quiet_hours_end(route: Route, now: datetime) -> datetime:
    """The next moment the route's quiet hours end, as an aware datetime."""
    assert route.quiet_hours is not None
    _, end = parse_quiet_hours(route.quiet_hours)
    tz = zone(route.timezone)
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), end, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return candidate.astimezone(now.tzinfo)


def _critical(mention: StoredMention) -> bool:
    return mention.triage is not None and mention.triage.urgency == "critical"


# ---- rendering ---------------------------------------------------------------------------


def render_group(payload: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The one message standing in for a burst: how many, of what, and where the list is."""
    count = int(payload.get("count", 0))
    brand, category = [*(payload.get("key") or []), "", ""][:2]
    what = " · ".join(
        inert(part, LINE_LIMIT) for part in (brand, category.replace("_", " ")) if part
    )
    route = inert(str(payload.get("route", "")), LINE_LIMIT)
    people = len(payload.get("authors") or [])
    saying = f"{people:,} {'person is' if people == 1 else 'different people are'} saying this"
    line = f"🔁 *{count} more like this*" + (f" — {what}" if what else "")
    text = (
        f"{line}\n*{saying}*. Route _{route}_: listed in the thread so the channel stays readable."
    )
    fallback = f"🔁 {count} more like this" + (f" — {what}" if what else "") + f" · {saying}"
    return fallback, [{"type": "section", "text": _mrkdwn(text)}]


def render_list(mentions: Sequence[StoredMention]) -> tuple[str, list[dict[str, Any]]]:
    """One thread reply listing folded alerts, a line each, in the order they came."""
    blocks = [{"type": "section", "text": _mrkdwn(_line(m))} for m in mentions]
    fallback = f"{len(mentions)} more mention{'s' if len(mentions) != 1 else ''} like this"
    return fallback, blocks


def render_reply(mention: StoredMention) -> tuple[str, list[dict[str, Any]]]:
    """A reply, copy or repost under the alert it belongs to: short, no buttons (the case is
    the parent's)."""
    kind = "Repost or copy" if mention.duplicate_of is not None else "Reply"
    author = inert(" ".join(mention.author.split()) or "unknown author", LINE_LIMIT)
    head = f"↪ {kind} by *{author}* on {network_name(mention.network)}"
    url = safe_url(mention.url)
    if url:
        head += f" · <{escape(url)}|View post>"
    body = inert(mention.text.replace("\r\n", "\n"), SECTION_LIMIT) if mention.text.strip() else ""
    blocks = [{"type": "section", "text": _mrkdwn(head)}]
    if body:
        blocks.append({"type": "section", "text": _mrkdwn(body)})
    blocks.append(
        {"type": "context", "elements": [_mrkdwn(f"mention #{mention.id}")]}
    )
    return f"{kind} by {author}: {inert(_one_line(mention.text), EXCERPT)}", blocks


def _line(mention: StoredMention) -> str:
    author = inert(" ".join(mention.author.split()) or "unknown author", 80)
    triage = mention.triage
    verdict = f"{triage.sentiment}, {triage.urgency}" if triage else "untriaged"
    line = f"• *{author}* on {network_name(mention.network)} ({verdict})"
    excerpt = inert(_one_line(display_text(mention.title, mention.text)), EXCERPT)
    if excerpt:
        line += f": {excerpt}"
    if url := safe_url(mention.url):
        line += f" <{escape(url)}|View post>"
    return line


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}
