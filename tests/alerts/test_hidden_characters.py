"""Characters that reorder or hide text never reach Slack (issue 15, item 13).

A post with U+202E (right-to-left override) shows the rest of a line backwards, and U+200B
(zero-width space) hides inside a word; both are dropped wherever `<!channel>` is escaped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts import actions, replies
from alerts.app_settings import SavedReply
from alerts.render import HIDDEN, escape, inert, plain, render, safe_url
from alerts.routes import Route
from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from radar.message import SpikeView, TopPost, post_line, render_spike
from storage.cases import Case
from tests.alerts.factories import CREATED, stored

RLO, PDF, ZWSP = "\u202e", "\u202c", "\u200b"
# Every kind the issue names: overrides, isolates, marks, zero-width space, BOM, word joiner.
SNEAKY = [RLO, PDF, ZWSP, "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\ufeff",
          "\u2060", "\U000e0041"]
POST = f"Acme{ZWSP} is {RLO}gnikrow ton{PDF} \u2066fine\u2069 \ufeff\u200eok\u200f"
SHOWN = "Acme is gnikrow ton fine ok"


def sneaky_in(value: Any) -> list[str]:
    dumped = json.dumps(value, ensure_ascii=False)
    return [f"U+{ord(ch):04X}" for ch in SNEAKY if ch in dumped]


def hostile_mention() -> Any:
    return stored(
        text=POST,
        author=f"mal{ZWSP}lory{RLO}",
        title=f"{RLO}txt.exe",
        url="https://www.reddit.com/r/acme/comments/abc/outage/",
    )


def test_an_alert_reaches_slack_without_them_in_text_blocks_or_fallback() -> None:
    text, blocks = render(hostile_mention())
    with FakeSlack() as slack:
        SlackSender(slack.token, base_url=slack.base_url).send("#alerts", text, blocks)
        (posted,) = slack.messages

    assert sneaky_in(posted["text"]) == []
    assert sneaky_in(posted["blocks"]) == []
    assert SHOWN in posted["text"]  # the words themselves still arrive
    assert SHOWN in json.dumps(posted["blocks"], ensure_ascii=False)
    assert "*mallory*" in posted["blocks"][1]["text"]["text"]


def test_the_escaping_functions_drop_them_and_keep_the_rest() -> None:
    assert escape(f"<!channel>{RLO}{ZWSP}") == "&lt;!channel&gt;"
    # Judged as Slack will see it: without the zero-width space the second `*` is inside a word.
    assert inert(f"*a*{ZWSP}b{RLO}c", 10) == "\u2217a*bc"
    assert plain(f"Acme{RLO} spike", 150) == "Acme spike"
    # Joiners stay: emoji sequences and several scripts are made with them.
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert escape(family) == family
    assert all(HIDDEN.fullmatch(ch) for ch in SNEAKY)


def test_a_link_that_hides_characters_gets_no_button() -> None:
    assert safe_url(f"https://example.com/{RLO}fdp.exe") is None
    assert safe_url(f"https://exa{ZWSP}mple.com/") is None
    text, blocks = render(stored(url=f"https://example.com/{RLO}fdp.exe"))
    assert "View post" not in text and sneaky_in(blocks) == []


def _case(route: str) -> Case:
    return Case(7, route, "open", None, CREATED, None, None, None, None, None, None, CREATED)


def _escalation() -> Any:
    mention = hostile_mention()
    outcome = actions.Outcome(mention, _case(f"sup{RLO}port"), [], "", [])
    message = actions.escalation(
        outcome, Route(name=f"sup{RLO}port", channel="#a", escalate_to="#leads"), "U1", "C1", None
    )
    assert message is not None
    return message.text, message.blocks


def _saved_replies() -> Any:
    saved = SavedReply(name=f"Sorry{RLO}", text=f"Hi {{author}} ``{ZWSP}` {RLO}ok")
    body = replies.message(hostile_mention(), replies.suggest(hostile_mention(), [saved]))
    section = body["blocks"][0]["text"]["text"]
    # The fence still cannot be closed early: the template's zero-width space is gone and the
    # one listenpost writes (after the first backtick of three) breaks the run instead.
    assert section == f"*Sorry*\n```Hi mallory `{ZWSP}`` ok```"
    return body["text"], [section.replace(f"`{ZWSP}``", "```"), *body["blocks"][1:]]


def _radar() -> Any:
    top = TopPost(1, "reddit", f"mal{ZWSP}lory", "https://example.com/p", POST, 10, 5, 1, None)
    start = datetime(2024, 4, 5, 12, tzinfo=UTC)
    view = SpikeView(
        spike_id=3, brand="Acme", scope="term", key=f"#acme{RLO}down", active=True,
        started_at=start, ended_at=None, as_of=start + timedelta(hours=1),
        window=timedelta(minutes=30), observed=40, expected=4.0, size=10.0, peak=10.0,
        peak_at=start, peak_observed=40, mentions=80, negative_share=0.5,
        usual_negative_share=0.1, negative_led=False, drivers=((f"re{ZWSP}fund{RLO}", 12),),
        networks=(("reddit", 40),), top=(top,),
    )
    text, blocks = render_spike(view)
    return text + post_line(1, top), blocks


@pytest.mark.parametrize(
    "build", [_escalation, _saved_replies, _radar], ids=["escalation", "saved-replies", "radar"]
)
def test_every_other_slack_message_drops_them_too(build: Any) -> None:
    text, blocks = build()
    assert sneaky_in(text) == []
    assert sneaky_in(blocks) == []
