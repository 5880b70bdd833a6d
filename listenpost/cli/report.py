"""`listenpost report` and `listenpost retag`: the numbers marketing asks for, and keeping
topic tags in step with settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from listenpost.cli import common


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
        from reports.build import build
        from reports.terminal import show

        now = datetime.now(UTC)
        start = when(since, now, "--since")
        end = when(until, now, "--until") if until else now
        settings = common.load_settings()
        common.check_brands(settings, brand)
        store = common.open_store(settings, read_only=True)
        try:
            built = build(store, settings, start, end, brand)
            stored = store.count_mentions()
        except ValueError as exc:
            raise common.error(f"report: {exc}") from None
        except Exception as exc:
            raise common.fail("cannot read the database", common.one_line(exc)) from None
        finally:
            store.close()
        if not stored:  # thirty rows of zeros would only hide that nothing was fetched yet
            common.console.print(
                "nothing is stored yet: run `listenpost run` or `listenpost poll --once` first",
                highlight=False,
                markup=False,
            )
        else:
            show(built, common.console)
        try:
            if html is not None:
                from reports.html import write_html

                write_html(built, html)
                common.console.print(f"HTML report: {html}", highlight=False, markup=False)
            if csv_dir is not None:
                from reports.csv import write

                files = write(built, csv_dir)
                common.console.print(
                    f"CSV: {len(files)} files in {csv_dir}", highlight=False, markup=False
                )
        except OSError as exc:
            raise common.fail("cannot write the report", exc) from None

    @app.command()
    def retag(
        brand: Annotated[list[str] | None, typer.Option(help="Only this brand.")] = None,
    ) -> None:
        """Re-tag every stored mention with its brand's topics as settings define them now."""
        from storage.topics import retag as run_retag

        settings = common.load_settings()
        common.check_brands(settings, brand)
        wanted = {b.name: b.topic_queries for b in settings.brands if not brand or b.name in brand}
        store = common.open_store(settings)
        try:
            done = run_retag(store, wanted, prune=not brand)
        except Exception as exc:
            raise common.fail("cannot retag", common.one_line(exc)) from None
        finally:
            store.close()
        line = f"retagged {done.mentions} mention(s): {done.tags} topic tag(s)"
        if done.pruned:
            line += f", {done.pruned} tag(s) of brands no longer configured removed"
        common.console.print(line, highlight=False, markup=False)
