"""The Stack Exchange API 2.3 (api.stackexchange.com) as a local server, in its wire format.

- `GET /2.3/search/advanced` with `site` (required), `q` (matches titles, bodies and tags),
  `title`, `body`, `fromdate`/`todate` (unix seconds, inclusive), `sort=creation`,
  `order=desc|asc`, `page` (1-based), `pagesize` (0-100, default 30), `filter` (`withbody`
  adds `body`; the default filter has none) and `key`. `GET /2.3/info?site=` for `check`.
- Every answer is the common wrapper object: `items`, `has_more`, `quota_max`,
  `quota_remaining`, plus `backoff` when `backoff` is set here; every body is gzip-compressed
  (`Content-Encoding: gzip`), as the real API always compresses.
- Errors are HTTP 400 with `{"error_id", "error_name", "error_message"}`: an unknown site or a
  wrong key is `bad_parameter` (400) naming the parameter; a page past 25 without a key is
  `access_denied` (403); calling again before a backoff has passed, or after the day's quota
  (300 requests without a key, 10,000 with one) is spent, is `throttle_violation` (502), the
  latter with "more requests available in N seconds".

Like the real search, words only have to appear somewhere (case-insensitive); quotes and '-'
are not operators here, so tests see results that the listener's local check must reject.
Titles, bodies and display names are HTML-encoded, as the API returns them.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import re
import time
from typing import Any

from fakes.server import FakeServer, Request, Response

KEY = "abc123Key(("
ANONYMOUS_QUOTA = 300
KEY_QUOTA = 10_000
MAX_PAGE_WITHOUT_KEY = 25
SECONDS_TO_QUOTA_RESET = 36_000
SITE_URLS = {
    "stackoverflow": "https://stackoverflow.com",
    "superuser": "https://superuser.com",
    "serverfault": "https://serverfault.com",
}


def question(
    question_id: int,
    creation_date: int,
    title: str,
    body: str = "<p>See title.</p>",
    *,
    tags: list[str] | None = None,
    owner: str | None = "Jon Skeet",
    reputation: int = 1_500_000,
    score: int = 3,
    answer_count: int = 1,
    view_count: int = 40,
    site: str = "stackoverflow",
) -> dict[str, Any]:
    """A question as the API sends it; `title`/`body`/`owner` are plain text, encoded here."""
    base = SITE_URLS[site]
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    data: dict[str, Any] = {
        "tags": tags or ["python"],
        "owner": (
            {
                "account_id": 11683,
                "reputation": reputation,
                "user_id": 22656,
                "user_type": "registered",
                "profile_image": "https://i.sstatic.net/abc.jpg",
                "display_name": html.escape(owner),
                "link": f"{base}/users/22656/jon-skeet",
            }
            if owner is not None
            else {"user_type": "does_not_exist", "display_name": "user123"}
        ),
        "is_answered": answer_count > 0,
        "view_count": view_count,
        "answer_count": answer_count,
        "score": score,
        "last_activity_date": creation_date,
        "creation_date": creation_date,
        "question_id": question_id,
        "content_license": "CC BY-SA 4.0",
        "link": f"{base}/questions/{question_id}/{slug}",
        "title": html.escape(title),
        "body": body,
    }
    return data


def gzipped(data: Any, status: int = 200) -> Response:
    """A JSON body compressed the way the API always sends it."""
    payload = gzip.compress(json.dumps(data).encode())
    headers = {"Content-Type": "application/json; charset=utf-8", "Content-Encoding": "gzip"}
    return Response(status, payload, headers)


def api_error(error_id: int, name: str, message: str, backoff: int | None = None) -> Response:
    body: dict[str, Any] = {"error_id": error_id, "error_message": message, "error_name": name}
    if backoff is not None:
        body["backoff"] = backoff
    return gzipped(body, 400)


class FakeStackExchange:
    """Install on a FakeServer; `questions[site]` is each site's index.

    `script` is consumed one entry per request before normal service (a Response to inject,
    None to answer normally). `backoff` adds that field to every normal answer and then refuses
    calls that come back too early, as the real API does.
    """

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.questions: dict[str, list[dict[str, Any]]] = {s: [] for s in SITE_URLS}
        self.script: list[Response | None] = []
        self.backoff: int | None = None
        self.quota_remaining: dict[bool, int] = {False: ANONYMOUS_QUOTA, True: KEY_QUOTA}
        self._backoff_until = 0.0
        server.route("GET", "/2.3/search/advanced", self._search)
        server.route("GET", "/2.3/info", self._info)

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def searches(self) -> list[Request]:
        return [r for r in self.server.requests if r.path == "/2.3/search/advanced"]

    def _search(self, req: Request) -> Response:
        refused = self._admit(req)
        if refused is not None:
            return refused
        site = req.arg("site") or ""
        if site not in self.questions:
            return api_error(400, "bad_parameter", f"No site found for name `{site}`")
        try:
            page = int(req.arg("page", "1") or 1)
            pagesize = int(req.arg("pagesize", "30") or 30)
            fromdate = int(req.arg("fromdate", "0") or 0)
            todate = int(req.arg("todate", str(2**40)) or 2**40)
        except ValueError:
            return api_error(400, "bad_parameter", "page")
        if not 0 <= pagesize <= 100:
            return api_error(400, "bad_parameter", "pagesize")
        if page > MAX_PAGE_WITHOUT_KEY and not req.arg("key"):
            return api_error(403, "access_denied", "page above 25 requires access token or app key")
        found = [
            q
            for q in self.questions[site]
            if fromdate <= q["creation_date"] <= todate and _matches(req, q)
        ]
        found.sort(key=lambda q: q["creation_date"], reverse=req.arg("order", "desc") == "desc")
        window = found[(page - 1) * pagesize : page * pagesize]
        with_body = req.arg("filter") == "withbody"
        items = [q if with_body else {k: v for k, v in q.items() if k != "body"} for q in window]
        pages = math.ceil(len(found) / pagesize) if pagesize else 0
        return self._wrapper(req, {"items": items, "has_more": page < pages})

    def _info(self, req: Request) -> Response:
        refused = self._admit(req)
        if refused is not None:
            return refused
        site = req.arg("site") or ""
        if site not in self.questions:
            return api_error(400, "bad_parameter", f"No site found for name `{site}`")
        info = {"total_questions": len(self.questions[site]), "api_revision": "2024.1.1.1"}
        return self._wrapper(req, {"items": [info], "has_more": False})

    def _admit(self, req: Request) -> Response | None:
        """The checks the API makes before a method runs: injected errors, key, throttles."""
        if self.script:
            scripted = self.script.pop(0)
            if scripted is not None:
                return scripted
        key = req.arg("key")
        if key is not None and key != KEY:
            return api_error(400, "bad_parameter", "key")
        if time.time() < self._backoff_until:
            return api_error(502, "throttle_violation", "Violation of backoff parameter")
        keyed = key is not None
        if self.quota_remaining[keyed] <= 0:
            return api_error(
                502,
                "throttle_violation",
                "too many requests from this IP, more requests available in "
                f"{SECONDS_TO_QUOTA_RESET} seconds",
            )
        self.quota_remaining[keyed] -= 1
        return None

    def _wrapper(self, req: Request, body: dict[str, Any]) -> Response:
        keyed = req.arg("key") is not None
        body["quota_max"] = KEY_QUOTA if keyed else ANONYMOUS_QUOTA
        body["quota_remaining"] = self.quota_remaining[keyed]
        if self.backoff:
            body["backoff"] = self.backoff
            self._backoff_until = time.time() + self.backoff
        return gzipped(body)


def _plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", " ", fragment)).lower()


def _matches(req: Request, q: dict[str, Any]) -> bool:
    title, body = _plain(q["title"]), _plain(q.get("body") or "")
    everything = " ".join([title, body, *q["tags"]])
    for param, text in (("q", everything), ("title", title), ("body", body)):
        words = re.findall(r"\w+", (req.arg(param) or "").lower())
        if not all(word in text for word in words):
            return False
    return True
