"""A fake Slack Web API on FakeServer that answers the way Slack documents it.

- `POST /api/chat.postMessage` and `POST /api/auth.test`, JSON or form-encoded bodies (slack_sdk
  sends chat.postMessage as JSON and auth.test as a form); the token comes from
  `Authorization: Bearer xoxb-...` or a `token` field.
- Errors are HTTP 200 with `{"ok": false, "error": "..."}` (`not_authed`, `invalid_auth`,
  `channel_not_found`, `no_text`, `invalid_blocks`), rate limits are HTTP 429 with a
  `Retry-After` header and `{"ok": false, "error": "ratelimited"}`.
- `disconnect()` drops the connection without an answer (the server thread logs it).
- Block Kit limits are enforced (50 blocks, header 150, section/context text 3000, button url
  3000), so a message that passes here would not be rejected for its layout.

Usage::

    with FakeSlack() as slack:
        slack.rate_limit(retry_after=30)          # next post gets a 429
        sender = SlackSender(slack.token, base_url=slack.base_url)
        ...
        assert slack.messages[0]["channel"] == "#alerts"
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes.server import FakeServer, Request, Response

VALID_TOKEN = "xoxb-1111-2222-fake"


class FakeSlack:
    def __init__(self, token: str = VALID_TOKEN, known_channels: tuple[str, ...] = ()) -> None:
        self.token = token
        self.server = FakeServer()
        self.messages: list[dict[str, Any]] = []  # accepted chat.postMessage arguments
        self.posts: list[dict[str, Any]] = []  # every chat.postMessage attempt, accepted or not
        self._known = set(known_channels)  # empty: every channel exists
        self._script: list[tuple[str | None, Response | None]] = []
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self.server.route("POST", "/api/chat.postMessage", self._post_message)
        self.server.route("POST", "/api/auth.test", self._auth_test)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/api/"

    def __enter__(self) -> FakeSlack:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # scripted failures: each answers one chat.postMessage (to `channel`, or to any channel)
    def rate_limit(self, retry_after: int = 30, channel: str | None = None) -> None:
        body = {"ok": False, "error": "ratelimited"}
        self._push(channel, Response.json(body, 429, {"Retry-After": str(retry_after)}))

    def server_error(self, status: int = 500, channel: str | None = None) -> None:
        page = "<html><body>Internal Server Error</body></html>"
        self._push(channel, Response(status, page, {"Content-Type": "text/html; charset=utf-8"}))

    def disconnect(self, channel: str | None = None) -> None:
        """The connection drops before any response, as a network failure looks to a client."""
        self._push(channel, None)

    def error(self, error: str, channel: str | None = None) -> None:
        self._push(channel, Response.json({"ok": False, "error": error}))

    def _push(self, channel: str | None, response: Response | None) -> None:
        with self._lock:
            self._script.append((channel, response))

    def _scripted(self, channel: str | None) -> Response | None:
        with self._lock:
            for i, (wanted, response) in enumerate(self._script):
                if wanted is None or wanted == channel:
                    del self._script[i]
                    if response is None:
                        raise ConnectionResetError("scripted disconnect")
                    return response
        return None

    def _auth_test(self, req: Request) -> Response:
        args = _args(req)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        return Response.json(
            {
                "ok": True,
                "url": "https://acme-corp.slack.com/",
                "team": "Acme Corp",
                "user": "listenpost",
                "team_id": "T0123ABCD",
                "user_id": "U0123ABCD",
                "bot_id": "B0123ABCD",
                "is_enterprise_install": False,
            }
        )

    def _post_message(self, req: Request) -> Response:
        args = _args(req)
        with self._lock:
            self.posts.append(args)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        channel = args.get("channel")
        if (scripted := self._scripted(channel)) is not None:
            return scripted
        if not channel or (self._known and channel not in self._known):
            return _fail("channel_not_found")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not args.get("text") and not blocks:
            return _fail("no_text")
        if blocks and (problems := block_problems(blocks)):
            return Response.json({"ok": False, "error": "invalid_blocks", "errors": problems})
        with self._lock:
            self.messages.append({**args, "blocks": blocks})
            seq = len(self.messages)
            channel_id = self._ids.setdefault(channel, f"C0{123 + len(self._ids)}")
        ts = f"1712345678.{99 + seq:06d}"
        return Response.json(
            {
                "ok": True,
                "channel": channel_id,
                "ts": ts,
                "message": {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": args.get("text", ""),
                    "blocks": blocks or [],
                    "bot_id": "B0123ABCD",
                    "ts": ts,
                },
            }
        )

    def _auth_error(self, req: Request, args: dict[str, Any]) -> Response | None:
        header = req.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        token = token or args.get("token")
        if not token:
            return _fail("not_authed")
        if token != self.token:
            return _fail("invalid_auth")
        return None


def block_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """The Block Kit limits Slack enforces with `invalid_blocks`, for the blocks we send."""
    problems: list[str] = []
    if len(blocks) > 50:
        problems.append("no more than 50 items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        where = f"[json-pointer:/blocks/{i}"
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text":
                problems.append(f"must be plain_text {where}/text/type]")
            _length(problems, text.get("text"), 150, f"{where}/text/text]")
        elif kind == "section":
            _length(problems, block.get("text", {}).get("text"), 3000, f"{where}/text/text]")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"must have 1 to 10 elements {where}/elements]")
            for j, element in enumerate(elements):
                _length(problems, element.get("text"), 3000, f"{where}/elements/{j}/text]")
        elif kind == "actions":
            for j, element in enumerate(block.get("elements", [])):
                _length(problems, element.get("text", {}).get("text"), 75, f"{where}/elements/{j}]")
                url = element.get("url")
                if url is not None and not 1 <= len(url) <= 3000:
                    problems.append(f"url must be 1 to 3000 characters {where}/elements/{j}/url]")
        else:
            problems.append(f"unsupported type {kind!r} {where}/type]")
    return problems


def _length(problems: list[str], text: Any, limit: int, where: str) -> None:
    if not isinstance(text, str) or not 1 <= len(text.encode("utf-16-le")) // 2 <= limit:
        problems.append(f"must be 1 to {limit} characters {where}")


def _args(req: Request) -> dict[str, Any]:
    content_type = req.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        data = req.json() or {}
        return data if isinstance(data, dict) else {}
    return {k: v[0] for k, v in req.form().items()}


def _fail(error: str) -> Response:
    return Response.json({"ok": False, "error": error})
