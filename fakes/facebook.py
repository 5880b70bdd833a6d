"""Meta's Graph API (graph.facebook.com) for one Facebook Page and its Instagram account, in
its wire format.

- `GET /{v}/{page_id}` (Page), `/{v}/{page_id}/feed` and `/{v}/{page_id}/tagged` (posts, newest
  first), `/{v}/{post_id}/comments` (`filter=toplevel|stream`, `order=chronological|
  reverse_chronological`); `GET /{v}/{ig_user_id}` (IG User), `/{v}/{ig_user_id}/media`
  (newest first), `/{v}/{media_id}/comments` (top-level comments newest first, each with its
  `replies` when asked for with `replies{...}`).
- `fields=a,b,c{d,e}` picks what comes back (plus `id`); asking for a field the node type does
  not have is Graph's `(#100) Tried accessing nonexisting field`. Missing values are omitted,
  as Graph omits them. Times look like `2024-05-01T12:00:00+0000`; `from` is `{name, id}`.
- `limit` (default 25, at most 100), `after` cursors, `since`/`until` (unix seconds) on
  feeds and comments. Every page has `paging.cursors.before/after`; `paging.next` - a full
  URL on https://graph.facebook.com carrying the access token, as Graph writes it - only when
  more follows.
- `access_token` must be the Page token: otherwise HTTP 400 with error code 190 and a
  `WWW-Authenticate` header. Errors are `{"error": {"message", "type", "code",
  "error_subcode", "fbtrace_id"}}`; `graph_error` builds the ones tests inject (throttling
  codes 4/17/32/613/80001 with their usage headers, permissions, expired tokens).
- `headers` are added to every normal answer: the `X-App-Usage` and
  `X-Business-Use-Case-Usage` figures that `app_usage` and `buc_usage` format.

A post's `updated_time` is its newest comment's time, as Graph moves it when someone comments;
an IG media's `comments_count` counts replies too.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fakes.server import FakeServer, Request, Response

GRAPH_HOST = "https://graph.facebook.com"
VERSION = "v21.0"
TOKEN = "EAAB-page-token-secret"
DEFAULT_LIMIT = 25
MAX_LIMIT = 100

NODE_FIELDS = {
    "Page": {"id", "name", "username", "link", "fan_count", "instagram_business_account"},
    "Post": {
        "id",
        "message",
        "created_time",
        "updated_time",
        "from",
        "permalink_url",
        "story",
        "full_picture",
        "status_type",
    },
    "Comment": {
        "id",
        "message",
        "created_time",
        "from",
        "permalink_url",
        "like_count",
        "comment_count",
        "parent",
        "attachment",
        "is_hidden",
    },
    "IGUser": {"id", "username", "name", "followers_count", "media_count"},
    "IGMedia": {
        "id",
        "caption",
        "permalink",
        "timestamp",
        "comments_count",
        "like_count",
        "username",
        "media_type",
        "media_url",
    },
    "IGComment": {
        "id",
        "text",
        "timestamp",
        "username",
        "like_count",
        "replies",
        "from",
        "parent_id",
        "hidden",
        "media",
    },
}


def graph_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def person(name: str, user_id: str) -> dict[str, str]:
    return {"name": name, "id": user_id}


def post(
    post_id: str,
    created: int,
    message: str | None,
    *,
    author: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A feed or tagged post; `author` None means the Page itself posted it (set on add)."""
    page_id = post_id.split("_")[0]
    return {
        "id": post_id,
        "created": created,
        "message": message,
        "from": author,
        "permalink_url": f"https://www.facebook.com/{page_id}/posts/{post_id.split('_')[-1]}",
    }


def comment(
    comment_id: str,
    created: int,
    message: str | None,
    *,
    author: dict[str, str] | None = None,
    parent: str | None = None,
    like_count: int = 0,
    comment_count: int = 0,
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "created": created,
        "message": message,
        "from": author or person("Jo Customer", "9001"),
        "parent": parent,
        "like_count": like_count,
        "comment_count": comment_count,
        "permalink_url": f"https://www.facebook.com/{comment_id}",
    }


def media(media_id: str, created: int, caption: str, *, like_count: int = 0) -> dict[str, Any]:
    return {
        "id": media_id,
        "created": created,
        "caption": caption,
        "like_count": like_count,
        "permalink": f"https://www.instagram.com/p/{media_id}/",
        "media_type": "IMAGE",
    }


def ig_comment(
    comment_id: str,
    created: int,
    text: str | None,
    *,
    username: str = "jo.customer",
    like_count: int = 0,
    replies: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": comment_id,
        "created": created,
        "text": text,
        "username": username,
        "like_count": like_count,
        "replies": replies or [],
    }


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    error_type: str = "OAuthException",
    subcode: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if code in (1, 2, 4, 17, 32, 613) or code >= 80000:
        error["is_transient"] = True
    error["fbtrace_id"] = "AbCdEfGhIjK"
    return Response.json({"error": error}, status, headers)


def app_usage(call_count: int, total_cputime: int = 0, total_time: int = 0) -> str:
    return json.dumps(
        {"call_count": call_count, "total_cputime": total_cputime, "total_time": total_time}
    )


def buc_usage(object_id: str, use_case: str, call_count: int, regain_minutes: int = 0) -> str:
    entry = {
        "type": use_case,
        "call_count": call_count,
        "total_cputime": 1,
        "total_time": 1,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return json.dumps({object_id: [entry]})


class FakeGraph:
    """Install on a FakeServer. Build the world with `add_page`, `add_post`, `add_tagged`,
    `add_comments`, `add_ig_user`, `add_media`; `script` is consumed one entry per request
    before normal service (a Response is sent as is, None answers normally)."""

    def __init__(self, server: FakeServer, token: str = TOKEN, version: str = VERSION) -> None:
        self.server = server
        self.token = token
        self.version = version
        self.script: list[Response | None] = []
        self.headers: dict[str, str] = {}
        self.nodes: dict[str, tuple[str, dict[str, Any]]] = {}  # id -> (type, fields)
        self.feeds: dict[str, list[dict[str, Any]]] = {}
        self.tagged: dict[str, list[dict[str, Any]]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}  # FB: flat, replies carry parent
        self.media: dict[str, list[dict[str, Any]]] = {}
        self.ig_comments: dict[str, list[dict[str, Any]]] = {}
        self._reply_edges: set[str] = set()

    @property
    def base_url(self) -> str:
        return self.server.url

    def requests_to(self, suffix: str) -> list[Request]:
        return [r for r in self.server.requests if r.path.endswith(suffix)]

    # ---- building the world ------------------------------------------------------------------

    def add_page(self, page_id: str, name: str) -> None:
        self.nodes[page_id] = ("Page", {"id": page_id, "name": name})
        self.feeds[page_id] = []
        self.tagged[page_id] = []
        self._route(f"/{page_id}", lambda req: self._node(req, page_id))
        self._route(f"/{page_id}/feed", lambda req: self._feed(req, self.feeds[page_id]))
        self._route(f"/{page_id}/tagged", lambda req: self._feed(req, self.tagged[page_id]))

    def add_post(self, page_id: str, item: dict[str, Any], comments: list[dict[str, Any]]) -> None:
        if item["from"] is None:
            item["from"] = person(self.nodes[page_id][1]["name"], page_id)
        self.feeds[page_id].append(item)
        self.add_comments(item["id"], comments)

    def add_tagged(self, page_id: str, item: dict[str, Any]) -> None:
        self.tagged[page_id].append(item)

    def add_comments(self, object_id: str, comments: list[dict[str, Any]]) -> None:
        if object_id not in self.comments:
            self.comments[object_id] = []
            self._route(f"/{object_id}/comments", lambda req: self._fb_comments(req, object_id))
        self.comments[object_id].extend(comments)

    def add_ig_user(self, ig_user_id: str, username: str) -> None:
        self.nodes[ig_user_id] = ("IGUser", {"id": ig_user_id, "username": username})
        self.media[ig_user_id] = []
        self._route(f"/{ig_user_id}", lambda req: self._node(req, ig_user_id))
        self._route(f"/{ig_user_id}/media", lambda req: self._media(req, ig_user_id))

    def add_media(self, ig_user_id: str, item: dict[str, Any], comments: list[dict]) -> None:
        media_id = item["id"]
        self.media[ig_user_id].append({**item, "owner": ig_user_id})
        self.ig_comments[media_id] = list(comments)
        self._route(f"/{media_id}/comments", lambda req: self._ig_comments(req, media_id))

    # ---- serving -----------------------------------------------------------------------------

    def _route(self, path: str, handler: Any) -> None:
        def guarded(req: Request) -> Response:
            scripted = self.script.pop(0) if self.script else None
            if scripted is not None:
                return scripted
            if req.arg("access_token") != self.token:
                return self._bad_token()
            try:
                resp = handler(req)
            except _GraphFailure as failure:
                return failure.response
            resp.headers.update(self.headers)
            return resp

        self.server.route("GET", f"/{self.version}{path}", guarded)

    def _bad_token(self) -> Response:
        message = "Invalid OAuth access token - Cannot parse access token"
        header = f'OAuth "Facebook Platform" "invalid_token" "{message}"'
        return graph_error(400, 190, message, headers={"WWW-Authenticate": header})

    def _node(self, req: Request, node_id: str) -> Response:
        kind, data = self.nodes[node_id]
        return Response.json(_select(kind, data, _fields(req)))

    def _feed(self, req: Request, posts: list[dict[str, Any]]) -> Response:
        chosen = _between(req, sorted(posts, key=lambda p: p["created"], reverse=True))
        return self._page(req, [self._post_view(p) for p in chosen], "Post")

    def _post_view(self, item: dict[str, Any]) -> dict[str, Any]:
        times = [item["created"], *(c["created"] for c in self.comments.get(item["id"], []))]
        return {
            **item,
            "created_time": graph_time(item["created"]),
            "updated_time": graph_time(max(times)),
        }

    def _fb_comments(self, req: Request, object_id: str) -> Response:
        flt = req.arg("filter", "toplevel")
        order = req.arg("order", "chronological")
        if flt not in ("toplevel", "stream") or order not in (
            "chronological",
            "reverse_chronological",
        ):
            raise _GraphFailure(graph_error(400, 100, "(#100) Invalid parameter"))
        items = [c for c in self.comments[object_id] if flt == "stream" or not c["parent"]]
        items.sort(key=lambda c: c["created"], reverse=order == "reverse_chronological")
        views = [
            {
                **c,
                "created_time": graph_time(c["created"]),
                "parent": {"id": c["parent"]} if c["parent"] else None,
            }
            for c in _between(req, items)
        ]
        return self._page(req, views, "Comment")

    def _media(self, req: Request, ig_user_id: str) -> Response:
        username = self.nodes[ig_user_id][1]["username"]
        items = sorted(self.media[ig_user_id], key=lambda m: m["created"], reverse=True)
        views = [
            {
                **m,
                "timestamp": graph_time(m["created"]),
                "username": username,
                "comments_count": sum(
                    1 + len(c["replies"]) for c in self.ig_comments.get(m["id"], [])
                ),
            }
            for m in items
        ]
        return self._page(req, views, "IGMedia")

    def _ig_comments(self, req: Request, media_id: str) -> Response:
        items = sorted(self.ig_comments[media_id], key=lambda c: c["created"], reverse=True)
        views = [{**_ig_view(c), "replies": self._nested_replies(c)} for c in items]
        return self._page(req, views, "IGComment")

    def _nested_replies(self, comment: dict[str, Any]) -> dict[str, Any]:
        """A comment's `replies` field holds only the first page of its thread, like Graph's
        nested edges; `paging.next` points at the `/{comment-id}/replies` edge for the rest."""
        replies = sorted(comment["replies"], key=lambda r: r["created"])
        edge: dict[str, Any] = {"data": [_ig_view(r) for r in replies[:DEFAULT_LIMIT]]}
        if len(replies) > DEFAULT_LIMIT:
            after = _encode(DEFAULT_LIMIT - 1)
            edge["paging"] = {
                "cursors": {"before": _encode(0), "after": after},
                "next": f"{GRAPH_HOST}/{self.version}/{comment['id']}/replies?"
                + urlencode({"limit": DEFAULT_LIMIT, "after": after}),
            }
        path = f"/{comment['id']}/replies"
        if path not in self._reply_edges:
            self._reply_edges.add(path)
            self._route(path, lambda req: self._reply_edge(req, comment))
        return edge

    def _reply_edge(self, req: Request, comment: dict[str, Any]) -> Response:
        replies = sorted(comment["replies"], key=lambda r: r["created"])
        return self._page(req, [_ig_view(r) for r in replies], "IGComment")

    def _page(self, req: Request, items: list[dict[str, Any]], kind: str) -> Response:
        fields = _fields(req)
        try:
            limit = min(int(req.arg("limit", str(DEFAULT_LIMIT)) or DEFAULT_LIMIT), MAX_LIMIT)
        except ValueError:
            failure = graph_error(400, 100, "(#100) Param limit must be a number")
            raise _GraphFailure(failure) from None
        start = _decode(req.arg("after")) + 1 if req.arg("after") else 0
        window = items[start : start + limit]
        body: dict[str, Any] = {"data": [_select(kind, i, fields) for i in window]}
        if window:
            end = start + len(window)
            paging: dict[str, Any] = {
                "cursors": {"before": _encode(start), "after": _encode(end - 1)}
            }
            if end < len(items):
                params = {k: v[0] for k, v in req.query.items()}
                params["after"] = _encode(end - 1)
                paging["next"] = f"{GRAPH_HOST}{req.path}?{urlencode(params)}"
            body["paging"] = paging
        return Response.json(body)


class _GraphFailure(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__("graph error")
        self.response = response


def _ig_view(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "timestamp": graph_time(item["created"])}


def _between(req: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    since, until = req.arg("since"), req.arg("until")
    return [
        i
        for i in items
        if (since is None or i["created"] >= int(since))
        and (until is None or i["created"] <= int(until))
    ]


def _fields(req: Request) -> dict[str, Any]:
    """`a,b,c{d,e}` -> {"a": None, "b": None, "c": {"d": None, "e": None}}."""
    text = req.arg("fields") or "id"
    parsed, _ = _parse_fields(text, 0)
    return parsed


def _parse_fields(text: str, i: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(text):
        m = re.compile(r"[a-z_]+").match(text, i)
        if not m:
            raise _GraphFailure(graph_error(400, 100, f"(#100) Syntax error in fields at {i}"))
        name, i = m.group(), m.end()
        if i < len(text) and text[i] == "{":
            out[name], i = _parse_fields(text, i + 1)
            i += 1  # the closing brace
        else:
            out[name] = None
        if i < len(text) and text[i] == "}":
            return out, i
        if i < len(text) and text[i] == ",":
            i += 1
    return out, i


def _select(kind: str, item: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    allowed = NODE_FIELDS[kind]
    out: dict[str, Any] = {}
    for name, sub in {"id": None, **fields}.items():
        if name not in allowed:
            raise _GraphFailure(
                graph_error(
                    400,
                    100,
                    f"(#100) Tried accessing nonexisting field ({name}) on node type ({kind})",
                )
            )
        value = item.get(name)
        if value is None:
            continue
        if name == "replies":
            value = {
                **value,
                "data": [_select("IGComment", r, sub or {}) for r in value["data"]],
            }
        elif isinstance(value, dict) and sub:
            value = {k: v for k, v in value.items() if k in sub}
        out[name] = value
    return out


def _encode(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _decode(cursor: str | None) -> int:
    try:
        return int(base64.b64decode(cursor or "").decode().split(":")[1])
    except (ValueError, IndexError):
        raise _GraphFailure(graph_error(400, 100, "(#100) Invalid cursor")) from None
