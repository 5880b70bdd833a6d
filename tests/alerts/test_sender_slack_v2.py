"""The Sender protocol's threads, in-place updates and file uploads, over Slack's wire format."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from alerts.console import ConsoleSender
from alerts.sender import Delivery, DeliveryFailed, RetryLater
from alerts.slack import SlackSender
from fakes.slack import FakeSlack

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_a_reply_is_posted_under_its_parent(slack: FakeSlack, sender: SlackSender) -> None:
    parent = sender.send("#brand-alerts", "alert", [])
    reply = sender.send("#brand-alerts", "reply", [], thread_ts=parent.ts)
    assert reply.channel_id == parent.channel_id and reply.ts != parent.ts
    assert slack.thread(parent.ts or "") == [slack.messages[1]]
    assert "thread_ts" not in slack.messages[0]


def test_update_edits_the_message_in_place(slack: FakeSlack, sender: SlackSender) -> None:
    posted = sender.send("#brand-alerts", "alert", [])
    assert posted.channel_id and posted.ts
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "✅ Resolved"}}]
    updated = sender.update(posted.channel_id, posted.ts, "resolved", blocks)
    assert updated == posted
    (change,) = slack.updates
    assert (change["channel"], change["ts"], change["text"]) == (
        posted.channel_id,
        posted.ts,
        "resolved",
    )
    assert change["blocks"] == blocks
    with pytest.raises(DeliveryFailed, match="message_not_found"):
        sender.update(posted.channel_id, "1.000000", "x", [])


def test_upload_goes_through_the_three_step_v2_flow(
    slack: FakeSlack, sender: SlackSender, tmp_path: Path
) -> None:
    posted = sender.send("#digest", "digest", [])
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    assert posted.channel_id is not None
    delivery = sender.upload_file(
        posted.channel_id, chart, "Daily digest", "here it is", thread_ts=posted.ts
    )
    paths = [r.path for r in slack.server.requests]
    assert paths[-3:] == [
        "/api/files.getUploadURLExternal",
        f"/upload/v1/{slack.files[0]['id']}",
        "/api/files.completeUploadExternal",
    ]
    (uploaded,) = slack.files
    assert uploaded["data"] == PNG and uploaded["filename"] == "chart.png"
    assert uploaded["title"] == "Daily digest" and uploaded["initial_comment"] == "here it is"
    assert uploaded["thread_ts"] == posted.ts
    assert delivery == Delivery(channel_id=posted.channel_id, ts=uploaded["ts"])


def test_upload_to_a_channel_name_is_refused_by_slack(
    slack: FakeSlack, sender: SlackSender, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    sender.send("#digest", "digest", [])
    with pytest.raises(DeliveryFailed, match="invalid_channel"):
        sender.upload_file("#digest", chart, "chart")


def test_rate_limited_upload_is_retried_later(
    slack: FakeSlack, sender: SlackSender, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(PNG)
    slack.rate_limit(retry_after=12)
    with pytest.raises(RetryLater) as caught:
        sender.upload_file("C0123", chart, "chart")
    assert caught.value.after_seconds == 12


def test_console_prints_replies_updates_and_file_paths(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleSender(Console(file=out, width=120, color_system=None))
    text = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello [red]x[/red]"}}]
    assert console.send("#a", "hi", text, thread_ts="1.2") == Delivery(None, None)
    console.update("C1", "1.2", "new", text)
    console.upload_file("#a", tmp_path / "chart.png", "Daily digest")
    printed = out.getvalue()
    assert "#a, in thread 1.2" in printed and "hello [red]x[/red]" in printed
    assert "updated 1.2 in C1" in printed
    assert f"Daily digest for #a: {tmp_path / 'chart.png'}" in printed.replace("\n", "")
