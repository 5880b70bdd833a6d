"""The CLI as users script it: `poll --once`, `mentions --json`, `doctor`, `backfill`, `sources`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.hackernews import FakeHackerNews, story
from fakes.slack import FakeSlack
from listenpost.cli import app
from tests.wiring.conftest import settings_text

NOW = int(time.time())
runner = CliRunner()


@pytest.fixture
def settings(tmp_path: Path, hn: FakeHackerNews) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}))
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    assert result.exit_code == 0, result.output
    return result.output


def test_poll_once_then_mentions_json(settings: Path, hn: FakeHackerNews) -> None:
    hn.items += [
        story(11, NOW - 120, "Acme Cloud is down, outage since noon, terrible"),
        story(12, NOW - 60, "Acme is hiring"),
    ]
    out = cli("--settings", str(settings), "poll", "--once")
    assert "hackernews" in out and "ok" in out
    rows = json.loads(cli("--settings", str(settings), "mentions", "--json"))
    assert len(rows) == 1
    row = rows[0]
    for key in (
        "network",
        "native_id",
        "url",
        "author",
        "text",
        "created_at",
        "brand",
        "sentiment",
        "urgency",
    ):
        assert key in row
    assert (row["network"], row["native_id"], row["brand"]) == ("hackernews", "11", "Acme")
    assert row["sentiment"] == "negative"
    table = cli("--settings", str(settings), "mentions")
    assert "Acme Cloud is down" in table


def test_doctor_reports_each_part(settings: Path, tmp_path: Path) -> None:
    with FakeSlack() as slack:
        text = settings.read_text().replace(
            'channel = "#brand-alerts"', f'channel = "#brand-alerts"\nbase_url = "{slack.base_url}"'
        )
        settings.write_text(text)
        out = cli("--settings", str(settings), "doctor", env={"SLACK_BOT_TOKEN": slack.token})
    for part in ("settings", "database", "model", "alerts", "source hackernews"):
        assert part in out
    assert "✗" not in out
    assert slack.token not in out


def test_doctor_prints_each_routes_condition_in_words(settings: Path) -> None:
    settings.write_text(
        settings.read_text()
        + '\n[[alerts.routes]]\nname = "zendesk-urgent"\ntarget = "zendesk"\n'
        'min_urgency = "high"\nbrands = ["Acme"]\n\n[alerts.routes.zendesk]\n'
        'subdomain = "acme"\n\n[[alerts.routes]]\nname = "all-bad"\n'
    )
    result = runner.invoke(app, ["--settings", str(settings), "doctor"], env={"COLUMNS": "200"})
    assert "route 'zendesk-urgent' → zendesk: urgency ≥ high, brands Acme" in result.output
    assert "route 'all-bad' → #brand-alerts: sentiment negative or urgency ≥ high" in result.output


def test_doctor_checks_the_slack_app_token_and_hand_off_secrets(settings: Path) -> None:
    with FakeSlack() as slack:
        slack.socket_mode("ws://127.0.0.1:9/link", app_token="xapp-1-test")
        text = settings.read_text().replace(
            'channel = "#brand-alerts"', f'channel = "#brand-alerts"\nbase_url = "{slack.base_url}"'
        )
        text += (
            '\n[[alerts.routes]]\nname = "crm"\ntarget = "webhook"\n'
            '[alerts.routes.webhook]\nurl = "https://crm.example.com/hook"\n'
        )
        settings.write_text(text)
        env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": "xapp-1-test", "COLUMNS": "200"}
        result = runner.invoke(app, ["--settings", str(settings), "doctor"], env=env)
        assert slack.connections_opened == 1
    assert result.exit_code == 1  # the webhook's secret is missing
    assert "✓  slack app" in result.output and "Socket Mode" in result.output
    assert "✗  hand-off crm" in result.output
    assert "LISTENPOST_WEBHOOK_SECRET" in result.output
    assert "xapp-1-test" not in result.output


def test_doctor_fails_with_unreachable_source(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": "http://127.0.0.1:9"}})
    )
    result = runner.invoke(app, ["--settings", str(path), "doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "✗  source hackernews" in result.output


def test_backfill_fetches_history_and_is_not_repeated(settings: Path, hn: FakeHackerNews) -> None:
    day = 86_400
    hn.items += [
        story(21, NOW - 3 * day, "Acme review from three days ago"),
        story(22, NOW - 10 * day, "Acme review from ten days ago"),
    ]
    out = cli("--settings", str(settings), "backfill", "--since", "7d")
    assert "done" in out
    ids = [
        m["native_id"] for m in json.loads(cli("--settings", str(settings), "mentions", "--json"))
    ]
    assert ids == ["21"]  # inside the window only
    searches = len(hn.searches)
    again = cli("--settings", str(settings), "backfill", "--since", "7d")
    assert "already done" in again
    assert len(hn.searches) == searches
    # the scheduler's cursor starts where the backfill ended: the next poll fetches nothing old
    cli("--settings", str(settings), "poll", "--once")
    assert len(json.loads(cli("--settings", str(settings), "mentions", "--json"))) == 1


def test_sources_table_shows_last_error(settings: Path, hn: FakeHackerNews) -> None:
    from fakes.server import Response

    hn.outage = Response.json({"message": "down", "status": 500}, 500)
    runner.invoke(app, ["--settings", str(settings), "poll", "--once"], env={"COLUMNS": "200"})
    out = cli("--settings", str(settings), "sources")
    assert "hackernews" in out and "HTTP 500" in out


def test_sources_shows_the_rate_limit_budget_the_network_reported(tmp_path: Path) -> None:
    from fakes.reddit import FakeReddit, post
    from fakes.server import FakeServer

    with FakeServer() as srv:
        reddit = FakeReddit(srv)
        reddit.remaining = 58.0
        reddit.posts.append(post("abc", NOW - 30, "Acme billing charged me twice"))
        path = tmp_path / "settings.toml"
        path.write_text(
            settings_text(tmp_path / "lp.db", {"reddit": {"base_url": reddit.base_url}})
        )
        cli("--settings", str(path), "poll", "--once")
    out = cli("--settings", str(path), "sources")
    assert "57 left, resets" in out
