"""Reddit's `/r/<sub>/new` and `/r/<sub>/comments` listings as a local server, in its format.

Installed beside `FakeReddit` (whose `/api/v1/access_token` issues the tokens): public JSON at
`/r/all/new.json` and `/r/all/comments.json`, OAuth at `/r/all/new` and `/r/all/comments`
(`Authorization: bearer <token>`, else 401). Newest first; `limit` (max 100); `after=<fullname>`
pages to older items, `before=<fullname>` answers the `limit` items just newer than it (none
when that item was removed: `remove(name)`). Every answer carries the `X-Ratelimit-*` headers
of `FakeReddit`'s budget.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from fakes.reddit import FakeReddit, post
from fakes.server import FakeServer, Request, Response

_ids = itertools.count(1_000_000)


def comment(
    id36: str,
    created_utc: float,
    body: str,
    *,
    author: str = "kn0thing",
    link: str = "t3_abc",
    subreddit: str = "technology",
) -> dict[str, Any]:
    return {
        "id": id36,
        "name": f"t1_{id36}",
        "body": body,
        "author": author,
        "created_utc": created_utc,
        "subreddit": subreddit,
        "link_id": link,
        "parent_id": link,
        "link_title": "A thread",
        "permalink": f"/r/{subreddit}/comments/{link[3:]}/a_thread/{id36}/",
        "score": 1,
    }


class FakeRedditListings:
    def __init__(self, server: FakeServer, reddit: FakeReddit) -> None:
        self.server = server
        self.reddit = reddit
        self.items: dict[str, list[dict[str, Any]]] = {"new": [], "comments": []}
        self.removed: set[str] = set()
        self.emitted: dict[str, float] = {}
        for kind in self.items:
            for sub in ("all",):
                server.route("GET", f"/r/{sub}/{kind}.json", self._handler(kind, False))
                server.route("GET", f"/r/{sub}/{kind}", self._handler(kind, True))

    def serve(self, *subreddits: str) -> None:
        path = "+".join(subreddits)
        for kind in self.items:
            self.server.route("GET", f"/r/{path}/{kind}.json", self._handler(kind, False))
            self.server.route("GET", f"/r/{path}/{kind}", self._handler(kind, True))

    def post(self, title: str, selftext: str = "", subreddit: str = "technology") -> str:
        id36 = _base36(next(_ids))
        item = post(id36, time.time(), title, selftext=selftext, subreddit=subreddit)
        self.items["new"].append(item)
        self.emitted[item["name"]] = time.perf_counter()
        return item["name"]

    def comment(self, body: str, subreddit: str = "technology") -> str:
        id36 = _base36(next(_ids))
        item = comment(id36, time.time(), body, subreddit=subreddit)
        self.items["comments"].append(item)
        self.emitted[item["name"]] = time.perf_counter()
        return item["name"]

    def remove(self, name: str) -> None:
        self.removed.add(name)

    @property
    def reads(self) -> list[Request]:
        return [r for r in self.server.requests if re.search(r"/(new|comments)(\.json)?$", r.path)]

    def _handler(self, kind: str, oauth: bool):
        def handle(req: Request) -> Response:
            if oauth:
                auth = req.headers.get("authorization", "")
                if not auth.lower().startswith("bearer ") or auth[7:] not in self.reddit.tokens:
                    return Response.json({"message": "Unauthorized", "error": 401}, 401)
            self.reddit.used += 1
            self.reddit.remaining -= 1
            headers = self.reddit._rate_headers()
            if self.reddit.remaining < 0:
                return Response.json({"message": "Too Many Requests", "error": 429}, 429, headers)
            scripted = self.reddit.script.pop(0) if self.reddit.script else None
            if scripted is not None:
                return scripted
            wanted = req.path.split("/")[2].lower().split("+")
            items = [
                i
                for i in self.items[kind]
                if i["name"] not in self.removed
                and ("all" in wanted or i["subreddit"].lower() in wanted)
            ]
            names = [i["name"] for i in items]
            limit = min(int(req.arg("limit") or 25), 100)
            if before := req.arg("before"):
                at = names.index(before) if before in names else None
                window = [] if at is None else items[at + 1 : at + 1 + limit][::-1]
            else:
                newest_first = items[::-1]
                start = 0
                if after := req.arg("after"):
                    order = names[::-1]
                    start = order.index(after) + 1 if after in order else len(order)
                window = newest_first[start : start + limit]
            thing = "t3" if kind == "new" else "t1"
            body = {
                "kind": "Listing",
                "data": {
                    "after": window[-1]["name"] if window else None,
                    "before": window[0]["name"] if window else None,
                    "dist": len(window),
                    "modhash": "",
                    "children": [{"kind": thing, "data": i} for i in window],
                },
            }
            return Response.json(body, headers=headers)

        return handle


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"
