"""What a manager reads off the report: units that fit the numbers, no empty legend entries,
categories in words."""

from __future__ import annotations

from datetime import timedelta

from matplotlib.figure import Figure
from rich.console import Console

from reports.build import Report
from reports.charts import _categories, _response, _sentiment, time_unit
from reports.terminal import show
from storage.stats import CaseTimes, CategoryRow, VolumeRow
from tests.reports.conftest import END, START


def report(**fields: object) -> Report:
    base: dict[str, object] = {
        "since": START, "until": END, "brands": ["Acme"], "compared": ["Acme"], "bucket": "day",
        "volume": [], "voice": [], "share": [], "categories": [], "topics": [], "authors": [],
        "cases": CaseTimes(), "breaches": [],
    }
    return Report(**{**base, **fields})  # type: ignore[arg-type]


def test_response_times_are_drawn_in_the_unit_their_size_reads_in() -> None:
    assert time_unit(48) == ("seconds", 1)
    assert time_unit(30 * 60) == ("minutes", 60)
    assert time_unit(5 * 3600) == ("hours", 3600)
    assert time_unit(9 * 86400) == ("days", 86400)
    quick = CaseTimes(opened=1, responded=1, median_first_response=timedelta(seconds=48),
                      p90_first_response=timedelta(seconds=48))
    ax = Figure().add_subplot()
    assert _response(report(cases=quick), ax)
    assert ax.get_ylabel() == "seconds"
    assert max(bar.get_height() for bar in ax.patches) == 48  # not 0.0134 hours


def test_the_sentiment_legend_leaves_out_an_empty_untriaged_layer() -> None:
    rows = [VolumeRow(START + timedelta(days=d), "Acme", 3, 1, 1, 1) for d in range(3)]
    ax = Figure().add_subplot()
    assert _sentiment(report(volume=rows), ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["negative", "neutral", "positive"]
    assert all(float(t).is_integer() for t in ax.get_yticks())  # whole mentions
    rows.append(VolumeRow(END - timedelta(days=1), "Acme", 2, 0, 0, 1))  # one not triaged yet
    ax = Figure().add_subplot()
    _sentiment(report(volume=rows), ax)
    assert "untriaged" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_categories_are_printed_and_drawn_in_words() -> None:
    built = report(categories=[CategoryRow("Acme", "purchase_intent", 4, 1)])
    console = Console(record=True, width=100)
    show(built, console)
    out = console.export_text()
    assert "purchase intent" in out and "purchase_intent" not in out
    ax = Figure().add_subplot()
    assert _categories(built, ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["purchase intent"]
