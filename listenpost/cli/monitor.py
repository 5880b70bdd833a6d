"""`listenpost run`, `poll`, `backfill`, `sources` and `doctor`: running the monitor and seeing
how each source is doing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from core.tables import Column
from listenpost.cli import common

if TYPE_CHECKING:
    from listenpost.config import Settings
    from listenpost.pipeline import CycleReport
    from storage.records import SourceState


# A poll cycle and a backfill report the same thing per brand and source.
RUN_COLUMNS = (
    Column("brand"),
    Column("source"),
    Column("new", justify="right"),
    Column("pages", justify="right"),
    Column("status", wide=True),
)
SOURCE_COLUMNS = (
    Column("brand"),
    Column("source"),
    Column("every", labelled=True),
    Column("last success", labelled=True),
    Column("last error", wide=True),
    Column("next run", labelled=True),
    Column("budget", labelled=True),
)


def register(app: typer.Typer) -> None:
    for command in (run, poll, backfill, sources, doctor):
        app.command()(command)


def run() -> None:
    """Listen continuously: every brand on every source, on its schedule, until Ctrl-C.

    Exit status: 130 on Ctrl-C (as `poll`), 0 when stopped by SIGTERM (a service manager's
    stop), 2 for a settings problem.
    """
    import signal

    from listenpost.scheduler import run_forever

    try:
        settings = common.load_settings()
        common.need_brands(settings)
        rt = common.open_runtime(settings)
        try:
            stopped_by = run_forever(rt)
        finally:
            rt.close()
    except KeyboardInterrupt:  # Ctrl-C while starting, before the handler is in place
        raise typer.Exit(130) from None
    if stopped_by == signal.SIGINT:
        raise typer.Exit(130)


def poll(
    once: Annotated[bool, typer.Option("--once", help="One full cycle, then exit.")] = False,
    brand: Annotated[list[str] | None, typer.Option("--brand", help="Only this brand.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this source.")] = None,
    interval: Annotated[
        float,
        typer.Option(
            callback=common.at_least(1), help="Seconds between cycles when not --once (at least 1)."
        ),
    ] = 60.0,
) -> None:
    """Poll all sources now, ignoring schedules (with --once: a single cycle, for cron and CI).

    Exit status: 0 when every source polled fine (or was paused by its back-off), 1 when any
    source failed in the last cycle, 2 for a settings or usage error, 130 on Ctrl-C.
    """
    import time

    from listenpost.pipeline import CycleReport, run_cycle

    settings = common.load_settings()
    common.need_brands(settings)
    common.check_brands(settings, brand)
    rt = common.open_runtime(settings)
    report = CycleReport()
    try:
        common.check_sources(rt, source)
        while True:
            report = run_cycle(rt, brands=brand, sources=source)
            _print_cycle(report)
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        rt.close()
    if any(p.error for p in report.polls):
        raise typer.Exit(1)


def _print_cycle(report: CycleReport) -> None:
    rows = []
    for p in report.polls:
        if p.error:
            status = Text(str(p.error), style="red")
        elif p.skipped_until:
            status = Text(f"paused until {p.skipped_until:%H:%M:%S} UTC", style="yellow")
        elif p.skipped:
            status = Text(f"ok, {p.skipped} unreadable item(s) skipped", style="yellow")
        else:
            status = Text("ok", style="green")
        rows.append([p.brand, p.source, str(p.new), str(p.pages), status])
    common.console.print(common.table(RUN_COLUMNS, rows, title="poll cycle"), highlight=False)
    d = report.delivery
    sent = f"{d.sent} sent, {d.retried} to retry, {d.failed} failed" if d else "none"
    common.console.print(
        f"triaged {report.triaged}, alerts queued {report.enqueued}, delivery: {sent}"
    )


def doctor() -> None:
    """Check settings, database, model, Slack and every source; one line each."""
    from listenpost.doctor import run_checks

    settings = common.load_settings()
    ok = run_checks(settings, os.environ, common.console, common.settings_origin())
    raise typer.Exit(0 if ok else 1)


def backfill(
    since: Annotated[str, typer.Option(help="How far back: '24h', '7d'...")] = "7d",
    source: Annotated[list[str] | None, typer.Option(help="Only this source.")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="Only this brand.")] = None,
) -> None:
    """Fetch history within each API's window; resumable, sharing the scheduler's rate limits."""
    from core.durations import parse_duration
    from listenpost.backfill import backfill as run_backfill
    from listenpost.pipeline import process, utcnow

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise common.error(f"--since: {exc}") from None
    settings = common.load_settings()
    common.need_brands(settings)
    common.check_brands(settings, brand)
    rt = common.open_runtime(settings)
    try:
        common.check_sources(rt, source)
        results = run_backfill(rt, utcnow() - window, brands=brand, sources=source)
        rows = [[r.brand, r.source, str(r.new), str(r.pages), r.status] for r in results]
        table = common.table(RUN_COLUMNS, rows, title=f"backfill since {since}")
        common.console.print(table, highlight=False)
        report = process(rt)
        common.console.print(f"triaged {report.triaged}, alerts queued {report.enqueued}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        rt.close()


def sources() -> None:
    """Each source: schedule, last success, last error, next run, rate-limit budget left; each
    stream: connected since, lag behind the live edge, events and matches per second."""
    from listeners import registry
    from listenpost.cli.stream_table import stream_table

    settings = common.load_settings()
    configured = settings.poll_settings()
    streams = [name for name in settings.sources if name in registry.STREAMS]
    store = common.open_store(settings, read_only=True)
    try:
        states = {(s.brand, s.source): s for s in store.source_states()}
        stream_states = store.stream_states()
    except Exception as exc:
        raise common.fail("cannot read the database", common.one_line(exc)) from None
    finally:
        store.close()
    rows = []
    for b in settings.brands:
        for name, source_settings in configured.items():
            s = states.get((b.name, name))
            rows.append(
                [
                    b.name,
                    name,
                    source_settings.every,
                    _when(s.last_success if s else None),
                    _short_error(s),
                    _next_run(s, source_settings.interval),
                    (s.rate_budget if s else None) or "—",
                ]
            )
    common.console.print(common.table(SOURCE_COLUMNS, rows, title="sources"), highlight=False)
    if streams:
        now = datetime.now(UTC)
        common.console.print(stream_table(streams, stream_states, now), highlight=False)
    if settings.queue.distributed:
        _print_broker(settings)


QUEUE_COLUMNS = (Column("queue"), Column("waiting", justify="right"), Column("runs", wide=True))


def _print_broker(settings: Settings) -> None:
    """Distributed mode: what waits in each queue and which workers answered."""
    from listenpost.queues import look

    view = look(settings)
    if view.error:
        common.console.print(Text(f"broker {view.broker}: unreachable ({view.error})",
                                  style="red"), highlight=False)
        return
    runs = {"poll": "fetching (I/O)", "triage": "scoring, routing (CPU)",
            "deliver": "Slack, paced per channel", "housekeeping": "SLA, digests, radar, report"}
    rows = [[q, "—" if n is None else str(n), runs.get(q, "")] for q, n in view.depths.items()]
    title = f"queues on {view.broker}"
    common.console.print(common.table(QUEUE_COLUMNS, rows, title=title), highlight=False)
    workers = ", ".join(view.workers) if view.workers else "none answered"
    common.console.print(f"workers seen: {len(view.workers)} ({workers})", highlight=False)


def _short_error(state: SourceState | None) -> str:
    """The last error in one glance; `listenpost doctor` and the logs have the whole text."""
    if state is None or not state.last_error:
        return "—"
    text = state.last_error if len(state.last_error) <= 80 else state.last_error[:79] + "…"
    return f"{_when(state.last_error_at)} {text}"


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "—"


def _next_run(state: SourceState | None, interval: timedelta) -> str:
    if state is None:
        return "at start"
    last = max((t for t in (state.last_success, state.last_error_at) if t), default=None)
    due = last + interval if last else None
    if state.disabled_until and (due is None or state.disabled_until > due):
        return f"{_when(state.disabled_until)} (paused)"
    return _when(due)
