from __future__ import annotations

import json
import re

import pytest

from alerts.render import escape, humanize, inert, render, safe_url
from core.mention import Metrics
from fakes.slack import block_problems
from tests.alerts.factories import stored, triage

HOSTILE = (
    "<!channel> <!here> <!everyone> <@U0123> <#C0123> <!subteam^S0123|@support> "
    "pay here <https://evil.example/phish|bank.com> & more"
)
CONTROL_SEQUENCES = (
    "<!channel",
    "<!here",
    "<!everyone",
    "<@U",
    "<#C",
    "<!subteam",
    "<https://evil",
)


def mrkdwn_objects(blocks: list[dict]) -> list[dict]:
    found: list[dict] = []
    for block in blocks:
        if block["type"] == "section":
            found.append(block["text"])
        if block["type"] == "context":
            found.extend(block["elements"])
    return found


def section_texts(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_escape_is_slacks_three_entities() -> None:
    assert escape("a & b <!channel> > c") == "a &amp; b &lt;!channel&gt; &gt; c"


def test_control_sequences_from_post_author_and_title_are_inert_everywhere() -> None:
    mention = stored(text=HOSTILE, author="<!here> Mallory", title="<https://evil.example|Acme>")
    text, blocks = render(mention)
    payload = json.dumps(blocks, ensure_ascii=False)

    for sequence in CONTROL_SEQUENCES:
        assert sequence not in text
        assert sequence not in payload
    # The only `<...>` Slack will parse are the ones render writes itself.
    for output in (text, payload):
        for sequence in re.findall(r"<[^>]*>", output):
            assert sequence.startswith(("<!date^", "<https://www.reddit.com/")), sequence
    assert "&lt;!channel&gt;" in section_texts(blocks)[1]
    assert "&lt;!here&gt; Mallory" in section_texts(blocks)[0]
    assert "&lt;!here&gt; Mallory" in text
    # verbatim: Slack must not auto-link names or mentions inside user text either.
    assert all(obj["verbatim"] is True for obj in mrkdwn_objects(blocks))


def test_formatting_characters_in_user_content_stay_literal() -> None:
    mention = stored(author="*boss*", text="*FREE* money _now_ ~gone~ `rm -rf` snake_case_name")
    _, blocks = render(mention)
    who, post = section_texts(blocks)[:2]

    assert who.startswith("*\u2217boss\u2217*")  # our bold stays balanced around the name
    assert "*FREE*" not in post and "_now_" not in post and "`rm" not in post
    assert "snake_case" in post  # delimiters inside a word never format: left untouched


def test_long_posts_are_truncated_to_slack_limits_without_breaking_entities() -> None:
    for body in ("&" * 10_000, "😀" * 5_000, "word " * 2_000):
        text, blocks = render(stored(text=body, author="x" * 500, title="t" * 5_000))
        post = section_texts(blocks)[1]
        assert post.endswith("…")
        assert len(post.encode("utf-16-le")) // 2 <= 3000
        assert block_problems(blocks) == []
        assert len(text) < 1500  # the notification line stays short
    assert section_texts(render(stored(text="&" * 10_000))[1])[1][:-1].endswith("&amp;")


def test_long_brand_names_fit_the_header() -> None:
    _, blocks = render(stored(brands=["Acme Corporation International " * 10]))
    assert blocks[0]["type"] == "header"
    assert len(blocks[0]["text"]["text"]) <= 150
    assert block_problems(blocks) == []


def test_message_carries_author_reach_triage_time_and_link() -> None:
    text, blocks = render(stored())
    who, post, verdict = section_texts(blocks)
    context = blocks[4]["elements"][0]["text"]

    assert blocks[0]["text"]["text"] == "🔴 Acme mention on Reddit"
    assert who == "*angry_customer* · 12.3k followers · 1.2k likes"
    assert post == "Acme has been down for two hours and support is silent."
    assert verdict == "*Negative* (0.91) · urgency *high* · outage, refund · model test"
    assert context.startswith("Posted <!date^1712325780^{date_short_pretty} at {time}|")
    assert "2024-04-05 14:03 UTC" in context
    button = blocks[5]["elements"][0]
    assert (button["text"]["text"], button["url"]) == (
        "View post",
        "https://www.reddit.com/r/acme/comments/abc/outage/",
    )
    for essential in ("Acme", "Reddit", "negative", "high", "angry_customer", "12.3k followers"):
        assert essential in text
    assert "Acme has been down" in text
    assert text.endswith("<https://www.reddit.com/r/acme/comments/abc/outage/|View post>")
    assert block_problems(blocks) == []


def test_reposts_and_titles_are_shown() -> None:
    mention = stored(
        network="hackernews",
        title="Ask HN: Is Acme down?",
        metrics=Metrics(likes=3, reposts=1),
        duplicate_of=3,
        triage=triage("neutral", "critical", reasons=()),
    )
    text, blocks = render(mention)
    who, _, verdict = section_texts(blocks)
    assert blocks[0]["text"]["text"] == "🚨 Acme mention on Hacker News"
    assert who == "*angry_customer* · 3 likes · 1 repost\n*Ask HN: Is Acme down?*"
    assert verdict == "*Neutral* (0.91) · urgency *critical* · model test"
    assert "repost of mention #3" in blocks[4]["elements"][0]["text"]
    assert "Ask HN: Is Acme down?" in text


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://example.com/file",
        "https:///no-host",
        "https://example.com/a b",
        "https://example.com/|label",
        "",
    ],
)
def test_only_http_links_get_a_button(url: str) -> None:
    text, blocks = render(stored(url=url))
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert all("url" not in e for e in elements)
    assert "View post" not in text


def test_link_with_query_string_is_escaped_in_the_fallback_only() -> None:
    url = "https://news.ycombinator.com/item?id=1&p=2"
    text, blocks = render(stored(url=url))
    assert blocks[5]["elements"][0]["url"] == url
    assert "<https://news.ycombinator.com/item?id=1&amp;p=2|View post>" in text
    assert safe_url(url) == url


def test_empty_post_text_still_renders() -> None:
    _, blocks = render(stored(text="   "))
    assert section_texts(blocks)[1] == "_(no text)_"
    assert block_problems(blocks) == []


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0"), (999, "999"), (1000, "1k"), (12_345, "12.3k"), (99_960, "100k"), (999_960, "1M"),
     (1_250_000, "1.2M"), (3_400_000_000, "3.4B")],
)  # fmt: skip
def test_humanize(n: int, shown: str) -> None:
    assert humanize(n) == shown


def test_inert_limit_counts_what_slack_counts() -> None:
    assert inert("a < b", 100) == "a &lt; b"
    assert inert("abcdef", 4) == "abc…"
