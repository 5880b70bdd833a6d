"""X (Twitter) posts, through the v2 recent search endpoint (`GET /2/tweets/search/recent`).

Recent search reaches back seven days and needs an app Bearer Token (`X_BEARER_TOKEN`) from a
developer App attached to a Project whose access level (or pay-per-use credits) includes search.
Every post read counts against the Project's usage, so a first poll reads only the newest page
(listening starts now; `listenpost backfill` reads history on purpose), later polls ask only for
ids above the newest one seen (`since_id`), and `check` searches an empty minute.

The brand query compiles to X's own operators (quoted phrases, OR, -exclusion, #hashtag,
@mention, `lang:xx`, parentheses). A query longer than X's limit (512 characters on self-serve
plans) is split into several searches, top-level OR alternatives first; `compile_x` shows the
split, and `Query.matches` still re-checks every post.

tweepy supplies the endpoint's parameters; the requests go through `listeners.http`, so
`base_url`, retries, the User-Agent, `x-rate-limit-*` budgets and `RateLimited` are the shared
ones (see `XClient`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar

import httpx
import requests
import tweepy
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from core.mention import Mention, Metrics
from core.query import And, Atom, Author, Kind, Node, Not, Or, Post, Query, QueryError, Site, Url
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import Budget, HttpClient, read_model
from listeners.query_syntax import Syntax, render, render_node, searchable

log = logging.getLogger(__name__)

BEARER_ENV = "X_BEARER_TOKEN"
MAX_QUERY_LENGTH = 512  # recent search on self-serve access; Enterprise allows 4,096
HISTORY = timedelta(days=7)  # how far back recent search reaches
# start_time must lie inside the seven days when X receives the request: keep clear of the edge.
HISTORY_MARGIN = timedelta(minutes=5)
NEWEST_START = timedelta(seconds=30)  # X refuses a start_time less than 10 s before the request
USAGE_CAP_WAIT = timedelta(hours=1)  # a spent monthly cap does not lift with the 15-min window
SNOWFLAKE_EPOCH_MS = 1288834974657  # X ids carry their creation time: (id >> 22) + this, in ms
POST_URL = "https://x.com/{}/status/{}"
ANONYMOUS_POST_URL = "https://x.com/i/web/status/{}"
EXPANSIONS = ["author_id"]
TWEET_FIELDS = [
    "author_id",
    "created_at",
    "lang",
    "public_metrics",
    "conversation_id",
    "in_reply_to_user_id",
    "referenced_tweets",
    "note_tweet",  # the whole text of posts longer than 280 characters
]
USER_FIELDS = ["username", "public_metrics"]
# X's `lang` for posts without a language: undetermined, no text, or only mentions, cashtags,
# hashtags, media links or very short text. Not a language a `lang:` filter could reject.
NO_LANGUAGE = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})
# `check` searches one minute of this account's posts: proof of access that reads ~nothing.
CHECK_QUERY = "from:XDevelopers"

_PLAIN_WORD = re.compile(r"\w+")
_RETWEET_TEXT = re.compile(r"RT @(\w{1,15}):")  # how X words a retweet's text
_X_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")


class XSettings(SourceSettings):
    """`[sources.x]`: page size (X allows 10-100), the plan's query length limit, and whether
    reposts (retweets) are heard; each one costs a read while saying nothing new."""

    max_results: int = Field(default=100, ge=10, le=100)
    max_query_length: int = Field(default=MAX_QUERY_LENGTH, ge=64, le=4096)
    retweets: bool = True


# ---- wire format -----------------------------------------------------------------------------


class TweetMetrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    retweet_count: int | None = None
    reply_count: int | None = None
    like_count: int | None = None
    quote_count: int | None = None


class ReferencedTweet(BaseModel):
    type: str  # "replied_to", "quoted" or "retweeted"
    id: str


class NoteTweet(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str


class Tweet(BaseModel):
    """One entry of `data`, with the `tweet.fields` requested; the rest is kept for `raw`."""

    model_config = ConfigDict(extra="allow")

    id: str = Field(pattern=r"^\d+$")
    text: str
    created_at: AwareDatetime
    author_id: str | None = None
    lang: str | None = None
    conversation_id: str | None = None
    in_reply_to_user_id: str | None = None
    referenced_tweets: list[ReferencedTweet] | None = None
    public_metrics: TweetMetrics | None = None
    note_tweet: NoteTweet | None = None

    @model_validator(mode="before")
    @classmethod
    def _dated_by_its_id(cls, data: Any) -> Any:
        """`created_at` comes only when `tweet.fields` asks for it (an older app or a proxy may
        not): an X id is a Snowflake carrying the moment it was minted, so no post is refused
        for want of it."""
        if isinstance(data, dict) and data.get("created_at") is None:
            tweet_id = data.get("id")
            if isinstance(tweet_id, str) and tweet_id.isdigit():
                return {**data, "created_at": created_at(int(tweet_id))}
        return data


class UserMetrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    followers_count: int | None = None


class User(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    username: str
    name: str | None = None
    public_metrics: UserMetrics | None = None


class Includes(BaseModel):
    model_config = ConfigDict(extra="allow")

    users: list[User] = []


class SearchMeta(BaseModel):
    result_count: int
    newest_id: str | None = None
    oldest_id: str | None = None
    next_token: str | None = None


class SearchResponse(BaseModel):
    """An empty result has no `data` at all, only `meta.result_count: 0`. `errors` lists
    partial failures (an author that could not be expanded) beside the data."""

    data: list[Tweet] = []
    includes: Includes = Includes()
    meta: SearchMeta
    errors: list[dict[str, Any]] = []


def full_text(tweet: Tweet) -> str:
    return tweet.note_tweet.text if tweet.note_tweet else tweet.text


def language(tweet: Tweet) -> str | None:
    return None if tweet.lang is None or tweet.lang in NO_LANGUAGE else tweet.lang


def created_at(tweet_id: int) -> datetime:
    """When an X id was minted (ids are Snowflakes, so their order is their time order)."""
    return datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def to_mention(tweet: Tweet, author: User | None) -> Mention:
    metrics = tweet.public_metrics or TweetMetrics()
    followers = author.public_metrics.followers_count if author and author.public_metrics else None
    replied_to = next((r.id for r in tweet.referenced_tweets or [] if r.type == "replied_to"), None)
    retweet = any(r.type == "retweeted" for r in tweet.referenced_tweets or [])
    repeated = _RETWEET_TEXT.match(tweet.text) if retweet else None
    raw = tweet.model_dump(mode="json", exclude_none=True)
    if author is not None:
        raw["author"] = author.model_dump(mode="json", exclude_none=True)
    return Mention(
        network="x",
        native_id=tweet.id,
        url=POST_URL.format(author.username, tweet.id)
        if author
        else ANONYMOUS_POST_URL.format(tweet.id),
        author=author.username if author else tweet.author_id or "",
        text=full_text(tweet),
        created_at=tweet.created_at.astimezone(UTC),
        lang=language(tweet),
        metrics=Metrics(
            likes=metrics.like_count,
            reposts=metrics.retweet_count,
            replies=metrics.reply_count,
            followers=followers,
        ),
        in_reply_to=replied_to,
        raw=raw,
        repost_of=repeated.group(1) if repeated else None,
    )


def matches(query: Query, tweet: Tweet, author: User | None = None) -> bool:
    return query.accepts(Post.of(to_mention(tweet, author)))


# ---- the query -------------------------------------------------------------------------------


def _x_word(text: str) -> str:
    """Anything but letters and digits is quoted, so `acme.com` or `is:retweet` written by a
    user stays a word to find instead of turning into an X operator."""
    return text if _PLAIN_WORD.fullmatch(text) else f'"{text}"'


def _x_hashtag(tag: str) -> str:
    return f"#{tag}"


def _x_handle(name: str) -> str:
    """@name for an X username; a fediverse or Bluesky handle is searched as a phrase."""
    return f"@{name}" if _X_USERNAME.fullmatch(name) else f'"{name}"'


def _x_from(atom: Atom) -> str | None:
    """from:name for an X username; other authors (a display name, a pattern) stay local."""
    ok = isinstance(atom, Author) and _X_USERNAME.fullmatch(atom.name)
    return f"from:{atom.name}" if ok else None  # type: ignore[union-attr]


def _x_url(atom: Atom) -> str | None:
    """url: matches the links a post carries (expanded), by token: a domain or a path."""
    match atom:
        case Site(domain):
            return f'url:"{domain}"'
        case Url(fragment) if '"' not in fragment and not any(c.isspace() for c in fragment):
            return f'url:"{fragment}"'
    return None


def _x_kind(atom: Atom) -> str | None:
    """Only replies and posts differ on X (nothing there is a comment)."""
    if not isinstance(atom, Kind):
        return None
    kinds = set(atom.kinds) - {"comment"}
    if kinds == {"reply"}:
        return "is:reply"
    return "-is:reply" if kinds == {"post"} else None


# No `lang` here: compile_x appends it to every part of a split query.
X_SYNTAX = Syntax(
    word=_x_word,
    hashtag=_x_hashtag,
    handle=_x_handle,
    fields={"author": _x_from, "links": _x_url, "domain": _x_url, "url": _x_url, "type": _x_kind},
)


def compile_x(
    query: Query, max_length: int = MAX_QUERY_LENGTH, *, retweets: bool = True
) -> list[str]:
    """The query in X syntax, as one search or, past `max_length` characters, several whose
    results together cover it: OR alternatives are packed into as few searches as fit, a long
    OR inside an AND is split with the rest of the AND repeated in each part, and an AND that
    still does not fit loses exclusions, then terms (a wider search; `Query.matches` decides).

    Raises `QueryError` when a single word or phrase alone is longer than the limit.
    """
    suffix = (f" lang:{query.lang}" if query.lang else "") + ("" if retweets else " -is:retweet")
    # X binds AND tighter than OR: `a OR b lang:en` is `a OR (b lang:en)`, so an OR followed
    # by a suffix is parenthesised, and the budget keeps room for that.
    budget = max_length - len(suffix) - (2 if suffix else 0)
    searches = []
    for node in _fit(searchable(query, X_SYNTAX), budget):
        text = _x(node)
        if len(text) > budget:
            raise QueryError(
                f"{text[:60]!r} is longer than X's {max_length}-character query limit on its own"
            )
        if suffix and isinstance(node, Or):
            text = f"({text})"
        searches.append(text + suffix)
    return list(dict.fromkeys(searches))


@lru_cache(maxsize=4096)
def _x(node: Node) -> str:
    return render(Query(source="", expr=node), X_SYNTAX)


def _any(items: Sequence[Node]) -> Node:
    return items[0] if len(items) == 1 else Or(tuple(items))


def _all(items: Sequence[Node]) -> Node:
    return items[0] if len(items) == 1 else And(tuple(items))


def _fit(node: Node, budget: int) -> list[Node]:
    """Nodes whose union covers `node`, each rendering within `budget` characters (a lone atom
    longer than that comes back as is, for `compile_x` to refuse)."""
    if len(_x(node)) <= budget:
        return [node]
    match node:
        case Or(items):
            return _pack(items, budget)
        case And(items):
            return _split_and(items, budget)
        case _:
            return [node]


def _in(node: Node, inside: type) -> int:
    """How long the node is written inside an OR or an AND (a group gains parentheses)."""
    return len(render_node(node, X_SYNTAX, inside) or "")


def _pack(alternatives: Sequence[Node], budget: int) -> list[Node]:
    """OR alternatives in order, as many per search as fit; lengths are added up as they go,
    so 4,000 alternatives cost 4,000 renderings, not 4,000 squared."""
    parts: list[Node] = []
    group: list[Node] = []
    widths = 0  # the group's alternatives as written inside the OR
    for alt in alternatives:
        if len(_x(alt)) > budget:
            parts.extend(_fit(alt, budget))
            continue
        width = _in(alt, Or)
        if group and widths + width + len(" OR ") * len(group) > budget:
            parts.append(_any(group))
            group, widths = [], 0
        group.append(alt)
        widths += width
    if group:
        parts.append(_any(group))
    return parts


def _split_and(items: Sequence[Node], budget: int) -> list[Node]:
    """`rest (a OR b OR ...)` becomes `rest (a OR b)`, `rest (c OR ...)`: the widest OR is
    split into the room the rest of the AND leaves."""
    groups = [i for i in items if isinstance(i, Or)]
    if groups:
        widest = max(groups, key=lambda g: len(_x(g)))
        rest = [i for i in items if i is not widest]
        # The group's parentheses and the space before it, and parentheses a lone OR in
        # `rest` gains once it sits inside the AND.
        room = budget - len(_x(_all(rest))) - 5
        if room > 0:
            parts: list[Node] = []
            for piece in _fit(widest, room):
                whole = And((*rest, piece))
                parts.extend([whole] if len(_x(whole)) <= budget else _widen(whole.items, budget))
            return parts
    return _widen(items, budget)


def _widen(items: Sequence[Node], budget: int) -> list[Node]:
    """Terms fewer (the longest exclusions, then the longest other terms) until the rest fits
    or has an OR worth splitting: the search gets wider, never narrower, and the local check
    still applies the whole query. Lengths are kept as sums, so a long AND costs n log n."""
    lengths = {i: _in(i, And) for i in items}
    victims = sorted(items, key=lambda i: (not isinstance(i, Not), -lengths[i]))
    groups = sorted((i for i in items if isinstance(i, Or)), key=lambda i: -lengths[i])
    gone: set[Node] = set()
    total = sum(lengths.values()) + len(items) - 1
    for victim in victims:
        gone.add(victim)
        total -= lengths[victim] + 1
        widest = next((g for g in groups if g not in gone), None)
        if total <= budget or (widest is not None and budget - (total - lengths[widest]) > 5):
            break
    return _fit(_all([i for i in items if i not in gone]), budget)


# ---- the cursor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class XCursor:
    """`since_id`: the newest id a committed poll saw. `start_time`: a backfill's horizon, used
    until a poll has seen a post. Stored as JSON, ids as strings."""

    since_id: int | None = None
    start_time: datetime | None = None

    @classmethod
    def load(cls, cursor: str | None) -> XCursor:
        """An unreadable cursor starts over (storage upserts: re-reading loses nothing)."""
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
            since_id = data.get("since_id")
            start = data.get("start_time")
            return cls(
                int(since_id) if since_id is not None else None,
                datetime.fromisoformat(start).astimezone(UTC) if start is not None else None,
            )
        except (ValueError, TypeError, AttributeError):
            log.warning(
                "x: ignoring an unreadable cursor %r; starting from the newest", cursor[:80]
            )
            return cls()

    def dumps(self) -> str:
        data: dict[str, str] = {}
        if self.since_id is not None:
            data["since_id"] = str(self.since_id)
        if self.start_time is not None:
            data["start_time"] = self.start_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(data, separators=(",", ":"))


# ---- requests --------------------------------------------------------------------------------


@dataclass
class Problem:
    """A `RateLimitRule` that reads no budget but keeps X's problem document (`title`,
    `detail`, `type`, `reason`) from a failed response, which tells a revoked token from an app
    without search access, and a rate limit from a spent monthly cap.

    One instance per request, so its fields belong to that response even across threads.
    """

    status: int | None = None
    title: str = ""
    detail: str = ""
    type: str = ""
    reason: str = ""

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        self.status = response.status_code
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                for name in ("title", "detail", "type", "reason"):
                    if isinstance(value := body.get(name), str):
                        setattr(self, name, " ".join(value.split())[:300])
        return None

    @property
    def usage_capped(self) -> bool:
        return self.type.endswith("/usage-capped") or self.title == "UsageCapExceeded"

    def refusal(self) -> str:
        """One sentence saying what is wrong and what to do; never the token."""
        said = f"HTTP {self.status} {self.reason or self.title}".strip()
        if self.detail and self.detail not in (self.title, self.reason):
            said += f": {self.detail}"
        if self.status == 401:
            return (
                f"x: X refused {BEARER_ENV} ({said}); the token is wrong or was revoked. Copy the "
                "app's Bearer Token again from the developer portal (Projects & Apps > your app "
                f"> Keys and tokens) into {BEARER_ENV}"
            )
        if self.status == 402:
            return (
                f"x: the X developer account has no credits left ({said}); add credits in the "
                "developer console and polling resumes"
            )
        return (
            f"x: the app behind {BEARER_ENV} may not use recent search ({said}); attach the app "
            "to a Project whose access level or credits include GET /2/tweets/search/recent"
        )


class XClient(tweepy.Client):
    """tweepy's v2 endpoints, sent through listenpost's HTTP layer to `base_url`.

    tweepy writes `"https://api.twitter.com" + route` inside `request` and sends it on its own
    requests.Session: no timeout, no retries, its own rate-limit handling, and the bearer token
    in its debug log. Overriding `request` keeps tweepy's parameter handling (endpoint parameter
    names, field lists, datetimes) and replaces the rest with `HttpClient`.
    """

    def __init__(self, bearer_token: str, base_url: str, http: HttpClient) -> None:
        # With requests.Response as its return type, tweepy hands back whatever `request`
        # returned, untouched (here an httpx.Response): our models validate the body.
        super().__init__(
            bearer_token=bearer_token, return_type=requests.Response, wait_on_rate_limit=False
        )
        self.base_url = base_url
        self.http = http

    def request(
        self,
        method: str,
        route: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        user_auth: bool = False,
    ) -> httpx.Response:
        """App-only auth (a Bearer Token); this listener never asks for user context."""
        problem = Problem()
        try:
            return self.http.request(
                method,
                self.base_url + route,
                params=params,
                json=json,
                headers={"Authorization": f"Bearer {self.bearer_token}"},
                rules=[problem],
            )
        except RateLimited as exc:
            if not problem.usage_capped:
                raise
            raise RateLimited(
                f"x: the Project's post cap is used up ({problem.detail or problem.title}); "
                "raise it in the developer portal or wait for the next billing period",
                max(exc.until, datetime.now(UTC) + USAGE_CAP_WAIT),
            ) from exc
        except AuthError as exc:
            raise AuthError(problem.refusal()) from exc
        except ListenerError as exc:
            if problem.status == 402:  # pay-per-use credits spent: retrying will not help
                raise AuthError(problem.refusal()) from exc
            raise


# ---- the listener ----------------------------------------------------------------------------


class XListener(Listener):
    name: ClassVar[str] = "x"
    display_name: ClassVar[str] = "X"
    Settings: ClassVar[type[SourceSettings]] = XSettings
    default_base_url: ClassVar[str] = "https://api.x.com"
    syntax: ClassVar[Syntax | None] = X_SYNTAX
    settings: XSettings

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Newest first, so the cursor rides only on the very last page of the last search."""
        client = self._client()
        mark = XCursor.load(cursor)
        since_id, start_time = self._bounds(mark, datetime.now(UTC))
        first_poll = since_id is None and start_time is None
        searches = self.compiled(query)
        seen: set[str] = set()
        newest = mark.since_id
        for number, q in enumerate(searches, start=1):
            token: str | None = None
            while True:
                body = self._search(client, q, since_id, start_time, token)
                users = {user.id: user for user in body.includes.users}
                mentions = []
                for tweet in body.data:
                    tweet_id = int(tweet.id)
                    newest = max(newest or 0, tweet_id)
                    old = mark.since_id is not None and tweet_id <= mark.since_id
                    if tweet.id in seen or old:
                        continue
                    seen.add(tweet.id)
                    author = users.get(tweet.author_id) if tweet.author_id else None
                    if matches(query, tweet, author):
                        mentions.append(to_mention(tweet, author))
                # A first poll reads one page per search: listening starts now.
                done = body.meta.next_token is None or first_poll
                last = done and number == len(searches)
                moved = last and newest is not None
                yield Page(mentions, XCursor(since_id=newest).dumps() if moved else None)
                if done:
                    break
                token = body.meta.next_token

    def compiled(self, query: Query) -> list[str]:
        """The searches one poll sends, for `doctor` to show how a long query was split."""
        try:
            return compile_x(query, self.settings.max_query_length, retweets=self.settings.retweets)
        except QueryError as exc:
            raise NotConfigured(f"x: {exc}") from exc

    def backfill_cursor(self, since: datetime) -> str | None:
        """Recent search reaches back seven days; an older `since` is clamped to that edge."""
        return XCursor(start_time=since.astimezone(UTC)).dumps()

    def query_note(self, query: Query) -> str | None:
        searches = self.compiled(query)
        if len(searches) == 1:
            return None
        limit = self.settings.max_query_length
        return f"query split into {len(searches)} searches ({limit}-character limit)"

    def check(self) -> str:
        """Searches one minute of one account's posts: proves the token and the plan's search
        access while reading next to nothing from the Project's cap."""
        now = datetime.now(UTC)
        response = self._client().search_recent_tweets(
            CHECK_QUERY,
            max_results=10,
            start_time=now - timedelta(minutes=2),
            end_time=now - timedelta(minutes=1),
        )
        read_model(response, SearchResponse)
        remaining = response.headers.get("x-rate-limit-remaining")
        limit = response.headers.get("x-rate-limit-limit")
        if remaining is None or limit is None:
            return f"{self.base_url}: recent search answered"
        return f"{self.base_url}: recent search answered; {remaining} of {limit} requests left"

    def _client(self) -> XClient:
        """Read on use, so one unconfigured source never stops the others from being built."""
        token = self.env.get(BEARER_ENV, "").strip()
        if not token:
            raise NotConfigured(
                f"x: set {BEARER_ENV} to an app Bearer Token: in the X developer portal "
                "(developer.x.com), open Projects & Apps > your app > Keys and tokens and "
                "generate the Bearer Token; the app's Project needs an access level or "
                "pay-per-use credits that include recent search"
            )
        return XClient(token, self.base_url, self.http)

    def _bounds(self, mark: XCursor, now: datetime) -> tuple[int | None, datetime | None]:
        """`since_id` or `start_time` for this poll (X refuses both together, and either one
        older than its seven days)."""
        oldest = now - HISTORY + HISTORY_MARGIN
        if mark.since_id is not None:
            if created_at(mark.since_id) >= oldest:
                return mark.since_id, None
            log.warning(
                "x: the last poll was more than 7 days ago; posts before %s are beyond recent "
                "search and cannot be heard",
                oldest.strftime("%Y-%m-%d %H:%M UTC"),
            )
            return None, oldest
        if mark.start_time is not None:
            return None, min(max(mark.start_time, oldest), now - NEWEST_START)
        return None, None

    def _search(
        self,
        client: XClient,
        q: str,
        since_id: int | None,
        start_time: datetime | None,
        next_token: str | None,
    ) -> SearchResponse:
        response = client.search_recent_tweets(
            q,
            max_results=self.settings.max_results,
            sort_order="recency",
            since_id=since_id,
            start_time=start_time,
            next_token=next_token,
            expansions=EXPANSIONS,
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
        )
        return read_model(response, SearchResponse)
