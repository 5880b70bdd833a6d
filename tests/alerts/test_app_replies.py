"""Saved replies: the right templates for the post, filled in, copy-ready, only to the clicker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.app_settings import SavedReply
from alerts.replies import message, suggest
from listenpost import config
from storage.records import StoredMention
from tests.alerts.factories import stored, triage

TEMPLATES = [
    SavedReply(name="Generic", text="Thanks {author}, we are looking into it."),
    SavedReply(
        name="Outage (fr)", text="Désolés {author} !", categories=["outage"], languages=["FR"]
    ),
    SavedReply(
        name="Outage",
        text="Hi {author}, {brand} status: https://status.acme.example",
        categories=["outage", "availability"],
    ),
    SavedReply(name="Billing", text="Billing will DM you.", categories=["billing"]),
]


def mention(lang: str | None = "en", **kw: object) -> StoredMention:
    return stored(triage=replace(triage(), lang=lang), **kw)


def test_most_specific_first_and_only_what_fits() -> None:
    found = suggest(mention("en"), TEMPLATES)
    assert [s.name for s in found] == ["Outage", "Generic"]  # billing and French do not fit
    assert found[0].text == "Hi angry_customer, Acme status: https://status.acme.example"
    french = suggest(mention("fr"), TEMPLATES)
    assert [s.name for s in french] == ["Outage (fr)", "Outage", "Generic"]


def test_language_specific_replies_need_a_known_language() -> None:
    assert "Outage (fr)" not in [s.name for s in suggest(mention(None), TEMPLATES)]


def test_message_is_copy_ready_and_inert() -> None:
    hostile = SavedReply(name="Ping <!here>", text="Hi {author} ``` *bold* & <x>")
    body = message(mention(author="<!channel>"), suggest(mention(author="<!channel>"), [hostile]))
    assert body["response_type"] == "ephemeral" and body["replace_original"] is False
    section = body["blocks"][0]["text"]["text"]
    assert section.startswith("*Ping &lt;!here&gt;*\n```")
    # Escaped for Slack only: the *bold* stays as typed, the fence cannot be closed early.
    assert section.endswith("Hi &lt;!channel&gt; `\u200b`` *bold* &amp; &lt;x&gt;```")
    assert body["blocks"][-2]["elements"][0]["text"] == "Suggested for outage, en"
    link = body["blocks"][-1]["elements"][0]
    assert (link["text"]["text"], link["url"]) == (
        "Answer on Reddit",
        "https://www.reddit.com/r/acme/comments/abc/outage/",
    )


def test_nothing_fits_says_how_to_add_replies() -> None:
    body = message(mention(), [])
    assert "`[[alerts.replies]]`" in body["text"]
    assert "blocks" not in body


def test_long_templates_fit_a_section() -> None:
    long = SavedReply(name="Long", text="&" * 2000)
    section = message(mention(), suggest(mention(), [long]))["blocks"][0]["text"]["text"]
    assert len(section) <= 3000
    assert section.endswith("&amp;…```")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"text": "Hi {name}"}, "unknown placeholder {name}; use {author}, {brand}"),
        ({"text": "Hi {author"}, "write a literal brace as {{ or }}"),
        ({"text": "x", "categories": ["refunds"]}, "unknown category 'refunds'"),
        ({"text": "x", "languages": ["english"]}, "'english' is not a language code"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(fields: dict, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        SavedReply(name="t", **fields)


def test_settings_toml_takes_replies_and_names_a_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[[alerts.replies]]\nname = "Outage"\ntext = "Hi {author}"\ncategories = ["outage"]\n'
    )
    (reply,) = config.load(path).alerts.replies
    assert (reply.name, reply.categories) == ("Outage", ["outage"])
    path.write_text('[[alerts.replies]]\nname = "Oops"\ntext = "Hi {user}"\n')
    with pytest.raises(config.SettingsError, match=r"alerts\.replies\[0\]\.text: unknown"):
        config.load(path)
