"""Cases: what the team did about an alerted mention, and the mutes that keep noise out.

An alert is the start of a piece of work, not the end of one. The case row holds where that
work stands now (status, assignee, the times that SLAs and reports measure) and `case_events`
keeps every step with who did it, so "who resolved this, and when?" has an answer long after
the Slack message scrolled away. Every change is one transaction: the row and its history
never disagree.

Mutes silence an author or a term for a while ("mute this troll for a day") without editing
the brand's query; routing checks them before queueing an alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, delete, func, or_, select, update

from storage import db
from storage.schema import case_events, cases, mutes, outbox

if TYPE_CHECKING:
    from storage import Store

OPEN, ACKNOWLEDGED, ASSIGNED, RESOLVED, NOT_RELEVANT = (
    "open",
    "acknowledged",
    "assigned",
    "resolved",
    "not_relevant",
)
STATUSES = (OPEN, ACKNOWLEDGED, ASSIGNED, RESOLVED, NOT_RELEVANT)
CLOSED = frozenset({RESOLVED, NOT_RELEVANT})
ACTIONS = (
    "acknowledge",
    "assign",
    "resolve",
    "not_relevant",
    "mute_author",
    "escalate",
    "reopen",
    "relabel",  # a person corrected the model (wrong sentiment): history only
    "note",  # a person wrote down what was done or learnt (`/listenpost note`): history only
)
# Work on a closed case would silently reopen it; only these make sense once it is closed.
_ALLOWED_WHEN_CLOSED = frozenset(
    {"reopen", "mute_author", "escalate", "not_relevant", "relabel", "note"}
)
MUTE_KINDS = ("term", "author")
SYSTEM_ACTOR = "listenpost"


class CaseError(ValueError):
    """An action that cannot apply (unknown case, closed case, missing assignee...)."""


@dataclass(frozen=True, slots=True)
class Case:
    mention_id: int
    route: str
    status: str
    assignee: str | None
    opened_at: datetime
    acknowledged_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime | None
    breached_at: datetime | None
    escalated_at: datetime | None
    updated_at: datetime

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED


@dataclass(frozen=True, slots=True)
class CaseEvent:
    mention_id: int
    action: str
    actor: str
    note: str | None
    data: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertMessage:
    route: str
    channel_id: str
    ts: str


@dataclass(frozen=True, slots=True)
class Mute:
    id: int
    kind: str
    value: str
    network: str | None
    until: datetime | None
    actor: str
    created_at: datetime


class _Post(Protocol):
    """What a mute is checked against: a Mention or a StoredMention."""

    network: str
    author: str
    text: str
    title: str | None


_CASE_FIELDS = tuple(f.name for f in fields(Case))


def _now() -> datetime:
    return datetime.now(UTC)


# ---- cases ---------------------------------------------------------------------------------


def open_case(
    store: Store,
    mention_id: int,
    route: str,
    opened_at: datetime,
    sla_due_at: datetime | None = None,
) -> None:
    """Start a case for an alerted mention; a second call (another route, a retry) is a no-op.

    The first route to alert owns the case, so its SLA is the one that counts.
    """
    with store.engine.begin() as conn:
        inserted = conn.execute(
            db.insert(conn, cases)
            .values(
                mention_id=mention_id,
                route=route,
                status=OPEN,
                opened_at=opened_at,
                sla_due_at=sla_due_at,
                updated_at=opened_at,
            )
            .on_conflict_do_nothing()
            .returning(cases.c.mention_id)
        ).first()
        if inserted is not None:
            _event(conn, mention_id, "open", SYSTEM_ACTOR, None, {"route": route}, opened_at)


def act(
    store: Store,
    mention_id: int,
    action: str,
    actor: str,
    *,
    note: str | None = None,
    assignee: str | None = None,
    at: datetime | None = None,
) -> Case:
    """Apply one person's action to a case and record it; returns the case as it now stands.

    acknowledge, assign and resolve are a first response (the SLA clock stops); assign and
    resolve also count as acknowledging. Acknowledging an assigned case keeps its assignee.
    A closed case (resolved, not relevant) must be reopened before it is worked again.
    """
    if action not in ACTIONS:
        raise CaseError(f"unknown case action {action!r}; one of: {', '.join(ACTIONS)}")
    if action == "assign" and not assignee:
        raise CaseError("assign needs an assignee")
    if action == "note" and not (note or "").strip():
        raise CaseError("a note needs some text")
    at = at or _now()
    with store.engine.begin() as conn:
        case = _get(conn, mention_id, lock=True)  # two clicks at once take turns
        if case is None:
            raise CaseError(f"mention {mention_id} has no case (it was never alerted)")
        if case.is_closed and action not in _ALLOWED_WHEN_CLOSED:
            raise CaseError(
                f"case for mention {mention_id} is already {case.status.replace('_', ' ')}; "
                "reopen it first"
            )
        if action == "escalate" and case.escalated_at is not None:
            raise CaseError(f"case for mention {mention_id} was already escalated")  # once
        values = _changes(case, action, assignee, at)
        values["updated_at"] = at
        conn.execute(update(cases).where(cases.c.mention_id == mention_id).values(**values))
        data = {"assignee": assignee} if assignee else None
        _event(conn, mention_id, action, actor, note, data, at)
        updated = _get(conn, mention_id)
    assert updated is not None  # the row was read and updated in this transaction
    return updated


def _changes(case: Case, action: str, assignee: str | None, at: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    responded = action in ("acknowledge", "assign", "resolve")
    if responded and case.first_response_at is None:
        values["first_response_at"] = at
    if responded and case.acknowledged_at is None:
        values["acknowledged_at"] = at
    if action == "acknowledge" and case.status == OPEN:
        values["status"] = ACKNOWLEDGED
    elif action == "assign":
        values.update(status=ASSIGNED, assignee=assignee)
    elif action == "resolve":
        values.update(status=RESOLVED, resolved_at=at)
    elif action == "not_relevant":
        values.update(status=NOT_RELEVANT, resolved_at=case.resolved_at or at)
    elif action == "escalate":
        values["escalated_at"] = at
    elif action == "reopen":
        values.update(status=ASSIGNED if case.assignee else OPEN, resolved_at=None)
    return values


def get_case(store: Store, mention_id: int) -> Case | None:
    with store.engine.begin() as conn:
        return _get(conn, mention_id)


def get_cases(store: Store, mention_ids: Sequence[int]) -> dict[int, Case]:
    """Cases for many mentions at once (reports, the cases CLI): id -> case, missing ids absent."""
    if not mention_ids:
        return {}
    with store.engine.begin() as conn:
        rows = conn.execute(select(cases).where(cases.c.mention_id.in_(list(mention_ids))))
        return {r.mention_id: _case(r) for r in rows}


def list_cases(
    store: Store,
    statuses: Iterable[str] | None = None,
    assignee: str | None = None,
    breached: bool | None = None,
) -> list[Case]:
    """Cases oldest first (the longest-waiting work leads), filtered as asked."""
    query = select(cases)
    if statuses is not None:
        wanted = list(statuses)
        unknown = sorted(set(wanted) - set(STATUSES))
        if unknown:
            raise CaseError(f"unknown case status {unknown[0]!r}; one of: {', '.join(STATUSES)}")
        query = query.where(cases.c.status.in_(wanted))
    if assignee is not None:
        query = query.where(cases.c.assignee == assignee)
    if breached is True:
        query = query.where(cases.c.breached_at.is_not(None))
    elif breached is False:
        query = query.where(cases.c.breached_at.is_(None))
    query = query.order_by(cases.c.opened_at, cases.c.mention_id)
    with store.engine.begin() as conn:
        return [_case(r) for r in conn.execute(query)]


def events(store: Store, mention_id: int) -> list[CaseEvent]:
    """The case's history, oldest first."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(case_events)
            .where(case_events.c.mention_id == mention_id)
            .order_by(case_events.c.at, case_events.c.id)
        ).all()
    return [CaseEvent(r.mention_id, r.action, r.actor, r.note, r.data, r.at) for r in rows]


def histories(store: Store, mention_ids: Sequence[int]) -> dict[int, list[CaseEvent]]:
    """The histories of many cases at once (the CLI, the CSV export, reports), oldest first."""
    found: dict[int, list[CaseEvent]] = {i: [] for i in mention_ids}
    ids = list(found)
    with store.engine.begin() as conn:
        for start in range(0, len(ids), 500):
            for r in conn.execute(
                select(case_events)
                .where(case_events.c.mention_id.in_(ids[start : start + 500]))
                .order_by(case_events.c.at, case_events.c.id)
            ):
                found[r.mention_id].append(
                    CaseEvent(r.mention_id, r.action, r.actor, r.note, r.data, r.at)
                )
    return found


def not_relevant_reason(history: Sequence[CaseEvent]) -> str | None:
    """Why the case was closed as not relevant (the menu's reason), the latest time it was."""
    return next((e.note for e in reversed(history) if e.action == NOT_RELEVANT), None)


def notes(history: Sequence[CaseEvent]) -> list[CaseEvent]:
    """What people wrote down on the case (`/listenpost note`), oldest first."""
    return [e for e in history if e.action == "note" and e.note]


def due_for_escalation(store: Store, now: datetime) -> list[Case]:
    """Open cases past their SLA without a first response whose breach is not recorded yet.

    A case past its SLA without a first response is breached whether or not someone pressed
    Escalate: escalating is asking for help, not answering. A breach is recorded once
    (`mark_breached`), so a case is escalated at most once (the SLA check does not escalate a
    case a person already escalated).
    """
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(cases)
            .where(
                cases.c.status == OPEN,
                cases.c.first_response_at.is_(None),
                cases.c.sla_due_at.is_not(None),
                cases.c.sla_due_at <= now,
                cases.c.breached_at.is_(None),
            )
            .order_by(cases.c.sla_due_at, cases.c.mention_id)
        ).all()
    return [_case(r) for r in rows]


def mark_breached(store: Store, mention_id: int, at: datetime, escalated: bool) -> None:
    """Record an SLA breach (and that it was escalated) once; later calls change nothing."""
    with store.engine.begin() as conn:
        case = _get(conn, mention_id, lock=True)
        if case is None or case.breached_at is not None:
            return
        values: dict[str, Any] = {"breached_at": at, "updated_at": at}
        escalated = escalated and case.escalated_at is None  # escalated by hand before: once
        if escalated:
            values["escalated_at"] = at
        conn.execute(update(cases).where(cases.c.mention_id == mention_id).values(**values))
        data = {"sla_due_at": case.sla_due_at.isoformat() if case.sla_due_at else None}
        _event(conn, mention_id, "breach", SYSTEM_ACTOR, None, data, at)
        if escalated:
            _event(conn, mention_id, "escalate", SYSTEM_ACTOR, "SLA breached", None, at)


def alert_messages(store: Store, mention_id: int) -> list[AlertMessage]:
    """The Slack messages that alerted this mention (one per route), oldest first.

    A click on one of them updates all: the copy in #execs must not still say "Open" after
    #support resolved it.
    """
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(outbox.c.route, outbox.c.channel_id, outbox.c.ts)
            .where(
                outbox.c.mention_id == mention_id,
                outbox.c.kind == "alert",
                outbox.c.status == "delivered",
                outbox.c.channel_id.is_not(None),
                outbox.c.ts.is_not(None),
            )
            .order_by(outbox.c.id)
        ).all()
    return [AlertMessage(r.route, r.channel_id, r.ts) for r in rows]


def pending_alerts(store: Store) -> int:
    """Alerts waiting in the outbox (for `/listenpost status`)."""
    with store.engine.begin() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.status.in_(("pending", "sending")))
        ) or 0


def _get(conn: Connection, mention_id: int, lock: bool = False) -> Case | None:
    query = select(cases).where(cases.c.mention_id == mention_id)
    if lock:  # PostgreSQL: a row lock; SQLite's BEGIN IMMEDIATE already serialises writers
        query = query.with_for_update()
    row = conn.execute(query).first()
    return _case(row) if row is not None else None


def _case(row: Any) -> Case:
    return Case(**{name: getattr(row, name) for name in _CASE_FIELDS})


def _event(
    conn: Connection,
    mention_id: int,
    action: str,
    actor: str,
    note: str | None,
    data: dict[str, Any] | None,
    at: datetime,
) -> None:
    conn.execute(
        case_events.insert().values(
            mention_id=mention_id, action=action, actor=actor, note=note, data=data, at=at
        )
    )


# ---- mutes ---------------------------------------------------------------------------------


def normalize_mute(kind: str, value: str) -> str:
    """Authors compare without case or a leading @; terms without case or outer spaces."""
    if kind not in MUTE_KINDS:
        raise CaseError(f"unknown mute kind {kind!r}; one of: {', '.join(MUTE_KINDS)}")
    cleaned = " ".join(value.split())
    if kind == "author":
        cleaned = cleaned.removeprefix("@")
    if not cleaned:
        raise CaseError(f"mute {kind}: give a non-empty {kind}")
    if len(cleaned) > 255:
        raise CaseError(f"mute {kind}: at most 255 characters")
    return cleaned.casefold()


def add_mute(
    store: Store,
    kind: str,
    value: str,
    actor: str,
    until: datetime | None = None,
    network: str | None = None,
    now: datetime | None = None,
) -> Mute:
    """Mute an author or term (on one network, or all) until `until` (None: until unmuted).

    Muting something already muted replaces the old end time instead of stacking rows.
    """
    normalized = normalize_mute(kind, value)
    now = now or _now()
    with store.engine.begin() as conn:
        same = [mutes.c.kind == kind, mutes.c.value == normalized, _same_network(network)]
        existing = conn.execute(select(mutes.c.id).where(*same)).scalar()
        if existing is not None:
            conn.execute(
                update(mutes)
                .where(mutes.c.id == existing)
                .values(until=until, actor=actor, created_at=now)
            )
            mute_id = existing
        else:
            mute_id = conn.execute(
                mutes.insert()
                .values(
                    kind=kind,
                    value=normalized,
                    network=network,
                    until=until,
                    actor=actor,
                    created_at=now,
                )
                .returning(mutes.c.id)
            ).scalar_one()
    return Mute(mute_id, kind, normalized, network, until, actor, now)


def remove_mute(store: Store, kind: str, value: str, network: str | None = None) -> int:
    """Lift a mute; returns how many were lifted (0: nothing was muted under that name).

    Without `network` it lifts the mute on every network.
    """
    normalized = normalize_mute(kind, value)
    where = [mutes.c.kind == kind, mutes.c.value == normalized]
    if network is not None:
        where.append(mutes.c.network == network)
    with store.engine.begin() as conn:
        return conn.execute(delete(mutes).where(*where)).rowcount or 0


def active_mutes(store: Store, now: datetime) -> list[Mute]:
    """Mutes in force at `now`, oldest first; expired ones stay out of the way untouched."""
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(mutes)
            .where(or_(mutes.c.until.is_(None), mutes.c.until > now))
            .order_by(mutes.c.created_at, mutes.c.id)
        ).all()
    return [Mute(r.id, r.kind, r.value, r.network, r.until, r.actor, r.created_at) for r in rows]


def is_muted(mutes_or_store: Store | Sequence[Mute], mention: _Post, now: datetime) -> bool:
    """Whether a mute silences this post. Pass the mutes list when checking many posts."""
    active = (
        mutes_or_store
        if isinstance(mutes_or_store, Sequence)
        else active_mutes(mutes_or_store, now)
    )
    return any(_silences(m, mention, now) for m in active)


def _silences(mute: Mute, mention: _Post, now: datetime) -> bool:
    if mute.until is not None and mute.until <= now:
        return False
    if mute.network is not None and mute.network != mention.network:
        return False
    if mute.kind == "author":
        return mention.author.strip().removeprefix("@").casefold() == mute.value
    text = " ".join(t for t in (mention.title, mention.text) if t)
    return _term_pattern(mute.value).search(text) is not None


def _term_pattern(term: str) -> re.Pattern[str]:
    """The term as a whole word or phrase, any case: muting "bug" leaves "debugging" alone."""
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _same_network(network: str | None) -> Any:
    return mutes.c.network.is_(None) if network is None else mutes.c.network == network
