"""Instagram: comments and replies on the brand's own Instagram business account.

Like the Facebook Page listener this is the brand's inbox, read through the Graph API with the
Page access token of the Facebook Page the Instagram account is linked to
(`FACEBOOK_PAGE_TOKEN`, see `listeners.meta_graph`). Heard: every comment and reply under the
`media_limit` most recent media of `ig_user_id`. Never heard: the account's own replies, posts
by others that tag or @mention the account (other Graph edges, other permissions), comments on
ads, and comments on older media.

Instagram promises no comment order and has no "comments since" filter, so a media's comments
are read whole, and only when its `comments_count` (which counts replies) moved since the last
cycle: the cursor keeps each media's count next to the usual watermark.

API: `GET /{v}/{ig_user_id}/media?fields=id,caption,permalink,timestamp,comments_count,
like_count,username`, then `GET /{v}/{media_id}/comments?fields=id,text,timestamp,username,
like_count,replies{id,text,timestamp,username,like_count}`, paged through `paging.next`; a
thread longer than the nested field's first page is read whole from `GET /{v}/{comment_id}/replies`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.mention import Mention, Metrics
from core.query import Post, Query
from listeners.base import Listener, Page, SourceSettings
from listeners.meta_graph import GRAPH_URL, Edge, GraphApi, GraphSettings, page_token, unix
from listeners.watermark import Watermark

SITE_URL = "https://www.instagram.com/"
MEDIA_FIELDS = "id,caption,permalink,timestamp,comments_count,like_count,username"
ITEM_FIELDS = "id,text,timestamp,username,like_count"
COMMENT_FIELDS = f"{ITEM_FIELDS},replies{{{ITEM_FIELDS}}}"
MEDIA_PAGE = 100
COMMENTS_PAGE = 50


class InstagramSettings(GraphSettings):
    """`[sources.instagram]`: `ig_user_id` (the Instagram business account's id, from
    GET /{page-id}?fields=instagram_business_account), `media_limit` (how many recent media
    to watch for comments), plus `api_version` and `match_query`."""

    ig_user_id: str
    media_limit: int = Field(default=25, ge=1, le=500)

    @field_validator("ig_user_id")
    @classmethod
    def _numeric(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"\d+", value):
            raise ValueError(
                f"{value!r} is not an Instagram business account id; read it with "
                "GET /{page-id}?fields=instagram_business_account"
            )
        return value


class Media(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    timestamp: datetime
    caption: str | None = None
    permalink: str | None = None
    comments_count: int | None = None
    like_count: int | None = None
    username: str | None = None  # the account's own name: how its replies are recognised


class Reply(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    timestamp: datetime
    text: str | None = None
    username: str | None = None
    like_count: int | None = None


class Comment(Reply):
    replies: Edge[Reply] | None = None


class Account(BaseModel):
    id: str
    username: str | None = None


def to_mention(item: Reply, media: Media, parent: Comment | None) -> Mention:
    raw = item.model_dump(exclude_none=True, exclude={"replies"})
    replies = item.replies.data if isinstance(item, Comment) and item.replies else None
    return Mention(
        network="instagram",
        native_id=item.id,
        url=media.permalink or SITE_URL,  # comments have no permalink of their own
        author=item.username or "",
        text=item.text or "",
        created_at=item.timestamp.astimezone(UTC),
        metrics=Metrics(
            likes=item.like_count, replies=len(replies) if replies is not None else None
        ),
        in_reply_to=parent.id if parent else media.id,
        raw={**raw, "media_id": media.id, "media_permalink": media.permalink},
    )


class InstagramListener(Listener):
    name: ClassVar[str] = "instagram"
    display_name: ClassVar[str] = "Instagram"
    Settings: ClassVar[type[SourceSettings]] = InstagramSettings
    default_base_url: ClassVar[str] = GRAPH_URL
    settings: InstagramSettings

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """One page per page of media; the cursor (watermark plus comment counts) rides on a
        final page once every media is read."""
        api = self._api()
        mark = Watermark.load(cursor)
        known = _counts(cursor)
        counts: dict[str, int] = {}
        fetched: dict[str, int] = {}
        limit = self.settings.media_limit
        params = {"fields": MEDIA_FIELDS, "limit": min(limit, MEDIA_PAGE)}
        watched = 0
        for page in api.edge(f"/{self.settings.ig_user_id}/media", params, Media):
            mentions = []
            for media in page.data[: limit - watched]:
                watched += 1
                count = media.comments_count
                if count is not None:
                    counts[media.id] = count
                    if count == 0 or known.get(media.id) == count:
                        continue  # nothing said, or nothing new said, since the last cycle
                mentions.extend(self._comments(api, media, query, mark, fetched))
            yield Page(mentions)
            if watched >= limit:
                break
        state = json.loads(mark.advance(fetched.items()).dumps())
        yield Page([], json.dumps({**state, "counts": counts}, separators=(",", ":")))

    def backfill_cursor(self, since: datetime) -> str | None:
        """Comments back to `since` on the `media_limit` newest media (no counts: all are read)."""
        return Watermark.reaching_back_to(since).dumps()

    def check(self) -> str:
        account = self._api().get(
            f"/{self.settings.ig_user_id}", {"fields": "id,username"}, Account
        )
        return f"Instagram account @{account.username or '?'} ({account.id}) answered"

    def _api(self) -> GraphApi:
        token = page_token(self.env, self.name)
        return GraphApi(self.http, self.base_url, self.settings.api_version, token, self.name)

    def _comments(
        self, api: GraphApi, media: Media, query: Query, mark: Watermark, fetched: dict[str, int]
    ) -> list[Mention]:
        found = []
        params = {"fields": COMMENT_FIELDS, "limit": COMMENTS_PAGE}
        for page in api.edge(f"/{media.id}/comments", params, Comment):
            for comment in page.data:
                thread = [(comment, None), *((r, comment) for r in self._replies(api, comment))]
                for item, parent in thread:
                    created = unix(item.timestamp)
                    new = item.id not in fetched and mark.is_new(item.id, created)
                    mention = to_mention(item, media, parent)
                    if new and self._heard(item, mention, media, query):
                        found.append(mention)
                    fetched[item.id] = created
        return found

    def _replies(self, api: GraphApi, comment: Comment) -> list[Reply]:
        """The whole thread: the nested `replies` field carries only its first page, and a
        long thread is exactly the kind a team must not read half of."""
        if comment.replies is None:
            return []
        if not comment.replies.next:
            return comment.replies.data
        params = {"fields": ITEM_FIELDS, "limit": COMMENTS_PAGE}
        return [r for page in api.edge(f"/{comment.id}/replies", params, Reply) for r in page.data]

    def _heard(self, item: Reply, mention: Mention, media: Media, query: Query) -> bool:
        if not item.text or not item.text.strip():
            return False
        if media.username and item.username == media.username:
            return False  # the brand answering
        return not self.settings.match_query or query.accepts(Post.of(mention))


def _counts(cursor: str | None) -> dict[str, int]:
    """Each media's comment count when last read; anything unreadable means "read them all"."""
    if not cursor:
        return {}
    try:
        counts = json.loads(cursor).get("counts", {})
        return {str(k): int(v) for k, v in counts.items()}
    except (ValueError, TypeError, AttributeError):
        return {}
