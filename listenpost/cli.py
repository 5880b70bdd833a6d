"""`listenpost`: the one command that runs, inspects and maintains the monitor."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from listenpost import config, logs
from listenpost.config import SettingsError

if TYPE_CHECKING:  # the heavy modules load only when a command needs them: --help stays fast
    from listenpost.pipeline import CycleReport
    from listenpost.runtime import Runtime
    from storage import Store
    from storage.records import SourceState, StoredMention

app = typer.Typer(
    help="Self-hosted social listening: hear every mention of your brand, answer what matters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class _State:
    settings_path: str | None = None
    verbose: bool = False


state = _State()


@app.callback()
def main(
    settings: Annotated[
        str | None,
        typer.Option("--settings", "-s", help="settings.toml to use (or $LISTENPOST_SETTINGS)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    state.settings_path = settings
    state.verbose = verbose
    logs.setup(os.environ, verbose)


def _fail(label: str, message: object, code: int = 2) -> typer.Exit:
    """Print one red line on stderr; the message is plain text, never Rich markup."""
    err_console.print(f"[bold red]{label}:[/] {escape(str(message))}", highlight=False)
    return typer.Exit(code)


def _error(message: object, code: int = 2) -> typer.Exit:
    err_console.print(Text(str(message), style="red"), highlight=False)
    return typer.Exit(code)


def _settings() -> config.Settings:
    path = config.resolve_path(state.settings_path, os.environ)
    try:
        return config.load(path)
    except SettingsError as exc:
        raise _fail("settings error", exc) from None


def _runtime(settings: config.Settings) -> Runtime:
    from listenpost.runtime import build

    try:
        return build(settings, os.environ)
    except SettingsError as exc:
        raise _fail("settings error", exc) from None
    except Exception as exc:  # a bad or unreachable database, a missing folder: one line, no trace
        raise _fail("cannot start", _one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    """An exception as one line: SQLAlchemy's multi-line messages and their doc links folded."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = " ".join(ln for ln in lines if not ln.startswith("(Background on this error"))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _store(settings: config.Settings) -> Store:
    from storage import Store

    try:
        return Store(settings.storage.url)
    except Exception as exc:
        raise _fail("cannot open the database", _one_line(exc)) from None


def _need_brands(settings: config.Settings) -> None:
    if not settings.brands:
        raise _fail(
            "settings error",
            "no [[brands]] configured; add one to settings.toml "
            "(see the example in the repository) or pass --settings FILE",
        )


def _check_brands(settings: config.Settings, wanted: list[str] | None) -> None:
    configured = [b.name for b in settings.brands]
    unknown = [b for b in dict.fromkeys(wanted or ()) if b not in configured]
    if unknown:
        raise _error(f"no brand named {', '.join(unknown)}; configured: {', '.join(configured)}")


def _check_sources(rt: Runtime, wanted: list[str] | None) -> None:
    unknown = sorted(set(wanted or ()) - set(rt.listeners))
    if unknown:
        enabled = ", ".join(rt.listeners) or "none"
        raise _error(f"no enabled source named {', '.join(unknown)}; enabled: {enabled}")


@app.command()
def run() -> None:
    """Listen continuously: every brand on every source, on its schedule, until Ctrl-C."""
    from listenpost.scheduler import run_forever

    settings = _settings()
    _need_brands(settings)
    rt = _runtime(settings)
    try:
        run_forever(rt)
    finally:
        rt.close()


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="One full cycle, then exit.")] = False,
    brand: Annotated[list[str] | None, typer.Option("--brand", help="Only this brand.")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="Only this source.")] = None,
    interval: Annotated[
        float, typer.Option(help="Seconds between cycles when not --once.", min=1)
    ] = 60.0,
) -> None:
    """Poll all sources now, ignoring schedules (with --once: a single cycle, for cron and CI).

    Exit status: 0 when every source polled fine (or was paused by its back-off), 1 when any
    source failed in the last cycle, 2 for a settings or usage error, 130 on Ctrl-C.
    """
    import time

    from listenpost.pipeline import CycleReport, run_cycle

    settings = _settings()
    _need_brands(settings)
    _check_brands(settings, brand)
    rt = _runtime(settings)
    report = CycleReport()
    try:
        _check_sources(rt, source)
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
    table = Table(title="poll cycle", title_justify="left")
    for col in ("brand", "source", "new", "pages", "status"):
        table.add_column(col, justify="right" if col in {"new", "pages"} else "left")
    for p in report.polls:
        if p.error:
            status = Text(str(p.error), style="red")
        elif p.skipped_until:
            status = Text(f"paused until {p.skipped_until:%H:%M:%S} UTC", style="yellow")
        else:
            status = Text("ok", style="green")
        table.add_row(Text(p.brand), Text(p.source), str(p.new), str(p.pages), status)
    console.print(table, highlight=False)
    d = report.delivery
    sent = f"{d.sent} sent, {d.retried} to retry, {d.failed} failed" if d else "none"
    console.print(f"triaged {report.triaged}, alerts queued {report.enqueued}, delivery: {sent}")


@app.command()
def mentions(
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Stored mentions, newest first, with their triage."""
    settings = _settings()
    store = _store(settings)
    try:
        rows = store.mentions(brand=brand, limit=limit)
    except Exception as exc:
        raise _fail("cannot read the database", _one_line(exc)) from None
    finally:
        store.close()
    if as_json:
        text = json.dumps([_mention_json(m) for m in rows], ensure_ascii=False, indent=2) + "\n"
        _write_utf8(text)
        return
    table = Table(title=f"{len(rows)} mention(s)", title_justify="left", expand=True)
    for col, kw in (
        ("when (UTC)", {"no_wrap": True}),
        ("brand", {}),
        ("network", {}),
        ("author", {}),
        ("sentiment", {}),
        ("urgency", {}),
        ("text", {"ratio": 1, "overflow": "fold"}),
    ):
        table.add_column(col, **kw)
    colors = {"negative": "red", "positive": "green", "critical": "bold red", "high": "red"}
    for m in rows:
        t = m.triage
        sentiment = t.sentiment if t else "—"
        urgency = t.urgency if t else "—"
        text = " ".join(x for x in (m.title, m.text) if x).replace("\n", " ")
        # Every cell is a Text: post text, authors and brand names are data, never Rich markup.
        table.add_row(
            f"{m.created_at:%Y-%m-%d %H:%M}",
            Text(", ".join(m.brands)),
            Text(m.network),
            Text(m.author or ""),
            Text(sentiment, style=colors.get(sentiment, "")),
            Text(urgency, style=colors.get(urgency, "")),
            Text((text[:200] + "…") if len(text) > 200 else text),
        )
    console.print(table, highlight=False)


def _write_utf8(text: str) -> None:
    """JSON is UTF-8 whatever the locale says: an ASCII or cp1252 stdout must not crash it."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    # A lone surrogate becomes a \uXXXX escape, which is still valid JSON inside a string.
    buffer.write(text.encode("utf-8", "backslashreplace"))
    buffer.flush()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _mention_json(m: StoredMention) -> dict[str, Any]:
    t = m.triage
    return {
        "id": m.id,
        "network": m.network,
        "native_id": m.native_id,
        "url": m.url,
        "author": m.author,
        "title": m.title,
        "text": m.text,
        "lang": m.lang,
        "created_at": _iso(m.created_at),
        "fetched_at": _iso(m.fetched_at),
        "brand": m.brands[0] if m.brands else None,
        "brands": m.brands,
        "metrics": {
            "likes": m.metrics.likes,
            "reposts": m.metrics.reposts,
            "replies": m.metrics.replies,
            "followers": m.metrics.followers,
        },
        "in_reply_to": m.in_reply_to,
        "duplicate_of": m.duplicate_of,
        "sentiment": t.sentiment if t else None,
        "sentiment_scores": t.sentiment_scores if t else None,
        "urgency": t.urgency if t else None,
        "categories": t.categories if t else [],
        "reasons": t.reasons if t else [],
        "model_version": t.model_version if t else None,
        "relevant": t.relevant if t else None,  # False: muted by a rule or labelled so
    }


@app.command()
def doctor() -> None:
    """Check settings, database, model, Slack and every source; one line each."""
    from listenpost.doctor import run_checks

    settings = _settings()
    ok = run_checks(settings, os.environ, console)
    raise typer.Exit(0 if ok else 1)


@app.command()
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
        raise _error(f"--since: {exc}") from None
    settings = _settings()
    _need_brands(settings)
    _check_brands(settings, brand)
    rt = _runtime(settings)
    try:
        _check_sources(rt, source)
        results = run_backfill(rt, utcnow() - window, brands=brand, sources=source)
        table = Table(title=Text(f"backfill since {since}"), title_justify="left")
        for col in ("brand", "source", "new", "pages", "status"):
            table.add_column(col, justify="right" if col in {"new", "pages"} else "left")
        for r in results:
            table.add_row(Text(r.brand), Text(r.source), str(r.new), str(r.pages), Text(r.status))
        console.print(table, highlight=False)
        report = process(rt)
        console.print(f"triaged {report.triaged}, alerts queued {report.enqueued}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        rt.close()


@app.command()
def sources() -> None:
    """Each source: schedule, last success, last error, next run, rate-limit budget left."""
    settings = _settings()
    configured = settings.source_settings()
    store = _store(settings)
    try:
        states = {(s.brand, s.source): s for s in store.source_states()}
    except Exception as exc:
        raise _fail("cannot read the database", _one_line(exc)) from None
    finally:
        store.close()
    table = Table(title="sources", title_justify="left")
    for col in ("brand", "source", "every", "last success", "last error", "next run", "budget"):
        table.add_column(col)
    for b in settings.brands:
        for name, source_settings in configured.items():
            s = states.get((b.name, name))
            table.add_row(
                Text(b.name),
                Text(name),
                Text(source_settings.every),
                _when(s.last_success if s else None),
                Text(_short_error(s)),
                _next_run(s, source_settings.interval),
                Text((s.rate_budget if s else None) or "—"),
            )
    console.print(table, highlight=False)


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


@app.command()
def train(
    data: Annotated[
        Path | None, typer.Option(help="Labelled data folder (default ../shared/data).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Model folder to write (default: the shipped model).")
    ] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training rows.")] = 3.0,
    layers: Annotated[int, typer.Option(help="MiniLM layers kept: fewer is faster.")] = 2,
    ffn: Annotated[
        int, typer.Option(help="Feed-forward units kept per layer, of 1,536 (0: all).")
    ] = 384,
    teacher: Annotated[
        Path | None, typer.Option(help="A trained model folder to learn from as well.")
    ] = None,
    distill: Annotated[
        bool,
        typer.Option(
            "--distill/--no-distill",
            help="Learn from a six-layer teacher kept as OUT.teacher (built once, ~35 min).",
        ),
    ] = True,
) -> None:
    """Fine-tune and export the triage model (reproducible; held-out figures reported)."""
    from classifiers.train import main as train_main

    argv: list[str] = ["--epochs", str(epochs), "--layers", str(layers), "--ffn", str(ffn)]
    if data:
        argv += ["--data", str(data)]
    if out:
        argv += ["--out", str(out)]
    if teacher:
        argv += ["--teacher", str(teacher)]
    argv += ["--distill" if distill else "--no-distill"]
    raise typer.Exit(train_main(argv))


from listenpost import cli_triage  # noqa: E402 - label, eval, retrain (issue 5)

cli_triage.register(app)

from listenpost import cli_report  # noqa: E402 - report, retag (issue 7)

cli_report.register(app)

from listenpost import cli_cases  # noqa: E402 - cases, export (issue 6)

cli_cases.register(app)

from listenpost import cli_radar  # noqa: E402 - spikes (issue 7)

cli_radar.register(app)

if __name__ == "__main__":
    app()
