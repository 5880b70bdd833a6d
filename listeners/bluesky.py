"""Bluesky posts, through `app.bsky.feed.searchPosts` on a PDS (which proxies to the AppView).

Search needs a signed-in account: `BLUESKY_HANDLE` and `BLUESKY_APP_PASSWORD` (an app password,
not the account password) open a session with `com.atproto.server.createSession`. Its
short-lived `accessJwt` is renewed with the `refreshJwt` (`com.atproto.server.refreshSession`)
when a call answers 400 `ExpiredToken` (or 401), and a refused refresh opens a new session. The
password and both tokens live only in memory and never reach a log line or an error message.

Each poll asks, newest first (`sort=latest`), for everything `since` the newest post time seen
minus an overlap window (`listeners.watermark`), following the opaque `cursor` within the poll;
only the poll's last page carries the cursor. `since` compares the post's `sortAt`, the earlier
of its client-set `createdAt` and the AppView's `indexedAt`, so that is the time remembered.

`base_url` is the PDS (default https://bsky.social, where bsky.social accounts live); an account
on another PDS names its host there.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.mention import Mention, Metrics
from core.query import Atom, Post, Query, Site, fields
from core.query import Author as ByAuthor
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured
from listeners.http import Budget, HttpClient, read_model
from listeners.query_syntax import Syntax, searches
from listeners.watermark import Watermark

HANDLE_ENV = "BLUESKY_HANDLE"
PASSWORD_ENV = "BLUESKY_APP_PASSWORD"
SEARCH = "app.bsky.feed.searchPosts"
CREATE_SESSION = "com.atproto.server.createSession"
REFRESH_SESSION = "com.atproto.server.refreshSession"
POST_URL = "https://bsky.app/profile/{}/post/{}"
_AT_URI = re.compile(r"at://(?P<did>[^/]+)/app\.bsky\.feed\.post/(?P<rkey>[^/?#]+)")
# Words with characters Lucene reads as syntax are sent quoted: the same single-term search
# without a BadQueryString.
_PLAIN = re.compile(r"[\w.'-]+")
_EXPIRED = frozenset({"ExpiredToken", "InvalidToken"})


class BlueskySettings(SourceSettings):
    """`[sources.bluesky]`: `limit` is the page size (searchPosts allows 1-100)."""

    limit: int = Field(default=100, ge=1, le=100)


# ---- wire format -----------------------------------------------------------------------------


class Author(BaseModel):
    """`app.bsky.actor.defs#profileViewBasic`; other fields kept for `Mention.raw`."""

    model_config = ConfigDict(extra="allow")

    did: str
    handle: str
    displayName: str | None = None


class StrongRef(BaseModel):
    uri: str
    cid: str | None = None


class ReplyRef(BaseModel):
    parent: StrongRef
    root: StrongRef | None = None


class PostRecord(BaseModel):
    """The `app.bsky.feed.post` record as its author's client wrote it."""

    model_config = ConfigDict(extra="allow")

    text: str = ""
    createdAt: str = ""  # client-set, so parsed leniently (see `created_at`)
    langs: list[str] | None = None
    reply: ReplyRef | None = None
    facets: list[dict[str, Any]] | None = None


class PostView(BaseModel):
    """`app.bsky.feed.defs#postView`."""

    model_config = ConfigDict(extra="allow")

    uri: str
    cid: str
    author: Author
    record: PostRecord
    indexedAt: AwareDatetime
    likeCount: int | None = None
    repostCount: int | None = None
    replyCount: int | None = None
    quoteCount: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _dated(cls, data: Any) -> Any:
        """A view without `indexedAt` is dated by when it was fetched (`created_at` then still
        prefers the author's earlier `createdAt`)."""
        if isinstance(data, dict) and data.get("indexedAt") is None:
            return {**data, "indexedAt": datetime.now(UTC)}
        return data


class SearchPostsOutput(BaseModel):
    posts: list[PostView]
    cursor: str | None = None
    hitsTotal: int | None = None


class SessionOutput(BaseModel):
    """createSession and refreshSession answer the same required fields."""

    accessJwt: str = Field(repr=False)
    refreshJwt: str = Field(repr=False)
    handle: str
    did: str


def created_at(post: PostView) -> datetime:
    """The post's `sortAt`: its author's `createdAt`, unless that is later than when the
    AppView indexed it (a skewed clock, or an unreadable value), as `since` compares it."""
    indexed = post.indexedAt.astimezone(UTC)
    try:
        when = datetime.fromisoformat(post.record.createdAt)
    except ValueError:
        return indexed
    return min((when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC), indexed)


def post_url(post: PostView) -> str:
    """at://did/app.bsky.feed.post/rkey -> https://bsky.app/profile/<handle>/post/<rkey>."""
    m = _AT_URI.fullmatch(post.uri)
    if m is None:
        return post.uri
    handle = post.author.handle
    who = m["did"] if handle in ("", "handle.invalid") else handle
    return POST_URL.format(who, m["rkey"])


def links(record: PostRecord) -> list[str]:
    """Full URLs from link facets: the text shows links shortened ("acme.com/pri...")."""
    return [
        str(feature["uri"])
        for facet in record.facets or []
        for feature in facet.get("features") or []
        if isinstance(feature, dict) and "uri" in feature
    ]


def to_mention(post: PostView) -> Mention:
    record = post.record
    return Mention(
        network="bluesky",
        native_id=post.uri,
        url=post_url(post),
        author=post.author.handle,
        text=record.text,
        created_at=created_at(post),
        lang=record.langs[0] if record.langs else None,
        metrics=Metrics(
            likes=post.likeCount,
            reposts=post.repostCount,
            replies=post.replyCount,
        ),
        in_reply_to=record.reply.parent.uri if record.reply else None,
        raw=post.model_dump(mode="json", exclude_none=True),
    )


def matches(query: Query, post: PostView) -> bool:
    """A post written in several languages passes a `lang:` filter on any of them."""
    record = post.record
    mention = to_mention(post)
    text = fields(record.text, *links(record))
    langs = record.langs or [None]
    return any(query.accepts(Post.of(mention, text, lang)) for lang in langs)


# ---- the query -------------------------------------------------------------------------------


def _field(atom: Atom) -> str | None:
    """from:handle and domain:example.com, as searchPosts reads them in `q`."""
    match atom:
        case ByAuthor(name) if "*" not in name and _PLAIN.fullmatch(name):
            return f"from:{name}"
        case Site(domain):
            return f"domain:{domain}"
    return None


# The word also finds "#tag" and "@handle"; the local check insists on the sign.
BLUESKY = Syntax(
    word=lambda text: text if _PLAIN.fullmatch(text) else f'"{text}"',
    fields={"author": _field, "links": _field, "domain": _field},
)


def compile_bluesky(query: Query) -> list[str]:
    """searchPosts `q`s, one per alternative. The lexicon leaves boolean syntax unspecified, so
    nothing relies on OR or '-': every term of one search is required, exclusions are local."""
    return searches(query, BLUESKY)


# ---- rate limits and errors ------------------------------------------------------------------


@dataclass
class XrpcReply:
    """A `RateLimitRule` for one request, reading what `listeners.http` does not: Bluesky's
    `ratelimit-reset` is the epoch second the window resets at (atproto's xrpc-server), and the
    XRPC error name (`{"error": "ExpiredToken", "message": ...}`) that tells an expired session
    from a refused one.

    One instance per request, so its fields belong to that response even across threads.
    """

    status: int | None = None
    error: str | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        self.status = response.status_code
        if response.status_code >= 400:
            self.error = _error_name(response)
        remaining = _number(response.headers.get("ratelimit-remaining"))
        reset = _number(response.headers.get("ratelimit-reset"))
        if remaining is None and reset is None:
            return None
        return Budget(remaining, datetime.fromtimestamp(reset, UTC) if reset is not None else None)

    @property
    def session_expired(self) -> bool:
        return self.status == 401 or (self.status == 400 and self.error in _EXPIRED)


def _error_name(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    name = body.get("error") if isinstance(body, dict) else None
    return name if isinstance(name, str) else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class SessionExpired(AuthError):
    """The access (or refresh) token is no longer accepted: renew before giving up."""


@dataclass(frozen=True)
class Session:
    access: str
    refresh: str
    handle: str
    did: str

    def __repr__(self) -> str:  # tokens never reach a log line, even by accident
        return f"Session(handle={self.handle!r}, did={self.did!r})"


# ---- the listener ----------------------------------------------------------------------------


class BlueskyListener(Listener):
    name: ClassVar[str] = "bluesky"
    display_name: ClassVar[str] = "Bluesky"
    Settings: ClassVar[type[SourceSettings]] = BlueskySettings
    default_base_url: ClassVar[str] = "https://bsky.social"
    syntax: ClassVar[Syntax | None] = BLUESKY
    settings: BlueskySettings

    def compiled(self, query: Query) -> list[str]:
        return compile_bluesky(query)

    def __init__(self, settings: SourceSettings, http: HttpClient, env: Mapping[str, str]) -> None:
        super().__init__(settings, http, env)
        self._session: Session | None = None
        self._session_lock = threading.Lock()

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Newest first, so the cursor rides only on the very last page of the last search."""
        mark = Watermark.load(cursor)
        searches = compile_bluesky(query)
        fetched: dict[str, int] = {}
        for number, q in enumerate(searches, start=1):
            page_cursor: str | None = None
            while True:
                body = self._search_posts(q, mark.floor, page_cursor)
                mentions = []
                for post in body.posts:
                    when = int(created_at(post).timestamp())
                    fresh = post.uri not in fetched and mark.is_new(post.uri, when)
                    if fresh and matches(query, post):
                        mentions.append(to_mention(post))
                    fetched[post.uri] = when
                # A first poll (no watermark yet) reads one page: listening starts now.
                done = not body.posts or body.cursor in (None, page_cursor) or mark.since is None
                last = done and number == len(searches)
                yield Page(mentions, mark.advance(fetched.items()).dumps() if last else None)
                if done:
                    break
                page_cursor = body.cursor

    def backfill_cursor(self, since: datetime) -> str | None:
        """The same search with `since` at the horizon; Bluesky search reaches back to the
        network's early days, though its cursor may not page through every hit."""
        return Watermark.reaching_back_to(since).dumps()

    def check(self) -> str:
        session = self._current_session()
        self._search_posts("bluesky", None, None, limit=1)
        return f"signed in to {self.base_url} as @{session.handle}; searchPosts answered"

    def _search_posts(
        self, q: str, floor: int | None, page_cursor: str | None, limit: int | None = None
    ) -> SearchPostsOutput:
        params: dict[str, str | int] = {
            "q": q,
            "sort": "latest",
            "limit": limit or self.settings.limit,
        }
        if floor is not None:
            params["since"] = datetime.fromtimestamp(floor, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if page_cursor:
            params["cursor"] = page_cursor
        return read_model(self._signed_get(SEARCH, params), SearchPostsOutput)

    # -- the session

    def _credentials(self) -> tuple[str, str]:
        """Read on use, so one unconfigured source never stops the others from being built."""
        handle = self.env.get(HANDLE_ENV, "").strip().lstrip("@")
        password = self.env.get(PASSWORD_ENV, "").strip()
        if not handle or not password:
            raise NotConfigured(
                f"bluesky: set {HANDLE_ENV} (like acme.bsky.social) and {PASSWORD_ENV}; create "
                "an app password in the Bluesky app under Settings > Privacy and security > App "
                "passwords (searching posts requires a signed-in account)"
            )
        return handle, password

    def _current_session(self) -> Session:
        with self._session_lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session

    def _signed_get(self, nsid: str, params: Mapping[str, Any]) -> httpx.Response:
        """One renewal per call: an expired access token is refreshed (or the session opened
        again) and the call sent once more; a second refusal is final."""
        session = self._current_session()
        try:
            return self._xrpc("GET", nsid, token=session.access, params=params)
        except SessionExpired:
            session = self._renew(session)
        try:
            return self._xrpc("GET", nsid, token=session.access, params=params)
        except SessionExpired as exc:
            raise AuthError(
                f"bluesky: {nsid} refused a fresh session for @{session.handle}: {exc}"
            ) from exc

    def _renew(self, stale: Session) -> Session:
        with self._session_lock:
            if self._session is not None and self._session is not stale:
                return self._session  # another thread renewed it meanwhile
            try:
                self._session = self._session_from(
                    self._xrpc("POST", REFRESH_SESSION, token=stale.refresh)
                )
            except SessionExpired:
                self._session = self._create_session()  # the refresh token ran out too
            return self._session

    def _create_session(self) -> Session:
        handle, password = self._credentials()
        try:
            response = self._xrpc(
                "POST",
                CREATE_SESSION,
                body={"identifier": handle, "password": password},
                renewable=False,
            )
        except AuthError as exc:
            raise AuthError(
                f"bluesky: {self.base_url} refused {HANDLE_ENV}={handle} with {PASSWORD_ENV}: "
                f"{exc}. Check the handle, and create a new app password under Settings > "
                "Privacy and security > App passwords"
            ) from exc
        return self._session_from(response)

    def _session_from(self, response: httpx.Response) -> Session:
        out = read_model(response, SessionOutput)
        return Session(out.accessJwt, out.refreshJwt, out.handle, out.did)

    # -- requests

    def _xrpc(
        self,
        method: str,
        nsid: str,
        *,
        token: str | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        renewable: bool = True,
    ) -> httpx.Response:
        reply = XrpcReply()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            return self.http.request(
                method,
                f"{self.base_url}/xrpc/{nsid}",
                params=params,
                json=body,
                headers=headers,
                rules=[reply],
            )
        except ListenerError as exc:
            if renewable and reply.session_expired:
                raise SessionExpired(f"{nsid}: {reply.error or f'HTTP {reply.status}'}") from exc
            raise
