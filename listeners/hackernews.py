"""Hacker News stories and comments, through the Algolia HN Search API (no key needed).

The template for a new network, top to bottom: its settings, its wire format as pydantic models,
one function turning a result into a `Mention`, and `search`, which pages through results newer
than the cursor. HTTP (retries, rate limits, User-Agent) lives in `listeners.http`, the query in
`core.query` and its network syntax in `listeners.query_syntax`; register the class in
`listeners/registry.py`.

API: GET {base}/search_by_date?query=&tags=&numericFilters=created_at_i>=T&page=&hitsPerPage=,
newest first, `page`/`nbPages` pagination capped at 1,000 hits per search.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.mention import Mention, Metrics
from core.query import Post, Query, fields
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import Runaway
from listeners.http import read_model
from listeners.query_syntax import ALGOLIA, Syntax, to_algolia
from listeners.text import html_to_text
from listeners.watermark import Watermark

ITEM_URL = "https://news.ycombinator.com/item?id={}"

Tag = Literal["story", "comment", "poll", "pollopt", "show_hn", "ask_hn", "job"]


class HackerNewsSettings(SourceSettings):
    """`[sources.hackernews]`: which item types to hear, and the page size (Algolia max 1000)."""

    tags: list[Tag] = Field(default=["story", "comment"], min_length=1)
    hits_per_page: int = Field(default=100, ge=1, le=1000)


class Hit(BaseModel):
    """One entry of `hits`; fields we do not use are kept (extra="allow") for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    objectID: str
    created_at_i: int
    author: str | None = None
    title: str | None = None
    url: str | None = None
    story_text: str | None = None
    comment_text: str | None = None
    story_id: int | None = None
    parent_id: int | None = None
    points: int | None = None
    num_comments: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _dated(cls, data: Any) -> Any:
        """A hit without `created_at_i` is dated by its ISO `created_at`, else by fetch time."""
        if isinstance(data, dict) and data.get("created_at_i") is None:
            try:
                when = datetime.fromisoformat(str(data.get("created_at")).replace("Z", "+00:00"))
                stamp = when if when.tzinfo else when.replace(tzinfo=UTC)
            except ValueError:
                stamp = datetime.now(UTC)
            return {**data, "created_at_i": int(stamp.timestamp())}
        return data


class SearchResponse(BaseModel):
    hits: list[Hit]
    page: int
    nbPages: int
    nbHits: int = 0


def to_mention(hit: Hit) -> Mention:
    is_comment = hit.comment_text is not None
    body = html_to_text(hit.comment_text if is_comment else hit.story_text)
    raw: dict[str, Any] = {
        k: v for k, v in hit.model_dump().items() if k != "_highlightResult" and v is not None
    }
    return Mention(
        network="hackernews",
        native_id=hit.objectID,
        url=ITEM_URL.format(hit.objectID),
        author=hit.author or "",
        text=body or hit.title or "",
        created_at=datetime.fromtimestamp(hit.created_at_i, UTC),
        # A comment's story title is context, not its words: it stays in raw["story_title"].
        title=None if is_comment else hit.title,
        metrics=Metrics(likes=hit.points, replies=hit.num_comments),
        in_reply_to=str(hit.parent_id) if is_comment and hit.parent_id is not None else None,
        raw=raw,
    )


def matched_text(mention: Mention, hit: Hit) -> str:
    """What the query is checked against: what Algolia searched, minus the author's name."""
    return fields(mention.title, mention.text, hit.url)


class HackerNewsListener(Listener):
    name: ClassVar[str] = "hackernews"
    display_name: ClassVar[str] = "Hacker News"
    Settings: ClassVar[type[SourceSettings]] = HackerNewsSettings
    default_base_url: ClassVar[str] = "https://hn.algolia.com/api/v1"
    syntax: ClassVar[Syntax | None] = ALGOLIA
    settings: HackerNewsSettings

    def compiled(self, query: Query) -> list[str]:
        return to_algolia(query)

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Newest first, so the cursor rides only on the very last page of the last search.

        The first run (no cursor) stays within Algolia's newest 1,000 hits instead of walking
        back through years of history: that is what `listenpost backfill` is for.
        """
        mark = Watermark.load(cursor)
        first_run = cursor is None
        searches = self.compiled(query)  # Algolia has no OR: one search per alternative
        fetched: dict[str, int] = {}
        for number, terms in enumerate(searches, start=1):
            page, ceiling = 0, None
            read: set[str] = set()  # this search's hits: a later page must bring others
            while True:
                body = self._fetch(terms, page, mark.floor, ceiling)
                if page > 0 and body.hits and read.issuperset(h.objectID for h in body.hits):
                    raise Runaway(
                        f"hackernews page {page} repeats hits already read ({body.nbPages} "
                        "pages announced); stopped"
                    )
                read.update(h.objectID for h in body.hits)
                mentions = []
                for hit in body.hits:
                    if hit.objectID not in fetched and mark.is_new(hit.objectID, hit.created_at_i):
                        mention = to_mention(hit)
                        if query.accepts(Post.of(mention, matched_text(mention, hit))):
                            mentions.append(mention)
                    fetched[hit.objectID] = hit.created_at_i
                done = not body.hits or body.page + 1 >= body.nbPages
                reached = body.page * self.settings.hits_per_page + len(body.hits)
                if done and not first_run and body.hits and body.nbHits > reached:
                    # Algolia stops paging at 1,000 hits; a busy window continues below the
                    # oldest hit seen (ids already fetched are skipped), so none is missed.
                    oldest = min(h.created_at_i for h in body.hits)
                    if ceiling is None or oldest < ceiling:
                        page, ceiling, done = -1, oldest, False
                        read = set()
                last = done and number == len(searches)
                yield Page(mentions, mark.advance(fetched.items()).dumps() if last else None)
                if done:
                    break
                page += 1

    def backfill_cursor(self, since: datetime) -> str | None:
        """History through the same search, bounded below by `since` (the API still caps one
        search at about 1,000 results)."""
        return Watermark.reaching_back_to(since).dumps()

    def _fetch(
        self, terms: str, page: int, floor: int | None, ceiling: int | None = None
    ) -> SearchResponse:
        params: dict[str, str | int] = {
            "query": terms,
            "tags": self._tags(),
            "hitsPerPage": self.settings.hits_per_page,
            "page": page,
        }
        bounds = [f"created_at_i>={floor}"] if floor is not None else []
        if ceiling is not None:
            bounds.append(f"created_at_i<={ceiling}")
        if bounds:
            params["numericFilters"] = ",".join(bounds)
        response = self.http.get(f"{self.base_url}/search_by_date", params=params)
        return read_model(response, SearchResponse)

    def _tags(self) -> str:
        tags = self.settings.tags
        return tags[0] if len(tags) == 1 else "(" + ",".join(tags) + ")"

    def check(self) -> str:
        response = self.http.get(
            f"{self.base_url}/search_by_date", params={"tags": "story", "hitsPerPage": 1}
        )
        body = read_model(response, SearchResponse)
        if not body.hits:
            return f"{self.base_url} answered with no stories"
        newest = datetime.fromtimestamp(body.hits[0].created_at_i, UTC)
        return f"{self.base_url} answered; newest story {newest:%Y-%m-%d %H:%M} UTC"
