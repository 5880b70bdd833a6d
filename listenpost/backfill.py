"""`listenpost backfill`: fetch history a new brand or source missed, within each API's window.

Progress is kept in its own cursor (`<source>#backfill`), committed with every page, so an
interrupted backfill resumes instead of starting over. A rate limit met here is recorded on the
source itself, so the running scheduler pauses that source too: one budget, shared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from listeners.base import Page
from listeners.errors import ListenerError, NotConfigured, RateLimited
from listenpost.pipeline import save_page, utcnow
from listenpost.runtime import Runtime


@dataclass
class BackfillResult:
    brand: str
    source: str
    new: int = 0
    pages: int = 0
    status: str = "done"


def _key(source: str) -> str:
    return f"{source}#backfill"


def _marker(since: datetime, cursor: str | None, done: bool) -> str:
    return json.dumps({"since": since.isoformat(), "cursor": cursor, "done": done})


def _progress_state(rt: Runtime, brand: str, source: str) -> dict | None:
    raw = rt.store.get_cursor(brand, _key(source))
    return json.loads(raw) if raw else None


def backfill_one(
    rt: Runtime, brand: str, source: str, since: datetime, progress: Progress | None = None
) -> BackfillResult:
    result = BackfillResult(brand, source)
    now = utcnow()
    state = rt.store.source_state(brand, source)
    if state and state.disabled_until and state.disabled_until > now:
        result.status = f"paused until {state.disabled_until:%H:%M} UTC (rate limit)"
        return result
    saved = _progress_state(rt, brand, source)
    if saved and datetime.fromisoformat(saved["since"]) <= since:
        if saved["done"]:
            result.status = "already done"
            return result
        cursor = saved["cursor"]
    else:
        saved = None
    listener = rt.listeners[source]
    try:
        if saved is None:
            cursor = listener.backfill_cursor(since)
        task = progress.add_task(f"{brand} on {source}", total=None) if progress else None
        for page in listener.search(rt.brand(brand).parsed, cursor):
            marker = None
            if page.cursor is not None:
                marker = _marker(since, page.cursor, done=False)
                cursor = page.cursor
            result.new += len(save_page(rt, brand, _key(source), Page(page.mentions, marker)))
            result.pages += 1
            if progress and task is not None:
                progress.update(
                    task, advance=1, description=f"{brand} on {source}: {result.new} new"
                )
    except NotConfigured as exc:
        result.status = f"skipped: {exc}"
        return result
    except RateLimited as exc:
        rt.store.record_error(brand, source, f"rate limited: {exc}", now, exc.until)
        result.status = f"paused until {exc.until:%H:%M} UTC (rate limit); run again to resume"
        return result
    except ListenerError as exc:
        result.status = f"error: {exc}; run again to resume"
        return result
    rt.store.save_page(brand, _key(source), [], _marker(since, cursor, done=True))
    if rt.store.get_cursor(brand, source) is None and cursor is not None:
        # A source never polled before starts where the backfill ended, not from scratch.
        rt.store.save_page(brand, source, [], cursor)
    return result


def backfill(
    rt: Runtime,
    since: datetime,
    brands: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> list[BackfillResult]:
    brand_names = list(brands) if brands else [b.name for b in rt.settings.brands]
    source_names = list(sources) if sources else list(rt.listeners)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        return [backfill_one(rt, b, s, since, progress) for b in brand_names for s in source_names]
