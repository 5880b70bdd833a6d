"""A webhook receiver on FakeServer that checks listenpost's signature the way a customer would.

It recomputes HMAC-SHA256 over b"v1:{X-Listenpost-Timestamp}:" + the raw body with its own
code (not alerts.webhook's), compares in constant time and refuses a timestamp more than five
minutes from its clock: 401 for a bad or missing signature, 400 for a stale timestamp, so a
test passes only if the sender signs exactly as documented.

Usage::

    with FakeWebhook(secret="s3cret") as hook:
        hook.fail_next(500)                    # scripted answers, then 204s
        ...
        assert hook.accepted[0]["mention"]["id"] == 7
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from typing import Any

from fakes.server import FakeServer, Request, Response

PATH = "/hooks/listenpost"


class FakeWebhook:
    def __init__(self, secret: str, clock: float | None = None) -> None:
        self.secret = secret
        self.clock = clock  # the receiver's "now" (Unix seconds); None: the real clock
        self.server = FakeServer()
        self.accepted: list[dict[str, Any]] = []  # parsed bodies that passed every check
        self.attempts: list[Request] = []  # every request, signed right or not
        self.rejected: list[str] = []  # why each refused request was refused
        self._script: list[Response] = []
        self._lock = threading.Lock()
        self.server.route("POST", PATH, self._receive)

    @property
    def url(self) -> str:
        return self.server.url + PATH

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        """The next request (that passes the checks) gets `status` instead of 204."""
        with self._lock:
            self._script.append(Response(status, {"error": f"scripted {status}"}, headers or {}))

    def _receive(self, req: Request) -> Response:
        with self._lock:
            self.attempts.append(req)
        stamp = req.headers.get("x-listenpost-timestamp", "")
        given = req.headers.get("x-listenpost-signature", "")
        if not re.fullmatch(r"[0-9]{1,12}", stamp):  # ASCII only: "²".isdigit() is True
            return self._reject("missing or malformed X-Listenpost-Timestamp", 400)
        now = time.time() if self.clock is None else self.clock
        if abs(now - int(stamp)) > 300:
            return self._reject("timestamp more than 5 minutes away", 400)
        expected = (
            "v1="
            + hmac.new(
                self.secret.encode(), b"v1:" + stamp.encode() + b":" + req.body, hashlib.sha256
            ).hexdigest()
        )
        if not hmac.compare_digest(expected, given):
            return self._reject("bad signature", 401)
        if req.headers.get("content-type", "").split(";")[0] != "application/json":
            return self._reject("not JSON", 415)
        with self._lock:
            if self._script:
                return self._script.pop(0)
            self.accepted.append(json.loads(req.body))
        return Response(204)

    def _reject(self, why: str, status: int) -> Response:
        with self._lock:
            self.rejected.append(why)
        return Response.json({"error": why}, status=status)

    def __enter__(self) -> FakeWebhook:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
