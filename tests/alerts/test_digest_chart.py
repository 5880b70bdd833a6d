"""The digest's chart: whole mentions on the y-axis, and the clock the hours are on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.chart import volume_figure
from storage.stats import VolumeRow

START = datetime(2024, 4, 5, 0, 0, tzinfo=UTC)


def test_y_steps_by_whole_mentions_and_x_says_which_clock() -> None:
    rows = [VolumeRow(START + timedelta(hours=3), "Acme", 2, 1, 1, 0)]
    end = START + timedelta(days=1)
    fig = volume_figure(rows, START, end, timedelta(hours=1), "Mentions", ZoneInfo("UTC"))
    ax = fig.axes[0]
    ticks = ax.get_yticks()
    assert all(float(t).is_integer() for t in ticks), ticks  # never 0.2 of a mention
    assert ax.get_xlabel() == "time (UTC)"
    berlin = volume_figure(rows, START, end, timedelta(hours=1), "M", ZoneInfo("Europe/Berlin"))
    assert berlin.axes[0].get_xlabel() == "time (Europe/Berlin, UTC+02:00)"
