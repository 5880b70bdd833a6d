"""`listenpost spikes`: what the crisis radar found, and a way to run its check by hand.

After a storm the team asks "when did it start, how big did it get, how long did it last?";
the table answers from the spikes table without scrolling Slack. `--check` runs the same check
the scheduler runs every window (for a cron setup, or to see it work right now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from core.tables import Column, fit
from listenpost.cli import common

if TYPE_CHECKING:
    from storage.spikes import SpikeRecord


def register(app: typer.Typer) -> None:
    @app.command("spikes")
    def spikes_command(
        brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
        limit: Annotated[
            int,
            typer.Option(callback=common.at_least(1), help="How many, newest first (at least 1)."),
        ] = 20,
        check: Annotated[
            bool,
            typer.Option(
                "--check", help="Run one radar check now first (alerts Slack like `run`)."
            ),
        ] = False,
    ) -> None:
        """Spikes the radar confirmed: since when, how big, how long, and where it was posted."""
        from storage.spikes import recent_spikes

        settings = common.load_settings()
        if brand is not None:
            common.check_brands(settings, [brand])
        if check:
            from listenpost.jobs import radar_check

            common.need_brands(settings)
            rt = common.open_runtime(settings)
            try:
                report = radar_check(rt)
            finally:
                rt.close()
            common.console.print(
                f"radar: {report.judged} window(s) judged, {report.alerts} new alert(s), "
                f"{report.updates} update(s), {report.replies} thread repl(ies), "
                f"{report.ended} ended",
                highlight=False,
            )
            for problem in report.failures:
                common.err_console.print(
                    f"radar: {problem}", style="red", highlight=False, markup=False
                )
        store = common.open_store(settings, read_only=True)
        try:
            found = recent_spikes(store, brand, limit)
        finally:
            store.close()
        if not found:
            common.console.print("no spikes found", highlight=False)
            return
        common.console.print(table(found, datetime.now(UTC)))


SPIKE_COLUMNS = (
    Column("#", justify="right", labelled=True),
    Column("started (UTC)"),
    Column("brand"),
    Column("what", wide=True),
    Column("status"),
    Column("peak", justify="right", labelled=True),
    Column("lasted", labelled=True),
    Column("Slack", labelled=True),
)


def table(spikes: list[SpikeRecord], now: datetime, width: int | None = None) -> Table:
    """One row per spike; the key is config text, shown plain (never as Rich markup)."""
    rows = []
    for s in spikes:
        t = s.track
        assert t.started_at is not None
        lasted = (t.ended_at or now) - t.started_at
        minutes = int(lasted.total_seconds() // 60)
        what = "volume" if s.scope == "brand" else f"{s.scope} {s.key}"
        folded = s.details.get("folded_into")
        slack = (
            f"in #{folded}'s thread" if folded else ("posted" if s.details.get("posted") else "-")
        )
        cells = (
            str(s.id),
            f"{t.started_at:%Y-%m-%d %H:%M}",
            s.brand,
            what,
            t.phase,
            f"{max(t.peak, s.ratio):.1f}x",
            f"{minutes // 60}h {minutes % 60:02d}m" + ("" if t.ended_at else " so far"),
            slack,
        )
        rows.append(cells)
    width = width or common.console.width
    return fit(SPIKE_COLUMNS, rows, width, title="Spikes (newest first)")
