"""The official Hacker News API (hacker-news.firebaseio.com/v0) as a local server, in its format.

- `GET /v0/maxitem.json`: the newest id, a bare JSON number.
- `GET /v0/item/<id>.json`: the item (`id`, `type`, `by`, `time`, `text` as HTML, `title`,
  `url`, `parent`, `kids`, `score`, `descendants`; `deleted` / `dead` flags), or `null` for an
  id past maxitem or not yet visible (`hide(id)`, as Firebase does for a moment after an id is
  taken).
- `GET /v0/updates.json`: `{"items": [...], "profiles": [...]}`.
- `fail(id, times)`: the next `times` reads of that item answer HTTP 500.

Ids are dense: `story()` / `comment()` take the next id.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

from fakes.server import FakeServer, Request, Response

_ITEM = re.compile(r"/v0/item/(\d+)\.json")


class FakeHackerNewsFirebase:
    def __init__(self, server: FakeServer, start: int = 40_000_000) -> None:
        self.server = server
        self.items: dict[int, dict[str, Any]] = {}
        self.max_id = start
        self.hidden: set[int] = set()
        self.updates: list[int] = []
        self.failures: dict[int, int] = {}
        self.emitted: dict[int, float] = {}
        self._lock = threading.Lock()
        server.route("GET", "/v0/maxitem.json", lambda req: Response.json(self.max_id))
        server.route(
            "GET",
            "/v0/updates.json",
            lambda req: Response.json({"items": list(self.updates), "profiles": []}),
        )

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def item_reads(self) -> list[int]:
        return [int(m[1]) for r in self.server.requests if (m := _ITEM.fullmatch(r.path))]

    def _add(self, item: dict[str, Any]) -> int:
        with self._lock:
            self.max_id += 1
            item["id"] = self.max_id
            self.items[self.max_id] = item
            self.emitted[self.max_id] = time.perf_counter()
            self.server.route("GET", f"/v0/item/{self.max_id}.json", self._item)
            return self.max_id

    def story(
        self, title: str, *, by: str = "pg", text: str | None = None, url: str | None = None
    ) -> int:
        item = {
            "type": "story",
            "by": by,
            "time": int(time.time()),
            "title": title,
            "score": 1,
            "descendants": 0,
            "kids": [],
        }
        if text is not None:
            item["text"] = text
        if url is not None:
            item["url"] = url
        return self._add(item)

    def comment(self, text: str, *, parent: int | None = None, by: str = "dang") -> int:
        return self._add(
            {
                "type": "comment",
                "by": by,
                "time": int(time.time()),
                "text": text,
                "parent": parent or self.max_id,
                "kids": [],
            }
        )

    def deleted(self) -> int:
        return self._add(
            {"type": "comment", "deleted": True, "time": int(time.time()), "parent": self.max_id}
        )

    def edit(self, item_id: int, text: str) -> None:
        self.items[item_id]["text"] = text
        self.updates.insert(0, item_id)

    def hide(self, item_id: int) -> None:
        self.hidden.add(item_id)

    def show(self, item_id: int) -> None:
        self.hidden.discard(item_id)

    def fail(self, item_id: int, times: int = 1) -> None:
        self.failures[item_id] = times

    def _item(self, req: Request) -> Response:
        item_id = int(_ITEM.fullmatch(req.path)[1])  # type: ignore[index]
        with self._lock:
            if self.failures.get(item_id):
                self.failures[item_id] -= 1
                return Response.json({"error": "internal"}, 500)
            if item_id in self.hidden or item_id not in self.items:
                return Response.json(None)
            return Response.json(self.items[item_id])
