"""`listenpost report` and `listenpost retag`: the numbers marketing asks for, and keeping
topic tags in step with settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from listenpost.report import Report
    from listenpost.report_charts import Chart


def when(text: str, now: datetime, option: str) -> datetime:
    """'30d' (that long before now), '2026-10-01' or '2026-10-01T12:00' (UTC unless it says)."""
    from core.durations import parse_duration

    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a duration like '30d' nor a date like 2026-10-01",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        since: Annotated[
            str, typer.Option(help="Start: '30d' ago, or a date like 2026-10-01 (UTC).")
        ] = "30d",
        until: Annotated[
            str | None, typer.Option(help="End (default now): '1d' ago or a date.")
        ] = None,
        brand: Annotated[
            list[str] | None,
            typer.Option(help="Only this brand (repeat for more); competitors join its SOV."),
        ] = None,
        html: Annotated[
            Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")
        ] = None,
        csv_dir: Annotated[
            Path | None, typer.Option("--csv", help="Write each table as a CSV file in DIR.")
        ] = None,
    ) -> None:
        """Volume, sentiment, share of voice, categories, authors, response times, SLA breaches.

        Tables in the terminal, charts in --html, the same data in --csv.
        """
        from listenpost import cli
        from listenpost.report import build
        from listenpost.report_terminal import show

        now = datetime.now(UTC)
        start = when(since, now, "--since")
        end = when(until, now, "--until") if until else now
        settings = cli._settings()
        cli._check_brands(settings, brand)
        store = cli._store(settings)
        try:
            built = build(store, settings, start, end, brand)
        except ValueError as exc:
            raise cli._error(f"report: {exc}") from None
        except Exception as exc:
            raise cli._fail("cannot read the database", cli._one_line(exc)) from None
        finally:
            store.close()
        show(built, cli.console)
        try:
            if html is not None:
                write_html(built, html)
                cli.console.print(f"HTML report: {html}", highlight=False, markup=False)
            if csv_dir is not None:
                from listenpost.report_csv import write

                files = write(built, csv_dir)
                cli.console.print(
                    f"CSV: {len(files)} files in {csv_dir}", highlight=False, markup=False
                )
        except OSError as exc:
            raise cli._fail("cannot write the report", exc) from None

    @app.command()
    def retag(
        brand: Annotated[list[str] | None, typer.Option(help="Only this brand.")] = None,
    ) -> None:
        """Re-tag every stored mention with its brand's topics as settings define them now."""
        from listenpost import cli
        from storage.topics import retag as run_retag

        settings = cli._settings()
        cli._check_brands(settings, brand)
        wanted = {b.name: b.topic_queries for b in settings.brands if not brand or b.name in brand}
        store = cli._store(settings)
        try:
            done = run_retag(store, wanted, prune=not brand)
        except Exception as exc:
            raise cli._fail("cannot retag", cli._one_line(exc)) from None
        finally:
            store.close()
        line = f"retagged {done.mentions} mention(s): {done.tags} topic tag(s)"
        if done.pruned:
            line += f", {done.pruned} tag(s) of brands no longer configured removed"
        cli.console.print(line, highlight=False, markup=False)


def write_html(built: Report, path: Path, drawn: Sequence[Chart] | None = None) -> None:
    """The page, with its charts (drawn here unless given), written in one go: a half-written
    report is never left behind."""
    from listenpost.report_charts import charts
    from listenpost.report_html import render

    text = render(built, charts(built) if drawn is None else drawn)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
