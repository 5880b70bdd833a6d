"""Every Hacker News story and comment, in order, from the official Firebase API (no key).

The template for a new stream, top to bottom: its settings, its wire format as a pydantic model,
one function turning an item into a `Heard` post, and `listen`, which yields batches in the
network's order with the cursor after each. HTTP goes through `listeners.http`, matching is the
stream runner's (`listenpost/streams.py`); register the class in `listeners/registry.py`.

API (https://github.com/HackerNews/API): `GET /v0/maxitem.json` is the newest item id;
`GET /v0/item/<id>.json` one item (story, comment, job, poll, pollopt), or `null` for an id not
yet visible; `GET /v0/updates.json` lists recently changed items (edits, new scores).

Ids are dense and increasing, so reading every id from the cursor to `maxitem` hears every
item, unlike search. Items are fetched `workers` at a time and yielded in id order; the cursor
is the last id such that it and every id before it were read (so a restart resumes exactly
there). An id answering `null` (not propagated yet) holds the cursor until it appears, for at
most `null_tries` reads; past that it is skipped (ids of items that were never published).
Items changed since they were read (`updates.json`) are read again, so a comment edited to name
a brand is heard too; storage keeps the first version of a post it already holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from core.mention import Mention, Metrics
from core.query import fields
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.hackernews import ITEM_URL
from listeners.http import read_json, read_model
from listeners.stream import Backoff, Batch, Heard, StreamListener, StreamSettings
from listeners.text import html_to_text

log = logging.getLogger(__name__)

Kind = Literal["story", "comment", "job", "poll", "pollopt"]
CHUNK = 200  # ids fetched per round at most, so a long catch-up commits as it goes


class HackerNewsItemsSettings(StreamSettings):
    """`[sources.hackernews_items]`: `types` of item to hear; `workers` item fetches at once;
    `poll` seconds between looks at `maxitem` once caught up; `updates` seconds between reads
    of updates.json (0: never); `null_tries` reads of a `null` id before it is skipped."""

    base_url: str | None = None
    types: list[Kind] = Field(default=["story", "comment"], min_length=1)
    workers: int = Field(default=16, ge=1, le=64)
    poll: float = Field(default=2.0, gt=0, le=300)
    updates: float = Field(default=30.0, ge=0, le=3600)
    null_tries: int = Field(default=10, ge=1, le=1000)


# ---- wire format -----------------------------------------------------------------------------


class Item(BaseModel):
    """`/v0/item/<id>.json`; other fields (kids, parts, poll) are kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    id: int
    type: str | None = None
    by: str | None = None
    time: int | None = None
    text: str | None = None
    title: str | None = None
    url: str | None = None
    parent: int | None = None
    score: int | None = None
    descendants: int | None = None
    deleted: bool = False
    dead: bool = False


class Updates(BaseModel):
    items: list[int] = []
    profiles: list[str] = []


class MaxItem(RootModel[int]):
    pass


def to_heard(item: Item) -> Heard:
    is_comment = item.type == "comment"
    body = html_to_text(item.text)
    mention = Mention(
        network="hackernews",  # the same ids as the Algolia listener's: stored once
        native_id=str(item.id),
        url=ITEM_URL.format(item.id),
        author=item.by or "",
        text=body or item.title or "",
        created_at=datetime.fromtimestamp(item.time or 0, UTC),
        title=None if is_comment else item.title,
        metrics=Metrics(likes=item.score, replies=item.descendants),
        in_reply_to=str(item.parent) if is_comment and item.parent is not None else None,
        raw=item.model_dump(exclude_none=True),
    )
    return Heard(mention, fields(mention.title, mention.text, item.url))


class HackerNewsItemsListener(StreamListener):
    name: ClassVar[str] = "hackernews_items"
    network: ClassVar[str] = "hackernews"
    Settings: ClassVar[type[StreamSettings]] = HackerNewsItemsSettings
    default_base_url: ClassVar[str] = "https://hacker-news.firebaseio.com"
    settings: HackerNewsItemsSettings

    def listen(self, channel: str, cursor: str | None, stop: threading.Event) -> Iterator[Batch]:
        backoff = Backoff(self.settings.max_backoff)
        position = _position(cursor)
        nulls: dict[int, int] = {}  # id -> reads that answered null
        ahead: dict[int, Item | ListenerError | None] = {}  # read past a hole, until it fills
        listed: set[int] | None = None  # what updates.json listed last time
        next_updates = time.monotonic() + self.settings.updates
        self._since = _now()
        with ThreadPoolExecutor(self.settings.workers, "hackernews_items") as pool:
            while not stop.is_set():
                try:
                    top = self._max_item()
                    backoff.reset()
                    if position is None:
                        position = top  # listening starts now
                        yield Batch(cursor=str(top), lag=0.0, connected_since=self._since)
                    held = False  # the next id is not readable yet: wait before trying again
                    if top > position:
                        batch, failed = self._round(pool, position, top, nulls, ahead)
                        position = int(batch.cursor or position)
                        held = not batch.events
                        yield batch
                        if failed is not None:
                            yield Batch(error=str(failed))
                            held = True
                    if self.settings.updates and time.monotonic() >= next_updates:
                        next_updates = time.monotonic() + self.settings.updates
                        batch, listed = self._updates(pool, position, listed)
                        if batch.events:
                            yield batch
                    if (top <= position or held) and stop.wait(self.settings.poll):
                        return
                except (AuthError, NotConfigured, RateLimited):
                    raise
                except ListenerError as exc:
                    log.warning("hackernews_items: %s; trying again", exc)
                    yield Batch(error=str(exc))
                    self._since = _now()
                    if backoff.wait(stop):
                        return

    def _round(
        self,
        pool: ThreadPoolExecutor,
        position: int,
        top: int,
        nulls: dict[int, int],
        ahead: dict[int, Item | ListenerError | None],
    ) -> tuple[Batch, ListenerError | None]:
        """Items after `position`, in id order, up to the first one that is not there yet (or
        whose read failed: the error is returned, to be shown while it is read again)."""
        ids = range(position + 1, min(top, position + CHUNK) + 1)
        wanted = [i for i in ids if not isinstance(ahead.get(i), Item)]
        for item_id, item in zip(wanted, pool.map(self._fetch, wanted), strict=True):
            ahead[item_id] = item
        batch = Batch(connected_since=self._since)
        newest_time = None
        failed: ListenerError | None = None
        for item_id in ids:
            item = ahead.get(item_id)
            if isinstance(item, ListenerError):
                failed = item  # read again next round, never skipped
                break
            if item is None:
                nulls[item_id] = nulls.get(item_id, 0) + 1
                if nulls[item_id] < self.settings.null_tries:
                    break  # the cursor waits here for it
                log.info("hackernews_items: item %d stayed null; skipping it", item_id)
            else:
                self._hear(item, batch)
                newest_time = item.time or newest_time
            ahead.pop(item_id, None)
            nulls.pop(item_id, None)
            batch.cursor = str(item_id)
            batch.events += 1
        caught_up = batch.cursor == str(top)
        if caught_up:
            batch.lag = 0.0
        elif newest_time is not None:
            batch.lag = max(0.0, time.time() - newest_time)
        return batch, failed

    def _updates(
        self, pool: ThreadPoolExecutor, position: int, listed: set[int] | None
    ) -> tuple[Batch, set[int]]:
        """Items newly listed as changed, read again (an edit can add a brand's name); the
        first look only notes what is listed, since those changes came before listening."""
        response = self.http.get(f"{self.base_url}/v0/updates.json")
        now_listed = read_model(response, Updates).items
        batch = Batch(connected_since=self._since)
        if listed is not None:
            changed = [i for i in now_listed if i <= position and i not in listed]
            for item in pool.map(self._fetch, changed[:CHUNK]):
                if isinstance(item, Item):
                    batch.events += 1
                    self._hear(item, batch)
        return batch, set(now_listed)

    def _hear(self, item: Item, batch: Batch) -> None:
        if item.deleted or item.dead or item.type not in self.settings.types:
            return
        batch.posts.append(to_heard(item))

    def _max_item(self) -> int:
        response = self.http.get(f"{self.base_url}/v0/maxitem.json")
        return read_model(response, MaxItem).root

    def _fetch(self, item_id: int) -> Item | ListenerError | None:
        """The item; None while it is not visible (`null`); the error of a failed read."""
        try:
            body = read_json(self.http.get(f"{self.base_url}/v0/item/{item_id}.json"))
            return None if body is None else Item.model_validate(body)
        except ValidationError as exc:
            log.warning("hackernews_items: item %d is not an item (%s); skipping", item_id, exc)
            return Item(id=item_id, deleted=True)
        except (AuthError, NotConfigured, RateLimited):
            raise
        except ListenerError as exc:
            return exc

    def check(self) -> str:
        return f"{self.base_url} answered; newest item {self._max_item()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _position(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(cursor)
    except ValueError:
        log.warning("hackernews_items: ignoring an unreadable cursor %r; reading from now", cursor)
        return None
