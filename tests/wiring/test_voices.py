"""Counts a manager can trust (issue 16): many people saying one thing are many mentions."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from core.mention import Mention
from core.triage import Triage
from listenpost.cli import app
from storage import Store

runner = CliRunner()
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
SENTENCE = "Is Acme down? Checkout keeps failing for me"


def _verdict() -> Triage:
    return Triage(
        sentiment="negative",
        sentiment_scores={"negative": 0.9, "neutral": 0.05, "positive": 0.05},
        urgency="high",
        reasons=[],
        categories=["outage"],
        model_version="test",
    )


def test_thirty_people_are_thirty_mentions_a_cross_post_and_a_retweet_are_copies(
    tmp_path: Path,
) -> None:
    db = tmp_path / "lp.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[storage]\nurl = "sqlite:///{db}"\n\n[[brands]]\nname = "Acme"\nquery = "acme"\n'
    )
    store = Store(f"sqlite:///{db}")
    voices = [  # thirty customers within ten minutes
        Mention("x", f"v{n}", f"https://x.com/c{n}/status/{n}", f"customer{n}", SENTENCE,
                T0 + timedelta(seconds=20 * n))
        for n in range(30)
    ]
    cross_post = Mention(
        "mastodon", "m1", "https://mastodon.social/@customer0/1", "customer0@mastodon.social",
        SENTENCE, T0 + timedelta(minutes=11),
    )
    retweet = Mention(
        "x", "rt1", "https://x.com/fan/status/99", "fan", f"RT @customer1: {SENTENCE}",
        T0 + timedelta(minutes=12), repost_of="customer1",
    )
    ids = store.save_page("Acme", "x", [*voices, cross_post, retweet], None)
    store.save_triage([(i, _verdict()) for i in ids])
    store.close()

    def cli(*args: str) -> str:
        result = runner.invoke(app, ["--settings", str(settings), *args])
        assert result.exit_code == 0, result.output
        return result.output

    rows = {r["native_id"]: r for r in json.loads(cli("mentions", "--json", "--limit", "100"))}
    assert [rows[f"v{n}"]["duplicate_of"] for n in range(30)] == [None] * 30
    assert rows["m1"]["duplicate_of"] == rows["v0"]["id"]
    assert rows["rt1"]["duplicate_of"] == rows["v1"]["id"]
    assert rows["rt1"]["repost_of"] == "customer1"

    out = tmp_path / "csv"
    window = ["--since", "2026-11-01", "--until", "2026-11-05"]
    cli("report", *window, "--csv", str(out))
    with (out / "volume.csv").open(encoding="utf-8-sig", newline="") as handle:
        volume = list(csv.DictReader(handle))
    assert sum(int(r["mentions"]) for r in volume) == 30


def test_a_story_whose_text_is_its_title_is_listed_once(tmp_path: Path) -> None:
    db = tmp_path / "lp.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[storage]\nurl = "sqlite:///{db}"\n\n[[brands]]\nname = "Acme"\nquery = "acme"\n'
    )
    title = "Ask HN: Is Acme Cloud down for anyone else?"
    store = Store(f"sqlite:///{db}")
    story = Mention("hackernews", "42", "https://news.ycombinator.com/item?id=42", "pg", title,
                    T0, title=title)
    store.save_page("Acme", "hackernews", [story], None)
    store.close()
    result = runner.invoke(app, ["--settings", str(settings), "mentions"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.count("Is Acme Cloud down") == 1
