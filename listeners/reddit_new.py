"""Every new Reddit post and comment, read in order from `/r/all/new` and `/r/all/comments`.

Search finds what Reddit's index returns for a query; these listings hold *everything* posted,
newest first. Each is one channel (`posts`, `comments`) that asks for what came after its
cursor (`before=<fullname>`, 100 at a time) and reads on while pages come back full, so every
item is read once, in order, and matched against every brand locally. `subreddits` narrows both
to `/r/a+b/new` and `/r/a+b/comments`.

Authentication is the reddit listener's (`REDDIT_CLIENT_ID` / `REDDIT_CLIENT_SECRET`, an
app-only OAuth token on oauth.reddit.com): all of Reddit posts several items a second, which
only an OAuth app's budget keeps up with. The `X-Ratelimit-*` headers the shared HTTP layer
reads pace the polls: with the budget running low, the next poll waits for its share of the
window, and a spent budget raises `RateLimited` until the reset Reddit named.

A `before` cursor whose item was removed makes Reddit answer nothing newer, ever. After
`resync_after` empty pages in a row the channel reads the newest pages back to the cursor's
time instead (at most 1,000 items, Reddit's listing depth) and carries on from there.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.mention import Mention, Metrics
from core.query import fields
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import HttpClient, read_model
from listeners.reddit import SITE_URL, Post, RedditListener, RedditSettings
from listeners.reddit import to_mention as post_mention
from listeners.stream import Backoff, Batch, Heard, StreamListener, StreamSettings

log = logging.getLogger(__name__)

PAGE = 100  # Reddit's largest listing page
DEPTH = 10  # pages a listing reaches back at most (1,000 items)
RECENT = 5000
CHANNELS = {"posts": "new", "comments": "comments"}


class RedditNewSettings(StreamSettings):
    """`[sources.reddit_new]`: `subreddits` to read (empty: all of Reddit); `poll` seconds
    between reads of each listing once caught up; `resync_after` empty pages in a row before
    the cursor is taken for a removed item; `comments` false reads posts only."""

    base_url: str | None = None
    subreddits: list[str] = []
    poll: float = Field(default=3.0, gt=0, le=600)
    resync_after: int = Field(default=5, ge=1, le=1000)
    comments: bool = True

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return RedditSettings(subreddits=value).subreddits


# ---- wire format -----------------------------------------------------------------------------


class Comment(BaseModel):
    """`data` of a `t1` child; other fields kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    body: str = ""
    author: str
    permalink: str
    created_utc: float
    subreddit: str
    parent_id: str | None = None
    link_title: str | None = None
    score: int | None = None


class Child(BaseModel):
    kind: Literal["t1", "t3"]
    data: dict


class ListingData(BaseModel):
    children: list[Child]
    after: str | None = None
    before: str | None = None


class Listing(BaseModel):
    kind: Literal["Listing"]
    data: ListingData


def to_heard(child: Child) -> Heard:
    if child.kind == "t3":
        post = Post.model_validate(child.data)
        return Heard(post_mention(post), fields(post.title, post.selftext, post.url))
    comment = Comment.model_validate(child.data)
    mention = Mention(
        network="reddit",
        native_id=comment.name,
        url=SITE_URL + comment.permalink,
        author=comment.author,
        text=comment.body,
        created_at=datetime.fromtimestamp(comment.created_utc, UTC),
        metrics=Metrics(likes=comment.score),
        in_reply_to=comment.parent_id,
        raw=comment.model_dump(),
    )
    return Heard(mention, fields(comment.body))


def _mark(child: Child) -> dict[str, object]:
    return {"name": child.data["name"], "at": float(child.data["created_utc"])}


class RedditNewListener(StreamListener):
    name: ClassVar[str] = "reddit_new"
    network: ClassVar[str] = "reddit"
    Settings: ClassVar[type[StreamSettings]] = RedditNewSettings
    default_base_url: ClassVar[str] = SITE_URL
    settings: RedditNewSettings

    def __init__(self, settings: StreamSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        super().__init__(settings, http, env)
        # The reddit listener's session: its credentials, token renewal and hosts.
        self.session = RedditListener(
            RedditSettings(base_url=getattr(settings, "base_url", None)), http, env
        )

    def channels(self) -> list[str]:
        return ["posts", "comments"] if self.settings.comments else ["posts"]

    def _url(self, channel: str) -> str:
        where = "/r/" + ("+".join(self.settings.subreddits) or "all")
        return self.session.listing_url(f"{where}/{CHANNELS[channel]}")

    def _page(self, channel: str, **params: str | int) -> list[Child]:
        response = self.session.get(self._url(channel), {"limit": PAGE, "raw_json": 1, **params})
        return read_model(response, Listing).data.children

    def listen(self, channel: str, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        backoff = Backoff(self.settings.max_backoff)
        mark = _load(cursor)
        recent: OrderedDict[str, None] = OrderedDict()
        empty = 0
        since = datetime.now(UTC)
        while not stop.is_set():
            try:
                if mark is None:  # listening starts now
                    newest = self._page(channel)
                    mark = _mark(newest[0]) if newest else {"name": None, "at": time.time()}
                    yield Batch(cursor=json.dumps(mark), lag=0.0, connected_since=since)
                    continue
                if mark["name"] is None or empty >= self.settings.resync_after:
                    children = self._resync(channel, float(mark["at"]))  # type: ignore[arg-type]
                    empty = 0
                else:
                    children = self._page(channel, before=str(mark["name"]))
                    empty = 0 if children else empty + 1
                batch = Batch(connected_since=since)
                for child in sorted(children, key=lambda c: float(c.data["created_utc"])):
                    name = str(child.data["name"])
                    batch.events += 1
                    if name not in recent:
                        recent[name] = None
                        if len(recent) > RECENT:
                            recent.popitem(last=False)
                        batch.posts.append(to_heard(child))
                    mark = _mark(child)
                full = len(children) >= PAGE
                if children:
                    batch.cursor = json.dumps(mark)
                    batch.lag = 0.0 if not full else max(0.0, time.time() - float(mark["at"]))
                backoff.reset()
                yield batch
                if not full and stop.wait(self._pause()):
                    return
            except (AuthError, NotConfigured, RateLimited):
                raise
            except ListenerError as exc:
                log.warning("reddit_new %s: %s; trying again", channel, exc)
                yield Batch(error=str(exc))
                since = datetime.now(UTC)
                if backoff.wait(stop):
                    return

    def _resync(self, channel: str, at: float) -> list[Child]:
        """The newest items back to time `at`, when `before` has lost its item."""
        found: list[Child] = []
        after: str | None = None
        for _ in range(DEPTH):
            page = self._page(channel, **({"after": after} if after else {}))
            found += [c for c in page if float(c.data["created_utc"]) >= at]
            if not page or float(page[-1].data["created_utc"]) < at:
                break
            after = str(page[-1].data["name"])
        else:
            log.warning("reddit_new %s: more than %d items since the cursor", channel, DEPTH * PAGE)
        if found:
            log.info("reddit_new %s: the cursor's item is gone; resynced by time", channel)
        return found

    def _pause(self) -> float:
        """`poll`, or longer while the budget Reddit stated would not last to its reset."""
        budget = self.http.budget(self.session.api_url)
        pause = self.settings.poll
        if budget is not None and budget.remaining is not None and budget.reset_at is not None:
            left = (budget.reset_at - datetime.now(UTC)).total_seconds()
            polls = max(budget.remaining, 1) / len(self.channels())
            pause = max(pause, min(left / polls, self.settings.max_backoff))
        return pause

    def check(self) -> str:
        self._page("posts", limit=1)
        return f"{self._url('posts')} answered"


def _load(cursor: str | None) -> dict[str, object] | None:
    if not cursor:
        return None
    try:
        data = json.loads(cursor)
        return {"name": data.get("name"), "at": float(data["at"])}
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("reddit_new: ignoring an unreadable cursor %r; reading from now", cursor)
        return None
