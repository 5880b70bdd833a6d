"""`listenpost report`: the tables, the CSV files and the HTML report show the same numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from listenpost.cli import app
from listenpost.config import Settings
from reports.build import Report, build
from reports.charts import Chart, charts
from reports.csv import safe
from reports.html import render
from storage import Store
from storage.stats import AuthorRow, CaseTimes
from tests.reports.conftest import END, FORMULA, START, XSS

runner = CliRunner()
WINDOW = ["--since", START.isoformat(), "--until", END.isoformat()]


def _cli(settings_path: Path, *args: str) -> str:
    result = runner.invoke(app, ["--settings", str(settings_path), *args], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.output


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_counts_own_brand_against_competitors(store: Store, settings: Settings) -> None:
    report = build(store, settings, START, END)
    assert (report.brands, report.compared, report.bucket) == (["Acme"], ["Acme", "Chrome"], "day")
    acme = report.totals["Acme"]
    # 30 posts; the copy and the post labelled not relevant are not counted.
    assert (acme.total, acme.negative, acme.neutral, acme.positive) == (30, 10, 10, 10)
    assert [(r.brand, r.mentions, r.share) for r in report.share] == [
        ("Acme", 30, 0.75),
        ("Chrome", 10, 0.25),
    ]
    assert {(t.topic, t.total) for t in report.topics} == {("sync", 10), ("mobile", 10)}
    assert len(report.volume) == 10  # one row per day, quiet days included
    assert report.authors[0].reach == 30_000
    assert (report.cases.opened, report.cases.breached) == (3, 1)
    assert [b.route for b in report.breaches] == ["support"]
    only_chrome = build(store, settings, START, END, ["Chrome"])
    assert only_chrome.totals["Chrome"].total == 10 and only_chrome.compared == ["Chrome"]


def test_cli_prints_tables_and_writes_html_and_csv(settings_path: Path, store: Store) -> None:
    html, csv_dir = settings_path.parent / "out" / "report.html", settings_path.parent / "csv"
    out = _cli(settings_path, "report", *WINDOW, "--html", str(html), "--csv", str(csv_dir))
    for heading in ("Share of voice", "Categories", "Top authors by reach", "SLA breaches"):
        assert heading in out
    assert "75.0%" in out and "25.0%" in out
    assert XSS in out  # printed literally: Rich markup in a name is not interpreted
    assert html.read_text().startswith("<!DOCTYPE html>")

    volume = _read(csv_dir / "volume.csv")
    assert sum(int(r["mentions"]) for r in volume) == 30
    assert volume[0]["bucket_start_utc"] == "2026-10-01T00:00:00Z"
    sov = {r["brand"]: r for r in _read(csv_dir / "share_of_voice.csv")}
    assert (sov["Acme"]["mentions"], sov["Chrome"]["share"]) == ("30", "0.25")
    authors = {r["author"] for r in _read(csv_dir / "top_authors.csv")}
    assert "'" + FORMULA in authors and FORMULA not in authors  # never a live formula
    times = {r["route"]: r for r in _read(csv_dir / "case_times.csv")}
    assert times["support"]["median_first_response_s"] == "1800"  # (10 min + 50 min) / 2
    breaches = _read(csv_dir / "sla_breaches.csv")
    assert [(b["route"], b["status"]) for b in breaches] == [("support", "assigned")]
    assert (breaches[0]["assignee"], breaches[0]["assignee_name"]) == ("U0BO", "Bo Smith")
    (note,) = _read(csv_dir / "case_notes.csv")
    assert (note["by_name"], note["note"]) == ("Bo Smith", "Called the customer, refund on its way")
    assert "Bo Smith (U0BO)" in out and "Called the customer" in out
    page = html.read_text()
    assert "Bo Smith (U0BO)" in page and "Called the customer, refund on its way" in page
    assert sorted(p.name for p in csv_dir.iterdir()) == [
        "case_notes.csv",
        "case_times.csv",
        "categories.csv",
        "share_of_voice.csv",
        "share_of_voice_over_time.csv",
        "sla_breaches.csv",
        "top_authors.csv",
        "topics.csv",
        "volume.csv",
    ]


@pytest.fixture(scope="module")
def drawn(store: Store, settings: Settings) -> list[Chart]:
    return charts(build(store, settings, START, END))


def test_every_chart_is_a_real_non_blank_png(drawn: list[Chart]) -> None:
    assert [c.name for c in drawn] == [
        "volume",
        "sentiment",
        "share",
        "share_over_time",
        "mood",
        "categories",
        "topics",
        "authors",
        "response",
    ]
    for chart in drawn:
        image = Image.open(io.BytesIO(chart.png))
        image.verify()  # a complete, uncorrupted PNG
        image = Image.open(io.BytesIO(chart.png)).convert("RGB")
        assert image.size == (900, 360), chart.name
        pixels = list(image.getdata())
        inked = sum(1 for p in pixels if p != (255, 255, 255))
        assert inked / len(pixels) > 0.03, f"{chart.name} is (nearly) blank"
        assert len(set(pixels)) > 20, f"{chart.name} has no real drawing"


def test_html_is_self_contained_and_escapes_what_people_wrote(
    store: Store, settings: Settings, drawn: list[Chart]
) -> None:
    page = render(build(store, settings, START, END), drawn)
    assert XSS not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "http://" not in page.replace("http://evil.example", "")  # nothing fetched
    assert "<script" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count('src="data:image/png;base64,') == 9


def test_an_empty_window_still_reports(settings_path: Path, store: Store) -> None:
    html = settings_path.parent / "empty.html"
    out = _cli(
        settings_path,
        "report",
        "--since",
        "2020-01-01",
        "--until",
        "2020-01-02",
        "--html",
        str(html),
    )
    assert "Share of voice" in out
    assert "Nothing in this window." in html.read_text()


def test_bad_windows_are_clear_errors(settings_path: Path) -> None:
    result = runner.invoke(app, ["--settings", str(settings_path), "report", "--since", "soon"])
    assert result.exit_code == 2 and "neither a duration" in result.output
    result = runner.invoke(
        app, ["--settings", str(settings_path), "report", "--since", "1d", "--until", "2d"]
    )
    assert result.exit_code == 2 and "window is empty" in result.output
    result = runner.invoke(app, ["--settings", str(settings_path), "report", "--brand", "Nope"])
    assert result.exit_code == 2 and "no brand named Nope" in result.output


def test_csv_cells_never_start_a_formula() -> None:
    for evil in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert str(safe(evil)).startswith("'")
    assert safe(-3) == -3 and safe(0.25) == 0.25 and safe("Acme") == "Acme" and safe(None) == ""


def test_author_names_are_drawn_as_typed_not_as_mathtext() -> None:
    # Unescaped, "$\frac{" is broken mathtext and matplotlib refuses to draw the chart at all.
    odd = AuthorRow("x", r"$\frac{ broke $", 5000, 1, 1, ("Acme",))
    report = Report(
        since=START,
        until=END,
        brands=["Acme"],
        compared=["Acme"],
        bucket="day",
        volume=[],
        voice=[],
        share=[],
        categories=[],
        topics=[],
        authors=[odd],
        cases=CaseTimes(),
        breaches=[],
    )
    assert [c.name for c in charts(report)] == ["authors"]
