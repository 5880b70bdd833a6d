"""Tables fitted to the terminal: at 80 columns a post keeps a readable measure."""

from __future__ import annotations

import io

from rich.console import Console

from core.tables import Column, fit

POST = (
    "Acme support has not answered my ticket for three days and the dashboard still shows "
    "an outage banner, what is going on"
)
COLUMNS = (
    Column("when (UTC)"),
    Column("brand"),
    Column("network"),
    Column("author"),
    Column("sentiment"),
    Column("urgency"),
    Column("text", wide=True),
)
ROW = ["2026-12-07 10:15", "Acme", "mastodon", "someone_long_name", "negative", "high", POST]


def render(table: object, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=False, color_system=None).print(table)
    return out.getvalue().splitlines()


def words_intact(lines: list[str], text: str) -> bool:
    flat = " ".join(" ".join(line.replace("│", " ").split()) for line in lines)
    return all(word in flat.split() for word in text.split())


def test_wide_terminal_keeps_one_row_per_mention() -> None:
    lines = render(fit(COLUMNS, [ROW], 200), 200)
    assert any("someone_long_name" in line and "Acme support" in line for line in lines)
    assert words_intact(lines, POST)


def test_80_columns_stack_the_short_columns_and_keep_words_whole() -> None:
    lines = render(fit(COLUMNS, [ROW, ROW], 80), 80)
    assert all(len(line) <= 80 for line in lines)
    assert words_intact(lines, POST)
    # The text column keeps a readable measure: its lines hold several words each.
    text_lines = [line.split("│")[2].strip() for line in lines if line.count("│") == 3]
    text_lines = [t for t in text_lines if t]
    assert max(len(t) for t in text_lines) >= 40
    assert len(text_lines) <= 8  # two 125-character posts, not one word per line
    assert "2026-12-07 10:15" in "\n".join(lines)  # a date is never split across lines


def test_stacked_values_keep_their_names_when_asked_and_drop_placeholders() -> None:
    columns = (
        Column("source"),
        Column("every", labelled=True),
        Column("budget", labelled=True),
        Column("error", wide=True),
    )
    lines = render(fit(columns, [["reddit", "5m", "—", "x " * 40]], 40), 40)
    joined = "\n".join(lines)
    assert "every: 5m" in joined and "budget" not in joined.split("┃")[-1]
    assert "budget: —" not in joined


def test_cells_are_never_markup() -> None:
    row = [*ROW[:-1], "[bold]not bold[/bold] <!channel>"]
    lines = render(fit(COLUMNS, [row], 80), 80)
    assert "[bold]not bold[/bold]" in " ".join(" ".join(line.split()) for line in lines)
