"""The report's data as CSV files, one per table, safe to open in a spreadsheet.

Author names and topics come from strangers: a cell that starts with = + - @ (or a tab or a
carriage return) would run as a formula in Excel, LibreOffice or Google Sheets, so such text
cells get a leading apostrophe (OWASP's advice for CSV injection). Numbers stay numbers.
Files are UTF-8 with a byte-order mark, so Excel shows non-ASCII names correctly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from reports.build import Report

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value: object) -> object:
    """A cell value no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write(report: Report, directory: Path) -> list[Path]:
    """Write every table into `directory` (created if needed); returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    cases = {"all routes": report.cases, **report.cases.by_route}
    tables: dict[str, tuple[Sequence[str], Iterable[Sequence[object]]]] = {
        "volume": (
            ["bucket_start_utc", "brand", "mentions", "negative", "neutral", "positive"],
            report.volume,
        ),
        "share_of_voice": (
            ["brand", "mentions", "share", "negative", "neutral", "positive", "net_sentiment"],
            [(*r, round(r.net_sentiment, 4)) for r in report.share],
        ),
        "share_of_voice_over_time": (
            ["bucket_start_utc", "brand", "mentions", "negative", "neutral", "positive"],
            report.voice,
        ),
        "categories": (["brand", "category", "mentions", "negative"], report.categories),
        "topics": (
            ["brand", "topic", "mentions", "negative", "neutral", "positive"],
            report.topics,
        ),
        "top_authors": (
            ["network", "author", "reach", "mentions", "negative", "brands"],
            [(*a[:5], ";".join(a.brands)) for a in report.authors],
        ),
        "case_times": (
            [
                "route",
                "cases",
                "answered",
                "resolved",
                "breached",
                "open",
                "median_first_response_s",
                "p90_first_response_s",
                "median_resolution_s",
                "p90_resolution_s",
            ],
            [
                (
                    name,
                    c.opened,
                    c.responded,
                    c.resolved,
                    c.breached,
                    c.open_now,
                    c.median_first_response,
                    c.p90_first_response,
                    c.median_resolution,
                    c.p90_resolution,
                )
                for name, c in cases.items()
            ],
        ),
        "sla_breaches": (
            [
                "mention_id",
                "brand",
                "route",
                "status",
                "assignee",
                "opened_at_utc",
                "sla_due_at_utc",
                "breached_at_utc",
                "first_response_at_utc",
                "resolved_at_utc",
                "assignee_name",  # appended (issue 16): the columns above keep their places
            ],
            [[*b, report.names.get(b.assignee or "")] for b in report.breaches],
        ),
        "case_notes": (
            ["at_utc", "mention_id", "brand", "by", "by_name", "what", "note"],
            [
                [n.at, n.mention_id, n.brand, n.actor, report.names.get(n.actor), n.action, n.note]
                for n in report.notes
            ],
        ),
    }
    written: list[Path] = []
    for name, (header, rows) in tables.items():
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows([safe(v) for v in row] for row in rows)
        written.append(path)
    return written
