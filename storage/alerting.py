"""The outbox beyond one-alert-per-row: threads, burst groups, quiet-hours holds, escalations,
pacing counts.

Every Slack message listenpost sends is an outbox row, whatever its kind, so the same claim,
retry and Retry-After machinery covers all of them and nothing is sent twice across restarts.
The unique (route, mention) key stays the guard: an escalation is stored under
`"<route>#escalation"` and a burst's summary under `"<route>#group"`, so each exists at most once
per mention however often the SLA check or a delivery pass runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, exists, func, or_, select, update

from storage import db
from storage.dedup import handle
from storage.schema import mention_brands, mentions, outbox, triage

if TYPE_CHECKING:
    from storage import Store

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
HELD = "held"  # quiet hours: shown in the channel's next digest instead of sent
ALERT, THREAD, GROUP, ESCALATION = "alert", "thread", "group", "escalation"
SLACK_KINDS = (ALERT, THREAD, GROUP, ESCALATION)
_ROOT_KINDS = (ALERT, GROUP)  # messages a thread can hang under

_parent = outbox.alias("parent")
_older = outbox.alias("older")


def special_route(route: str, kind: str) -> str:
    """The route key of a group or escalation row (see the module docstring)."""
    return f"{route}#{kind}"


def slack_ready() -> Any:
    """Rows the Slack delivery pass may take: Slack kinds, and a reply only once the message it
    answers was delivered (it needs that message's ts)."""
    parent_delivered = exists(
        select(_parent.c.id).where(
            _parent.c.id == outbox.c.thread_of, _parent.c.status == DELIVERED
        )
    )
    return and_(
        outbox.c.kind.in_(SLACK_KINDS),
        or_(outbox.c.thread_of.is_(None), parent_delivered),
    )


def in_turn(now: datetime) -> Any:
    """Rows no older message of their channel is ahead of: none is being sent, none waits for
    its retry.

    A pause (Retry-After, a backoff, a setup problem) is carried by the message that earned it,
    so it also holds the messages queued after it (their `not_before` is empty), and a channel
    gets its messages in the order they were queued. Messages never tried (held back for quiet
    hours, or only paused alongside) do not hold the others.
    """
    ahead = exists(
        select(_older.c.id).where(
            _older.c.channel == outbox.c.channel,
            _older.c.id < outbox.c.id,
            _older.c.status.in_((PENDING, SENDING)),
            _older.c.not_before > now,
            or_(_older.c.status == SENDING, _older.c.attempts > 0),
        )
    )
    return ~ahead


# ---- threads -----------------------------------------------------------------------------


def link_threads(conn: Connection, mention_ids: Sequence[int], now: datetime) -> int:
    """Queue replies, duplicates and reposts of alerted mentions under those alerts' messages.

    Runs in the routing transaction, after the batch's alerts were queued: a child whose own
    alert was queued in this batch for the root's route has it turned into a thread reply, so
    the channel gets one message per conversation. Returns how many thread replies were queued.
    """
    if not mention_ids:
        return 0
    children = conn.execute(
        select(mentions.c.id, mentions.c.network, mentions.c.in_reply_to, mentions.c.duplicate_of)
        .where(
            mentions.c.id.in_(list(mention_ids)),
            or_(mentions.c.duplicate_of.is_not(None), mentions.c.in_reply_to.is_not(None)),
        )
        .order_by(mentions.c.id)
    ).all()
    queued = 0
    for child in children:
        parents = [child.duplicate_of] if child.duplicate_of is not None else []
        if child.in_reply_to:
            replied = conn.scalar(
                select(mentions.c.id).where(
                    mentions.c.network == child.network,
                    mentions.c.native_id == child.in_reply_to,
                )
            )
            if replied is not None:
                parents.append(replied)
        for root in _roots(conn, [p for p in parents if p != child.id]):
            queued += _thread_under(conn, root, child.id, now)
    return queued


def _roots(conn: Connection, parent_ids: list[int]) -> list[Any]:
    """The alert or group rows the parents' messages hang under, one per route."""
    if not parent_ids:
        return []
    rows = conn.execute(
        select(outbox)
        .where(
            outbox.c.mention_id.in_(parent_ids),
            outbox.c.kind.in_((ALERT, THREAD)),
            outbox.c.status != FAILED,
        )
        .order_by(outbox.c.id)
    ).all()
    roots: dict[str, Any] = {}
    for row in rows:
        root = row
        if row.kind == THREAD and row.thread_of is not None:
            root = conn.execute(select(outbox).where(outbox.c.id == row.thread_of)).first()
        if root is not None and root.kind in _ROOT_KINDS and root.status != FAILED:
            roots.setdefault(row.route, root)
    return list(roots.values())


def _thread_under(conn: Connection, root: Any, mention_id: int, now: datetime) -> int:
    status = HELD if root.status == HELD else PENDING
    converted = conn.execute(
        update(outbox)
        .where(
            outbox.c.route == root.route,
            outbox.c.mention_id == mention_id,
            outbox.c.kind == ALERT,
            outbox.c.status == PENDING,
            outbox.c.attempts == 0,
        )
        .values(kind=THREAD, thread_of=root.id, channel=root.channel, status=status)
    ).rowcount
    if converted:
        return 1
    inserted = conn.execute(
        db.insert(conn, outbox)
        .values(
            route=root.route,
            mention_id=mention_id,
            channel=root.channel,
            status=status,
            attempts=0,
            not_before=None,
            created_at=now,
            kind=THREAD,
            thread_of=root.id,
        )
        .on_conflict_do_nothing()
        .returning(outbox.c.id)
    ).first()
    return int(inserted is not None)


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a delivered message lives in Slack, for replies and updates."""

    id: int
    status: str
    channel: str
    channel_id: str | None
    ts: str | None
    payload: dict[str, Any] | None


def posted(store: Store, outbox_id: int) -> Posted | None:
    with store.engine.begin() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
    if row is None:
        return None
    return Posted(row.id, row.status, row.channel, row.channel_id, row.ts, row.payload)


def alert_message(store: Store, mention_id: int) -> Posted | None:
    """The first delivered alert for a mention: where an escalation points people to."""
    with store.engine.begin() as conn:
        row = conn.execute(
            select(outbox)
            .where(
                outbox.c.mention_id == mention_id,
                outbox.c.kind == ALERT,
                outbox.c.status == DELIVERED,
            )
            .order_by(outbox.c.id)
        ).first()
    if row is None:
        return None
    return Posted(row.id, row.status, row.channel, row.channel_id, row.ts, row.payload)


def fail_children(store: Store, root_id: int, error: str) -> int:
    """Replies under a message that will never exist cannot be threaded: fail them with it."""
    with store.engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.thread_of == root_id, outbox.c.status.in_((PENDING, SENDING, HELD)))
            .values(status=FAILED, last_error=f"parent alert failed: {error}"[:2000])
        )
    return result.rowcount or 0


# ---- quiet hours -------------------------------------------------------------------------


def hold(store: Store, outbox_ids: Sequence[int]) -> int:
    """Keep alerts (and replies queued under them) for the next digest instead of sending."""
    if not outbox_ids:
        return 0
    ids = list(outbox_ids)
    with store.engine.begin() as conn:
        held = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids), outbox.c.status == PENDING)
            .values(status=HELD)
        ).rowcount
        conn.execute(
            update(outbox)
            .where(outbox.c.thread_of.in_(ids), outbox.c.status == PENDING)
            .values(status=HELD)
        )
    return held or 0


def postpone(store: Store, outbox_ids: Sequence[int], until: datetime) -> int:
    """Send these pending alerts no earlier than `until` (quiet hours without a digest); not an
    attempt, nothing failed."""
    if not outbox_ids:
        return 0
    with store.engine.begin() as conn:
        result = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(outbox_ids)), outbox.c.status == PENDING)
            .values(not_before=until)
        )
    return result.rowcount or 0


def held_alerts(
    store: Store, channel: str, before: datetime | None = None
) -> list[tuple[int, int, datetime]]:
    """(outbox id, mention id, queued at) of the alerts held for `channel`'s next digest; with
    `before`, only those queued before it (a digest lists its period's, later ones wait)."""
    query = select(outbox.c.id, outbox.c.mention_id, outbox.c.created_at).where(
        outbox.c.channel == channel, outbox.c.status == HELD, outbox.c.kind == ALERT
    )
    if before is not None:
        query = query.where(outbox.c.created_at < before)
    with store.engine.begin() as conn:
        rows = conn.execute(query.order_by(outbox.c.id)).all()
    return [(r.id, r.mention_id, r.created_at) for r in rows]


def release_held(store: Store, outbox_ids: Iterable[int], now: datetime) -> None:
    """Held alerts a digest listed are done: delivered (in the digest) with their replies."""
    ids = list(outbox_ids)
    if not ids:
        return
    with store.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(or_(outbox.c.id.in_(ids), outbox.c.thread_of.in_(ids)), outbox.c.status == HELD)
            .values(status=DELIVERED, delivered_at=now, last_error="listed in a digest")
        )


# ---- bursts --------------------------------------------------------------------------------


def recent_alerts(store: Store, route: str, since: datetime) -> list[int]:
    """Mention ids of alerts this route posted as their own message since `since`."""
    with store.engine.begin() as conn:
        return list(
            conn.scalars(
                select(outbox.c.mention_id).where(
                    outbox.c.route == route,
                    outbox.c.kind == ALERT,
                    outbox.c.status == DELIVERED,
                    outbox.c.delivered_at >= since,
                )
            )
        )


def burst_keys(store: Store, mention_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(brand, category) per mention: what makes alerts "alike" for burst grouping.

    The first brand the mention was linked to and its first category ("" when it has none).
    """
    if not mention_ids:
        return {}
    ids = list(mention_ids)
    with store.engine.begin() as conn:
        brands: dict[int, str] = {}
        for link in conn.execute(
            select(mention_brands.c.mention_id, mention_brands.c.brand)
            .where(mention_brands.c.mention_id.in_(ids))
            .order_by(mention_brands.c.linked_at, mention_brands.c.brand)
        ):
            brands.setdefault(link.mention_id, link.brand)
        categories = {
            r.mention_id: (list(r.categories or []) or [""])[0]
            for r in conn.execute(
                select(triage.c.mention_id, triage.c.categories).where(
                    triage.c.mention_id.in_(ids)
                )
            )
        }
    return {i: (brands.get(i, ""), categories.get(i, "")) for i in ids}


def open_groups(store: Store, route: str, since: datetime) -> dict[tuple[str, str], int]:
    """This route's burst groups created since `since`: (brand, category) -> group row id."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.payload)
            .where(
                outbox.c.route == special_route(route, GROUP),
                outbox.c.kind == GROUP,
                outbox.c.status != FAILED,
                outbox.c.created_at >= since,
            )
            .order_by(outbox.c.id)
        ).all()
    found: dict[tuple[str, str], int] = {}
    for row in rows:
        key = tuple((row.payload or {}).get("key") or ())
        if len(key) == 2:
            found[(str(key[0]), str(key[1]))] = row.id  # the newest wins
    return found


def fold(
    store: Store,
    route: str,
    channel: str,
    key: tuple[str, str],
    outbox_ids: Sequence[int],
    group_id: int | None,
    now: datetime,
) -> int:
    """Turn pending alerts into lines listed in a burst's thread; returns the group row's id.

    One transaction: the group row (new unless `group_id` is given) and the folded alerts
    change together, and only alerts still pending are folded (one another process is
    sending stays its own message).
    """
    with store.engine.begin() as conn:
        ids = list(
            conn.scalars(
                select(outbox.c.id).where(
                    outbox.c.id.in_(list(outbox_ids)),
                    outbox.c.status == PENDING,
                    outbox.c.kind == ALERT,
                )
            )
        )
        if not ids:
            return group_id or 0
        if group_id is None:
            first = conn.scalar(select(outbox.c.mention_id).where(outbox.c.id == min(ids)))
            group_id = conn.execute(
                outbox.insert()
                .values(
                    route=special_route(route, GROUP),
                    mention_id=first,
                    channel=channel,
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                    kind=GROUP,
                    payload={"key": list(key), "route": route, "count": 0},
                )
                .returning(outbox.c.id)
            ).scalar_one()
        payload = dict(conn.scalar(select(outbox.c.payload).where(outbox.c.id == group_id)) or {})
        payload["count"] = int(payload.get("count", 0)) + len(ids)
        # How many different people: fifty customers saying one thing is news, one bot is not.
        authors = conn.scalars(
            select(mentions.c.author)
            .join(outbox, outbox.c.mention_id == mentions.c.id)
            .where(outbox.c.id.in_(ids))
        )
        people = set(payload.get("authors") or []) | {handle(a) or a for a in authors}
        payload["authors"] = sorted(people)
        conn.execute(update(outbox).where(outbox.c.id == group_id).values(payload=payload))
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(kind=THREAD, thread_of=group_id, payload={"listed": True})
        )
        # Replies already queued under a folded alert now hang under the group's message.
        conn.execute(
            update(outbox)
            .where(outbox.c.thread_of.in_(ids), outbox.c.status.in_((PENDING, SENDING)))
            .values(thread_of=group_id)
        )
    return group_id


def set_payload(store: Store, outbox_id: int, payload: dict[str, Any]) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(payload=payload))


def channel_id_for(store: Store, channel: str) -> str | None:
    """The Slack id of `channel` (a name in the routes) as its last delivered message gave it."""
    with store.engine.begin() as conn:
        return conn.scalar(
            select(outbox.c.channel_id)
            .where(
                outbox.c.channel == channel,
                outbox.c.status == DELIVERED,
                outbox.c.channel_id.is_not(None),
            )
            .order_by(outbox.c.id.desc())
            .limit(1)
        )


# ---- pacing and escalations ------------------------------------------------------------------


def sent_since(store: Store, channel: str, since: datetime) -> int:
    """Slack messages delivered to `channel` after `since`: what per-channel pacing counts.

    Lines listed in one burst-thread message share its ts and count once; the console has no
    ts and no rate limit.
    """
    with store.engine.begin() as conn:
        count = conn.scalar(
            select(func.count(func.distinct(outbox.c.ts))).where(
                outbox.c.channel == channel,
                outbox.c.status == DELIVERED,
                outbox.c.delivered_at > since,
                outbox.c.ts.is_not(None),
            )
        )
    return int(count or 0)


def enqueue_escalation(
    store: Store, route: str, mention_id: int, channel: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Queue the one escalation message for (route, mention); False if it already exists."""
    with store.engine.begin() as conn:
        queued = conn.execute(
            db.insert(conn, outbox)
            .values(
                route=special_route(route, ESCALATION),
                mention_id=mention_id,
                channel=channel,
                status=PENDING,
                attempts=0,
                created_at=now,
                kind=ESCALATION,
                payload=payload,
            )
            .on_conflict_do_nothing()
            .returning(outbox.c.id)
        ).first()
    return queued is not None
