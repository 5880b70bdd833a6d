"""Competitors are heard but never page anyone; topics are tagged at ingest and by `retag`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.mention import Mention
from core.triage import Triage
from listeners.base import Page
from listenpost.cli import app
from listenpost.config import SettingsError, load
from listenpost.pipeline import route_pending, save_page
from listenpost.runtime import build
from storage.schema import mention_topics
from tests.reports.conftest import SETTINGS

runner = CliRunner()


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    load(path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[brands]]\nname = "A"\nquery = "a"\ncompetitors = ["Chrom"]\n',
         "competitor 'Chrom' is not a configured brand"),
        ('[[brands]]\nname = "A"\nquery = "a"\ncompetitors = ["A"]\n', "not its own competitor"),
        ('[[brands]]\nname = "A"\nquery = "a"\ntopics = { sync = "sync OR (" }\n',
         "topic 'sync': query does not parse"),
        ('[[alerts.routes]]\nname = "r"\ntarget = "webhook"\n',
         "target = 'webhook' needs a [alerts.routes.webhook] table"),
        ('[[alerts.routes]]\nname = "r"\ntarget = "webhook"\n[alerts.routes.webhook]\n'
         'url = "https://h.example/x"\nsecret_env = "s3cr3t value!"\n',
         "not an environment variable name"),
        ('[[alerts.routes]]\nname = "r"\ntarget = "zendesk"\n[alerts.routes.zendesk]\n'
         'subdomain = "acme"\nbase_url = "https://acme.zendesk.com"\n',
         "set exactly one of subdomain or base_url"),
        ('[[alerts.routes]]\nname = "r"\nmin_reach = -5\n', "min_reach"),
        ('[reports]\nslack_channel = "#m"\nbrands = ["Nope"]\n',
         "'Nope' is not a configured brand"),
    ],
)  # fmt: skip
def test_bad_settings_say_what_to_fix(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("(", r"\(")):
        _load(tmp_path, toml)


def _post(n: int, text: str) -> Mention:
    return Mention("reddit", f"p{n}", f"https://reddit.com/{n}", f"u{n}", text, datetime.now(UTC))


def _negative() -> Triage:
    return Triage("negative", {"negative": 0.9, "neutral": 0.05, "positive": 0.05}, "high")


def test_ingest_tags_topics_and_competitors_never_alert(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS.format(db=tmp_path / "lp.db"))
    rt = build(load(path), {})
    try:
        (synced,) = save_page(rt, "Acme", "reddit", Page([_post(1, "Acme sync lost bookmarks")]))
        (plain,) = save_page(rt, "Acme", "reddit", Page([_post(2, "Acme is down")]))
        (rival,) = save_page(rt, "Chrome", "reddit", Page([_post(3, "Chrome is down")]))
        (both,) = save_page(rt, "Chrome", "reddit", Page([_post(4, "Chrome and Acme both down")]))
        save_page(rt, "Acme", "reddit", Page([_post(4, "Chrome and Acme both down")]))
        with rt.store.engine.begin() as conn:
            tags = conn.execute(select(mention_topics)).all()
        assert [(t.mention_id, t.brand, t.topic) for t in tags] == [(synced, "Acme", "sync")]

        rt.store.save_triage([(i, _negative()) for i in (synced, plain, rival, both)])
        assert route_pending(rt) == 3  # the Chrome-only post alerts nobody
        alerted = {item.mention.id for item in rt.store.due_alerts(datetime.now(UTC))}
        assert alerted == {synced, plain, both}
    finally:
        rt.close()


def test_retag_follows_changed_topics(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(SETTINGS.format(db=tmp_path / "lp.db"))
    rt = build(load(path), {})
    try:
        save_page(rt, "Acme", "reddit", Page([_post(1, "Acme sync lost bookmarks on android")]))
    finally:
        rt.close()
    path.write_text(
        SETTINGS.format(db=tmp_path / "lp.db").replace(
            'topics = { sync = "sync OR bookmarks", mobile = "android OR ios" }',
            "topics = { data_loss = '\"lost bookmarks\"' }",
        )
    )
    result = runner.invoke(app, ["--settings", str(path), "retag"])
    assert result.exit_code == 0, result.output
    assert "retagged 1 mention(s): 1 topic tag(s)" in result.output
    rt = build(load(path), {})
    try:
        with rt.store.engine.begin() as conn:
            topics = conn.scalars(select(mention_topics.c.topic)).all()
    finally:
        rt.close()
    assert topics == ["data_loss"]
