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
from rich.text import Text

if TYPE_CHECKING:
    from storage.spikes import SpikeRecord


def register(app: typer.Typer) -> None:
    @app.command("spikes")
    def spikes_command(
        brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
        check: Annotated[
            bool,
            typer.Option(
                "--check", help="Run one radar check now first (alerts Slack like `run`)."
            ),
        ] = False,
    ) -> None:
        """Spikes the radar confirmed: since when, how big, how long, and where it was posted."""
        from listenpost import cli
        from storage.spikes import recent_spikes

        settings = cli._settings()
        if brand is not None:
            cli._check_brands(settings, [brand])
        if check:
            from listenpost.jobs import radar_check

            cli._need_brands(settings)
            rt = cli._runtime(settings)
            try:
                report = radar_check(rt)
            finally:
                rt.close()
            cli.console.print(
                f"radar: {report.judged} window(s) judged, {report.alerts} new alert(s), "
                f"{report.updates} update(s), {report.replies} thread repl(ies), "
                f"{report.ended} ended",
                highlight=False,
            )
            for problem in report.failures:
                cli.err_console.print(
                    f"radar: {problem}", style="red", highlight=False, markup=False
                )
        store = cli._store(settings)
        try:
            found = recent_spikes(store, brand, limit)
        finally:
            store.close()
        if not found:
            cli.console.print("no spikes found", highlight=False)
            return
        cli.console.print(table(found, datetime.now(UTC)))


def table(spikes: list[SpikeRecord], now: datetime) -> Table:
    """One row per spike; the key is config text, shown plain (never as Rich markup)."""
    out = Table(title="Spikes (newest first)")
    for name in ("#", "started (UTC)", "brand", "what", "status", "peak", "lasted", "Slack"):
        out.add_column(name, justify="right" if name in ("#", "peak") else "left")
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
        out.add_row(*(Text(c) for c in cells))
    return out
