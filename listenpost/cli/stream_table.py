"""The streams part of `listenpost sources`: each stream channel's connection, how far behind
the live edge it reads, and how much it hears and matches, in a table that fits 80 columns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from rich.table import Table
from rich.text import Text

from core.tables import Cell, Column
from listenpost.cli import common
from storage.streams import StreamState

# A row not updated for this long belongs to a stream that is not running now (no `run`).
STALE = timedelta(minutes=2)


COLUMNS = (
    Column("stream"),
    Column("connected"),
    Column("lag", justify="right", labelled=True),
    Column("events/s", justify="right", labelled=True),
    Column("matched/s", justify="right", labelled=True),
    Column("last error", wide=True),
)


def stream_table(names: Iterable[str], states: Iterable[StreamState], now: datetime) -> Table:
    """One row per channel seen in the database, and one per configured stream not yet run."""
    rows: list[list[Cell]] = []
    by_stream: dict[str, list[StreamState]] = {}
    for state in states:
        by_stream.setdefault(state.stream, []).append(state)
    for name in names:
        seen = by_stream.get(name)
        if not seen:
            rows.append([name, "not run", "—", "—", "—", "—"])
            continue
        for s in seen:
            live = s.updated_at is not None and now - s.updated_at <= STALE
            label = Text(name)
            if s.channel != "all":
                label.append(f"\n{s.channel}", style="dim")
            rows.append(
                [
                    label,
                    _connected(s, live),
                    _lag(s.lag_s) if live else "—",
                    _rate(s.events_per_s) if live else "—",
                    _rate(s.matched_per_s) if live else "—",
                    _error(s),
                ]
            )
    return common.table(COLUMNS, rows, title="streams")


def _connected(s: StreamState, live: bool) -> Text:
    if not live:
        return Text("stopped", style="yellow")
    if s.connected_since is None:
        return Text("retrying", style="red")
    return Text(f"{s.connected_since:%H:%M:%S}", style="green")


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _error(s: StreamState) -> str:
    if not s.last_error:
        return "—"
    text = s.last_error if len(s.last_error) <= 60 else s.last_error[:59] + "…"
    return f"{s.last_error_at:%H:%M:%S} {text}" if s.last_error_at else text
