"""News and blogs: any RSS or Atom feed, plus a Google News search built from the brand's query.

Feeds are fetched by `HttpClient` (so retries, timeouts, rate limits and `base_url` apply) and
parsed by feedparser from bytes. Each feed is read with a conditional GET (ETag/Last-Modified),
and entries already seen in that feed are skipped, so a quiet feed costs a 304 and nothing else.
Feeds are not searched by the network: every entry goes through `Query.matches`.

The cursor is JSON holding each feed's state; one page per feed carries the whole cursor, so a
feed that fails leaves its own state as it was while the others move on. The first error is
raised after the other feeds were read.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import feedparser
import httpx
from pydantic import BaseModel, ValidationError, field_validator, model_validator

from core.mention import Mention
from core.query import Post, Query, fields
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import ListenerError, MalformedResponse, first_of
from listeners.query_syntax import GOOGLE_NEWS, Syntax, to_google_news
from listeners.text import html_to_text

log = logging.getLogger(__name__)

GOOGLE_NEWS_URL = "https://news.google.com"
GOOGLE_NEWS_EDITION = {"hl": "en-US", "gl": "US", "ceid": "US:en"}
MAX_SEEN_PER_FEED = 500
FEEDS_AT_ONCE = 4  # feeds fetched side by side in one poll


class RssSettings(SourceSettings):
    """`[sources.rss]`: `feeds` are RSS/Atom URLs read in full; `google_news` adds a Google
    News search for the brand's query (`base_url` replaces https://news.google.com)."""

    feeds: list[str] = []
    google_news: bool = True

    @field_validator("feeds")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) feed URL")
        return value

    @model_validator(mode="after")
    def _something_to_read(self) -> RssSettings:
        if not self.feeds and not self.google_news:
            raise ValueError("nothing to read: list feeds, or set google_news = true")
        return self


class FeedState(BaseModel):
    etag: str | None = None
    modified: str | None = None
    seen: list[str] = []


class Cursor(BaseModel):
    feeds: dict[str, FeedState] = {}


def _entry_id(entry: Any) -> str:
    found = entry.get("id") or entry.get("link")
    if found:
        return str(found)
    key = f"{entry.get('title', '')}\n{entry.get('published', entry.get('updated', ''))}"
    return "sha1:" + hashlib.sha1(key.encode()).hexdigest()


def _primary(lang: str | None) -> str | None:
    return lang.replace("_", "-").split("-")[0].lower() if lang else None


def to_mention(entry: Any, feed: Any, feed_url: str, fetched_at: datetime) -> Mention:
    """One entry; feeds vary wildly, so every field has a fallback rather than a failure."""
    title = html_to_text(entry.get("title")) or None
    content = entry.get("content") or [{}]
    body = html_to_text(entry.get("summary") or content[0].get("value"))
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    source = entry.get("source") or {}
    lang = (entry.get("title_detail") or {}).get("language") or feed.get("language")
    return Mention(
        network="rss",
        native_id=_entry_id(entry),
        url=entry.get("link") or feed.get("link") or feed_url,
        author=entry.get("author") or source.get("title") or feed.get("title") or feed_url,
        text=body or title or "",
        created_at=datetime(*stamp[:6], tzinfo=UTC) if stamp else fetched_at,
        title=title,
        lang=_primary(lang),
        raw={
            "feed": feed_url,
            "feed_title": feed.get("title"),
            **{k: v for k, v in entry.items() if isinstance(v, str)},
            **({"source": dict(source)} if source else {}),
        },
    )


class RssListener(Listener):
    name: ClassVar[str] = "rss"
    display_name: ClassVar[str] = "RSS"
    Settings: ClassVar[type[SourceSettings]] = RssSettings
    default_base_url: ClassVar[str] = GOOGLE_NEWS_URL
    syntax: ClassVar[Syntax | None] = GOOGLE_NEWS
    settings: RssSettings

    def compiled(self, query: Query) -> list[str]:
        """The Google News search; the configured feeds are read whole and checked locally."""
        return [to_google_news(query)] if self.settings.google_news else []

    def google_news_url(self, query: Query) -> str:
        params = {"q": to_google_news(query), **GOOGLE_NEWS_EDITION}
        return f"{self.base_url}/rss/search?{urlencode(params)}"

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        urls = ([self.google_news_url(query)] if self.settings.google_news else []) + list(
            self.settings.feeds
        )
        stored = _load(cursor).feeds
        # Only feeds still configured are carried forward; a changed query is a new URL.
        states = {url: stored[url] for url in urls if url in stored}
        errors: list[ListenerError] = []
        with ThreadPoolExecutor(max_workers=FEEDS_AT_ONCE) as pool:
            # Side by side, so one unreachable feed's retries do not hold up the others; each
            # fetch runs in a copy of this poll's context, so the poll's bounds apply to it.
            fetches = [
                pool.submit(contextvars.copy_context().run, self._fetch, url, states.get(url))
                for url in urls
            ]
            for url, fetch in zip(urls, fetches, strict=True):
                try:
                    result = self._read(url, fetch.result(), states.get(url), query)
                except ListenerError as exc:
                    errors.append(exc)
                    continue
                if result is not None:
                    mentions, states[url] = result
                    yield Page(mentions, Cursor(feeds=states).model_dump_json())
        if errors:
            raise first_of(errors)

    def _read(
        self,
        url: str,
        fetched: tuple[httpx.Response, feedparser.FeedParserDict] | None,
        state: FeedState | None,
        query: Query,
    ) -> tuple[list[Mention], FeedState] | None:
        """New matching entries and the feed's next state; None when it has not changed."""
        if fetched is None:
            return None
        response, parsed = fetched
        now = datetime.now(UTC)
        seen = set(state.seen) if state else set()
        ids: list[str] = []
        mentions = []
        for entry in parsed.entries:
            mention = to_mention(entry, parsed.feed, url, now)
            ids.append(mention.native_id)
            if mention.native_id in seen:
                continue
            if query.accepts(Post.of(mention, fields(mention.title, mention.text, mention.url))):
                mentions.append(mention)
        current = set(ids)
        carried = [i for i in (state.seen if state else []) if i not in current]
        next_state = FeedState(
            etag=response.headers.get("etag"),
            modified=response.headers.get("last-modified"),
            seen=(ids + carried)[:MAX_SEEN_PER_FEED],
        )
        return mentions, next_state

    def _fetch(
        self, url: str, state: FeedState | None
    ) -> tuple[httpx.Response, feedparser.FeedParserDict] | None:
        headers = {}
        if state and state.etag:
            headers["If-None-Match"] = state.etag
        if state and state.modified:
            headers["If-Modified-Since"] = state.modified
        response = self.http.get(url, headers=headers)
        if response.status_code == 304:
            return None
        parsed = feedparser.parse(
            response.content,
            response_headers={
                "content-location": str(response.url),
                "content-type": response.headers.get("content-type", ""),
            },
        )
        if not parsed.get("version"):
            problem = parsed.get("bozo_exception") or "no RSS or Atom elements"
            raise MalformedResponse(f"{url} is not an RSS or Atom feed ({problem})")
        return response, parsed

    def check(self) -> str:
        started = time.monotonic()
        urls = list(self.settings.feeds)
        if self.settings.google_news:
            params = {"q": "news", **GOOGLE_NEWS_EDITION}
            urls.insert(0, f"{self.base_url}/rss/search?{urlencode(params)}")
        for url in urls:
            self._fetch(url, None)
        took = time.monotonic() - started
        return f"{len(urls)} feed(s) answered as RSS/Atom in {took:.1f}s"


def _load(cursor: str | None) -> Cursor:
    if not cursor:
        return Cursor()
    try:
        return Cursor.model_validate_json(cursor)
    except ValidationError:
        # Re-reading the feeds only repeats entries, which storage upserts.
        log.warning("ignoring an unreadable rss cursor %r; re-reading the feeds", cursor[:80])
        return Cursor()
