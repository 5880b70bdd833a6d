"""A fake Zendesk Support API (Tickets) on FakeServer, answering as Zendesk documents it.

- `POST /api/v2/tickets.json` with `{"ticket": {...}}`: 201 Created, a `Location` header and
  `{"ticket": {"id", "url", "subject", "priority", "tags", "external_id", "status": "new", ...}}`.
- Basic auth with an API token: "{email}/token:{token}"; anything else is 401
  `{"error": "Couldn't authenticate you"}`.
- `Idempotency-Key`: a repeat with the same key and body returns the first ticket (201) with
  `x-idempotency-lookup: hit` (first time: `miss`); the same key with another body is 400
  `IdempotentRequestError`.
- 422 `{"error": "RecordInvalid", "description": "Record validation errors", "details": {...}}`
  for a ticket without a comment body or with an unknown priority.
- Scripted 429 with `Retry-After` (seconds), or 5xx, via `fail_next`.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from fakes.server import FakeServer, Request, Response

EMAIL = "agent@example.com"
TOKEN = "zd-token-0123456789abcdef"
PRIORITIES = ("urgent", "high", "normal", "low")


class FakeZendesk:
    def __init__(self, email: str = EMAIL, token: str = TOKEN) -> None:
        self.email, self.token = email, token
        self.server = FakeServer()
        self.tickets: list[dict[str, Any]] = []  # created tickets, as stored
        self.attempts: list[Request] = []
        self._keys: dict[str, tuple[bytes, dict[str, Any]]] = {}
        self._script: list[Response] = []
        self._lock = threading.Lock()
        self.server.route("POST", "/api/v2/tickets.json", self._create)

    @property
    def base_url(self) -> str:
        return self.server.url

    def fail_next(self, status: int, retry_after: int | None = None) -> None:
        """The next request gets `status`: 429 (with Retry-After) and 5xx as text/plain, the
        way Zendesk's edge answers them; 422 as a RecordInvalid JSON body."""
        if status == 422:
            response = Response.json(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"requester": [{"description": "Requester: is suspended"}]},
                },
                status=422,
            )
        else:
            headers = {"Content-Type": "text/plain"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            text = "Rate limit for ticket creation exceeded" if status == 429 else "Server error"
            response = Response(status, text, headers)
        with self._lock:
            self._script.append(response)

    def _authorised(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == f"{self.email}/token" and password == self.token

    def _create(self, req: Request) -> Response:
        with self._lock:
            self.attempts.append(req)
            if self._script:
                return self._script.pop(0)
        if not self._authorised(req):
            return Response.json({"error": "Couldn't authenticate you"}, status=401)
        try:
            data = json.loads(req.body)["ticket"]
        except (ValueError, KeyError, TypeError):
            return Response.json(
                {"error": "InvalidEndpoint", "description": "Not found"}, status=400
            )
        problems: dict[str, list[dict[str, str]]] = {}
        if not (data.get("comment") or {}).get("body"):
            problems["description"] = [{"description": "Description: cannot be blank"}]
        if data.get("priority") not in (None, *PRIORITIES):
            problems["priority"] = [{"description": f"Priority: {data['priority']} is invalid"}]
        if problems:
            return Response.json(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": problems,
                },
                status=422,
            )
        key = req.headers.get("idempotency-key")
        with self._lock:
            if key and key in self._keys:
                body, stored = self._keys[key]
                if body != req.body:
                    return Response.json(
                        {
                            "error": "IdempotentRequestError",
                            "description": "Request parameters do not match the original request",
                        },
                        status=400,
                    )
                return self._created(stored, "hit")
            ticket_id = len(self.tickets) + 1
            stored = {
                "id": ticket_id,
                "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
                "status": "new",
                **data,
            }
            self.tickets.append(stored)
            if key:
                self._keys[key] = (req.body, stored)
        return self._created(stored, "miss")

    def _created(self, stored: dict[str, Any], lookup: str) -> Response:
        return Response.json(
            {"ticket": stored},
            status=201,
            headers={"Location": stored["url"], "x-idempotency-lookup": lookup},
        )

    def __enter__(self) -> FakeZendesk:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
