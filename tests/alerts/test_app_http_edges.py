"""HTTP mode under requests Slack never sends (issue 15, item 10): each gets a prompt 4xx on
the real server, the signature is checked before anything parses the body, and nothing leaves
a traceback.

Requests go over raw sockets, since a client library would refuse to send most of them.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from slack_sdk import WebClient

from alerts import render as r
from alerts.app import SlackApp, build_app
from fakes.slack import FakeSlack
from fakes.slack_payloads import SIGNING_SECRET, block_actions, button, form_body, signed_headers
from storage import Store
from storage.cases import events, get_case
from tests.alerts.appkit import post_alert

PROMPT = 2.0  # seconds: far under Slack's 3-second deadline, far over a local answer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


@pytest.fixture
def app(store: Store, slack: FakeSlack) -> Iterator[SlackApp]:
    client = WebClient(token=slack.token, base_url=slack.base_url)
    bolt = build_app(store, client, SIGNING_SECRET)
    served = SlackApp(bolt, "http", port=0, signing_secret=SIGNING_SECRET, read_timeout=0.5)
    served.start()
    yield served
    served.stop()


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Whatever the test sends, no traceback reaches the log or stderr."""
    caplog.set_level(logging.DEBUG)
    yield
    assert "Traceback" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    assert "Traceback" not in capfd.readouterr().err


def send_raw(app: SlackApp, head: dict[str, str], body: bytes = b"") -> tuple[int, bytes, float]:
    """(status, body, seconds until the answer) for a request written byte by byte; the client
    keeps its side open, so an answer that waits for it to close never comes."""
    url = urlsplit(app.url)
    lines = [f"POST {url.path} HTTP/1.1", f"Host: {url.netloc}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    start = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=PROMPT + 3) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := conn.recv(65536)):
            answer += chunk
        took = time.monotonic() - start
        assert answer, "the connection was dropped without an answer"
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        while length and len(body) < int(length[1]) and (chunk := conn.recv(65536)):
            body += chunk
    return int(head.split(b" ", 2)[1]), body, took


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("length", "status"),
    [("abc", 400), ("-1", 400), ("1e3", 400), ("\u00b2", 400), ("99999999999999999999", 413)],
    ids=["letters", "negative", "float", "superscript", "huge"],
)
def test_a_content_length_that_is_not_a_size_gets_a_prompt_4xx(
    app: SlackApp, quiet: None, length: str, status: int
) -> None:
    got, _, took = send_raw(app, {**FORM, "Content-Length": length}, b"payload=x")
    assert got == status
    assert took < PROMPT


def test_a_chunked_body_is_refused_not_left_in_the_stream(app: SlackApp, quiet: None) -> None:
    got, _, took = send_raw(app, {**FORM, "Transfer-Encoding": "chunked"}, b"9\r\npayload=x\r\n")
    assert (got, took < PROMPT) == (411, True)


def test_a_client_that_stops_sending_is_answered_408(app: SlackApp, quiet: None) -> None:
    got, _, took = send_raw(app, {**FORM, "Content-Length": "100"}, b"payload=")
    assert got == 408
    assert took < PROMPT


@pytest.mark.parametrize("body", [b"payload=x", b"payload=%7B%22type%22", b"\xff\xfe=\x00"])
def test_an_unsigned_body_is_refused_before_it_is_parsed(
    app: SlackApp, quiet: None, body: bytes
) -> None:
    got, text, took = send_raw(app, {**FORM, "Content-Length": str(len(body))}, body)
    assert (got, took < PROMPT) == (401, True)
    assert b"signature" in text


@pytest.mark.parametrize("stamp", ["abc", "\u00b2", "", "1" * 40, "-1"])
def test_a_timestamp_that_is_not_a_number_is_401(app: SlackApp, quiet: None, stamp: str) -> None:
    body = b"payload=x"
    signature = signed_headers(body.decode())["X-Slack-Signature"]
    head = {
        **FORM,
        "Content-Length": str(len(body)),
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    got, _, took = send_raw(app, head, body)
    assert (got, took < PROMPT) == (401, True)


def test_a_signed_body_that_is_not_slacks_json_is_400(app: SlackApp, quiet: None) -> None:
    body = "payload=x"
    response = httpx.post(app.url, content=body, headers=signed_headers(body), timeout=PROMPT)
    assert response.status_code == 400


def test_the_server_still_works_after_all_that(
    app: SlackApp, store: Store, slack: FakeSlack, quiet: None
) -> None:
    send_raw(app, {**FORM, "Content-Length": "abc"})
    send_raw(app, {**FORM, "Content-Length": "-1"}, b"payload=x")
    posted = post_alert(store, slack)
    payload = block_actions(button(posted.message["blocks"], r.ACKNOWLEDGE), posted.message,
                            slack.response_url())
    body = form_body(payload)
    response = httpx.post(app.url, content=body, headers=signed_headers(body), timeout=PROMPT)
    assert response.status_code == 200
    deadline = time.monotonic() + 5
    while get_case(store, posted.mention_id).status != "acknowledged":  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [e.action for e in events(store, posted.mention_id)] == ["open", "acknowledge"]


def test_http_mode_needs_the_signing_secret(store: Store, slack: FakeSlack) -> None:
    from alerts.app import AppSetupError

    client = WebClient(token=slack.token, base_url=slack.base_url)
    with pytest.raises(AppSetupError, match="SLACK_SIGNING_SECRET"):
        SlackApp(build_app(store, client, SIGNING_SECRET), "http", port=0)


def test_slash_command_form_still_verified_end_to_end(app: SlackApp) -> None:
    body = urlencode({"command": "/listenpost", "text": "help", "user_id": "U1"})
    headers = signed_headers(body, secret="not-the-signing-secret")
    assert httpx.post(app.url, content=body, headers=headers, timeout=PROMPT).status_code == 401
