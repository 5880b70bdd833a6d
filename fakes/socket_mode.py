"""Slack's Socket Mode endpoint on 127.0.0.1: a real WebSocket (RFC 6455) server.

What Slack does, as its Socket Mode docs describe it: after the HTTP Upgrade handshake it sends
`{"type": "hello", ...}`, then one JSON envelope per event
(`{"envelope_id", "type": "interactive" | "slash_commands" | "events_api", "payload",
"accepts_response_payload"}`), and expects each acknowledged with a text frame
`{"envelope_id": ..., "payload": {...}?}`. It answers pings with pongs and a close with a close.
Client frames are masked, server frames are not.

Usage::

    with FakeSocketMode() as ws:
        slack.socket_mode(ws.url)
        ... start the app ...
        envelope_id = ws.deliver("interactive", payload)
        ack = ws.ack_for(envelope_id)
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
import time
import uuid
from typing import Any

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._changed = threading.Condition()
        self.received: list[dict[str, Any]] = []  # JSON text frames from the app (acks)
        self.handshakes: list[str] = []  # the raw HTTP upgrade requests
        self.connected = threading.Event()
        self.closed = threading.Event()  # a connection ended (the app hung up or was cut off)
        self.sessions = 0  # connections that completed the handshake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket=fake-ticket-1&app_id=A0123ABCD"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    # ---- what tests do -------------------------------------------------------------------------

    def deliver(
        self, kind: str, payload: dict[str, Any], accepts_response_payload: bool = False
    ) -> str:
        """Send one envelope as Slack does; returns its envelope_id."""
        if not self.connected.wait(timeout=10):
            raise AssertionError("the app never connected over Socket Mode")
        envelope_id = str(uuid.uuid4())
        self._send_json(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    def refresh(self) -> None:
        """Slack's periodic `disconnect` (reason refresh_requested): the app must reconnect to a
        URL from a new apps.connections.open."""
        message = {"type": "disconnect", "reason": "refresh_requested"}
        self._send_json({**message, "debug_info": {"host": "applink-fake"}})

    def wait_for_session(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.sessions < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {self.sessions} Socket Mode connection(s), not {n}")
                self._changed.wait(left)

    def ack_for(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of one envelope (fails the test if none comes in time)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.received:
                    if message.get("envelope_id") == envelope_id:
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no ack for envelope {envelope_id}: {self.received}")
                self._changed.wait(left)

    # ---- the server --------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        try:
            if not self._handshake(conn):
                return
            with self._send_lock:
                self._conn = conn
            self._send_json(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": "A0123ABCD"},
                }
            )
            self.connected.set()
            with self._changed:
                self.sessions += 1
                self._changed.notify_all()
            self._read_frames(conn)
        except OSError:
            pass
        finally:
            with self._send_lock:
                if self._conn is conn:
                    self._conn = None
            conn.close()
            self.closed.set()

    def _handshake(self, conn: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                if self._stopping.is_set():
                    return False
                continue
            if not chunk:
                return False
            request += chunk
        text = request.decode("latin-1")
        self.handshakes.append(text)
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in text.split("\r\n")[1:] if ":" in line)
        }
        key = headers.get("sec-websocket-key")
        if headers.get("upgrade", "").lower() != "websocket" or not key:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return False
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        conn.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        return True

    def _read_frames(self, conn: socket.socket) -> None:
        buffer = b""
        while not self._stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            buffer += chunk
            while (frame := _parse_frame(buffer)) is not None:
                opcode, data, used = frame
                buffer = buffer[used:]
                if opcode == TEXT:
                    with self._changed:
                        self.received.append(json.loads(data))
                        self._changed.notify_all()
                elif opcode == PING:
                    self._send(PONG, data)
                elif opcode == CLOSE:
                    self._send(CLOSE, data[:2])
                    return
        self._send(CLOSE, struct.pack("!H", 1001))  # going away: the test is over

    def _send_json(self, message: dict[str, Any]) -> None:
        self._send(TEXT, json.dumps(message).encode())

    def _send(self, opcode: int, data: bytes) -> None:
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 1 << 16:
            header += bytes([126]) + struct.pack("!H", len(data))
        else:
            header += bytes([127]) + struct.pack("!Q", len(data))
        with self._send_lock:
            if self._conn is None:
                raise OSError("no Socket Mode connection to send on")
            self._conn.sendall(header + data)


def _parse_frame(buffer: bytes) -> tuple[int, bytes, int] | None:
    """(opcode, unmasked payload, bytes used) for one complete frame at the buffer's start."""
    if len(buffer) < 2:
        return None
    opcode = buffer[0] & 0x0F
    masked = buffer[1] & 0x80
    length = buffer[1] & 0x7F
    pos = 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length = struct.unpack("!H", buffer[2:4])[0]
        pos = 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length = struct.unpack("!Q", buffer[2:10])[0]
        pos = 10
    mask = b""
    if masked:
        if len(buffer) < pos + 4:
            return None
        mask = buffer[pos : pos + 4]
        pos += 4
    if len(buffer) < pos + length:
        return None
    data = buffer[pos : pos + length]
    if masked:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return opcode, data, pos + length
