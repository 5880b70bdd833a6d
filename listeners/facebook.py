"""Facebook Page: what people post on the brand's Page and in the comments under its posts.

This is the customer-service inbox, not a search: Graph has no public post search, so the
listener reads the brand's own Page with a Page access token (`FACEBOOK_PAGE_TOKEN`, see
`listeners.meta_graph`). Heard: visitor posts on the Page, every comment and reply under the
Page's recent posts, and (with `tagged`) public posts elsewhere that tag the Page. Never heard:
the Page's own posts and the Page's own replies (the brand talking), comments without text
(a sticker or photo alone), and comments under posts older than the `posts_limit` newest.

With `match_query` false (the default) everything above is a mention, because a customer
asking "is the app down?" under the brand's post rarely names the brand; with it true the
brand's query is applied locally, as for every other network.

API (Graph, newest first, cursor pagination through `paging.next`):
`GET /{v}/{page_id}/feed?fields=id,message,created_time,updated_time,from,permalink_url`,
`GET /{v}/{post_id}/comments?filter=stream&order=reverse_chronological&since=T&fields=...`,
`GET /{v}/{page_id}/tagged?since=T&fields=...`. A post's `updated_time` moves when someone
comments, so only posts touched since the cursor's window cost a comments request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.mention import Mention, Metrics
from core.query import Post as Matched
from core.query import Query
from listeners.base import Listener, Page, SourceSettings
from listeners.meta_graph import (
    GRAPH_URL,
    Author,
    GraphApi,
    GraphSettings,
    page_token,
    unix,
    with_alias,
)
from listeners.watermark import Watermark

SITE_URL = "https://www.facebook.com"
POST_FIELDS = "id,message,created_time,updated_time,from,permalink_url"
COMMENT_FIELDS = "id,message,created_time,from,permalink_url,like_count,comment_count,parent{id}"
PAGE_SIZE = 100  # Graph's usual ceiling for `limit` on feed and comments


class FacebookSettings(GraphSettings):
    """`[sources.facebook]`: `page_id` (numeric; the Page's own replies are recognised by it),
    `posts_limit` (how many recent posts to watch for new comments), `tagged` (also hear
    posts elsewhere that tag the Page), plus `api_version` and `match_query`."""

    page_id: str
    posts_limit: int = Field(default=25, ge=1, le=500)
    tagged: bool = True

    @field_validator("page_id")
    @classmethod
    def _numeric(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"\d+", value):
            raise ValueError(
                f"{value!r} is not a numeric Page id (find it under the Page's About > Page "
                "transparency, or as `id` in GET /me/accounts)"
            )
        return value


class Ref(BaseModel):
    id: str


class Post(BaseModel):
    """A feed or tagged post; unrequested fields Graph adds are kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    created_time: datetime
    updated_time: datetime | None = None
    message: str | None = None
    author: Author | None = Field(default=None, alias="from")
    permalink_url: str | None = None


class Comment(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    created_time: datetime
    message: str | None = None
    author: Author | None = Field(default=None, alias="from")
    permalink_url: str | None = None
    like_count: int | None = None
    comment_count: int | None = None
    parent: Ref | None = None


class PageInfo(BaseModel):
    id: str
    name: str | None = None


def post_mention(post: Post) -> Mention:
    return Mention(
        network="facebook",
        native_id=post.id,
        url=post.permalink_url or f"{SITE_URL}/{post.id}",
        author=(post.author.name if post.author else None) or "",
        text=post.message or "",
        created_at=post.created_time.astimezone(UTC),
        raw=with_alias(post),
    )


def comment_mention(comment: Comment, post: Post) -> Mention:
    return Mention(
        network="facebook",
        native_id=comment.id,
        url=comment.permalink_url or f"{SITE_URL}/{comment.id}",
        author=(comment.author.name if comment.author else None) or "",
        text=comment.message or "",
        created_at=comment.created_time.astimezone(UTC),
        metrics=Metrics(likes=comment.like_count, replies=comment.comment_count),
        in_reply_to=comment.parent.id if comment.parent else post.id,
        raw={**with_alias(comment), "post_id": post.id},
    )


def newest_first(times: list[int]) -> bool:
    """Graph prefers the requested order but may rank comments instead; only a page that really
    runs newest to oldest lets the walk stop at the first old comment."""
    return all(a >= b for a, b in pairwise(times))


class FacebookListener(Listener):
    name: ClassVar[str] = "facebook"
    display_name: ClassVar[str] = "Facebook"
    Settings: ClassVar[type[SourceSettings]] = FacebookSettings
    default_base_url: ClassVar[str] = GRAPH_URL
    settings: FacebookSettings

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """One page per feed page (its visitor posts and new comments), then the tagged posts;
        the cursor rides on a final page once everything is read."""
        api = self._api()
        mark = Watermark.load(cursor)
        fetched: dict[str, int] = {}
        page_id = self.settings.page_id
        for posts in self._recent(api, f"/{page_id}/feed", {"fields": POST_FIELDS}, mark):
            mentions = []
            for post in posts:
                mentions.extend(self._post(post, query, mark, fetched))
                touched = post.updated_time or post.created_time
                if mark.floor is None or unix(touched) >= mark.floor:
                    mentions.extend(self._comments(api, post, query, mark, fetched))
            yield Page(mentions)
        if self.settings.tagged:
            params: dict[str, str | int] = {"fields": POST_FIELDS}
            if mark.floor is not None:
                params["since"] = mark.floor
            for posts in self._recent(api, f"/{page_id}/tagged", params, mark):
                yield Page([m for post in posts for m in self._post(post, query, mark, fetched)])
        yield Page([], mark.advance(fetched.items()).dumps())

    def backfill_cursor(self, since: datetime) -> str | None:
        """Comments and visitor posts back to `since`, on the posts the feed walk reaches (the
        `posts_limit` newest, and any newer than `since`)."""
        return Watermark.reaching_back_to(since).dumps()

    def check(self) -> str:
        info = self._api().get(f"/{self.settings.page_id}", {"fields": "id,name"}, PageInfo)
        return f"Page {info.name or '(no name)'} ({info.id}) answered with the Page token"

    def _api(self) -> GraphApi:
        token = page_token(self.env, self.name)
        return GraphApi(self.http, self.base_url, self.settings.api_version, token, self.name)

    def _recent(
        self, api: GraphApi, path: str, params: dict[str, str | int], mark: Watermark
    ) -> Iterator[list[Post]]:
        """Posts newest first: at least `posts_limit` of them, and all inside the window."""
        limit = self.settings.posts_limit
        count = 0
        for page in api.edge(path, {**params, "limit": min(limit, PAGE_SIZE)}, Post):
            yield page.data
            count += len(page.data)
            oldest = min((unix(p.created_time) for p in page.data), default=None)
            if count >= limit and (oldest is None or mark.floor is None or oldest < mark.floor):
                return

    def _post(
        self, post: Post, query: Query, mark: Watermark, fetched: dict[str, int]
    ) -> list[Mention]:
        created = unix(post.created_time)
        new = post.id not in fetched and mark.is_new(post.id, created)
        fetched[post.id] = created
        mention = post_mention(post)
        return [mention] if new and self._heard(post.author, mention, query) else []

    def _comments(
        self, api: GraphApi, post: Post, query: Query, mark: Watermark, fetched: dict[str, int]
    ) -> list[Mention]:
        params: dict[str, str | int] = {
            "fields": COMMENT_FIELDS,
            "filter": "stream",  # replies too, flattened into one time-ordered stream
            "order": "reverse_chronological",
            "limit": PAGE_SIZE,
        }
        if mark.floor is not None:
            params["since"] = mark.floor
        found = []
        for page in api.edge(f"/{post.id}/comments", params, Comment):
            times = [unix(c.created_time) for c in page.data]
            for comment, created in zip(page.data, times, strict=True):
                new = comment.id not in fetched and mark.is_new(comment.id, created)
                mention = comment_mention(comment, post)
                if new and self._heard(comment.author, mention, query):
                    found.append(mention)
                fetched[comment.id] = created
            if times and newest_first(times) and mark.is_old(times[-1]):
                break
        return found

    def _heard(self, author: Author | None, mention: Mention, query: Query) -> bool:
        if not mention.text.strip():
            return False
        if author is not None and author.id == self.settings.page_id:
            return False  # the brand's own post or reply
        return not self.settings.match_query or query.accepts(Matched.of(mention))
