"""Reddit posts, through Reddit search sorted by new.

Without credentials it reads the public JSON (`www.reddit.com/search.json`). With an app's
`REDDIT_CLIENT_ID` and `REDDIT_CLIENT_SECRET` in the environment it takes an app-only OAuth token
(client-credentials grant) and searches `oauth.reddit.com`, which has a stated budget (the
`X-Ratelimit-*` headers that `listeners.http` tracks). `base_url` replaces both hosts (tests,
proxies). Reddit throttles generic User-Agents; ours is descriptive (see `listeners.http`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.mention import Mention, Metrics
from core.query import Post as Matched
from core.query import Query, fields
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, MalformedResponse, NotConfigured
from listeners.http import HttpClient, read_model
from listeners.query_syntax import REDDIT, Syntax, to_reddit
from listeners.watermark import Watermark

SITE_URL = "https://www.reddit.com"
OAUTH_URL = "https://oauth.reddit.com"
TOKEN_MARGIN = 60  # seconds: renew a token this long before Reddit says it expires
_SUBREDDIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")


class RedditSettings(SourceSettings):
    """`[sources.reddit]`: `subreddits` restricts the search to those (empty: all of Reddit);
    `limit` is the page size (Reddit's maximum is 100)."""

    subreddits: list[str] = []
    limit: int = Field(default=100, ge=1, le=100)

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [re.sub(r"^/?r/", "", name.strip()) for name in value]
        for name in names:
            if not _SUBREDDIT.fullmatch(name):
                raise ValueError(f"{name!r} is not a subreddit name like 'python' or 'r/python'")
        return names


class CrosspostParent(BaseModel):
    """The post a cross-post repeats, as Reddit embeds it in `crosspost_parent_list`."""

    model_config = ConfigDict(extra="allow")

    author: str
    title: str = ""
    selftext: str = ""


class Post(BaseModel):
    """`data` of a `t3` child; other fields are kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    title: str
    selftext: str = ""
    author: str
    permalink: str
    created_utc: float
    subreddit: str
    score: int | None = None
    num_comments: int | None = None
    url: str | None = None
    crosspost_parent: str | None = None
    crosspost_parent_list: list[CrosspostParent] = []

    @model_validator(mode="before")
    @classmethod
    def _dated(cls, data: Any) -> Any:
        """A post without `created_utc` is dated by `created`, else by when it was fetched."""
        if isinstance(data, dict) and data.get("created_utc") is None:
            return {**data, "created_utc": data.get("created") or time.time()}
        return data


class Thing(BaseModel):
    kind: Literal["t3"]
    data: Post


class ListingData(BaseModel):
    children: list[Thing]
    after: str | None = None


class Listing(BaseModel):
    kind: Literal["Listing"]
    data: ListingData


class TokenResponse(BaseModel):
    """Reddit answers refused grants with HTTP 200 and an `error` field."""

    access_token: str | None = None
    expires_in: int = 3600
    error: str | None = None


def to_mention(post: Post) -> Mention:
    """A cross-post carries its parent's words (its own body is empty) and says whose post it
    repeats, so it is grouped under the parent rather than counted as another voice."""
    parent = post.crosspost_parent_list[0] if post.crosspost_parent else None
    return Mention(
        network="reddit",
        native_id=post.name,
        url=SITE_URL + post.permalink,
        author=post.author,
        text=post.selftext or (parent.selftext if parent else "") or post.title,
        created_at=datetime.fromtimestamp(post.created_utc, UTC),
        title=post.title,
        metrics=Metrics(likes=post.score, replies=post.num_comments),
        raw=post.model_dump(),
        repost_of=parent.author if parent else None,
    )


class RedditListener(Listener):
    name: ClassVar[str] = "reddit"
    display_name: ClassVar[str] = "Reddit"
    Settings: ClassVar[type[SourceSettings]] = RedditSettings
    default_base_url: ClassVar[str] = SITE_URL
    syntax: ClassVar[Syntax | None] = REDDIT
    settings: RedditSettings

    def compiled(self, query: Query) -> list[str]:
        return [to_reddit(query)]

    def __init__(self, settings: SourceSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        super().__init__(settings, http, env)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()

    def _credentials(self) -> tuple[str, str] | None:
        """The OAuth app from the environment; None means the public JSON.

        Checked on use rather than at construction so that one half-configured source is
        skipped (NotConfigured) without stopping the others from being built.
        """
        client_id = self.env.get("REDDIT_CLIENT_ID", "")
        secret = self.env.get("REDDIT_CLIENT_SECRET", "")
        if bool(client_id) != bool(secret):
            raise NotConfigured(
                "reddit: set both REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (OAuth), or neither "
                "(public JSON)"
            )
        return (client_id, secret) if client_id else None

    @property
    def api_url(self) -> str:
        if self._credentials() is None:
            return self.base_url
        return (self.settings.base_url or OAUTH_URL).rstrip("/")

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Newest first: the cursor rides on the page where the listing ends or reaches the
        cursor's overlap window."""
        mark = Watermark.load(cursor)
        params: dict[str, str | int] = {
            "q": to_reddit(query),
            "sort": "new",
            "type": "link",
            "limit": self.settings.limit,
            "raw_json": 1,  # '&' instead of '&amp;' in titles and bodies
        }
        if self.settings.subreddits:
            params["restrict_sr"] = "on"
        fetched: dict[str, int] = {}
        after: str | None = None
        while True:
            listing = self._listing({**params, "after": after} if after else params)
            mentions = []
            reached_old = False
            for child in listing.data.children:
                post, created = child.data, int(child.data.created_utc)
                if mark.is_old(created):
                    reached_old = True
                    continue
                is_new = post.name not in fetched and mark.is_new(post.name, created)
                if is_new:
                    mention = to_mention(post)
                    text = fields(post.title, post.selftext, post.url)
                    if query.accepts(Matched.of(mention, text)):
                        mentions.append(mention)
                fetched[post.name] = created
            following = listing.data.after
            done = reached_old or not listing.data.children or following in (None, after)
            yield Page(mentions, mark.advance(fetched.items()).dumps() if done else None)
            if done:
                return
            after = following

    def backfill_cursor(self, since: datetime) -> str | None:
        """History through the same search, bounded below by `since` (the API still caps one
        search at about 1,000 results)."""
        return Watermark.reaching_back_to(since).dumps()

    def _search_url(self) -> str:
        if self.settings.subreddits:
            return self.listing_url(f"/r/{'+'.join(self.settings.subreddits)}/search")
        return self.listing_url("/search")

    def listing_url(self, path: str) -> str:
        """`path` ('/search', '/r/all/new') on the host this app reads: the public JSON
        (`.json`) without credentials, oauth.reddit.com with them."""
        return self.api_url + path + (".json" if self._credentials() is None else "")

    def get(self, url: str, params: Mapping[str, str | int]) -> httpx.Response:
        """GET with the app-only token when configured (the `reddit_new` stream shares this)."""
        credentials = self._credentials()
        if credentials is None:
            return self.http.get(url, params=params)
        headers = self._auth(credentials)
        try:
            return self.http.get(url, params=params, headers=headers)
        except AuthError:
            # Tokens expire or get revoked; one fresh token, then a refusal is real.
            headers = self._auth(credentials, renew=True)
            return self.http.get(url, params=params, headers=headers)

    def _listing(self, params: Mapping[str, str | int]) -> Listing:
        return read_model(self.get(self._search_url(), params), Listing)

    def _auth(self, credentials: tuple[str, str], renew: bool = False) -> dict[str, str]:
        with self._token_lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                self._token, lifetime = self._fetch_token(credentials)
                self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, 0)
            return {"Authorization": f"bearer {self._token}"}

    def _fetch_token(self, credentials: tuple[str, str]) -> tuple[str, int]:
        try:
            response = self.http.request(
                "POST",
                f"{self.base_url}/api/v1/access_token",
                data={"grant_type": "client_credentials"},
                auth=credentials,
            )
        except AuthError as exc:
            raise AuthError(f"reddit refused REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET: {exc}") from exc
        token = read_model(response, TokenResponse)
        if token.error:
            raise AuthError(f"reddit refused the app-only token request: {token.error}")
        if not token.access_token:
            raise MalformedResponse("reddit's token endpoint answered without an access_token")
        return token.access_token, token.expires_in

    def check(self) -> str:
        listing_params: dict[str, Any] = {"q": "reddit", "sort": "new", "limit": 1, "type": "link"}
        self._listing(listing_params)
        if self._credentials():
            return f"OAuth app-only token accepted; searching {self.api_url}"
        return (
            f"public JSON at {self.api_url} answered (set REDDIT_CLIENT_ID and "
            "REDDIT_CLIENT_SECRET for an OAuth app's larger, stated budget)"
        )
