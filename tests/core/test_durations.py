"""The one duration form every setting, slash command and CLI option accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        (" 1 h ", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
    ],
)
def test_reads_the_documented_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0m", "soon", "1w", "-5m", "1.5h", ""])
def test_anything_else_is_one_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration like '30s', '5m', '1h' or '7d'"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["99999999999d", "3651d", "87601h", "9" * 5000 + "d", "٣m"])
def test_too_long_or_odd_digits_are_one_clear_error_not_an_overflow(text: str) -> None:
    with pytest.raises(ValueError, match=r"longer than 3650 days|is not a duration"):
        parse_duration(text)


def test_ten_years_is_the_longest() -> None:
    assert parse_duration("3650d") == timedelta(days=3650)
