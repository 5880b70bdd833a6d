"""A Hacker News story without a body carries its title as its text: every place that shows a
post (alert, burst list, Zendesk ticket, spike top posts, `mentions`) shows it once."""

from __future__ import annotations

import json

from alerts.fatigue import render_list
from alerts.render import render
from alerts.zendesk import ticket
from core.mention import body_text, display_text
from tests.alerts.factories import stored

TITLE = "Ask HN: Is Acme Cloud down for anyone else?"


def story() -> object:
    return stored(network="hackernews", native_id="42", title=TITLE, text=TITLE,
                  url="https://news.ycombinator.com/item?id=42")


def test_the_text_to_show_says_a_repeated_title_once() -> None:
    assert display_text(TITLE, TITLE) == TITLE
    assert display_text(TITLE, f"  {TITLE.upper()} ") == TITLE  # only spacing and case differ
    assert display_text(TITLE, "Status page is green") == f"{TITLE} Status page is green"
    assert display_text(None, "just words") == "just words"
    assert body_text(TITLE, TITLE) == ""


def test_alert_list_line_and_ticket_show_the_title_once() -> None:
    mention = story()
    fallback, blocks = render(mention)  # type: ignore[arg-type]
    assert fallback.count("Is Acme Cloud down") == 1
    assert json.dumps(blocks).count("Is Acme Cloud down") == 1
    _, listed = render_list([mention])  # type: ignore[list-item]
    assert listed[0]["text"]["text"].count("Is Acme Cloud down") == 1
    made = ticket(mention, "support")["ticket"]  # type: ignore[arg-type]
    assert made["subject"].count("Is Acme Cloud down") == 1
    assert made["comment"]["body"].count("Is Acme Cloud down") == 1
