"""A Bluesky PDS's XRPC endpoints (bsky.social proxying search to the AppView), in wire format.

- `POST /xrpc/com.atproto.server.createSession` JSON `{"identifier", "password"}` ->
  `{"accessJwt", "refreshJwt", "handle", "did", "email", "emailConfirmed", "active"}`; a wrong
  password is 401 `{"error": "AuthenticationRequired", "message": "Invalid identifier or
  password"}`.
- `POST /xrpc/com.atproto.server.refreshSession` with `Authorization: Bearer <refreshJwt>` ->
  a new pair (the old refresh token is spent); an expired one is 400 `ExpiredToken`.
- `GET /xrpc/app.bsky.feed.searchPosts?q=&sort=latest|top&since=&limit=&cursor=` with
  `Authorization: Bearer <accessJwt>` -> `{"posts": [postView], "cursor"?, "hitsTotal"}`,
  newest `sortAt` first (the earlier of createdAt and indexedAt), `since` inclusive on it, the
  cursor opaque and absent on the last page. No token: 401 `AuthMissing`; an expired one: 400
  `{"error": "ExpiredToken", "message": "Token has expired"}` (the PDS's InvalidRequestError); an
  unknown one: 400 `InvalidToken`. `limit` above 100: 400 `InvalidRequest`.
- Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (epoch
  seconds) and `RateLimit-Policy` (`3000;w=300`), as atproto's xrpc-server sets them; past the
  budget, 429 `{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}`, no
  Retry-After.

Its search is fuzzier than Bluesky's: a post matches when every word of `q` (quotes ignored)
appears in its text or links, so the listener's local check has work to do.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from fakes.server import FakeServer, Request, Response

XRPC = "/xrpc/"
_rkeys = itertools.count(1)


def did_of(handle: str) -> str:
    return "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def post(
    text: str,
    created_at: float,
    *,
    handle: str = "alice.bsky.social",
    indexed_at: float | None = None,
    langs: list[str] | None = None,
    reply_to: str | None = None,
    likes: int = 0,
    reposts: int = 0,
    replies: int = 0,
    links: list[str] | None = None,
    rkey: str | None = None,
) -> dict[str, Any]:
    """An `app.bsky.feed.defs#postView`."""
    did = did_of(handle)
    key = rkey or f"3l{next(_rkeys):011d}"
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": _iso(created_at),
        "langs": langs if langs is not None else ["en"],
    }
    if reply_to:
        ref = {"uri": reply_to, "cid": "bafyreiparent"}
        record["reply"] = {"root": ref, "parent": ref}
    if links:
        record["facets"] = [
            {
                "index": {"byteStart": 0, "byteEnd": 1},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
            }
            for uri in links
        ]
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{key}",
        "cid": "bafyrei" + hashlib.sha256(key.encode()).hexdigest()[:40],
        "author": {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".")[0].title(),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/x@jpeg",
            "labels": [],
            "createdAt": "2023-05-01T00:00:00.000Z",
        },
        "record": record,
        "replyCount": replies,
        "repostCount": reposts,
        "likeCount": likes,
        "quoteCount": 0,
        "indexedAt": _iso(indexed_at if indexed_at is not None else created_at + 1),
        "labels": [],
    }


def _searchable(p: dict[str, Any]) -> str:
    """Text and link facets: the text shows links shortened, the facets keep them whole."""
    links = [f.get("uri", "") for facet in p["record"].get("facets", []) for f in facet["features"]]
    return " ".join([p["record"]["text"], *links]).lower()


def _sort_at(p: dict[str, Any]) -> str:
    return min(p["record"]["createdAt"], p["indexedAt"])


def _error(status: int, name: str, message: str, headers: dict[str, str]) -> Response:
    return Response.json({"error": name, "message": message}, status, headers)


class FakeBluesky:
    """Install on a FakeServer. `posts` is what search can find.

    `script` is consumed one entry per searchPosts request (after auth) before normal service: a
    Response is sent as is, None means "answer normally". `outage` answers every search.
    """

    def __init__(
        self,
        server: FakeServer,
        handle: str = "acme.bsky.social",
        password: str = "abcd-efgh-ijkl-mnop",
    ) -> None:
        self.server = server
        self.handle = handle
        self.password = password
        self.posts: list[dict[str, Any]] = []
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        self.access: dict[str, bool] = {}  # token -> expired?
        self.refresh: dict[str, bool] = {}
        self.limit = 3000
        self.remaining = 3000
        self.reset = int(time.time()) + 300
        server.route("POST", XRPC + "com.atproto.server.createSession", self._create)
        server.route("POST", XRPC + "com.atproto.server.refreshSession", self._refresh)
        server.route("GET", XRPC + "app.bsky.feed.searchPosts", self._search)

    @property
    def base_url(self) -> str:
        return self.server.url

    def calls(self, nsid: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == XRPC + nsid]

    @property
    def searches(self) -> list[Request]:
        return self.calls("app.bsky.feed.searchPosts")

    def expire_access_tokens(self) -> None:
        self.access = dict.fromkeys(self.access, True)

    def expire_refresh_tokens(self) -> None:
        self.refresh = dict.fromkeys(self.refresh, True)

    # -- plumbing

    def _headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(max(self.remaining, 0)),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w=300",
        }

    def _spend(self) -> Response | None:
        self.remaining -= 1
        if self.remaining < 0:
            return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", self._headers())
        return None

    def _session(self) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = False
        self.refresh[refresh] = False
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": self.handle,
            "did": did_of(self.handle),
            "email": "social@acme.example",
            "emailConfirmed": True,
            "active": True,
        }

    def _bearer(self, req: Request) -> str | None:
        auth = req.headers.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    # -- endpoints

    def _create(self, req: Request) -> Response:
        if (limited := self._spend()) is not None:
            return limited
        body = req.json() or {}
        for prop in ("identifier", "password"):
            if not isinstance(body.get(prop), str):
                message = f'Input must have the property "{prop}"'
                return _error(400, "InvalidRequest", message, self._headers())
        if body["identifier"] != self.handle or body["password"] != self.password:
            message = "Invalid identifier or password"
            return _error(401, "AuthenticationRequired", message, self._headers())
        return Response.json(self._session(), headers=self._headers())

    def _refresh(self, req: Request) -> Response:
        if (limited := self._spend()) is not None:
            return limited
        token = self._bearer(req)
        if token is None:
            return _error(401, "AuthMissing", "Authentication Required", self._headers())
        if token not in self.refresh:
            return _error(400, "InvalidToken", "Token could not be verified", self._headers())
        if self.refresh.pop(token):
            return _error(400, "ExpiredToken", "Token has expired", self._headers())
        return Response.json(self._session(), headers=self._headers())

    def _search(self, req: Request) -> Response:
        if (limited := self._spend()) is not None:
            return limited
        token = self._bearer(req)
        if token is None:
            return _error(401, "AuthMissing", "Authentication Required", self._headers())
        if token not in self.access:
            return _error(400, "InvalidToken", "Token could not be verified", self._headers())
        if self.access[token]:
            return _error(400, "ExpiredToken", "Token has expired", self._headers())
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if self.outage is not None:
            return self.outage
        q = req.arg("q")
        if not q:
            message = 'Error: Params must have the property "q"'
            return _error(400, "InvalidRequest", message, self._headers())
        limit = int(req.arg("limit") or 25)
        if not 1 <= limit <= 100:
            message = "Error: limit can not be greater than 100"
            return _error(400, "InvalidRequest", message, self._headers())
        words = re.findall(r"\w+", q.lower())
        since = req.arg("since")
        found = [
            p
            for p in self.posts
            if all(w in _searchable(p) for w in words)
            and (since is None or _sort_at(p) >= _iso(_epoch(since)))
        ]
        found.sort(key=_sort_at, reverse=True)
        start = int(req.arg("cursor") or 0)
        window = found[start : start + limit]
        body: dict[str, Any] = {"posts": window, "hitsTotal": len(found)}
        if start + limit < len(found):
            body["cursor"] = str(start + limit)
        return Response.json(body, headers=self._headers())


def _epoch(value: str) -> float:
    """`since` is a datetime or a bare ISO date."""
    when = datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
