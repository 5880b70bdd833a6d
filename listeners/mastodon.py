"""Mastodon posts: hashtag timelines on a list of instances, plus status search with a token.

Mastodon has no global search. Each instance holds its own users' posts and what federates to
it, and its hashtag timeline (`GET /api/v1/timelines/tag/:hashtag`, public on most instances) is
the way to hear the fediverse without an account. With `MASTODON_ACCESS_TOKEN` (a user token with
`read:search`) the first instance's status search (`GET /api/v2/search?type=statuses`) also
hears words outside hashtags, from accounts that opted into search (Mastodon 4.2+ with
Elasticsearch). The token is only ever sent to that first instance, the one it belongs to.

Timelines are read *forward* from `min_id` (the `rel="prev"` Link), oldest first, so every page's
cursor is safe to commit and a cycle cut short resumes where it stopped. Mastodon ids are
snowflakes of the post's time, and a post that federates late gets an id from when it was
written, behind ids already read; so each cycle reopens `OVERLAP_SECONDS` of ids and skips the
ones it already holds (the `listeners.watermark` idea, in ids). Servers whose ids are not
Mastodon snowflakes are read from the newest id without that window.

`base_url` names one instance (tests, proxies) instead of `instances`; setting both is an error.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from core.mention import Mention, Metrics
from core.query import And, Atom, Author, Handle, Hashtag, Not, Phrase, Post, Query, Word
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import Budget, read_model
from listeners.query_syntax import Syntax, alternatives, searches
from listeners.text import html_to_text
from listeners.watermark import MAX_SEEN, OVERLAP_SECONDS, Watermark

log = logging.getLogger(__name__)

TOKEN_ENV = "MASTODON_ACCESS_TOKEN"
MAX_LIMIT = 40  # statuses per page, timelines and search alike
EXTRA_TAGS = 4  # tags Mastodon applies from each of any[] / none[]
_SNOWFLAKE_MIN = 10**12 << 16  # a snowflake id of a post written after 2001
_URL = re.compile(r"https?://[^/\s?#]+(?:/[^\s?#]*)?")
# Mastodon hashtags: word characters with at least one that is not a digit.
_TAG = re.compile(r"\w*[^\W\d]\w*")
# A word with characters a search parser may read as syntax is sent quoted, which is the same
# single-term search without the risk of a parse error.
_PLAIN = re.compile(r"[\w.'-]+")


def instance_urls(value: list[str]) -> list[str]:
    """'mastodon.social' or a URL -> https://host, in order, without repeats."""
    urls = []
    for raw in value:
        url = raw.strip().rstrip("/")
        if "://" not in url:
            url = "https://" + url
        if not _URL.fullmatch(url):
            raise ValueError(f"{raw!r} is not an instance like 'mastodon.social' or a URL")
        urls.append(url)
    return list(dict.fromkeys(urls))


class MastodonSettings(SourceSettings):
    """`[sources.mastodon]`: `instances` whose hashtag timelines are read (the first one also runs
    status search when MASTODON_ACCESS_TOKEN is set, so list the token's own instance first);
    `limit` is the page size (Mastodon's maximum is 40)."""

    instances: list[str] = Field(default=["https://mastodon.social"], min_length=1)
    limit: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("instances")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return instance_urls(value)

    @model_validator(mode="after")
    def _one_way_to_name_servers(self) -> MastodonSettings:
        if self.base_url and "instances" in self.model_fields_set:
            raise ValueError("set base_url (one instance) or instances, not both")
        return self

    @property
    def servers(self) -> list[str]:
        return [self.base_url.rstrip("/")] if self.base_url else self.instances


# ---- wire format -----------------------------------------------------------------------------


class Account(BaseModel):
    """`account` of a status; other fields are kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    acct: str  # "user" for the instance's own users, "user@domain" for remote ones
    username: str
    url: str | None = None
    followers_count: int | None = None


class Status(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str  # instance-local; the same post has another id on every instance
    uri: str  # the post's ActivityPub id: the same everywhere
    url: str | None = None
    created_at: AwareDatetime
    content: str = ""  # sanitised HTML
    spoiler_text: str = ""  # the content warning, plain text
    account: Account
    language: str | None = None
    reblogs_count: int | None = None
    favourites_count: int | None = None
    replies_count: int | None = None
    in_reply_to_id: str | None = None
    reblog: Status | None = None

    @model_validator(mode="before")
    @classmethod
    def _dated(cls, data: Any) -> Any:
        """A status without `created_at` (a broken relay) is dated by when it was fetched."""
        if isinstance(data, dict) and data.get("created_at") is None:
            return {**data, "created_at": datetime.now(UTC)}
        return data


class Timeline(RootModel[list[Status]]):
    pass


class SearchResults(BaseModel):
    """`/api/v2/search`; `accounts` and `hashtags` are not asked for (`type=statuses`)."""

    statuses: list[Status]


def to_mention(status: Status, instance: str) -> Mention:
    """A boost is heard as the post it boosts: that is where the words and the author are."""
    post = status.reblog or status
    account = post.account
    acct = account.acct if "@" in account.acct else f"{account.acct}@{httpx.URL(instance).host}"
    return Mention(
        network="mastodon",
        native_id=post.uri,
        url=post.url or post.uri,
        author=acct,
        text=html_to_text(post.content),
        created_at=post.created_at.astimezone(UTC),
        title=post.spoiler_text.strip() or None,
        lang=post.language,
        metrics=Metrics(
            likes=post.favourites_count,
            reposts=post.reblogs_count,
            replies=post.replies_count,
            followers=account.followers_count,
        ),
        in_reply_to=post.in_reply_to_id,
        raw=post.model_dump(mode="json", exclude_none=True),
    )


# ---- the query -------------------------------------------------------------------------------


def _from(atom: Atom) -> str | None:
    """from: (Mastodon 4.2 full-text search) for a plain account name."""
    ok = isinstance(atom, Author) and _PLAIN.fullmatch(atom.name) and "*" not in atom.name
    return f"from:{atom.name}" if ok else None  # type: ignore[union-attr]


# "#acme" is indexed as the word "acme" (hashtag and handle stay bare words); the local check
# wants the '#'.
MASTODON = Syntax(
    word=lambda text: text if _PLAIN.fullmatch(text) else f'"{text}"',
    fields={"author": _from},
)


def compile_mastodon(query: Query) -> list[str]:
    """Status search `q`s, one per alternative: Mastodon's search requires every plain term and
    has no OR. Exclusions stay with `Query.accepts`, so no search is narrower than the query."""
    return searches(query, MASTODON)


def _tag_of(alternative: tuple[Atom, ...]) -> str | None:
    """The hashtag whose timeline can hold this alternative's posts: its own #hashtag first,
    then a word, then a phrase written as one tag ("acme cloud" -> #acmecloud)."""
    order = {Hashtag: 0, Word: 1, Phrase: 2, Handle: 3}
    ranked = sorted(alternative, key=lambda a: order.get(type(a), len(order)))
    for atom in ranked:
        match atom:
            case Hashtag(tag):
                candidate = tag
            case Word(text):
                candidate = text
            case Phrase(words):
                candidate = "".join(words)
            case _:
                continue
        if _TAG.fullmatch(candidate):
            return candidate.lower()
    return None


def timeline_tags(query: Query) -> list[str]:
    """Hashtags whose timelines cover the query; an alternative with no word that can be a tag
    (only @handles, say) is heard by status search alone."""
    tags = (_tag_of(alt) for alt in alternatives(query, MASTODON))
    return list(dict.fromkeys(t for t in tags if t))


def excluded_tags(query: Query) -> list[str]:
    """Hashtags the whole query excludes (`-#hiring` at top level), for `none[]`: the server
    drops them before they cost a page. Exclusions inside OR stay local."""
    items = query.expr.items if isinstance(query.expr, And) else (query.expr,)
    tags = [i.item.tag.lower() for i in items if isinstance(i, Not) and isinstance(i.item, Hashtag)]
    return list(dict.fromkeys(tags))[:EXTRA_TAGS]


# ---- what a cursor holds ---------------------------------------------------------------------


def _order(status_id: str) -> tuple[int, str]:
    """Mastodon's documented id order: a longer id is newer, then lexical order."""
    return (len(status_id), status_id)


def snowflake_at(epoch_seconds: int) -> str:
    """The smallest Mastodon status id of that second (`Mastodon::Snowflake.id_at`)."""
    return str(epoch_seconds * 1000 << 16)


def rewind(status_id: str, seconds: int) -> str:
    """The id `seconds` before a Mastodon snowflake; ids of other servers stay where they are."""
    if status_id.isdigit() and int(status_id) >= _SNOWFLAKE_MIN:
        return str(max(int(status_id) - (seconds * 1000 << 16), 0))
    return status_id


@dataclass(frozen=True)
class TagMark:
    """One hashtag timeline on one instance: the newest id read, and the ids read inside the
    overlap window below it (skipped when the window is read again). `start` is where listening
    began (the oldest id of a first poll, or a backfill's horizon): the window never reaches
    below it, since nothing older was wanted."""

    newest: str | None = None
    seen: frozenset[str] = frozenset()
    start: str | None = None

    @classmethod
    def load(cls, data: Any) -> TagMark:
        if not isinstance(data, dict) or not isinstance(data.get("min_id"), str):
            return cls()
        start = data.get("start")
        seen = frozenset(str(i) for i in data.get("seen", []))
        return cls(data["min_id"], seen, start if isinstance(start, str) else None)

    def dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "min_id": self.newest,
            "seen": sorted(self.seen, key=_order, reverse=True),
        }
        if self.start is not None:
            data["start"] = self.start
        return data

    @property
    def floor(self) -> str | None:
        if self.newest is None:
            return self.start
        window = rewind(self.newest, OVERLAP_SECONDS)
        return max(window, self.start, key=_order) if self.start else window

    def advance(self, ids: Iterable[str]) -> TagMark:
        read = set(ids)
        if not read:
            return self
        newest = max([*read, *([self.newest] if self.newest else [])], key=_order)
        window = rewind(newest, OVERLAP_SECONDS)
        kept = sorted((i for i in self.seen | read if _order(i) >= _order(window)), key=_order)
        start = self.start if self.start and _order(self.start) > _order(window) else None
        return TagMark(newest, frozenset(kept[-MAX_SEEN:]), start)


@dataclass
class Cursor:
    """`streams`: key -> that stream's state. `since` (epoch seconds) is a backfill's horizon for
    streams with no state yet; it is dropped once every stream has one."""

    streams: dict[str, Any] = field(default_factory=dict)
    since: int | None = None

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            since = data.get("since")
            return cls(dict(data.get("streams", {})), int(since) if since is not None else None)
        except (ValueError, TypeError, AttributeError):
            log.warning("ignoring an unreadable mastodon cursor %r; starting afresh", text[:80])
            return cls()

    def dumps(self) -> str:
        data: dict[str, Any] = {"streams": self.streams}
        if self.since is not None:
            data["since"] = self.since
        return json.dumps(data, separators=(",", ":"))


@dataclass(frozen=True)
class TagStream:
    """One timeline request shape: the path tag, up to four more in `any[]`, exclusions."""

    instance: str
    tags: tuple[str, ...]
    none: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.instance} #{'+'.join(self.tags)}"


@dataclass(frozen=True)
class SearchStream:
    instance: str
    q: str

    @property
    def key(self) -> str:
        return f"{self.instance} ?{self.q}"


# ---- rate limits and errors ------------------------------------------------------------------


@dataclass
class MastodonReply:
    """A `RateLimitRule` for one request: Mastodon's `X-RateLimit-Reset` is an ISO 8601 time
    (`2024-05-01T12:35:00.000000Z`), which the shared numeric header rules cannot read; and
    the status, which `listeners.http` turns into an exception without the response.

    One instance per request, so its fields belong to that response even across threads.
    """

    status: int | None = None
    reset_at: datetime | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        self.status = response.status_code
        remaining = _number(response.headers.get("x-ratelimit-remaining"))
        self.reset_at = _iso(response.headers.get("x-ratelimit-reset"))
        if remaining is None and self.reset_at is None:
            return None
        return Budget(remaining, self.reset_at)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


# ---- the listener ----------------------------------------------------------------------------


class MastodonListener(Listener):
    name: ClassVar[str] = "mastodon"
    display_name: ClassVar[str] = "Mastodon"
    Settings: ClassVar[type[SourceSettings]] = MastodonSettings
    default_base_url: ClassVar[str] = "https://mastodon.social"
    syntax: ClassVar[Syntax | None] = MASTODON
    settings: MastodonSettings

    def compiled(self, query: Query) -> list[str]:
        """Hashtag timelines read (`#tag`), then status searches when a token allows them."""
        timelines = [f"#{tag} (timeline)" for tag in timeline_tags(query)]
        return timelines + (compile_mastodon(query) if self._token() else [])

    def _token(self) -> str | None:
        """Optional: without it only hashtag timelines are read."""
        return self.env.get(TOKEN_ENV, "").strip() or None

    @property
    def home(self) -> str:
        """The instance MASTODON_ACCESS_TOKEN belongs to: the first one listed."""
        return self.settings.servers[0]

    def streams(self, query: Query) -> list[TagStream | SearchStream]:
        tags = timeline_tags(query)
        none = tuple(excluded_tags(query))
        size = 1 + EXTRA_TAGS
        groups = [tuple(tags[i : i + size]) for i in range(0, len(tags), size)]
        found: list[TagStream | SearchStream] = [
            TagStream(instance, group, none)
            for instance in self.settings.servers
            for group in groups
        ]
        if self._token():
            found += [SearchStream(self.home, q) for q in compile_mastodon(query)]
        if not found:
            raise NotConfigured(
                f"mastodon: {query.source!r} has no word that can be a hashtag, and hashtag "
                f"timelines are all Mastodon offers without {TOKEN_ENV} (a token with read:search "
                f"from {self.home}/settings/applications enables status search)"
            )
        return found

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Each stream (instance x hashtag group, and status search) in turn; one failing
        instance does not keep the others from being heard, and its error is raised after."""
        plan = self.streams(query)
        state = Cursor.load(cursor)
        # Streams the query no longer has (it was edited) are forgotten, keeping cursors small.
        state.streams = {s.key: state.streams[s.key] for s in plan if s.key in state.streams}
        heard: set[str] = set()  # one post reaches many instances; yield it once per cycle
        failures: list[ListenerError] = []
        for stream in plan:
            saved = state.streams.get(stream.key)
            pages = (
                self._tag_pages(stream, saved, state.since)
                if isinstance(stream, TagStream)
                else self._search_pages(stream, saved, state.since)
            )
            try:
                for statuses, progress in pages:
                    mentions = self._matching(statuses, stream.instance, query, heard)
                    if progress is not None:
                        state.streams[stream.key] = progress
                    yield Page(mentions, state.dumps() if progress is not None else None)
            except ListenerError as exc:
                failures.append(exc)
        if state.since is not None and not failures:
            state.since = None  # every stream has its own state now
            yield Page([], state.dumps())
        if failures:
            raise next((f for f in failures if isinstance(f, RateLimited)), failures[0])

    def backfill_cursor(self, since: datetime) -> str | None:
        """Timelines are read forward from the first id of `since`; search walks back to it."""
        return Cursor(since=int(since.timestamp())).dumps()

    def _matching(
        self, statuses: list[Status], instance: str, query: Query, heard: set[str]
    ) -> list[Mention]:
        mentions = []
        for status in statuses:
            mention = to_mention(status, instance)
            if mention.native_id in heard:
                continue
            heard.add(mention.native_id)
            if query.accepts(Post.of(mention)):
                mentions.append(mention)
        return mentions

    # -- hashtag timelines

    def _tag_pages(
        self, stream: TagStream, saved: Any, since: int | None
    ) -> Iterator[tuple[list[Status], dict[str, Any]]]:
        """(statuses not read before, the stream's state once they are committed), oldest
        first. A stream with no state starts at `since` (backfill) or, on its first poll, with
        the newest page: listening starts now."""
        mark = TagMark.load(saved)
        if mark.newest is None and since is None:
            statuses, _ = self._timeline(stream, {})
            ids = [s.id for s in statuses]
            begun = TagMark(start=min(ids, key=_order)) if ids else mark
            yield statuses, begun.advance(ids).dump()
            return
        backfill = mark.newest is None
        if backfill:
            horizon = snowflake_at(since or 0)
            mark = TagMark(horizon, frozenset(), horizon)
        min_id = mark.floor
        while True:
            statuses, newer = self._timeline(stream, {"min_id": min_id})
            if not statuses:  # caught up: Mastodon sends an empty page (and no Link) at the top
                if backfill:
                    yield [], mark.dump()  # nothing since the horizon: later polls start there
                return
            backfill = False
            fresh = [s for s in statuses if s.id not in mark.seen]
            mark = mark.advance(s.id for s in statuses)
            yield fresh, mark.dump()
            following = newer or mark.newest
            if following is None or following == min_id:
                return
            min_id = following

    def _timeline(
        self, stream: TagStream, page: Mapping[str, str]
    ) -> tuple[list[Status], str | None]:
        """One page and the `min_id` of the `rel="prev"` (newer) Link. Only the id is taken from
        the Link: Mastodon drops `any[]`/`none[]` from the URLs it links to."""
        params: dict[str, Any] = {"limit": self.settings.limit, **page}
        if len(stream.tags) > 1:
            params["any[]"] = list(stream.tags[1:])
        if stream.none:
            params["none[]"] = list(stream.none)
        url = f"{stream.instance}/api/v1/timelines/tag/{quote(stream.tags[0], safe='')}"
        response = self._get(stream.instance, url, params, what=f"#{stream.tags[0]}")
        if response is None:
            return [], None  # the instance has never seen the tag
        return read_model(response, Timeline).root, link_id(response, "prev", "min_id")

    # -- status search

    def _search_pages(
        self, stream: SearchStream, saved: Any, since: int | None
    ) -> Iterator[tuple[list[Status], dict[str, Any] | None]]:
        """Search is newest first (by id), paged by `offset`: the stream's state moves only on
        its last page, where the results reach what was read before. A first poll reads one
        page, as timelines do, and `start` keeps the overlap window from reaching below it."""
        start: int | None = None
        if isinstance(saved, dict):
            mark = Watermark.load(json.dumps(saved))
            start = saved["start"] if isinstance(saved.get("start"), int) else None
        elif since is not None:
            mark = Watermark.reaching_back_to(datetime.fromtimestamp(since, UTC))
        else:
            mark = Watermark()
        first_poll = mark.since is None
        fetched: dict[str, int] = {}
        offset = 0
        while True:
            statuses = self._search(stream, offset)
            fresh = []
            reached_old = False
            for status in statuses:
                created = int(status.created_at.timestamp())
                if mark.is_old(created) or (start is not None and created < start):
                    reached_old = True
                    continue
                if status.id not in fetched and mark.is_new(status.id, created):
                    fresh.append(status)
                fetched[status.id] = created
            # Results are filtered after paging, so a short page is not the end; an empty one is.
            done = reached_old or not statuses or first_poll
            if not done:
                yield fresh, None
                offset += len(statuses)
                continue
            advanced = mark.advance(fetched.items())
            progress = json.loads(advanced.dumps())
            if first_poll and fetched:
                start = min(fetched.values())
            if start is not None and advanced.floor is not None and start > advanced.floor:
                progress["start"] = start
            yield fresh, progress
            return

    def _search(self, stream: SearchStream, offset: int) -> list[Status]:
        params: dict[str, Any] = {
            "q": stream.q,
            "type": "statuses",
            "limit": self.settings.limit,
        }
        if offset:
            params["offset"] = offset
        url = f"{stream.instance}/api/v2/search"
        response = self._get(stream.instance, url, params, what=f"search {stream.q!r}")
        assert response is not None  # only timelines answer "no such tag"
        return read_model(response, SearchResults).statuses

    # -- requests

    def _get(
        self, instance: str, url: str, params: Mapping[str, Any], what: str
    ) -> httpx.Response | None:
        """GET with Mastodon's rate-limit reading; None for a 404 (a tag the instance never
        saw: the documented answer of some versions, where others send an empty list)."""
        token = self._token() if instance == self.home else None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        reply = MastodonReply()
        try:
            return self.http.get(url, params=params, headers=headers, rules=[reply])
        except RateLimited as exc:
            if reply.reset_at is None:
                raise
            # The shared rules read X-RateLimit-Reset as a number and fall back to a guess;
            # the time Mastodon stated is the one to wait for.
            until = max(reply.reset_at, datetime.now(UTC) + timedelta(seconds=1))
            raise RateLimited(
                f"mastodon: {httpx.URL(instance).host} is rate limiting {what} "
                f"(HTTP {reply.status}); its window resets at {until:%Y-%m-%d %H:%M:%S} UTC",
                until,
            ) from exc
        except AuthError as exc:
            if token:
                hint = (
                    f"{TOKEN_ENV} was refused: create a new token with read:search at "
                    f"{instance}/settings/applications"
                )
            else:
                hint = (
                    "this instance requires sign-in for its public feeds; remove it from "
                    f"instances or list it first with {TOKEN_ENV} from an account there"
                )
            raise AuthError(f"mastodon: {what}: {exc}; {hint}") from exc
        except ListenerError:
            if reply.status == 404 and "/timelines/tag/" in url:
                return None
            raise

    def check(self) -> str:
        for instance in self.settings.servers:
            stream = TagStream(instance, ("mastodon",), ())
            self._timeline(stream, {})
        hosts = ", ".join(str(httpx.URL(i).host) for i in self.settings.servers)
        if not self._token():
            return f"hashtag timelines on {hosts} answered (set {TOKEN_ENV} for status search)"
        self._search(SearchStream(self.home, "mastodon"), 0)
        return f"hashtag timelines on {hosts} answered; {TOKEN_ENV} searches {self.home}"


def link_id(response: httpx.Response, rel: str, param: str) -> str | None:
    """The `param` of the `rel` link in a Link header (RFC 8288), as Mastodon pages with:
    `<https://host/api/v1/timelines/tag/x?max_id=1>; rel="next", <...?min_id=9>; rel="prev"`."""
    link = response.links.get(rel)
    if not link or "url" not in link:
        return None
    return httpx.URL(link["url"]).params.get(param)
