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
