"""Reddit's search API as a local server, in its wire format.

- Public JSON: `GET /search.json` and `GET /r/<a+b>/search.json` (with `restrict_sr=on`).
- OAuth app-only: `POST /api/v1/access_token` (HTTP Basic client_id:client_secret, form
  `grant_type=client_credentials`) answers `{"access_token", "token_type": "bearer",
  "expires_in", "scope"}`; then `GET /search` and `/r/<a+b>/search` with
  `Authorization: bearer <token>` (401 `{"message": "Unauthorized", "error": 401}` otherwise).
- Params `q`, `sort=new`, `limit` (max 100), `after` (a fullname), `type=link`, `raw_json`.
- A `Listing`: `{"kind": "Listing", "data": {"after", "before", "dist", "modhash",
  "geo_filter", "children": [{"kind": "t3", "data": {id, name, title, selftext, author,
  permalink, created_utc, subreddit, score, num_comments, url, ...}}]}}`.
- `echo_credentials`: the token endpoint refuses (401) with a body that echoes what it was sent,
  as some proxies and misconfigured gateways do: the Basic pair decoded, the header as sent, and
  the secret URL-encoded.
- Every answer carries `X-Ratelimit-Used`, `X-Ratelimit-Remaining` and `X-Ratelimit-Reset`
  (seconds to the end of the window); past the budget, or with a generic User-Agent, a 429.

Its search is deliberately fuzzier than Reddit's: a post matches when *any* word of `q` (outside
AND/OR/NOT) appears in it, so the listener's local check is what keeps results precise.
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any
from urllib.parse import quote_plus

from fakes.server import FakeServer, Request, Response

_OPERATORS = {"and", "or", "not"}
_GENERIC_AGENTS = ("python-requests", "python-httpx", "python-urllib", "curl/")


def post(
    id36: str,
    created_utc: float,
    title: str,
    *,
    selftext: str = "",
    author: str = "spez",
    subreddit: str = "technology",
    score: int = 1,
    num_comments: int = 0,
    url: str | None = None,
    crosspost_of: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `t3` as Reddit lists it; `crosspost_of` (another post()) makes it a cross-post, which
    Reddit marks with `crosspost_parent` and carries the parent in `crosspost_parent_list`."""
    slug = re.sub(r"\W+", "_", title.lower()).strip("_")[:50]
    permalink = f"/r/{subreddit}/comments/{id36}/{slug}/"
    return {
        "id": id36,
        "name": f"t3_{id36}",
        "title": title,
        "selftext": selftext,
        "selftext_html": None,
        "author": author,
        "author_fullname": f"t2_{author}",
        "subreddit": subreddit,
        "subreddit_name_prefixed": f"r/{subreddit}",
        "subreddit_id": "t5_2qh16",
        "permalink": permalink,
        "url": url or f"https://www.reddit.com{permalink}",
        "is_self": url is None,
        "domain": f"self.{subreddit}" if url is None else url.split("/")[2],
        "created": created_utc,
        "created_utc": created_utc,
        "score": score,
        "ups": score,
        "upvote_ratio": 1.0,
        "num_comments": num_comments,
        "over_18": False,
        "stickied": False,
        "link_flair_text": None,
        **(
            {
                "crosspost_parent": crosspost_of["name"],
                "crosspost_parent_list": [crosspost_of],
                "url": crosspost_of["permalink"],
                "is_self": False,
            }
            if crosspost_of
            else {}
        ),
    }


class FakeReddit:
    """Install on a FakeServer. `posts` is what Reddit holds; `remaining` the request budget.

    `script` is consumed one entry per search request before normal service: a Response is sent
    as is, None means "answer normally". `outage` answers every search request.
    """

    def __init__(
        self, server: FakeServer, client_id: str = "app-id", client_secret: str = "app-secret"
    ) -> None:
        self.server = server
        self.client_id = client_id
        self.client_secret = client_secret
        self.posts: list[dict[str, Any]] = []
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        self.remaining = 100.0
        self.used = 0
        self.reset_seconds = 300
        self.tokens: set[str] = set()
        self.echo_credentials = False
        server.route("POST", "/api/v1/access_token", self._access_token)
        self.serve_subreddits()

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def searches(self) -> list[Request]:
        return [r for r in self.server.requests if r.path.endswith(("/search", "/search.json"))]

    def serve_subreddits(self, *names: str) -> None:
        """Route `/r/a+b/search[.json]` (no names: the site-wide `/search[.json]`)."""
        prefix = f"/r/{'+'.join(names)}" if names else ""
        self.server.route("GET", f"{prefix}/search.json", lambda r: self._search(r, names, False))
        self.server.route("GET", f"{prefix}/search", lambda r: self._search(r, names, True))

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-Ratelimit-Used": str(self.used),
            "X-Ratelimit-Remaining": f"{max(self.remaining, 0):.1f}",
            "X-Ratelimit-Reset": str(self.reset_seconds),
        }

    def _access_token(self, req: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if self.echo_credentials:
            header = req.headers.get("authorization", "")
            sent = base64.b64decode(header.removeprefix("Basic ") or "").decode(errors="replace")
            secret = sent.partition(":")[2]
            message = f"bad client basic={sent} ({header}) client_secret={quote_plus(secret)}"
            return Response.json({"error": "invalid_client", "message": message}, 401)
        if req.headers.get("authorization") != f"Basic {expected}":
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        if req.form().get("grant_type") != ["client_credentials"]:
            return Response.json({"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return Response.json(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def _search(self, req: Request, subreddits: tuple[str, ...], oauth: bool) -> Response:
        agent = req.headers.get("user-agent", "").lower()
        if not agent or agent.startswith(_GENERIC_AGENTS):
            return Response.json({"message": "Too Many Requests", "error": 429}, 429)
        if oauth:
            auth = req.headers.get("authorization", "")
            if not auth.lower().startswith("bearer ") or auth[7:] not in self.tokens:
                return Response.json(
                    {"message": "Unauthorized", "error": 401},
                    401,
                    {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
                )
        self.used += 1
        self.remaining -= 1
        if self.remaining < 0:
            body = {"message": "Too Many Requests", "error": 429}
            return Response.json(body, 429, self._rate_headers())
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if self.outage is not None:
            return self.outage
        return Response.json(self._listing(req, subreddits), headers=self._rate_headers())

    def _listing(self, req: Request, subreddits: tuple[str, ...]) -> dict[str, Any]:
        words = {w for w in re.findall(r"\w+", (req.arg("q") or "").lower())} - _OPERATORS
        restrict = req.arg("restrict_sr") in ("on", "1", "true") and subreddits
        wanted = {s.lower() for s in subreddits}
        found = [
            p
            for p in self.posts
            if any(w in f"{p['title']} {p['selftext']}".lower() for w in words)
            and (not restrict or p["subreddit"].lower() in wanted)
        ]
        found.sort(key=lambda p: p["created_utc"], reverse=True)
        limit = min(int(req.arg("limit") or 25), 100)
        start = 0
        if after := req.arg("after"):
            names = [p["name"] for p in found]
            start = names.index(after) + 1 if after in names else len(found)
        window = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "kind": "Listing",
            "data": {
                "after": window[-1]["name"] if window and more else None,
                "dist": len(window),
                "modhash": "",
                "geo_filter": "",
                "children": [{"kind": "t3", "data": p} for p in window],
                "before": None,
            },
        }
