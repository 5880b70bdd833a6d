"""The YouTube Data API v3 (www.googleapis.com/youtube/v3) as a local server, in its wire format.

- `GET /youtube/v3/search`: `part=snippet` (required), `q` (words anywhere in title,
  description or tags; `a|b` is OR, `-a` excludes, `"a b"` is a phrase), `type=video`,
  `order=date` (newest first), `publishedAfter` (RFC 3339), `maxResults` (0-50, default 5),
  `pageToken`. Results are `youtube#searchResult`s: `id: {kind, videoId}` and a snippet.
- `GET /youtube/v3/videos`: `part=snippet,statistics`, `id=a,b,c` (at most 50); unknown ids
  are left out. Statistics counts are strings, as YouTube sends them.
- `GET /youtube/v3/commentThreads`: `part=snippet` and exactly one of `videoId` or
  `allThreadsRelatedToChannelId`; `order=time` (default, newest first) or `relevance`,
  `textFormat=html` (default; `textDisplay` is HTML) or `plainText`, `maxResults` (1-100,
  default 20), `pageToken`.
- `GET /youtube/v3/channels?part=snippet&id=` and `GET /youtube/v3/i18nLanguages?part=snippet`.
- Lists page with an opaque `nextPageToken`, present only while more follows, and carry
  `kind`, `etag` and `pageInfo {totalResults, resultsPerPage}`.
- Every call needs `key=KEY`: none is HTTP 403 `forbidden`, a wrong one HTTP 400 with the
  `API_KEY_INVALID` ErrorInfo detail. Every call costs its documented units (search 100, the
  rest 1) against `daily_quota`; past it, HTTP 403 `quotaExceeded` (domain `youtube.quota`).
  A video in `comments_disabled` answers HTTP 403 `commentsDisabled`; an unknown video or
  channel HTTP 404 `videoNotFound` / `channelNotFound`. Errors have Google's shape:
  `{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fakes.server import FakeServer, Request, Response

KEY = "AIzaSyFakeYouTubeKey-0123456789abcdef"
BRAND_CHANNEL = "UCacmeacmeacmeacmeacme01"
OTHER_CHANNEL = "UCotherotherotherother01"
COSTS = {"search": 100, "videos": 1, "commentThreads": 1, "channels": 1, "i18nLanguages": 1}
QUOTA_MESSAGE = (
    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
    'getting-started#quota">quota</a>.'
)


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def video(
    video_id: str,
    published: int,
    title: str,
    description: str = "",
    *,
    channel: str = OTHER_CHANNEL,
    channel_title: str = "Some Reviewer",
    tags: list[str] | None = None,
    views: int = 1000,
    likes: int = 50,
    comments: int = 3,
    lang: str | None = None,
) -> dict[str, Any]:
    snippet: dict[str, Any] = {
        "publishedAt": iso(published),
        "channelId": channel,
        "title": title,
        "description": description,
        "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg"}},
        "channelTitle": channel_title,
        "tags": tags or [],
        "categoryId": "28",
        "liveBroadcastContent": "none",
    }
    if lang:
        snippet["defaultLanguage"] = lang
    return {
        "kind": "youtube#video",
        "etag": f"etag-{video_id}",
        "id": video_id,
        "snippet": snippet,
        "statistics": {
            "viewCount": str(views),
            "likeCount": str(likes),
            "favoriteCount": "0",
            "commentCount": str(comments),
        },
    }


def thread(
    comment_id: str,
    video_id: str,
    published: int,
    text: str,
    *,
    author: str = "Jo Viewer",
    author_channel: str = "UCviewerviewerviewervie1",
    likes: int = 0,
    replies: int = 0,
    channel: str = OTHER_CHANNEL,
) -> dict[str, Any]:
    comment = {
        "kind": "youtube#comment",
        "etag": f"etag-{comment_id}",
        "id": comment_id,
        "snippet": {
            "channelId": channel,
            "videoId": video_id,
            "textDisplay": text,
            "textOriginal": text,
            "authorDisplayName": author,
            "authorProfileImageUrl": "https://yt3.ggpht.com/a.jpg",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author_channel}",
            "authorChannelId": {"value": author_channel},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": likes,
            "publishedAt": iso(published),
            "updatedAt": iso(published),
        },
    }
    return {
        "kind": "youtube#commentThread",
        "etag": f"etag-t-{comment_id}",
        "id": comment_id,
        "snippet": {
            "channelId": channel,
            "videoId": video_id,
            "topLevelComment": comment,
            "canReply": True,
            "totalReplyCount": replies,
            "isPublic": True,
        },
    }


def search_result(v: dict[str, Any]) -> dict[str, Any]:
    """A video as `search.list` lists it: a short snippet (the description cut short)."""
    return {
        "kind": "youtube#searchResult",
        "etag": f"etag-s-{v['id']}",
        "id": {"kind": "youtube#video", "videoId": v["id"]},
        "snippet": {
            **{k: v["snippet"][k] for k in ("publishedAt", "channelId", "title")},
            "description": v["snippet"]["description"][:160],
            "channelTitle": v["snippet"]["channelTitle"],
            "liveBroadcastContent": "none",
            "publishTime": v["snippet"]["publishedAt"],
        },
    }


def search_answer(videos: list[dict[str, Any]]) -> Response:
    """A one-page search answer listing `videos`: what a fuzzy search may return."""
    body = {
        "kind": "youtube#searchListResponse",
        "etag": "etag-list",
        "regionCode": "US",
        "pageInfo": {"totalResults": len(videos), "resultsPerPage": 50},
        "items": [search_result(v) for v in videos],
    }
    return Response.json(body)


def google_error(
    code: int, reason: str, message: str, domain: str = "youtube.api", status: str | None = None
) -> Response:
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    if status:
        error["status"] = status
    return Response.json({"error": error}, code)


def quota_exceeded() -> Response:
    return google_error(403, "quotaExceeded", QUOTA_MESSAGE, "youtube.quota")


def invalid_key() -> Response:
    message = "API key not valid. Please pass a valid API key."
    body = {
        "error": {
            "code": 400,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "badRequest"}],
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "youtube.googleapis.com"},
                }
            ],
        }
    }
    return Response.json(body, 400)


class FakeYouTube:
    """Install on a FakeServer; `videos` (video resources), `threads[video_id]` (comment
    threads), `channels` (id -> title) and `comments_disabled` are the world it serves.

    `script` is consumed one entry per request before normal service (a Response to inject,
    None to answer normally); `spent` counts the units charged, as Google's console does.
    """

    def __init__(self, server: FakeServer, daily_quota: int = 10_000) -> None:
        self.server = server
        self.videos: list[dict[str, Any]] = []
        self.threads: dict[str, list[dict[str, Any]]] = {}
        self.channels: dict[str, str] = {BRAND_CHANNEL: "Acme", OTHER_CHANNEL: "Some Reviewer"}
        self.comments_disabled: set[str] = set()
        self.script: list[Response | None] = []
        self.daily_quota = daily_quota
        self.spent = 0
        for method in COSTS:
            server.route("GET", f"/youtube/v3/{method}", self._handler(method))

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/youtube/v3"

    def requests_to(self, method: str) -> list[Request]:
        return [r for r in self.server.requests if r.path == f"/youtube/v3/{method}"]

    def _handler(self, method: str) -> Callable[[Request], Response]:
        serve = getattr(self, f"_{method}")

        def handle(req: Request) -> Response:
            if self.script:
                scripted = self.script.pop(0)
                if scripted is not None:
                    return scripted
            key = req.arg("key")
            if key is None:
                return google_error(
                    403,
                    "forbidden",
                    "The request is missing a valid API key.",
                    "global",
                    "PERMISSION_DENIED",
                )
            if key != KEY:
                return invalid_key()
            if self.spent + COSTS[method] > self.daily_quota:
                return quota_exceeded()
            self.spent += COSTS[method]
            if req.arg("part") is None:
                return google_error(
                    400, "required", "Required parameter: part", "global", "INVALID_ARGUMENT"
                )
            return serve(req)

        return handle

    # -- methods --

    def _search(self, req: Request) -> Response:
        try:
            size = int(req.arg("maxResults", "5") or 5)
        except ValueError:
            size = -1
        if not 0 <= size <= 50:
            return google_error(400, "invalidMaxResults", "maxResults must be 0-50")
        after = req.arg("publishedAfter")
        floor = _parse_time(after) if after else None
        q = req.arg("q") or ""
        found = [
            v
            for v in self.videos
            if _query_matches(q, v) and (floor is None or _published(v) >= floor)
        ]
        found.sort(key=_published, reverse=True)
        items = [search_result(v) for v in found]
        return self._list(req, "youtube#searchListResponse", items, size, regionCode="US")

    def _videos(self, req: Request) -> Response:
        wanted = [i for i in (req.arg("id") or "").split(",") if i]
        if len(wanted) > 50:
            return google_error(400, "invalidFilters", "Too many ids")
        parts = set((req.arg("part") or "").split(","))
        by_id = {v["id"]: v for v in self.videos}
        items = [
            {k: val for k, val in by_id[i].items() if k in {"kind", "etag", "id"} | parts}
            for i in wanted
            if i in by_id
        ]
        return self._list(req, "youtube#videoListResponse", items, len(items) or 1)

    def _commentThreads(self, req: Request) -> Response:
        video_id, channel = req.arg("videoId"), req.arg("allThreadsRelatedToChannelId")
        if (video_id is None) == (channel is None):
            return google_error(400, "missingRequiredParameter", "No filter selected.")
        try:
            size = int(req.arg("maxResults", "20") or 20)
        except ValueError:
            size = -1
        if not 1 <= size <= 100:
            return google_error(400, "invalidMaxResults", "maxResults must be 1-100")
        if video_id is not None:
            known = {v["id"] for v in self.videos}
            if video_id not in known:
                return google_error(404, "videoNotFound", "The video could not be found.")
            if video_id in self.comments_disabled:
                return google_error(
                    403,
                    "commentsDisabled",
                    'The video identified by the <code><a href="/youtube/v3/docs/commentThreads'
                    '/list#videoId">videoId</a></code> parameter has disabled comments.',
                    "youtube.commentThread",
                )
            threads = list(self.threads.get(video_id, []))
        else:
            if channel not in self.channels:
                return google_error(404, "channelNotFound", "The channel could not be found.")
            owned = {v["id"] for v in self.videos if v["snippet"]["channelId"] == channel}
            threads = [t for vid in owned for t in self.threads.get(vid, [])]
        if req.arg("order", "time") == "time":
            threads.sort(key=_thread_time, reverse=True)
        if req.arg("textFormat", "html") == "html":
            threads = [_as_html(t) for t in threads]
        return self._list(req, "youtube#commentThreadListResponse", threads, size)

    def _channels(self, req: Request) -> Response:
        ids = [i for i in (req.arg("id") or "").split(",") if i in self.channels]
        items = [
            {"kind": "youtube#channel", "id": i, "snippet": {"title": self.channels[i]}}
            for i in ids
        ]
        return self._list(req, "youtube#channelListResponse", items, 5)

    def _i18nLanguages(self, req: Request) -> Response:
        items = [{"kind": "youtube#i18nLanguage", "id": "en", "snippet": {"hl": "en"}}]
        return self._list(req, "youtube#i18nLanguageListResponse", items, 1)

    def _list(
        self, req: Request, kind: str, items: list[dict[str, Any]], size: int, **extra: str
    ) -> Response:
        start = _offset(req.arg("pageToken"))
        window = items[start : start + size]
        body: dict[str, Any] = {"kind": kind, "etag": "etag-list", **extra}
        if start + size < len(items):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o{start + size}".encode()).decode()
        body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": size}
        body["items"] = window
        return Response.json(body)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    return int(base64.urlsafe_b64decode(token.encode()).decode()[1:])


def _parse_time(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _published(v: dict[str, Any]) -> int:
    return _parse_time(v["snippet"]["publishedAt"])


def _thread_time(t: dict[str, Any]) -> int:
    return _parse_time(t["snippet"]["topLevelComment"]["snippet"]["publishedAt"])


def _as_html(t: dict[str, Any]) -> dict[str, Any]:
    comment = t["snippet"]["topLevelComment"]
    shown = html.escape(comment["snippet"]["textOriginal"]).replace("\n", "<br>")
    snippet = {**comment["snippet"], "textDisplay": shown}
    return {**t, "snippet": {**t["snippet"], "topLevelComment": {**comment, "snippet": snippet}}}


_TOKEN = re.compile(r'-?(?:"[^"]*"|[^\s"|]+)(?:\|(?:"[^"]*"|[^\s"|]+))*')


def _query_matches(q: str, v: dict[str, Any]) -> bool:
    """Fuzzy like the real search: words anywhere; `|` joins alternatives, `-` excludes."""
    s = v["snippet"]
    text = " ".join([s["title"], s["description"], *s.get("tags", [])]).lower()
    for token in _TOKEN.findall(q):
        negated = token.startswith("-")
        options = token.lstrip("-").split("|")
        hit = any(
            all(word in text for word in re.findall(r"\w+", option.lower())) for option in options
        )
        if hit == negated:
            return False
    return True
