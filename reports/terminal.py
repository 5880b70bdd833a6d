"""The report as rich tables in the terminal. Every cell is a `Text`: author names and topics
are data, never Rich markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.build import (
    CASE_COLUMNS,
    SHARE_COLUMNS,
    Report,
    case_rows,
    percent,
    share_rows,
)


def show(report: Report, console: Console) -> None:
    console.print(Text(f"listenpost report: {report.title}", style="bold"), highlight=False)
    totals = report.totals
    _table(
        console,
        f"Volume and sentiment (by {report.bucket})",
        ["brand", "mentions", "negative", "neutral", "positive", "negative %"],
        [
            [b, t.total, t.negative, t.neutral, t.positive, percent(t.negative, t.total)]
            for b, t in totals.items()
        ],
    )
    _table(
        console,
        f"Mentions per {report.bucket}",
        ["from (UTC)", *report.brands],
        _per_bucket(report),
    )
    _table(
        console,
        "Share of voice",
        SHARE_COLUMNS,
        share_rows(report),
    )
    _table(
        console,
        "Categories",
        ["brand", "category", "mentions", "negative"],
        [[r.brand, r.category, r.total, r.negative] for r in report.categories],
    )
    if report.topics:
        _table(
            console,
            "Topics",
            ["brand", "topic", "mentions", "negative", "neutral", "positive"],
            [[r.brand, r.topic, r.total, r.negative, r.neutral, r.positive] for r in report.topics],
        )
    _table(
        console,
        "Top authors by reach",
        ["author", "network", "reach", "mentions", "negative", "brands"],
        [
            [a.author, a.network, a.reach, a.mentions, a.negative, ", ".join(a.brands)]
            for a in report.authors
        ],
    )
    _table(
        console,
        "Response and resolution times (cases opened in the window)",
        CASE_COLUMNS,
        case_rows(report),
    )
    _table(
        console,
        "SLA breaches",
        ["mention", "brand", "route", "status", "assignee", "opened (UTC)", "due (UTC)"],
        [
            [
                b.mention_id,
                b.brand,
                b.route,
                b.status,
                b.assignee or "—",
                f"{b.opened_at:%Y-%m-%d %H:%M}",
                f"{b.sla_due_at:%Y-%m-%d %H:%M}" if b.sla_due_at else "—",
            ]
            for b in report.breaches[:50]
        ],
    )


def _per_bucket(report: Report) -> list[list[object]]:
    """One row per bucket, one column per brand; hourly windows show only busy hours."""
    grid: dict[object, dict[str, int]] = {}
    for r in report.volume:
        grid.setdefault(r.bucket, {})[r.brand] = r.total
    fmt = "%Y-%m-%d %H:%M" if report.bucket == "hour" else "%Y-%m-%d"
    rows = [
        [f"{bucket:{fmt}}", *(counts.get(b, 0) for b in report.brands)]
        for bucket, counts in sorted(grid.items())  # type: ignore[type-var]
        if report.bucket != "hour" or any(counts.values())
    ]
    return rows


def _table(
    console: Console, title: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    rows = list(rows)
    table = Table(title=Text(title), title_justify="left")
    for i, col in enumerate(header):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows)
        table.add_column(Text(col), justify="right" if numeric else "left")
    for r in rows:
        table.add_row(*(Text(f"{v:,}" if isinstance(v, int) else str(v)) for v in r))
    if not rows:
        table.add_row(*(Text("—") for _ in header))
    console.print(table, highlight=False)
