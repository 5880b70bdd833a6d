"""One Mastodon instance's REST API as a local server, in its wire format.

- `GET /api/v1/timelines/tag/:hashtag` with `any[]`, `none[]` (four tags each at most), `limit`
  (default 20, capped at 40), `max_id` / `since_id` / `min_id`. Newest first; with `min_id`,
  the statuses immediately newer than it (still listed newest first). Boosts are not in tag
  timelines. A tag the instance never saw answers `[]`.
- Pagination `Link: <...?limit=N&max_id=OLDEST>; rel="next", <...?limit=N&min_id=NEWEST>;
  rel="prev"` on non-empty pages only, carrying `limit` but not `any[]`/`none[]` (as Mastodon's
  TagController builds them).
- `GET /api/v2/search?q=&type=statuses&limit=&offset=` answers `{"accounts", "statuses",
  "hashtags"}`; statuses only for a signed-in user (anonymous: an empty list), newest id first;
  `offset` without a user token is a 401. Every term of `q` must appear (quotes and '-'
  ignored, so it is fuzzier than Mastodon and the listener's local check has work to do).
- `Authorization: Bearer <token>`: an unknown token is 401 `{"error": "The access token is
  invalid"}`; `public_feeds=False` (public preview disabled) makes anonymous timeline reads 401
  `{"error": "This API requires an authenticated user"}`.
- Every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (an
  ISO 8601 time with microseconds, like Rack::Attack's `iso8601(6)`); past the budget, 429
  `{"error": "Too many requests"}` with no Retry-After.

Status ids are snowflakes of `created_at` (`(ms << 16) + n`), as Mastodon mints them, including
for posts that federate late.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode

from fakes.server import FakeServer, Request, Response

TAG_PATH = "/api/v1/timelines/tag/"
_seq = itertools.count(1)


def snowflake(created_at: float) -> str:
    return str((int(created_at * 1000) << 16) + next(_seq) % 65536)


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def status(
    created_at: float,
    content: str,
    *,
    tags: list[str] | None = None,
    acct: str = "alice",
    domain: str = "mastodon.social",
    instance: str = "mastodon.social",
    language: str | None = "en",
    spoiler_text: str = "",
    followers: int = 10,
    favourites: int = 0,
    reblogs: int = 0,
    replies: int = 0,
    in_reply_to_id: str | None = None,
    status_id: str | None = None,
) -> dict[str, Any]:
    """A Status entity. `acct` is seen from `instance`: remote accounts carry their domain."""
    sid = status_id or snowflake(created_at)
    local = domain == instance
    uri = f"https://{domain}/users/{acct}/statuses/{sid}"
    names = [t.lower() for t in (tags or [])]
    return {
        "id": sid,
        "created_at": _iso(created_at),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": None,
        "sensitive": bool(spoiler_text),
        "spoiler_text": spoiler_text,
        "visibility": "public",
        "language": language,
        "uri": uri,
        "url": f"https://{domain}/@{acct}/{sid}",
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "application": None,
        "account": {
            "id": str(abs(hash(acct)) % 10**9),
            "username": acct,
            "acct": acct if local else f"{acct}@{domain}",
            "display_name": acct.title(),
            "locked": False,
            "bot": False,
            "created_at": "2022-11-01T00:00:00.000Z",
            "note": "",
            "url": f"https://{domain}/@{acct}",
            "avatar": f"https://{domain}/avatars/original/missing.png",
            "followers_count": followers,
            "following_count": 5,
            "statuses_count": 100,
            "emojis": [],
            "fields": [],
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": n, "url": f"https://{instance}/tags/{n}"} for n in names],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def boost(of: dict[str, Any], created_at: float, acct: str = "bob") -> dict[str, Any]:
    """A reblog: its own id and account, empty content, the original under `reblog`."""
    wrapper = status(created_at, "", acct=acct)
    wrapper["reblog"] = of
    return wrapper


def tagged(text: str, *tags: str) -> str:
    """Post HTML as Mastodon renders it, hashtags as links."""
    links = " ".join(
        f'<a href="https://mastodon.social/tags/{t}" class="mention hashtag" rel="tag">'
        f"#<span>{t}</span></a>"
        for t in tags
    )
    return f"<p>{text} {links}</p>" if tags else f"<p>{text}</p>"


def _order(sid: str) -> tuple[int, str]:
    return (len(sid), sid)


class FakeMastodon:
    """Install on a FakeServer. `statuses` is what the instance holds.

    `script` is consumed one entry per API request before normal service: a Response is sent as
    is, None means "answer normally". `outage` answers every request.
    """

    def __init__(self, server: FakeServer, token: str | None = None) -> None:
        self.server = server
        self.token = token
        self.statuses: list[dict[str, Any]] = []
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        self.public_feeds = True
        self.limit = 300
        self.remaining = 300
        self.window = timedelta(minutes=5)
        self.reset_at = datetime.now(UTC) + self.window
        server.route("GET", "/api/v2/search", self._search)

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def domain(self) -> str:
        return self.server.url.split("://", 1)[1]

    def serve_tags(self, *names: str) -> None:
        """Route tag timelines (the fake server routes exact paths)."""
        for name in names:
            self.server.route("GET", TAG_PATH + name, self._timeline)

    def add(self, *items: dict[str, Any]) -> None:
        self.statuses.extend(items)
        for item in items:
            self.serve_tags(*(t["name"] for t in item["tags"]))

    @property
    def timeline_requests(self) -> list[Request]:
        return [r for r in self.server.requests if r.path.startswith(TAG_PATH)]

    @property
    def searches(self) -> list[Request]:
        return [r for r in self.server.requests if r.path == "/api/v2/search"]

    # -- plumbing

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": self.reset_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }

    def _admit(self, req: Request) -> tuple[Response | None, bool]:
        """(an error to send, whether the caller is signed in)."""
        auth = req.headers.get("authorization", "")
        signed_in = False
        if auth:
            if not auth.startswith("Bearer ") or auth[7:] != self.token or not self.token:
                body = {"error": "The access token is invalid"}
                return Response.json(body, 401, self._rate_headers()), False
            signed_in = True
        self.remaining -= 1
        if self.remaining < 0:
            return Response.json({"error": "Too many requests"}, 429, self._rate_headers()), False
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted, signed_in
        if self.outage is not None:
            return self.outage, signed_in
        return None, signed_in

    def _json(self, data: Any, headers: dict[str, str] | None = None) -> Response:
        return Response.json(data, headers={**self._rate_headers(), **(headers or {})})

    # -- endpoints

    def _timeline(self, req: Request) -> Response:
        refused, signed_in = self._admit(req)
        if refused is not None:
            return refused
        if not self.public_feeds and not signed_in:
            body = {"error": "This API requires an authenticated user"}
            return Response.json(body, 401, self._rate_headers())
        tag = unquote(req.path[len(TAG_PATH) :]).lower()
        wanted = {tag, *(t.lower() for t in req.query.get("any[]", [])[:4])}
        unwanted = {t.lower() for t in req.query.get("none[]", [])[:4]}
        limit = min(int(req.arg("limit") or 20), 40)
        found = [
            s
            for s in self.statuses
            if s["reblog"] is None
            and wanted & (names := {t["name"] for t in s["tags"]})
            and not unwanted & names
        ]
        window = _page(found, req, limit)
        headers = {}
        if window:
            base = f"{self.base_url}{req.path}"
            keep = {k: v[0] for k, v in req.query.items() if k in ("limit", "local", "only_media")}
            older = urlencode({**keep, "max_id": window[-1]["id"]})
            newer = urlencode({**keep, "min_id": window[0]["id"]})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return self._json(window, headers)

    def _search(self, req: Request) -> Response:
        refused, signed_in = self._admit(req)
        if refused is not None:
            return refused
        if req.arg("offset") and not signed_in:
            body = {"error": "Search queries pagination is not supported without authentication"}
            return Response.json(body, 401, self._rate_headers())
        words = re.findall(r"\w+", (req.arg("q") or "").lower())
        limit = min(int(req.arg("limit") or 20), 40)
        offset = int(req.arg("offset") or 0)
        found = []
        if signed_in and req.arg("type") in (None, "statuses"):
            found = [
                s
                for s in self.statuses
                if s["reblog"] is None and all(w in s["content"].lower() for w in words)
            ]
        found.sort(key=lambda s: _order(s["id"]), reverse=True)
        return self._json(
            {"accounts": [], "statuses": found[offset : offset + limit], "hashtags": []}
        )


def _page(found: list[dict[str, Any]], req: Request, limit: int) -> list[dict[str, Any]]:
    """Mastodon's paginate_by_id: max_id/since_id bound from the top, min_id pages upward."""
    max_id, since_id, min_id = req.arg("max_id"), req.arg("since_id"), req.arg("min_id")
    items = sorted(found, key=lambda s: _order(s["id"]))
    if max_id:
        items = [s for s in items if _order(s["id"]) < _order(max_id)]
    if since_id:
        items = [s for s in items if _order(s["id"]) > _order(since_id)]
    if min_id:
        items = [s for s in items if _order(s["id"]) > _order(min_id)]
        return list(reversed(items[:limit]))
    return list(reversed(items[-limit:]))
