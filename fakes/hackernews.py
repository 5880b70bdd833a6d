"""The Hacker News Search API (hn.algolia.com/api/v1) as a local server, in its wire format.

`GET /api/v1/search_by_date` with `query`, `tags` ("story", "(story,comment)"), `numericFilters`
("created_at_i>=N", comma-separated), `page` (0-based) and `hitsPerPage`; newest first; the
response carries `hits` (objectID, created_at_i, author, title, url, story_text, comment_text,
story_id, parent_id, points, num_comments, _tags, _highlightResult...), `nbHits`, `page`,
`nbPages`, `hitsPerPage`. Like Algolia with advancedSyntax off, quotes and '-' are ignored and
every word only has to appear somewhere (prefix/typo tolerance makes the real one fuzzy too), so
tests see results that the listener's local check must reject.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fakes.server import FakeServer, Request, Response

PAGINATION_LIMIT = 1000  # Algolia's paginationLimitedTo on the HN index


def _iso(created_at_i: int) -> str:
    return datetime.fromtimestamp(created_at_i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def story(
    object_id: int,
    created_at_i: int,
    title: str,
    *,
    author: str = "pg",
    url: str | None = None,
    story_text: str | None = None,
    points: int = 1,
    num_comments: int = 0,
) -> dict[str, Any]:
    return {
        "created_at": _iso(created_at_i),
        "created_at_i": created_at_i,
        "updated_at": _iso(created_at_i),
        "author": author,
        "title": title,
        "url": url,
        "story_text": story_text,
        "points": points,
        "num_comments": num_comments,
        "story_id": object_id,
        "children": [],
        "objectID": str(object_id),
        "_tags": ["story", f"author_{author}", f"story_{object_id}"],
    }


def comment(
    object_id: int,
    created_at_i: int,
    comment_text: str,
    *,
    author: str = "dang",
    story_id: int = 1,
    parent_id: int | None = None,
    story_title: str = "Some story",
) -> dict[str, Any]:
    return {
        "created_at": _iso(created_at_i),
        "created_at_i": created_at_i,
        "updated_at": _iso(created_at_i),
        "author": author,
        "comment_text": comment_text,
        "story_id": story_id,
        "story_title": story_title,
        "story_url": None,
        "parent_id": parent_id if parent_id is not None else story_id,
        "points": None,
        "children": [],
        "objectID": str(object_id),
        "_tags": ["comment", f"author_{author}", f"story_{story_id}"],
    }


class FakeHackerNews:
    """Install on a FakeServer; `items` is the index.

    `script` is consumed one entry per request before normal service: a Response is sent as is
    (an error to inject), None means "answer normally". `outage` answers every request.
    """

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.items: list[dict[str, Any]] = []
        self.script: list[Response | None] = []
        self.outage: Response | None = None
        server.route("GET", "/api/v1/search_by_date", self._search_by_date)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/api/v1"

    @property
    def searches(self) -> list[Request]:
        return [r for r in self.server.requests if r.path == "/api/v1/search_by_date"]

    def _search_by_date(self, req: Request) -> Response:
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            return scripted
        if self.outage is not None:
            return self.outage
        started = time.perf_counter()
        query = req.arg("query", "") or ""
        tags = req.arg("tags", "") or ""
        numeric = req.arg("numericFilters", "") or ""
        try:
            per_page = int(req.arg("hitsPerPage", "20") or 20)
            page = int(req.arg("page", "0") or 0)
        except ValueError:
            return Response.json({"message": "invalid integer", "status": 400}, 400)
        if not 0 <= per_page <= 1000:
            return Response.json(
                {"message": "hitsPerPage must be between 0 and 1000", "status": 400}, 400
            )
        hits = [
            h
            for h in self.items
            if _words_match(query, h) and _tags_match(tags, h) and _numeric_match(numeric, h)
        ]
        hits.sort(key=lambda h: h["created_at_i"], reverse=True)
        nb_hits = len(hits)  # the true count; pages stop at the pagination limit
        hits = hits[:PAGINATION_LIMIT]
        nb_pages = math.ceil(len(hits) / per_page) if per_page else 0
        window = hits[page * per_page : (page + 1) * per_page]
        params = {k: v[0] for k, v in req.query.items()}
        return Response.json(
            {
                "hits": [{**h, "_highlightResult": _highlight(h)} for h in window],
                "nbHits": nb_hits,
                "page": page,
                "nbPages": nb_pages,
                "hitsPerPage": per_page,
                "exhaustiveNbHits": True,
                "exhaustiveTypo": True,
                "exhaustive": {"nbHits": True, "typo": True},
                "query": query,
                "params": urlencode(params),
                "processingTimeMS": int((time.perf_counter() - started) * 1000),
                "serverTimeMS": 1,
            }
        )


def _searchable(hit: dict[str, Any]) -> str:
    fields = ("title", "story_text", "comment_text", "url", "author")
    return " ".join(str(hit.get(f) or "") for f in fields).lower()


def _words_match(query: str, hit: dict[str, Any]) -> bool:
    text = _searchable(hit)
    return all(word in text for word in re.findall(r"\w+", query.lower()))


def _tags_match(tags: str, hit: dict[str, Any]) -> bool:
    own = set(hit["_tags"])
    for part in re.findall(r"\([^)]*\)|[^,]+", tags):
        options = part.strip("()").split(",")
        if not own.intersection(o.strip() for o in options if o.strip()):
            return False
    return True


_OPS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def _numeric_match(filters: str, hit: dict[str, Any]) -> bool:
    for condition in filter(None, (f.strip() for f in filters.split(","))):
        m = re.fullmatch(r"(\w+)(>=|<=|>|<|=)(-?\d+)", condition)
        if m is None:
            return False
        value = hit.get(m.group(1))
        if value is None or not _OPS[m.group(2)](value, int(m.group(3))):
            return False
    return True


def _highlight(hit: dict[str, Any]) -> dict[str, Any]:
    return {
        field: {"value": hit[field], "matchLevel": "none", "matchedWords": []}
        for field in ("title", "author", "comment_text", "story_text")
        if hit.get(field)
    }
