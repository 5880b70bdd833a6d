"""A Bluesky Jetstream instance on 127.0.0.1, speaking its WebSocket JSON.

- `GET /subscribe?wantedCollections=app.bsky.feed.post[&cursor=<time_us>]` upgrades to a
  WebSocket and sends one text message per event, as Jetstream does: `commit` events
  (operation create / update / delete, with `record` and `cid` except for deletes) only for the
  wanted collections, and every `identity` and `account` event. Without `cursor` the connection
  hears events from now on; with one, it first replays every stored event whose `time_us` is at
  or after it, then continues live.
- `time_us` is this instance's clock when it took the event in: strictly increasing.
- Scripted trouble per next connection: `drop(after=n)` closes the TCP connection after n
  events without a close frame; `cut(after=n)` sends half of the next frame, then closes
  (a disconnect mid-message); `stall(after=n)` stops sending anything, heartbeats included,
  while keeping the connection open; `refuse()` answers the upgrade with HTTP 503; `kick()`
  drops every open connection at once.

Usage::

    with FakeJetstream() as js:
        js.post("did:plc:alice", "3kabc", "hello acme")
        listener = BlueskyStreamListener(BlueskyStreamSettings(url=[js.url]), http, {})
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import Server, ServerConnection, serve

COLLECTION = "app.bsky.feed.post"


@dataclass
class Trouble:
    kind: str  # drop | cut | stall | refuse
    after: int = 0


@dataclass
class Connection:
    path: str
    query: dict[str, list[str]]
    sent: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    ws: ServerConnection | None = None

    @property
    def cursor(self) -> int | None:
        values = self.query.get("cursor")
        return int(values[0]) if values else None


class FakeJetstream:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.emitted: dict[int, float] = {}  # time_us -> time.perf_counter() when stored
        self.connections: list[Connection] = []
        self._trouble: list[Trouble] = []
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._last_us = 0
        self._server: Server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            compression=None,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe"

    def __enter__(self) -> FakeJetstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._thread.join(5)

    # -- what the network does

    def _stamp(self) -> int:
        now_us = time.time_ns() // 1000
        self._last_us = max(now_us, self._last_us + 1)
        return self._last_us

    def add(self, event: dict[str, Any]) -> int:
        with self._cond:
            event["time_us"] = self._stamp()
            self.events.append(event)
            self.emitted[event["time_us"]] = time.perf_counter()
            self._cond.notify_all()
        return event["time_us"]

    def post(
        self,
        did: str,
        rkey: str,
        text: str,
        *,
        langs: list[str] | None = None,
        operation: str = "create",
        reply_to: str | None = None,
        collection: str = COLLECTION,
    ) -> int:
        record: dict[str, Any] = {
            "$type": collection,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "text": text,
        }
        if langs is not None:
            record["langs"] = langs
        if reply_to is not None:
            ref = {"uri": reply_to, "cid": "bafyparent"}
            record["reply"] = {"parent": ref, "root": ref}
        return self.add(
            {
                "did": did,
                "kind": "commit",
                "commit": {
                    "rev": f"rev{len(self.events)}",
                    "operation": operation,
                    "collection": collection,
                    "rkey": rkey,
                    "record": record,
                    "cid": f"bafy{rkey}",
                },
            }
        )

    def delete(self, did: str, rkey: str) -> int:
        commit = {
            "rev": f"rev{len(self.events)}",
            "operation": "delete",
            "collection": COLLECTION,
            "rkey": rkey,
        }
        return self.add({"did": did, "kind": "commit", "commit": commit})

    def identity(self, did: str, handle: str) -> int:
        when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return self.add(
            {
                "did": did,
                "kind": "identity",
                "identity": {"did": did, "handle": handle, "seq": len(self.events), "time": when},
            }
        )

    def account(self, did: str, active: bool = True) -> int:
        when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return self.add(
            {
                "did": did,
                "kind": "account",
                "account": {"active": active, "did": did, "seq": len(self.events), "time": when},
            }
        )

    # -- scripted trouble, for the next connection(s)

    def drop(self, after: int = 0) -> None:
        self._trouble.append(Trouble("drop", after))

    def cut(self, after: int = 0) -> None:
        self._trouble.append(Trouble("cut", after))

    def stall(self, after: int = 0) -> None:
        self._trouble.append(Trouble("stall", after))

    def refuse(self) -> None:
        self._trouble.append(Trouble("refuse"))

    def kick(self) -> None:
        """Drop every open connection now, without a close frame (a forced reconnect)."""
        for conn in self.connections:
            if conn.ws is not None and not conn.closed.is_set():
                with contextlib.suppress(OSError):
                    conn.ws.socket.shutdown(socket.SHUT_RDWR)

    # -- serving

    def _process_request(self, conn: ServerConnection, request: Any) -> Response | None:
        if self._trouble and self._trouble[0].kind == "refuse":
            self._trouble.pop(0)
            return Response(503, "Service Unavailable", Headers(), b"overloaded\n")
        if urlsplit(request.path).path != "/subscribe":
            return Response(404, "Not Found", Headers(), b"not found\n")
        return None

    def _handle(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path)
        conn = Connection(parts.path, parse_qs(parts.query), ws=ws)
        self.connections.append(conn)
        wanted = set(conn.query.get("wantedCollections", []))
        trouble = self._trouble.pop(0) if self._trouble else None
        with self._cond:
            if conn.cursor is None:
                index = len(self.events)
            else:
                index = next(
                    (i for i, e in enumerate(self.events) if e["time_us"] >= conn.cursor),
                    len(self.events),
                )
        try:
            while not self._closing.is_set():
                with self._cond:
                    if index >= len(self.events):
                        self._cond.wait(0.05)
                    pending = self.events[index:]
                for event in pending:
                    index += 1
                    commit = event.get("commit")
                    if commit and wanted and commit["collection"] not in wanted:
                        continue
                    if trouble is not None and conn.sent == trouble.after:
                        self._misbehave(ws, trouble, json.dumps(event))
                        return
                    ws.send(json.dumps(event))
                    conn.sent += 1
        except ConnectionClosed:
            pass
        finally:
            conn.closed.set()

    def _misbehave(self, ws: ServerConnection, trouble: Trouble, message: str) -> None:
        raw: socket.socket = ws.socket
        if trouble.kind == "stall":
            while not self._closing.is_set():
                try:
                    ws.recv(timeout=0.1)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
            return
        if trouble.kind == "cut":
            payload = message.encode()
            # A text frame announcing the whole payload (16-bit length), then only half of it.
            raw.sendall(bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload[:20])
        raw.shutdown(socket.SHUT_RDWR)
        raw.close()
