"""`listenpost query explain` and `listenpost query test`, as a person writing a query uses them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.hackernews import FakeHackerNews, story
from listenpost.cli import app
from tests.wiring.conftest import settings_text

NOW = int(time.time())
runner = CliRunner()


@pytest.fixture
def settings(tmp_path: Path, hn: FakeHackerNews) -> Path:
    path = tmp_path / "settings.toml"
    # rss is never fetched here: explain only compiles, and the poll below names hackernews.
    sources = {"hackernews": {"base_url": hn.base_url}, "rss": {"base_url": hn.base_url}}
    path.write_text(settings_text(tmp_path / "lp.db", sources))
    return path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "100"})
    return result.exit_code, result.output


def test_explain_shows_the_tree_and_what_each_network_is_sent(settings: Path) -> None:
    code, out = run(
        "--settings",
        str(settings),
        "query",
        "explain",
        "{Apple} NEAR/3 outage -plug* site:acme.com",
    )
    assert code == 0, out
    assert "NEAR/3" in out and "exact case {Apple}" in out and "wildcard plug*" in out
    assert "hackernews" in out and "Apple outage" in out
    assert "rss" in out and "site:acme.com" in out
    assert "{Apple} NEAR/3 outage" in out  # checked locally only, on both


def test_explain_points_at_the_mistake(settings: Path) -> None:
    code, out = run("--settings", str(settings), "query", "explain", "acme NEAR/x outage")
    assert code == 2
    assert "NEAR/ at character 6 needs a number" in out and "     ^" in out


def test_test_says_match_and_which_operator_decided() -> None:
    code, out = run("query", "test", "acme -jobs author:acmehq", "--text", "acme is down",
                    "--author", "@AcmeHQ")  # fmt: skip
    assert code == 0 and out.startswith("match")
    code, out = run("query", "test", "acme -jobs", "--text", "acme jobs", "--json")
    assert code == 1
    said = json.loads(out)
    assert said == {
        "matched": False,
        "decided_by": "-jobs",
        "why": "jobs holds, and the query excludes it",
        "about": None,
    }
    code, out = run("query", "test", "acme type:comment", "--text", "acme", "--type", "reply")
    assert code == 1 and "type:comment does not hold" in out


def test_test_stored_counts_what_a_changed_query_adds_and_drops(
    settings: Path, hn: FakeHackerNews
) -> None:
    hn.items += [
        story(1, NOW - 300, "Acme Cloud is down"),
        story(2, NOW - 200, "Acme pricing page changed"),
        story(3, NOW - 100, "Acme is hiring again"),
    ]
    code, out = run("--settings", str(settings), "poll", "--once", "--source", "hackernews")
    assert code == 0, out
    code, out = run(
        "--settings", str(settings), "query", "test", "acme -pricing", "--stored", "--since", "1d",
        "--json",
    )  # fmt: skip
    assert code == 0, out
    said = json.loads(out)
    assert said["read"] == 2 and said["kept"] == 1  # "hiring" was never stored
    assert [m["text"] for m in said["dropped"]] == ["Acme pricing page changed"]
    code, out = run(
        "--settings", str(settings), "query", "test", "acme -pricing", "--stored", "--since", "1d"
    )
    assert "would add 0 and drop 1" in out and "Acme pricing page changed" in out
