"""The monthly report in Slack: once per period, summary first, HTML and chart in its thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fakes.slack import FakeSlack
from listenpost.config import load
from listenpost.runtime import Runtime, build
from reports.schedule import last_period, send_due_report
from storage import Store, report_log
from tests.reports.conftest import SETTINGS, _fill

NOVEMBER = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # October's report is due


@pytest.fixture
def rt(tmp_path: Path, slack: FakeSlack) -> Iterator[Runtime]:
    path = tmp_path / "settings.toml"
    path.write_text(
        SETTINGS.format(db=tmp_path / "lp.db")
        + f'\n[alerts.slack]\nbase_url = "{slack.base_url}"\n\n'
        f'[reports]\nslack_channel = "#marketing"\ndir = "{tmp_path / "reports"}"\n'
    )
    settings = load(path)
    store = Store(settings.storage.url)
    _fill(store, settings)
    store.close()
    runtime = build(settings, {"SLACK_BOT_TOKEN": slack.token})
    yield runtime
    runtime.close()


def due(rt: Runtime, now: datetime) -> bool:
    cfg = rt.settings
    return send_due_report(rt.store, rt.sender, cfg.reports, cfg, rt.redactor, now)


def test_periods_are_whole_months_and_iso_weeks() -> None:
    assert last_period("monthly", NOVEMBER) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert last_period("monthly", datetime(2026, 1, 15, tzinfo=UTC))[0] == datetime(
        2025, 12, 1, tzinfo=UTC
    )
    assert last_period("weekly", datetime(2026, 11, 25, 13, tzinfo=UTC)) == (
        datetime(2026, 11, 16, tzinfo=UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
    )


def test_the_report_is_posted_once_with_its_files_in_the_thread(
    rt: Runtime, slack: FakeSlack, tmp_path: Path
) -> None:
    slack.rate_limit(retry_after=30)  # Slack busy at the first try: nothing is marked sent
    assert due(rt, NOVEMBER) is False
    assert slack.messages == []

    assert due(rt, NOVEMBER) is True
    (summary,) = slack.messages
    assert summary["channel"] == "#marketing"
    assert "Monthly listening report: Acme" in summary["text"]
    assert "30 mentions, 33.3% negative" in summary["text"]
    assert "share of voice 75.0% against Chrome" in summary["text"]
    html, png = slack.files
    assert html["thread_ts"] == png["thread_ts"] == summary["ts"]
    assert html["channel_id"] == summary["channel_id"]
    assert html["filename"] == "listenpost-monthly-2026-10-01.html"
    assert html["data"].startswith(b"<!DOCTYPE html>")
    assert png["data"].startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "reports" / "listenpost-monthly-2026-10-01.html").exists()

    assert due(rt, NOVEMBER) is False  # already sent: never twice
    assert len(slack.messages) == 1 and len(slack.files) == 2


def test_a_restart_after_the_summary_only_attaches_the_files(rt: Runtime, slack: FakeSlack) -> None:
    earlier = rt.sender.send("#marketing", "Monthly listening report: Acme", [])
    run = report_log.claim(
        rt.store, "#marketing", "report:monthly", datetime(2026, 10, 1, tzinfo=UTC)
    )
    report_log.posted(rt.store, run.id, earlier.channel_id, earlier.ts)

    assert due(rt, NOVEMBER) is True
    assert len(slack.messages) == 1  # no second summary
    assert [f["thread_ts"] for f in slack.files] == [earlier.ts, earlier.ts]


def test_within_the_delay_the_period_before_is_the_one_due(rt: Runtime, slack: FakeSlack) -> None:
    just_after = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)  # delay is 1h: October not yet due
    assert due(rt, just_after) is True  # ... so September's goes out
    assert "2026-09-01 to 2026-09-30" in slack.messages[0]["text"]
    assert "0 mentions" in slack.messages[0]["text"]
