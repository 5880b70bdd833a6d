"""One Mastodon instance's streaming API (server-sent events) and public timelines, on 127.0.0.1.

- `GET /api/v1/streaming/public[?local=true]` and `GET /api/v1/streaming/hashtag?tag=<tag>`
  answer `200 text/event-stream` with `Transfer-Encoding: chunked`, as Mastodon's streaming
  server does: first a `:)` comment, then `event: update` / `data: <Status JSON>` for every post
  added while the connection is open (a hashtag stream only those carrying the tag),
  `event: delete` / `data: <id>`, and a `:thump` heartbeat comment every `heartbeat` seconds.
  Posts added while no stream is open are only in the timelines (the missed stretch).
- `GET /api/v1/timelines/public` and `GET /api/v1/timelines/tag/<tag>` with `limit`,
  `max_id` / `since_id` / `min_id` and the `Link` header, as `tests/fakes/mastodon.py` pages.
- `token`: set, every request needs `Authorization: Bearer <token>` (instances that disable
  public previews), else 401 `{"error": "This API requires an authenticated user"}`.
- Scripted trouble per next stream connection: `cut(after=n)` sends half of the (n+1)th event
  and drops the connection (no closing chunk); `stall(after=n)` then sends nothing at all,
  heartbeats included, while keeping the connection open.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from fakes.mastodon import _page
from fakes.server import LocalServer

STREAM = "/api/v1/streaming/"
TAG_TIMELINE = "/api/v1/timelines/tag/"


@dataclass
class Trouble:
    kind: str  # cut | stall
    after: int


@dataclass
class Subscriber:
    path: str
    query: dict[str, list[str]]
    events: list[bytes] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    sent: int = 0

    def wants(self, item: dict[str, Any]) -> bool:
        if self.path.endswith("/hashtag"):
            tag = (self.query.get("tag") or [""])[0].lower()
            return tag in {t["name"] for t in item["tags"]}
        return True


class FakeMastodonStreaming:
    def __init__(self, token: str | None = None, heartbeat: float = 0.2) -> None:
        self.token = token
        self.heartbeat = heartbeat
        self.statuses: list[dict[str, Any]] = []
        self.emitted: dict[str, float] = {}  # status id -> perf_counter when added
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.subscribers: list[Subscriber] = []
        self._trouble: list[Trouble] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer._serve(self)

        self.local = LocalServer(_H)

    @property
    def url(self) -> str:
        return self.local.url

    def __enter__(self) -> FakeMastodonStreaming:
        self.local.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        for sub in list(self.subscribers):
            with sub.cond:
                sub.cond.notify_all()
        self.local.stop()

    # -- what the instance does

    def add(self, *items: dict[str, Any]) -> None:
        for item in items:
            with self._lock:
                self.statuses.append(item)
                self.emitted[item["id"]] = time.perf_counter()
                subs = list(self.subscribers)
            data = json.dumps(item)
            for sub in subs:
                if sub.wants(item):
                    self._push(sub, f"event: update\ndata: {data}\n\n".encode())

    def delete(self, status_id: str) -> None:
        with self._lock:
            subs = list(self.subscribers)
        for sub in subs:
            self._push(sub, f"event: delete\ndata: {status_id}\n\n".encode())

    def cut(self, after: int = 0) -> None:
        self._trouble.append(Trouble("cut", after))

    def stall(self, after: int = 0) -> None:
        self._trouble.append(Trouble("stall", after))

    @property
    def streams_opened(self) -> list[dict[str, list[str]]]:
        return [q for path, q in self.requests if path.startswith(STREAM)]

    @property
    def timeline_reads(self) -> list[dict[str, list[str]]]:
        return [q for path, q in self.requests if path.startswith("/api/v1/timelines/")]

    def _push(self, sub: Subscriber, event: bytes) -> None:
        with sub.cond:
            sub.events.append(event)
            sub.cond.notify_all()

    # -- serving

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        with self._lock:
            self.requests.append((parts.path, query))
        if self.token and h.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(h, {"error": "This API requires an authenticated user"}, 401)
        if parts.path in (STREAM + "public", STREAM + "hashtag"):
            return self._stream(h, Subscriber(parts.path, query))
        if parts.path == "/api/v1/timelines/public":
            return self._timeline(h, parts.path, query, None)
        if parts.path.startswith(TAG_TIMELINE):
            tag = unquote(parts.path[len(TAG_TIMELINE) :]).lower()
            return self._timeline(h, parts.path, query, tag)
        return self._json(h, {"error": "Record not found"}, 404)

    def _json(
        self, h: BaseHTTPRequestHandler, body: Any, status: int = 200, headers: dict | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(payload)

    def _timeline(
        self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]], tag: str | None
    ) -> None:
        from fakes.server import Request

        req = Request("GET", path, query, {}, b"")
        limit = min(int(req.arg("limit") or 20), 40)
        with self._lock:
            found = [
                s for s in self.statuses if tag is None or tag in {t["name"] for t in s["tags"]}
            ]
        window = _page(found, req, limit)
        headers = {}
        if window:
            base = f"{self.url}{path}"
            older = urlencode({"limit": limit, "max_id": window[-1]["id"]})
            newer = urlencode({"limit": limit, "min_id": window[0]["id"]})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        self._json(h, window, headers=headers)

    def _stream(self, h: BaseHTTPRequestHandler, sub: Subscriber) -> None:
        trouble = self._trouble.pop(0) if self._trouble else None
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Cache-Control", "private, no-store")
        h.end_headers()
        with self._lock:
            self.subscribers.append(sub)

        def chunk(data: bytes) -> None:
            h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            h.wfile.flush()

        try:
            chunk(b":)\n")
            beat = time.monotonic()
            while not self._closing.is_set():
                with sub.cond:
                    if not sub.events:
                        sub.cond.wait(0.05)
                    pending, sub.events = sub.events, []
                for event in pending:
                    if trouble is not None and sub.sent == trouble.after:
                        if trouble.kind == "cut":
                            chunk(event[: len(event) // 2])
                            h.close_connection = True
                            return
                        while not self._closing.wait(0.05):  # stall: silence, socket open
                            pass
                        return
                    chunk(event)
                    sub.sent += 1
                if time.monotonic() - beat >= self.heartbeat:
                    chunk(b":thump\n")
                    beat = time.monotonic()
        except OSError:
            pass  # the client went away
        finally:
            with self._lock:
                self.subscribers.remove(sub)
            h.close_connection = True
