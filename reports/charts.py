"""The report's charts as PNG bytes (matplotlib, Agg: no display, no browser, no network).

Each chart is drawn on its own Figure object and nothing here touches matplotlib's global
settings (no pyplot, no rcParams), so reports built in the scheduler's threads and Slack
digests' charts never draw over each other. Post authors and topic names are data: their `$`
are escaped, so an author called "$x^2$" is printed as typed, not typeset as mathtext.
"""

from __future__ import annotations

import io
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.triage import category_label
from reports.build import Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLORS = {
    "negative": "#d64545",
    "neutral": "#9aa5b1",
    "positive": "#2f9e62",
    "untriaged": "#e4e7eb",
}
LAYERS = ("negative", "neutral", "positive", "untriaged")
PALETTE = ["#3366cc", "#dc7633", "#2f9e62", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d"]
WIDTH, HEIGHT, DPI = 9.0, 3.6, 100
LABEL_CHARS = 28

# A glyph DejaVu Sans lacks (emoji, CJK in author names) is drawn as a box; the warning per
# glyph says nothing a reader of the chart does not see.
warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)


@dataclass(frozen=True)
class Chart:
    name: str  # file-safe id: volume, sentiment, share, share_over_time, categories, ...
    title: str
    png: bytes


def charts(report: Report) -> list[Chart]:
    """Every chart that has something to show, in the order the report presents them."""
    import matplotlib

    matplotlib.use("Agg", force=False)

    makers = (
        ("volume", "Mentions over time", _volume),
        ("sentiment", "Sentiment over time", _sentiment),
        ("share", "Share of voice", _share),
        ("share_over_time", "Share of voice over time", _share_over_time),
        ("mood", "Net sentiment per brand over time", _mood),
        ("categories", "Categories", _categories),
        ("topics", "Topics", _topics),
        ("authors", "Top authors by reach", _authors),
        ("response", "Response and resolution times", _response),
    )
    out: list[Chart] = []
    for name, title, draw in makers:
        figure = _figure()
        ax = figure.add_subplot()
        ax.spines[["top", "right"]].set_visible(False)
        if draw(report, ax):
            out.append(Chart(name, title, _png(figure)))
    return out


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")


def _whole_mentions(ax: Axes) -> None:
    """Ticks at whole mentions: an axis stepping by 0.5 mentions reads as a measuring error."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _short(text: str) -> str:
    """A label as typed (mathtext's `$` escaped), cut to fit beside a bar."""
    text = " ".join(text.split())
    text = text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
    return text.replace("$", r"\$")


def _volume(report: Report, ax: Axes) -> bool:
    series = report.series()
    if not any(r.total for rows in series.values() for r in rows):
        return False
    for i, (brand, rows) in enumerate(series.items()):
        ax.plot(
            [r.bucket.replace(tzinfo=None) for r in rows],
            [r.total for r in rows],
            label=_short(brand),
            color=PALETTE[i % len(PALETTE)],
            linewidth=1.8,
        )
    ax.set_ylabel(f"mentions per {report.bucket}")
    _whole_mentions(ax)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.autofmt_xdate()
    return True


def _sentiment(report: Report, ax: Axes) -> bool:
    sums: dict[object, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in report.volume:
        s = sums[r.bucket.replace(tzinfo=None)]
        s[0] += r.negative
        s[1] += r.neutral
        s[2] += r.positive
        s[3] += r.total - r.negative - r.neutral - r.positive
    if not any(sum(v) for v in sums.values()):
        return False
    xs = sorted(sums)
    layers = [[sums[x][i] for x in xs] for i in range(4)]
    # A layer with nothing in it (everything triaged) would only add a legend entry.
    shown = [i for i, layer in enumerate(layers) if any(layer)]
    ax.stackplot(
        xs,
        *(layers[i] for i in shown),
        labels=[LAYERS[i] for i in shown],
        colors=[COLORS[LAYERS[i]] for i in shown],
    )
    ax.set_ylabel(f"mentions per {report.bucket}")
    _whole_mentions(ax)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.autofmt_xdate()
    return True


def _share(report: Report, ax: Axes) -> bool:
    rows = [r for r in report.share if r.mentions]
    if not rows:
        return False
    rows = rows[::-1]  # largest at the top
    ax.barh(
        [_short(r.brand) for r in rows],
        [100 * r.share for r in rows],
        color=[
            PALETTE[report.compared.index(r.brand) % len(PALETTE)]
            if r.brand in report.compared
            else PALETTE[0]
            for r in rows
        ],
    )
    for y, r in enumerate(rows):
        ax.text(
            100 * r.share, y, f" {100 * r.share:.1f}%  (net {r.net_sentiment:+.2f})", va="center"
        )
    ax.set_xlim(0, 115)
    ax.set_xlabel("% of mentions")
    return True


def _share_over_time(report: Report, ax: Axes) -> bool:
    series = report.series(report.voice)
    if len(series) < 2:
        return False  # one brand is always 100 %: nothing to compare
    xs = sorted({r.bucket.replace(tzinfo=None) for r in report.voice})
    totals = [sum(rows[i].total for rows in series.values()) for i in range(len(xs))]
    if not any(totals):
        return False
    layers = [
        [100 * r.total / t if t else 0.0 for r, t in zip(rows, totals, strict=True)]
        for rows in series.values()
    ]
    ax.stackplot(
        xs,
        *layers,
        labels=[_short(b) for b in series],
        colors=PALETTE[: len(series)] * (1 + len(series) // len(PALETTE)),
    )
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of mentions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.autofmt_xdate()
    return True


def _mood(report: Report, ax: Axes) -> bool:
    """(positive - negative) / triaged per bucket and brand, -1..1; quiet buckets are gaps."""
    series = report.series(report.voice)
    drawn = False
    for i, (brand, rows) in enumerate(series.items()):
        judged = [r.negative + r.neutral + r.positive for r in rows]
        if not any(judged):
            continue
        ys = [
            (r.positive - r.negative) / j if j else float("nan")
            for r, j in zip(rows, judged, strict=True)
        ]
        ax.plot(
            [r.bucket.replace(tzinfo=None) for r in rows],
            ys,
            label=_short(brand),
            color=PALETTE[i % len(PALETTE)],
            marker="." if len(rows) < 60 else None,
            linewidth=1.6,
        )
        drawn = True
    if not drawn:
        return False
    ax.axhline(0, color="#9aa5b1", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("net sentiment")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.autofmt_xdate()
    return True


def _categories(report: Report, ax: Axes) -> bool:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in report.categories:
        sums[r.category][0] += r.total
        sums[r.category][1] += r.negative
    if not sums:
        return False
    top = sorted(sums.items(), key=lambda kv: kv[1][0], reverse=True)[:12][::-1]
    names = [_short(category_label(k)) for k, _ in top]
    ax.barh(names, [v[0] for _, v in top], color=COLORS["neutral"], label="all")
    ax.barh(names, [v[1] for _, v in top], color=COLORS["negative"], label="negative")
    ax.set_xlabel("mentions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # off the bars
    return True


def _topics(report: Report, ax: Axes) -> bool:
    if not report.topics:
        return False
    rows = sorted(report.topics, key=lambda r: r.total, reverse=True)[:12][::-1]
    names = [_short(f"{r.brand} · {r.topic}" if len(report.brands) > 1 else r.topic) for r in rows]
    ax.barh(names, [r.total for r in rows], color=COLORS["neutral"], label="all")
    ax.barh(names, [r.negative for r in rows], color=COLORS["negative"], label="negative")
    ax.set_xlabel("mentions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # off the bars
    return True


def _authors(report: Report, ax: Axes) -> bool:
    rows = [a for a in report.authors if a.reach][:10][::-1]
    if not rows:
        return False
    ax.barh(
        [_short(f"{a.author} ({a.network})") for a in rows],
        [a.reach for a in rows],
        color=PALETTE[0],
    )
    ax.set_xlabel("reach (followers, else likes + reposts)")
    ax.ticklabel_format(axis="x", style="plain")
    return True


def time_unit(seconds: float) -> tuple[str, float]:
    """The unit a duration reads best in, and its length in seconds: 48 s is "48 seconds",
    not 0.0134 hours."""
    for name, size, up_to in (("seconds", 1, 120), ("minutes", 60, 120 * 60),
                              ("hours", 3600, 72 * 3600)):
        if seconds < up_to:
            return name, size
    return "days", 86400


def _response(report: Report, ax: Axes) -> bool:
    scopes = {"all routes": report.cases, **report.cases.by_route}
    measured = {k: v for k, v in scopes.items() if v.median_first_response or v.median_resolution}
    if not measured:
        return False
    names = [_short(k) for k in measured]
    width = 0.2
    series = (
        ("median first response", "median_first_response", "#3366cc"),
        ("p90 first response", "p90_first_response", "#9fb8e6"),
        ("median resolution", "median_resolution", "#2f9e62"),
        ("p90 resolution", "p90_resolution", "#a3d9b8"),
    )
    longest = max(
        getattr(v, attr).total_seconds()
        for v in measured.values()
        for _, attr, _ in series
        if getattr(v, attr)
    )
    unit, per = time_unit(longest)
    for i, (label, attr, color) in enumerate(series):
        values = [
            (getattr(v, attr).total_seconds() / per if getattr(v, attr) else 0.0)
            for v in measured.values()
        ]
        ax.bar(
            [x + (i - 1.5) * width for x in range(len(names))],
            values,
            width,
            label=label,
            color=color,
        )
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel(unit)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # off the bars
    return True
