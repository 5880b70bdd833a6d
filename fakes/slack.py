"""A fake Slack Web API on FakeServer that answers the way Slack documents it.

- `POST /api/chat.postMessage` and `POST /api/auth.test`, JSON or form-encoded bodies (slack_sdk
  sends chat.postMessage as JSON and auth.test as a form); the token comes from
  `Authorization: Bearer xoxb-...` or a `token` field.
- Errors are HTTP 200 with `{"ok": false, "error": "..."}` (`not_authed`, `invalid_auth`,
  `channel_not_found`, `no_text`, `invalid_blocks`), rate limits are HTTP 429 with a
  `Retry-After` header and `{"ok": false, "error": "ratelimited"}`.
- `POST /api/chat.update` (channel id + ts of an accepted message; `message_not_found`,
  `channel_not_found`), `thread_ts` on chat.postMessage (`thread_not_found` for an unknown parent).
- The files_upload_v2 flow: `POST /api/files.getUploadURLExternal` (form: filename, length)
  answers `upload_url` on this same server + `file_id`; the bytes are POSTed there (200 "OK - n",
  or 404 for an unknown URL); `POST /api/files.completeUploadExternal` (form: `files` as a JSON
  array of {id, title}, `channel_id`, `initial_comment`, `thread_ts`) shares them (`file_not_found`
  when the bytes never arrived or the length differs; `invalid_channel` for a channel name).
- `disconnect()` drops the connection without an answer (the server thread logs it).
- `conversations.history` / `conversations.replies` (channel id; newest first, `limit`) list
  accepted messages; a message's `metadata` (event_type + event_payload, as chat.postMessage
  took it) is shown only with `include_all_metadata`.
- For the Slack app: `socket_mode(ws_url)` makes `POST /api/apps.connections.open` (app-level
  xapp- token only; a bot token gets `not_allowed_token_type`) answer that WebSocket URL
  (fakes/socket_mode.py serves it); `response_url()` hands out interaction response URLs
  whose posts land in `responses`; `chat.getPermalink` answers archive links.
- `usergroups.users.list` (GET or POST, `usergroup` = an S… id) answers `{"ok": true, "users":
  [...]}` for the groups in `usergroups`; `no_such_subteam` for others, and `usergroups_error`
  (e.g. "missing_scope", answered with `needed`/`provided` as Slack does) for every call.
- Block Kit limits are enforced (50 blocks, unique block_ids, header 150, section/context text
  3000, button text 75 / url 3000 / value 2000, confirm dialogs, users_select / static_select /
  overflow placeholders and options), so a message that passes here would not be rejected for
  its layout.

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

from fakes.server import FakeServer, Request, Response

VALID_TOKEN = "xoxb-1111-2222-fake"
APP_TOKEN = "xapp-1-A0123ABCD-1111-fake"  # app-level token (Socket Mode)


class FakeSlack:
    def __init__(self, token: str = VALID_TOKEN, known_channels: tuple[str, ...] = ()) -> None:
        self.token = token
        self.server = FakeServer()
        self.messages: list[dict[str, Any]] = []  # accepted chat.postMessage arguments (+ ts)
        self.updates: list[dict[str, Any]] = []  # accepted chat.update arguments
        self.files: list[dict[str, Any]] = []  # completed uploads: bytes, title, channel, ...
        self.rate_limited: list[tuple[str | None, int]] = []  # (channel, Retry-After) per 429
        self._uploads: dict[str, dict[str, Any]] = {}  # file_id -> pending upload
        self.posts: list[dict[str, Any]] = []  # every chat.postMessage attempt, accepted or not
        self._known = set(known_channels)  # empty: every channel exists
        self._script: list[tuple[str | None, Response | None]] = []
        self._ids: dict[str, str] = {}
        self._lock = threading.Lock()
        self.responses: list[dict[str, Any]] = []  # JSON posted to interaction response_urls
        self.usergroups: dict[str, list[str]] = {}  # S… id -> member user ids
        self.usergroups_error: str | None = None
        self.usergroup_lookups = 0
        self._response_urls: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}  # users.info's `user` objects, by id
        self.user_lookups: list[str] = []  # ids asked for through users.info
        self.server.route("POST", "/api/chat.postMessage", self._post_message)
        self.server.route("POST", "/api/auth.test", self._auth_test)
        self.server.route("POST", "/api/chat.update", self._update)
        self.server.route("POST", "/api/chat.getPermalink", self._permalink)
        for verb in ("GET", "POST"):
            self.server.route(verb, "/api/conversations.history", self._history)
            self.server.route(verb, "/api/conversations.replies", self._history)
        self.server.route("GET", "/api/chat.getPermalink", self._permalink)
        self.server.route("GET", "/api/usergroups.users.list", self._usergroup_users)
        self.server.route("POST", "/api/usergroups.users.list", self._usergroup_users)
        self.server.route("POST", "/api/files.getUploadURLExternal", self._upload_url)
        self.server.route("POST", "/api/files.completeUploadExternal", self._complete_upload)
        self.server.route("GET", "/api/users.info", self._users_info)
        self.server.route("POST", "/api/users.info", self._users_info)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/api/"

    def __enter__(self) -> FakeSlack:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # ---- what the Slack app talks to: Socket Mode's URL and interaction response_urls ----
    def socket_mode(self, ws_url: str, app_token: str = APP_TOKEN) -> None:
        """Answer `apps.connections.open` (app-level token only) with `ws_url`, as Slack does
        with its wss://wss-primary.slack.com/link/?ticket=... URL."""
        self.app_token = app_token
        self.connections_opened = 0

        def open_connection(req: Request) -> Response:
            header = req.headers.get("authorization", "")
            token = header.removeprefix("Bearer ").strip() or _args(req).get("token")
            if not token:
                return _fail("not_authed")
            if token.startswith("xoxb-"):
                return _fail("not_allowed_token_type")  # a bot token cannot open Socket Mode
            if token != self.app_token:
                return _fail("invalid_auth")
            with self._lock:
                self.connections_opened += 1
            return Response.json({"ok": True, "url": ws_url})

        self.server.route("POST", "/api/apps.connections.open", open_connection)

    def _permalink(self, req: Request) -> Response:
        """chat.getPermalink: https://<workspace>.slack.com/archives/<channel>/p<ts without dot>."""
        args = {**{k: v[0] for k, v in req.query.items()}, **_args(req)}
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        channel, ts = args.get("channel"), args.get("message_ts")
        with self._lock:
            if channel not in self._ids.values():
                return _fail("channel_not_found")
            if not any(m["ts"] == ts and m["channel_id"] == channel for m in self.messages):
                return _fail("message_not_found")
        link = f"https://acme-corp.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
        return Response.json({"ok": True, "channel": channel, "permalink": link})

    def _usergroup_users(self, req: Request) -> Response:
        args = {**{k: v[0] for k, v in req.query.items()}, **_args(req)}
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        with self._lock:
            self.usergroup_lookups += 1
        if self.usergroups_error == "missing_scope":
            body = {"ok": False, "error": "missing_scope", "needed": "usergroups:read",
                    "provided": "chat:write,chat:write.public,commands,files:write"}
            return Response.json(body)
        if self.usergroups_error:
            return _fail(self.usergroups_error)
        group = args.get("usergroup")
        if not group:
            return _fail("invalid_arguments")
        if group not in self.usergroups:
            return _fail("no_such_subteam")
        return Response.json({"ok": True, "users": list(self.usergroups[group])})

    def _history(self, req: Request) -> Response:
        """conversations.history (top-level messages) or .replies (a thread, with `ts`)."""
        args = {**{k: v[0] for k, v in req.query.items()}, **_args(req)}
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        channel, thread = args.get("channel"), args.get("ts")
        metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            if channel not in self._ids.values():
                return _fail("channel_not_found")
            found = [m for m in self.messages if m["channel_id"] == channel and _in(m, thread)]
        found.sort(key=lambda m: m["ts"], reverse=thread is None)
        shown = [
            {
                "type": "message",
                "ts": m["ts"],
                "text": m.get("text", ""),
                **({"thread_ts": m["thread_ts"]} if m.get("thread_ts") else {}),
                **({"metadata": m["metadata"]} if metadata and m.get("metadata") else {}),
            }
            for m in found[: int(args.get("limit") or 100)]
        ]
        return Response.json({"ok": True, "messages": shown, "has_more": False})

    def response_url(self) -> str:
        """A fresh interaction response_url (Slack's https://hooks.slack.com/actions/T../../..)
        whose posts land in `responses`."""
        with self._lock:
            n = len(self._response_urls) + 1
            path = f"/actions/T0123ABCD/{n}/r{n:04d}"
            self._response_urls.append(path)

        def receive(req: Request) -> Response:
            with self._lock:
                self.responses.append({"url": path, **(req.json() or {})})
            return Response(200, "ok", {"Content-Type": "text/html"})

        self.server.route("POST", path, receive)
        return f"{self.server.url}{path}"

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

    def add_user(
        self, user_id: str, name: str, real_name: str = "", display_name: str = ""
    ) -> None:
        """A workspace member as users.info describes one (display_name may be empty: many
        people never set one, and Slack then shows the real name)."""
        self.users[user_id] = {
            "id": user_id,
            "team_id": "T0123ABCD",
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/Berlin",
            "profile": {
                "display_name": display_name,
                "display_name_normalized": display_name,
                "real_name": real_name,
                "real_name_normalized": real_name,
            },
            "is_bot": False,
            "updated": 1732450000,
        }

    def _users_info(self, req: Request) -> Response:
        args = {k: v[0] for k, v in req.query.items()} | _args(req)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        user_id = str(args.get("user") or "")
        with self._lock:
            self.user_lookups.append(user_id)
        if not user_id:
            return _fail("invalid_arguments")
        if user_id not in self.users:
            return _fail("user_not_found")
        return Response.json({"ok": True, "user": self.users[user_id]})

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
            if scripted.status == 429:
                with self._lock:
                    self.rate_limited.append((channel, int(scripted.headers["Retry-After"])))
            return scripted
        is_id = channel in self._ids.values()  # Slack takes a channel's id or its name
        if not channel or (self._known and channel not in self._known and not is_id):
            return _fail("channel_not_found")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not args.get("text") and not blocks:
            return _fail("no_text")
        if blocks and (problems := block_problems(blocks)):
            return Response.json({"ok": False, "error": "invalid_blocks", "errors": problems})
        thread_ts = args.get("thread_ts")
        with self._lock:
            new_id = f"C0{123 + len(self._ids)}"
            channel_id = channel if is_id else self._ids.setdefault(channel, new_id)
            parents = {m["ts"] for m in self.messages if m["channel_id"] == channel_id}
            if thread_ts and thread_ts not in parents:
                return _fail("thread_not_found")
            seq = len(self.messages) + 1
            ts = f"1712345678.{99 + seq:06d}"
            self.messages.append({**args, "blocks": blocks, "ts": ts, "channel_id": channel_id})
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

    def thread(self, ts: str) -> list[dict[str, Any]]:
        """Replies posted under the message `ts`, in order."""
        return [m for m in self.messages if m.get("thread_ts") == ts]

    def _update(self, req: Request) -> Response:
        args = _args(req)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        channel, ts = args.get("channel"), args.get("ts")
        if (scripted := self._scripted(channel)) is not None:
            return scripted
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        with self._lock:
            if channel not in self._ids.values():
                return _fail("channel_not_found")  # chat.update takes ids, never names
            if not any(m["ts"] == ts and m["channel_id"] == channel for m in self.messages):
                return _fail("message_not_found")
            if blocks and (problems := block_problems(blocks)):
                return Response.json({"ok": False, "error": "invalid_blocks", "errors": problems})
            self.updates.append({**args, "blocks": blocks})
        return Response.json(
            {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "text": args.get("text", ""),
                "message": {"text": args.get("text", ""), "blocks": blocks or []},
            }
        )

    def _upload_url(self, req: Request) -> Response:
        args = _args(req)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        if (scripted := self._scripted(None)) is not None:
            return scripted
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            return _fail("invalid_arguments")
        with self._lock:
            file_id = f"F0{len(self._uploads) + 100}"
            self._uploads[file_id] = {"filename": filename, "length": int(length), "data": None}
        path = f"/upload/v1/{file_id}"
        self.server.route("POST", path, lambda r: self._receive(file_id, r))
        return Response.json(
            {"ok": True, "upload_url": f"{self.server.url}{path}", "file_id": file_id}
        )

    def _receive(self, file_id: str, req: Request) -> Response:
        with self._lock:
            self._uploads[file_id]["data"] = req.body
        return Response(200, f"OK - {len(req.body)}", {"Content-Type": "text/plain"})

    def _complete_upload(self, req: Request) -> Response:
        args = _args(req)
        if (denied := self._auth_error(req, args)) is not None:
            return denied
        try:
            wanted = json.loads(args.get("files") or "null")
        except json.JSONDecodeError:
            return _fail("invalid_arguments")
        if not isinstance(wanted, list) or not wanted:
            return _fail("invalid_arguments")
        channel = args.get("channel_id")
        with self._lock:
            if channel is not None and channel not in self._ids.values():
                return _fail("invalid_channel")
            shared: list[dict[str, Any]] = []
            for entry in wanted:
                upload = self._uploads.get(entry.get("id", ""))
                if not upload or upload["data"] is None or len(upload["data"]) != upload["length"]:
                    return _fail("file_not_found")
                seq = len(self.messages) + len(self.files) + 1
                ts = f"1712345678.{99 + seq:06d}"
                self.files.append(
                    {
                        "id": entry["id"],
                        "title": entry.get("title"),
                        "filename": upload["filename"],
                        "data": upload["data"],
                        "channel_id": channel,
                        "initial_comment": args.get("initial_comment"),
                        "thread_ts": args.get("thread_ts"),
                        "ts": ts,
                    }
                )
                share = {"public": {channel: [{"ts": ts}]}} if channel else {}
                shared.append(
                    {
                        "id": entry["id"],
                        "name": upload["filename"],
                        "title": entry.get("title") or upload["filename"],
                        "size": upload["length"],
                        "shares": share,
                    }
                )
        return Response.json({"ok": True, "files": shared})

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
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        problems.append("block_id must be unique within a message [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        where = f"[json-pointer:/blocks/{i}"
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text":
                problems.append(f"must be plain_text {where}/text/type]")
            _length(problems, text.get("text"), 150, f"{where}/text/text]")
        elif kind == "section" and "fields" in block:  # fields: up to 10, 2000 each
            fields = block["fields"]
            if not 1 <= len(fields) <= 10:
                problems.append(f"must have 1 to 10 fields {where}/fields]")
            for j, f in enumerate(fields):
                _length(problems, f.get("text"), 2000, f"{where}/fields/{j}/text]")
            if "text" in block:
                _length(problems, block["text"].get("text"), 3000, f"{where}/text/text]")
        elif kind == "section":
            _length(problems, block.get("text", {}).get("text"), 3000, f"{where}/text/text]")
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 10:
                problems.append(f"must have 1 to 10 elements {where}/elements]")
            for j, element in enumerate(elements):
                _length(problems, element.get("text"), 3000, f"{where}/elements/{j}/text]")
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= 25:
                problems.append(f"must have 1 to 25 elements {where}/elements]")
            for j, element in enumerate(elements):
                problems.extend(element_problems(element, f"{where}/elements/{j}"))
        else:
            problems.append(f"unsupported type {kind!r} {where}/type]")
    return problems


def element_problems(element: dict[str, Any], where: str) -> list[str]:
    """Limits of the interactive elements alerts use: buttons, user/static selects, overflow."""
    problems: list[str] = []
    kind = element.get("type")
    _length(problems, element.get("action_id"), 255, f"{where}/action_id]")
    if kind == "button":
        _length(problems, element.get("text", {}).get("text"), 75, f"{where}/text]")
        url = element.get("url")
        if url is not None and not 1 <= len(url) <= 3000:
            problems.append(f"url must be 1 to 3000 characters {where}/url]")
        if "value" in element:
            _length(problems, element["value"], 2000, f"{where}/value]")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"style must be primary or danger {where}/style]")
        if (confirm := element.get("confirm")) is not None:
            for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                _length(problems, confirm.get(key, {}).get("text"), limit, f"{where}/confirm]")
    elif kind in ("users_select", "static_select", "overflow"):
        if kind != "overflow":
            placeholder = element.get("placeholder", {}).get("text")
            _length(problems, placeholder, 150, f"{where}/placeholder]")
        options = element.get("options", [])
        low, high = (2, 5) if kind == "overflow" else (1, 100)
        if kind != "users_select" and not low <= len(options) <= high:
            problems.append(f"must have {low} to {high} options {where}/options]")
        for k, option in enumerate(options):
            _length(problems, option.get("text", {}).get("text"), 75, f"{where}/options/{k}]")
            _length(problems, option.get("value"), 150, f"{where}/options/{k}/value]")
    else:
        problems.append(f"unsupported element type {kind!r} {where}/type]")
    return problems


def _length(problems: list[str], text: Any, limit: int, where: str) -> None:
    if not isinstance(text, str) or not 1 <= len(text.encode("utf-16-le")) // 2 <= limit:
        problems.append(f"must be 1 to {limit} characters {where}")


def _in(message: dict[str, Any], thread: str | None) -> bool:
    """Whether conversations.replies of `thread` (None: conversations.history) lists it."""
    if thread is None:
        return not message.get("thread_ts")
    return message["ts"] == thread or message.get("thread_ts") == thread


def _args(req: Request) -> dict[str, Any]:
    content_type = req.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        data = req.json() or {}
        return data if isinstance(data, dict) else {}
    return {k: v[0] for k, v in req.form().items()}


def _fail(error: str) -> Response:
    return Response.json({"ok": False, "error": error})
