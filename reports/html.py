"""The report as one self-contained HTML file: charts inlined as base64 PNG, styles inline, no
script, nothing fetched from anywhere, so it opens offline, from an email or a Slack upload.

Authors, brands, topics and routes are data from the internet: every one goes through
`html.escape`, and a Content-Security-Policy that allows no script at all backs that up.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from core.triage import category_label
from reports.build import (
    CASE_COLUMNS,
    NOTE_COLUMNS,
    SHARE_COLUMNS,
    Report,
    case_rows,
    duration,
    note_rows,
    percent,
    share_rows,
)
from reports.charts import Chart, charts

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
body{font:14px/1.45 -apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1f2933;
margin:0;background:#f5f7fa}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#616e7c;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}
figure{background:#fff;border:1px solid #e4e7eb;border-radius:6px;margin:12px 0;padding:8px}
figure img{display:block;width:100%;height:auto}
figcaption{color:#616e7c;font-size:12px;padding:4px}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.neg{color:#c0392b}.empty{color:#616e7c;font-style:italic}
"""


def render(report: Report, charts: Sequence[Chart]) -> str:
    by_name = {c.name: c for c in charts}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape('listenpost report: ' + report.title)}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by listenpost. '
        "Copies of a post and mentions the team marked not relevant are not counted; "
        "reach is the author's followers, else the post's likes + reposts.</p>",
        _cards(report),
        "<h2>Volume and sentiment</h2>",
        _figure(by_name.get("volume")),
        _figure(by_name.get("sentiment")),
        _table(
            ["brand", "mentions", "negative", "neutral", "positive", "negative %"],
            [
                [b, t.total, t.negative, t.neutral, t.positive, percent(t.negative, t.total)]
                for b, t in report.totals.items()
            ],
        ),
        "<h2>Share of voice</h2>",
        _figure(by_name.get("share")),
        _figure(by_name.get("share_over_time")),
        _figure(by_name.get("mood")),
        _table(SHARE_COLUMNS, share_rows(report)),
        "<h2>Categories</h2>",
        _figure(by_name.get("categories")),
        _table(
            ["brand", "category", "mentions", "negative"],
            [
                [r.brand, category_label(r.category), r.total, r.negative]
                for r in report.categories
            ],
        ),
        "<h2>Topics</h2>",
        _figure(by_name.get("topics")),
        _table(
            ["brand", "topic", "mentions", "negative", "neutral", "positive"],
            [[r.brand, r.topic, r.total, r.negative, r.neutral, r.positive] for r in report.topics],
        ),
        "<h2>Top authors by reach</h2>",
        _figure(by_name.get("authors")),
        _table(
            ["author", "network", "reach", "mentions", "negative", "brands"],
            [
                [a.author, a.network, a.reach, a.mentions, a.negative, ", ".join(a.brands)]
                for a in report.authors
            ],
        ),
        "<h2>Response and resolution times</h2>",
        _figure(by_name.get("response")),
        _table(CASE_COLUMNS, case_rows(report)),
        "<h2>SLA breaches</h2>",
        _table(
            [
                "mention",
                "brand",
                "route",
                "status",
                "assignee",
                "opened (UTC)",
                "due (UTC)",
                "first response after",
            ],
            [
                [
                    b.mention_id,
                    b.brand,
                    b.route,
                    b.status,
                    report.person(b.assignee),
                    f"{b.opened_at:%Y-%m-%d %H:%M}",
                    f"{b.sla_due_at:%Y-%m-%d %H:%M}" if b.sla_due_at else "—",
                    duration(b.first_response_at - b.opened_at)
                    if b.first_response_at
                    else "no response",
                ]
                for b in report.breaches
            ],
        ),
        "<h2>Case notes</h2>",
        _table(NOTE_COLUMNS, note_rows(report)),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _cards(report: Report) -> str:
    totals = report.totals.values()
    mentions = sum(t.total for t in totals)
    negative = sum(t.negative for t in totals)
    own = [r for r in report.share if r.brand in report.brands]
    share = sum(r.share for r in own)
    cards = [
        ("mentions", f"{mentions:,}"),
        ("negative", percent(negative, mentions)),
        ("share of voice", percent(share, 1) if len(report.compared) > 1 else "—"),
        ("median first response", duration(report.cases.median_first_response)),
        ("SLA breaches", f"{report.cases.breached:,}"),
    ]
    inner = "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{inner}</div>'


def _figure(chart: Chart | None) -> str:
    if chart is None:
        return ""
    data = base64.b64encode(chart.png).decode("ascii")
    title = escape(chart.title)
    return (
        f'<figure id="chart-{escape(chart.name)}"><img src="data:image/png;base64,{data}" '
        f'alt="{title}"><figcaption>{title}</figcaption></figure>'
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = list(rows)
    if not rows:
        return '<p class="empty">Nothing in this window.</p>'
    numeric = [all(isinstance(r[i], int | float) for r in rows) for i in range(len(header))]
    head = "".join(
        f'<th class="n">{escape(h)}</th>' if numeric[i] else f"<th>{escape(h)}</th>"
        for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_cell(v)}</td>' if numeric[i] else f"<td>{_cell(v)}</td>"
            for i, v in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def write_html(built: Report, path: Path, drawn: Sequence[Chart] | None = None) -> None:
    """The page, with its charts (drawn here unless given), written in one go: a half-written
    report is never left behind."""
    text = render(built, charts(built) if drawn is None else drawn)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
