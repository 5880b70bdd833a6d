"""One cycle: fetch -> store (with the cursor) -> triage -> route -> deliver.

Each stage reads its work from the database, not from the previous stage's memory, so a
process killed anywhere resumes where the data says it stopped: nothing fetched is lost,
nothing triaged twice, no alert sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from alerts.handoff import HandoffReport, deliver_handoffs, queue_handoffs
from alerts.outbox import DeliveryReport, deliver_due
from alerts.routes import decide
from core.mention import display_text
from core.triage import Triage, TriageInput
from listeners.base import Page, SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited, Runaway
from listeners.http import Budget, Poll, polling
from listenpost import metrics
from listenpost.about import about_reasons, keep_about
from listenpost.runtime import Runtime
from listenpost.settings_brands import brand_topics, silent_brands
from storage import DatabaseUnavailable
from storage.cases import active_mutes, is_muted
from storage.label_rows import overridden
from storage.labels import labels_for, people_labels_mark, relevance_examples
from storage.records import SourceState
from storage.topics import tag_linked

if TYPE_CHECKING:
    from classifiers.relevance import RelevanceModel

log = logging.getLogger(__name__)

# A source whose credentials were refused is not retried every tick: a revoked token needs a
# person, and hammering the API would only burn the budget.
AUTH_BACKOFF = timedelta(hours=1)
# Sources polled at once by a cycle, as many as the scheduler's job threads.
POLL_WORKERS = 4


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PollResult:
    brand: str
    source: str
    new: int = 0
    pages: int = 0
    skipped: int = 0  # items the source sent that could not be read (each logged)
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
    try:
        state = rt.store.source_state(brand, source)
        cursor = rt.store.get_cursor(brand, source)
    except DatabaseUnavailable as exc:
        result.error = str(exc)
        log.error("%s/%s not polled: %s", brand, source, exc)
        return result
    if state and state.disabled_until and state.disabled_until > now:
        result.skipped_until = state.disabled_until
        log.debug("%s/%s skipped until %s", brand, source, state.disabled_until.isoformat())
        return result
    listener = rt.listeners[source]
    query = rt.brand(brand).parsed
    if not query.hears(source):
        log.debug("%s/%s skipped: the query's network: rules it out", brand, source)
        return result
    disabled_until: datetime | None = None
    limits = listener.settings
    try:
        with polling(limits.poll_budget.total_seconds()) as bounds:
            cursors: set[str] = set()
            for page in listener.search(query, cursor):
                _within_bounds(page, result.pages, cursors, bounds, limits, source)
                if query.about is not None:  # the one operator listeners cannot decide
                    page = Page(keep_about(rt.embedder, brand, query, page.mentions), page.cursor)
                result.new += len(save_page(rt, brand, source, page))
                result.pages += 1
                if rt.stopping.is_set():
                    break  # committed so far is kept; the cursor only moved with committed pages
        result.skipped = len(bounds.skipped)
    except DatabaseUnavailable as exc:
        # Not one bad row: the page waits whole, nothing is marked seen, the next cycle retries.
        result.error = f"{exc}; page not stored, cursor kept"
    except RateLimited as exc:
        result.error, disabled_until = f"rate limited: {exc}", exc.until
    except (AuthError, NotConfigured) as exc:
        result.error, disabled_until = str(exc), now + AUTH_BACKOFF
    except ListenerError as exc:
        result.error = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug in one listener must not stop the others
        log.exception("%s/%s failed unexpectedly", brand, source)
        result.error = f"unexpected {type(exc).__name__}: {exc}"
    if result.error is not None and rt.stopping.is_set():
        return result  # cut short by Ctrl-C: not the source's fault, and retried next start
    if result.error is not None:
        result.error = rt.redactor.redact(result.error)
    try:
        _record(rt, brand, source, state, result, now, disabled_until)
        if budget := describe_budget(rt.http.budget(listener.base_url)):
            rt.store.record_budget(brand, source, budget)
    except DatabaseUnavailable as exc:
        if result.error is None:  # the pages are in; only their bookkeeping is not
            result.error = str(exc)
            log.error("%s/%s: %s", brand, source, result.error)
    if result.new:
        log.info("%s/%s: %d new mention(s)", brand, source, result.new)
    metrics.observe_poll(brand, source, result.error is not None)
    return result


def _within_bounds(
    page: Page,
    pages: int,
    cursors: set[str],
    bounds: Poll,
    limits: SourceSettings,
    source: str,
) -> None:
    """Refuse a page past the poll's page cap or time budget, or one whose cursor this poll
    already saw (the source is going round in circles). Pages before it stay committed."""
    if pages >= limits.max_pages:
        raise Runaway(
            f"still paging after {pages} pages; stopped (sources.{source}.max_pages, "
            "pages so far kept)"
        )
    if time.monotonic() > bounds.deadline:
        raise Runaway(
            f"still paging after {limits.max_poll_time} and {pages} pages; stopped "
            f"(sources.{source}.max_poll_time, pages so far kept)"
        )
    if page.cursor is not None:
        if page.cursor in cursors:
            raise Runaway("the source handed out a cursor it already gave in this poll; stopped")
        cursors.add(page.cursor)


def _record(
    rt: Runtime,
    brand: str,
    source: str,
    state: SourceState | None,
    result: PollResult,
    now: datetime,
    disabled_until: datetime | None,
) -> None:
    _announce(rt, brand, source, state, result.error)
    if result.error is None:
        rt.store.record_success(brand, source, now)
        return
    rt.store.record_error(brand, source, result.error, now, disabled_until)
    result.skipped_until = disabled_until


def save_page(rt: Runtime, brand: str, source: str, page: Page) -> list[int]:
    """Commit a page, then tag what it newly linked with the brand's topics (issue 7)."""
    linked = _store_page(rt, brand, source, page)
    tag_linked(rt.store, brand, linked, brand_topics(rt.settings, brand))
    return linked


def _store_page(rt: Runtime, brand: str, source: str, page: Page) -> list[int]:
    """Commit a page with its cursor; if the database refuses it, store its mentions one by one.

    One post the database cannot hold must not stop a source forever (the same page would fail
    on every poll): it is logged with its id and link, everything else is kept, and the cursor
    moves on only after the rest is committed. A refusal of the whole database (disk full,
    read-only, locked) is no such post: it fails the page, and the cursor stays.
    """
    try:
        return rt.store.save_page(brand, source, page.mentions, page.cursor)
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if not page.mentions:
            raise
        log.warning("%s/%s: page refused (%s); storing its mentions one by one", brand, source, exc)
    stored: list[int] = []
    for mention in page.mentions:
        try:
            stored += rt.store.save_page(brand, source, [mention], None)
        except DatabaseUnavailable:
            raise
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


def _announce(
    rt: Runtime, brand: str, source: str, state: SourceState | None, error: str | None
) -> None:
    """Say, once and loudly, when a source goes bad, changes its problem or answers again.

    What this process said last is the reference; a process that has said nothing yet
    compares with the state stored in the database, so a restart still names a source that is
    down (once) and notices one that came back while it was stopped.
    """
    key = (brand, source)
    if key in rt.announced:
        before = rt.announced[key]
    else:
        before = state.last_error if state and _failing_since_success(state) else None
        if error is not None:
            before = None  # new process: say what is wrong once, even if the database knew
    rt.announced[key] = error
    if error is not None and error != before:
        log.error("%s/%s: %s (stored data and cursor kept)", brand, source, error)
    elif error is None and before is not None:
        log.warning("%s/%s: reachable again", brand, source)


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
                text=display_text(m.title, m.text),
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
        noise = relevance_model(rt)
        results = [
            t if "relevant" in said.get(m.id, {}) else unless_noise(noise, m.brands, i.text, t)
            for m, i, t in zip(pending, items, results, strict=True)
        ]
        claim.save(
            [
                (m.id, overridden(_with_about(t, m.raw, m.brands), said.get(m.id)))
                for m, t in zip(pending, results, strict=True)
            ]
        )
    metrics.observe_triaged(len(pending))
    return len(pending)


def relevance_model(rt: Runtime) -> RelevanceModel:
    """The team's not-relevant posts, per brand, as of the newest label a person gave: rebuilt
    only when people said more (one small query per batch otherwise)."""
    from classifiers.relevance import Example, RelevanceModel

    mark = people_labels_mark(rt.store)
    if rt.relevance is None or rt.relevance[0] != mark:
        examples = [Example(*row) for row in relevance_examples(rt.store)]
        words = {b.name: b.parsed.words() for b in rt.settings.brands}
        rt.relevance = (mark, RelevanceModel(examples, words))
    return rt.relevance[1]


def unless_noise(model: RelevanceModel, brands: list[str], text: str, verdict: Triage) -> Triage:
    """The verdict, marked not relevant when the post is like one the team called noise: stored
    and counted as noise (a "rule" label, like a team rule's mute), never alerted."""
    if not verdict.relevant or (noise := model.noise(brands, text)) is None:
        return verdict
    return replace(
        verdict,
        relevant=False,
        reasons=[*verdict.reasons, f"noise: {noise.reason}"],
        details={
            **verdict.details,
            "muted_by": f"relevance model (like mention #{noise.like})",
            "noise_like": {"mention_id": noise.like, "brand": noise.brand,
                           "similarity": noise.similarity},
        },
    )


def _with_about(t: Triage, raw: dict[str, Any], brands: Iterable[str]) -> Triage:
    """The about: scores that kept the mention, first among its reasons."""
    said = about_reasons(raw, brands)
    return replace(t, reasons=[*said, *t.reasons]) if said else t


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
        except DatabaseUnavailable as exc:
            log.error("triage waits: %s", exc)
        except Exception:
            log.exception("triage failed; mentions stay untriaged and are retried next cycle")
        try:
            report.enqueued = route_pending(rt)
        except DatabaseUnavailable as exc:
            log.error("routing waits: %s", exc)
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
        try:
            report = deliver_due(
                rt.store,
                rt.sender,
                now=now,
                routes=rt.routes,
                policy=rt.settings.alerts.fatigue.policy(),
                digest_channels={d.channel for d in rt.settings.alerts.digests},
            )
        except DatabaseUnavailable as exc:  # alerts stay queued; nothing is claimed or lost
            log.error("delivery waits: %s", exc)
            return DeliveryReport()
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
    pairs = [(b, s) for b in brand_names for s in source_names]
    polls = poll_all(rt, pairs)
    report = process(rt)
    report.polls = polls
    return report


def poll_all(rt: Runtime, pairs: Sequence[tuple[str, str]]) -> list[PollResult]:
    """Poll every (brand, source) at once, a few at a time, results in the order asked.

    A source that is down costs its retries, not everyone's: one after another, three
    unreachable sources took 16 s. The scheduler runs the same polls side by side on the same
    store, so storage is already safe for it (SQLite in WAL with a busy timeout, or PostgreSQL).
    """
    if len(pairs) <= 1:
        return [poll_source(rt, b, s) for b, s in pairs]
    pool = ThreadPoolExecutor(min(POLL_WORKERS, len(pairs)), thread_name_prefix="poll")
    try:
        futures = [pool.submit(poll_source, rt, b, s) for b, s in pairs]
        return [f.result() for f in futures]
    except BaseException:  # Ctrl-C: running polls stop after their page, the rest never start
        rt.stopping.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
