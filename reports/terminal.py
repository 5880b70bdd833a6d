"""The report as rich tables in the terminal. Every cell is a `Text`: author names and topics
are data, never Rich markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.text import Text

from core.tables import Column, fit
from core.triage import category_label
from reports.build import (
    CASE_COLUMNS,
    NOTE_COLUMNS,
    SHARE_COLUMNS,
    Report,
    case_rows,
    note_rows,
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
        [[r.brand, category_label(r.category), r.total, r.negative] for r in report.categories],
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
                report.person(b.assignee),
                f"{b.opened_at:%Y-%m-%d %H:%M}",
                f"{b.sla_due_at:%Y-%m-%d %H:%M}" if b.sla_due_at else "—",
            ]
            for b in report.breaches[:50]
        ],
    )
    if report.notes:
        _table(console, "Case notes", NOTE_COLUMNS, note_rows(report)[-50:], wide=5)


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
    console: Console,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    wide: int = 0,
) -> None:
    """One table fitted to the console (80 columns when piped): short columns keep their width
    and, when they would not fit, stack under labels beside the row's name (`wide`), so a date
    or a header is never cut to "2026-12-…"."""
    rows = list(rows)

    def numeric(i: int) -> bool:
        return bool(rows) and all(isinstance(r[i], int | float) for r in rows)

    columns = [
        Column(col, wide=i == wide, justify="right" if numeric(i) else "left", labelled=True)
        for i, col in enumerate(header)
    ]
    cells = [[f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows]
    if not cells:
        cells = [["—" for _ in header]]
    console.print(fit(columns, cells, console.width, title), highlight=False)
