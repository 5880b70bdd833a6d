"""Reading Retry-After once for every client: listeners, Slack and hand-offs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.http import USER_AGENT, retry_after

NOW = datetime(2024, 4, 5, 12, 0, tzinfo=UTC)


def test_delta_seconds_and_http_dates_are_both_read() -> None:
    assert retry_after("120", NOW) == 120
    assert retry_after(" 2.5 ", NOW) == 2.5
    assert retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90


def test_a_wait_is_never_negative() -> None:
    assert retry_after("-5", NOW) == 0
    assert retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW) == 0


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "inf", "nan", "-inf"])
def test_nothing_usable_is_none_so_each_caller_applies_its_default(value: str | None) -> None:
    assert retry_after(value, NOW) is None


def test_the_user_agent_names_the_package_and_its_version() -> None:
    assert USER_AGENT.startswith("listenpost/")
    assert USER_AGENT.split()[0] != "listenpost/"
