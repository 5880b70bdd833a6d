"""The digest's picture: mention volume per hour (daily) or day (weekly), stacked by sentiment.

Drawn with matplotlib's object API on the Agg canvas: no display, no pyplot global state, so
the scheduler's threads can draw at the same time. matplotlib is imported when a chart is
drawn, not when listenpost starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.triage import SENTIMENTS
from storage.stats import VolumeRow

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLOURS = {"negative": "#d64545", "neutral": "#9aa5b1", "positive": "#3f9c6b"}


def volume_chart(
    rows: Sequence[VolumeRow],
    since: datetime,
    until: datetime,
    step: timedelta,
    path: Path,
    title: str,
    tz: ZoneInfo,
) -> Path:
    """Write a PNG of `rows` (summed over brands) with every bucket in the window shown."""
    volume_figure(rows, since, until, step, title, tz).savefig(path, format="png")
    return path


def volume_figure(
    rows: Sequence[VolumeRow],
    since: datetime,
    until: datetime,
    step: timedelta,
    title: str,
    tz: ZoneInfo,
) -> Figure:
    """The chart itself: stacked bars per bucket, whole-mention steps, the clock named."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    starts: list[datetime] = []
    at = since
    while at < until:
        starts.append(at)
        at += step
    index = {start: i for i, start in enumerate(starts)}
    series = {s: [0] * len(starts) for s in SENTIMENTS}
    other = [0] * len(starts)  # not triaged yet: counted in the total, in no sentiment
    for row in rows:
        i = _slot(index, row.bucket, since, step)
        if i is None:
            continue
        for s in SENTIMENTS:
            series[s][i] += getattr(row, s)
        other[i] += row.total - sum(getattr(row, s) for s in SENTIMENTS)

    fig = Figure(figsize=(8, 3.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    positions = list(range(len(starts)))
    bottom = [0] * len(starts)
    for s in SENTIMENTS:
        ax.bar(positions, series[s], bottom=bottom, color=COLOURS[s], label=s, width=0.85)
        bottom = [b + v for b, v in zip(bottom, series[s], strict=True)]
    if any(other):
        ax.bar(positions, other, bottom=bottom, color="#e4e7eb", label="untriaged", width=0.85)
    hourly = step < timedelta(days=1)
    labels = [s.astimezone(tz).strftime("%H:00" if hourly else "%a %d") for s in starts]
    every = max(1, len(starts) // 12)
    ax.set_xticks(positions[::every], labels[::every], fontsize=8)
    ax.set_xlabel(_zone_label(tz, since), fontsize=8)
    ax.set_ylabel("mentions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole mentions, never 0.2
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
    tallest = max((b + o for b, o in zip(bottom, other, strict=True)), default=0)
    ax.set_ylim(0, max(1.0, tallest * 1.25))  # room for the legend above the bars
    fig.tight_layout()
    return fig


def _zone_label(tz: ZoneInfo, at: datetime) -> str:
    """What clock the hours are on: "time (UTC)" or "time (Europe/Berlin, UTC+01:00)"."""
    if getattr(tz, "key", "UTC") == "UTC":
        return "time (UTC)"
    offset = at.astimezone(tz).strftime("%z")
    return f"time ({tz.key}, UTC{offset[:3]}:{offset[3:]})"


def _slot(
    index: dict[datetime, int], bucket: datetime, since: datetime, step: timedelta
) -> int | None:
    """The bar a stats bucket belongs to. Stats buckets are UTC hours/days; a local day in a
    zone off UTC still contains whole UTC hours, and daily buckets land in the nearest bar."""
    if bucket in index:
        return index[bucket]
    offset = (bucket - since) // step
    return offset if 0 <= offset < len(index) else None
