"""One cycle: fetch -> store (with the cursor) -> triage -> route -> deliver.

Each stage reads its work from the database, not from the previous stage's memory, so a
process killed anywhere resumes where the data says it stopped: nothing fetched is lost,
nothing triaged twice, no alert sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from alerts.handoff import HandoffReport, deliver_handoffs, queue_handoffs
from alerts.outbox import DeliveryReport, deliver_due
from alerts.routes import decide
from core.triage import TriageInput
from listeners.base import Page
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import Budget
from listenpost import metrics
from listenpost.runtime import Runtime
from listenpost.settings_brands import brand_topics, silent_brands
from storage.cases import active_mutes, is_muted
from storage.label_rows import overridden
from storage.labels import labels_for
from storage.records import SourceState
from storage.topics import tag_linked

log = logging.getLogger(__name__)

# A source whose credentials were refused is not retried every tick: a revoked token needs a
# person, and hammering the API would only burn the budget.
AUTH_BACKOFF = timedelta(hours=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollResult:
    brand: str
    source: str
    new: int = 0
    pages: int = 0
    error: str | None = None
    skipped_until: datetime | None = None


@dataclass
class CycleReport:
    polls: list[PollResult] = field(default_factory=list)
    triaged: int = 0
    enqueued: int = 0
    delivery: DeliveryReport | None = None

    @property
    def new(self) -> int:
        return sum(p.new for p in self.polls)


def poll_source(rt: Runtime, brand: str, source: str, now: datetime | None = None) -> PollResult:
    """Fetch one brand from one source, committing page by page with the cursor."""
    now = now or utcnow()
    result = PollResult(brand, source)
    state = rt.store.source_state(brand, source)
    if state and state.disabled_until and state.disabled_until > now:
        result.skipped_until = state.disabled_until
        log.debug("%s/%s skipped until %s", brand, source, state.disabled_until.isoformat())
        return result
    listener = rt.listeners[source]
    query = rt.brand(brand).parsed
    cursor = rt.store.get_cursor(brand, source)
    disabled_until: datetime | None = None
    try:
        for page in listener.search(query, cursor):
            result.new += len(save_page(rt, brand, source, page))
            result.pages += 1
            if rt.stopping.is_set():
                break  # committed so far is kept; the cursor only moved with committed pages
    except RateLimited as exc:
        result.error, disabled_until = f"rate limited: {exc}", exc.until
    except (AuthError, NotConfigured) as exc:
        result.error, disabled_until = str(exc), now + AUTH_BACKOFF
    except ListenerError as exc:
        result.error = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug in one listener must not stop the others
        log.exception("%s/%s failed unexpectedly", brand, source)
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    if result.error is not None:
        result.error = rt.redactor.redact(result.error)
    if result.error is None:
        if state and state.last_error and _failing_since_success(state):
            log.info("%s/%s recovered", brand, source)
        rt.store.record_success(brand, source, now)
    else:
        # Logged when a source goes bad or the problem changes, not on every tick.
        if not state or state.last_error != result.error:
            log.error("%s/%s: %s (stored data and cursor kept)", brand, source, result.error)
        rt.store.record_error(brand, source, result.error, now, disabled_until)
        result.skipped_until = disabled_until
    if budget := describe_budget(rt.http.budget(listener.base_url)):
        rt.store.record_budget(brand, source, budget)
    if result.new:
        log.info("%s/%s: %d new mention(s)", brand, source, result.new)
    metrics.observe_poll(brand, source, result.error is not None)
    return result


def save_page(rt: Runtime, brand: str, source: str, page: Page) -> list[int]:
    """Commit a page, then tag what it newly linked with the brand's topics (issue 7)."""
    linked = _store_page(rt, brand, source, page)
    tag_linked(rt.store, brand, linked, brand_topics(rt.settings, brand))
    return linked


def _store_page(rt: Runtime, brand: str, source: str, page: Page) -> list[int]:
    """Commit a page with its cursor; if the database refuses it, store its mentions one by one.

    One post the database cannot hold must not stop a source forever (the same page would fail
    on every poll): it is logged with its id and link, everything else is kept, and the cursor
    moves on only after the rest is committed.
    """
    try:
        return rt.store.save_page(brand, source, page.mentions, page.cursor)
    except Exception as exc:
        if not page.mentions:
            raise
        log.warning("%s/%s: page refused (%s); storing its mentions one by one", brand, source, exc)
    stored: list[int] = []
    for mention in page.mentions:
        try:
            stored += rt.store.save_page(brand, source, [mention], None)
        except Exception as exc:
            log.error(
                "%s/%s: could not store %s %s (%s): %s",
                brand,
                source,
                mention.network,
                mention.native_id,
                mention.url,
                exc,
            )
    if page.cursor is not None:
        rt.store.save_page(brand, source, [], page.cursor)
    return stored


def describe_budget(budget: Budget | None) -> str | None:
    """'57 left, resets 12:05 UTC': the network's own figure, as `listenpost sources` shows it."""
    if budget is None or budget.remaining is None:
        return None
    text = f"{budget.remaining:g} left"
    if budget.reset_at is not None:
        text += f", resets {budget.reset_at:%H:%M} UTC"
    return text


def _failing_since_success(state: SourceState) -> bool:
    return state.last_success is None or (
        state.last_error_at is not None and state.last_success < state.last_error_at
    )


def triage_pending(rt: Runtime, batch: int = 256) -> int:
    """Triage every stored mention that has no triage yet; returns how many."""
    done = 0
    while scored := triage_batch(rt, batch):
        done += scored
    return done


def triage_batch(rt: Runtime, limit: int = 256) -> int:
    """Score one batch of untriaged mentions no other worker is scoring; returns how many.

    A Celery triage task is one call of this, so a backlog spreads over the workers batch by
    batch; a worker killed mid-batch leaves its batch untriaged for the next one.
    """
    with rt.store.claim_untriaged(limit) as claim:
        pending = claim.mentions
        if not pending:
            return 0
        items = [
            TriageInput(
                text=" ".join(t for t in (m.title, m.text) if t),
                reach=m.metrics.reach(),
                brand_terms=tuple(_brand_terms(rt, m.brands)),
                author=m.author,
                network=m.network,
                lang=m.lang,
            )
            for m in pending
        ]
        results = rt.triager.triage(items)
        said = labels_for(rt.store, [m.id for m in pending])  # people's labels beat the model
        claim.save(
            [(m.id, overridden(t, said.get(m.id))) for m, t in zip(pending, results, strict=True)]
        )
    metrics.observe_triaged(len(pending))
    return len(pending)


def _brand_terms(rt: Runtime, brands: Iterable[str]) -> list[str]:
    configured = {b.name: b for b in rt.settings.brands}
    terms: list[str] = []
    for name in brands:
        terms.append(name)
        if name in configured:  # a brand renamed or removed since keeps its stored mentions
            terms.extend(configured[name].parsed.words())
    return list(dict.fromkeys(terms))


def route_pending(rt: Runtime, batch: int = 256) -> int:
    """Decide which triaged mentions go where and put them in the outbox, exactly once."""
    enqueued = 0
    quiet = silent_brands(rt.settings)  # competitors: polled and reported, never alerted
    while pending := rt.store.unrouted(limit=batch):
        now = utcnow()
        muted = active_mutes(rt.store, now)  # authors/terms muted from Slack (issue 6)
        alerts = [
            (m.id, r.name, r.channel)
            for m in pending
            if (not quiet or set(m.brands) - quiet) and not is_muted(muted, m, now)
            for r in decide(m, rt.routes, rt.settings.alerts.max_age_delta, now)
        ]
        alerts, handed_off = queue_handoffs(rt.store, rt.routes, alerts, now)  # webhook, zendesk
        enqueued += handed_off + rt.store.enqueue_alerts(alerts, [m.id for m in pending])
    return enqueued


def process(rt: Runtime, now: datetime | None = None) -> CycleReport:
    """Triage, route and deliver whatever is waiting; safe to call at any time."""
    with rt.process_lock:
        report = CycleReport()
        # Each stage stands alone: a triage failure must not hold back alerts already queued.
        try:
            report.triaged = triage_pending(rt)
        except Exception:
            log.exception("triage failed; mentions stay untriaged and are retried next cycle")
        try:
            report.enqueued = route_pending(rt)
        except Exception:
            log.exception("routing failed; mentions stay unrouted and are retried next cycle")
        report.delivery = deliver(rt, now)
        return report


def deliver(rt: Runtime, now: datetime | None = None) -> DeliveryReport:
    """One delivery pass over Slack alerts and hand-offs, without triage or routing.

    The scheduler runs this every pace window as well as after each cycle, so a backlog drains
    at the channel's pace (about a message a second) instead of a few messages per cycle.
    """
    now = now or utcnow()
    with rt.deliver_lock:
        report = deliver_due(
            rt.store,
            rt.sender,
            now=now,
            routes=rt.routes,
            policy=rt.settings.alerts.fatigue.policy(),
            digest_channels={d.channel for d in rt.settings.alerts.digests},
        )
        if report.sent:
            metrics.observe_delivered(rt.store, now)
        hand_off(rt, now)  # never raises; off unless a route hands off
        return report


def hand_off(rt: Runtime, now: datetime | None = None) -> HandoffReport:
    """One pass over due webhook and Zendesk hand-offs, with this process's secrets."""
    routes = {r.name: r for r in rt.settings.alerts.routes}
    return deliver_handoffs(rt.store, routes, rt.env, rt.redactor, now)


def run_cycle(
    rt: Runtime,
    brands: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> CycleReport:
    """Poll every (brand, source) pair once, then process what came in."""
    brand_names = list(brands) if brands else [b.name for b in rt.settings.brands]
    source_names = list(sources) if sources else list(rt.listeners)
    polls = [poll_source(rt, b, s) for b in brand_names for s in source_names]
    report = process(rt)
    report.polls = polls
    return report
