"""The X API v2 recent search endpoint as a local server, in its wire format.

`GET /2/tweets/search/recent` with `Authorization: Bearer <app token>` and `query`,
`max_results` (10-100), `since_id` | `start_time` (never both; neither older than seven days),
`end_time`, `next_token`, `sort_order`, `expansions`, `tweet.fields`, `user.fields`:

- 200 `{"data": [tweet], "includes": {"users": [user]}, "meta": {"newest_id", "oldest_id",
  "result_count", "next_token"?}}`, newest id first; a tweet carries `id`, `text`,
  `edit_history_tweet_ids` plus the requested `tweet.fields`, a user `id`, `name`, `username`
  plus the requested `user.fields`, and users only with `expansions=author_id`. Nothing found:
  `{"meta": {"result_count": 0}}` without `data`. Ids are Snowflakes (time-ordered).
- Every authenticated answer carries `x-rate-limit-limit`, `x-rate-limit-remaining` and
  `x-rate-limit-reset` (epoch seconds); past the budget, 429 `{"title": "Too Many Requests",
  "detail": "Too Many Requests", "type": "about:blank", "status": 429}`, and with the Project's
  monthly cap spent, 429 `UsageCapExceeded` (type `.../problems/usage-capped`).
- 401 `{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail":
  "Unauthorized"}` without rate-limit headers; an app outside a Project (or a plan without
  search) 403 `Client Forbidden` with `"reason": "client-not-enrolled"`; pay-per-use credits
  spent, 402 `.../problems/credits-depleted`.
- Bad parameters: 400 `Invalid Request` with `errors[].parameters` and `errors[].message`
  (a query over 512 characters, an unknown operator, a negated group, only negations, both
  `since_id` and `start_time`, either older than seven days, an unknown field, a stale
  `next_token`).

The query language is X's: implicit AND binding tighter than OR, parentheses, "phrases", -term,
#hashtag, @mention, `lang:`, `from:`, `is:retweet`. Matching is tokenised, case- and
accent-insensitive as X documents, so "acme" also finds "#acme", "Acmé" and "acme's"; the
listener's local check has work to do. Unlike X, this fake rejects `-( ... )` (X's docs say not
to negate a group; it does not say what happens).
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes.server import FakeServer, Request, Response

SEARCH = "/2/tweets/search/recent"
SNOWFLAKE_EPOCH_MS = 1288834974657
WINDOW = 900  # seconds: X's 15-minute rate-limit window
HISTORY = timedelta(days=7)
MAX_QUERY = 512
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
TWEET_FIELDS = {
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations",
    "conversation_id", "created_at", "display_text_range", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang",
    "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets",
    "reply_settings", "scopes", "source", "text", "withheld",
}  # fmt: skip
DEFAULT_USER_FIELDS = ("id", "name", "username")
USER_FIELDS = {
    "affiliation", "connection_status", "created_at", "description", "entities", "id",
    "location", "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url",
    "profile_image_url", "protected", "public_metrics", "receives_your_dm", "subscription_type",
    "url", "username", "verified", "verified_type", "withheld",
}  # fmt: skip
EXPANSIONS = {
    "attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids",
    "entities.mentions.username", "geo.place_id", "in_reply_to_user_id",
    "referenced_tweets.id", "referenced_tweets.id.author_id",
}  # fmt: skip
OPERATORS = {"lang", "from", "is"}

UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": "Unauthorized"}  # fmt: skip
TOO_MANY = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
            "status": 429}  # fmt: skip
USAGE_CAPPED = {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped", "period": "Monthly",
                "scope": "Product"}  # fmt: skip
NOT_ENROLLED = {
    "client_id": "27807464",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
    "and tokens from a Twitter developer App that is attached to a Project. You can create a "
    "project via the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
CREDITS_DEPLETED = {"detail": "credits depleted", "status": 402, "title": "Payment Required",
                    "type": "https://api.x.com/2/problems/credits-depleted"}  # fmt: skip

_sequence = itertools.count(1)


def snowflake(at: float) -> str:
    """An X id minted at epoch second `at` (unique within this test run)."""
    ms = int(at * 1000) - SNOWFLAKE_EPOCH_MS
    return str((ms << 22) | (next(_sequence) & 0x3FFFFF))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _user_id(username: str) -> str:
    return str(10_000 + sum(ord(c) * 31**i for i, c in enumerate(username)) % 10**9)


@dataclass
class Post:
    """A tweet object with every field X can return, and its author's user object."""

    tweet: dict[str, Any]
    user: dict[str, Any]

    @property
    def id(self) -> str:
        return self.tweet["id"]


def post(
    text: str,
    at: float,
    *,
    username: str = "alice",
    followers: int = 100,
    lang: str = "en",
    likes: int = 0,
    retweets: int = 0,
    replies: int = 0,
    quotes: int = 0,
    reply_to: str | None = None,
    retweet_of: str | None = None,
    note: str | None = None,
) -> Post:
    """A post created at epoch second `at`; `note` is the whole text of a long post, whose
    `text` X truncates."""
    tweet_id = snowflake(at)
    user_id = _user_id(username)
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "edit_history_tweet_ids": [tweet_id],
        "author_id": user_id,
        "created_at": _iso(at),
        "lang": lang,
        "conversation_id": reply_to or tweet_id,
        "public_metrics": {
            "retweet_count": retweets,
            "reply_count": replies,
            "like_count": likes,
            "quote_count": quotes,
            "bookmark_count": 0,
            "impression_count": likes * 40,
        },
        "possibly_sensitive": False,
        "reply_settings": "everyone",
    }
    if reply_to:
        tweet["in_reply_to_user_id"] = "12"
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
    if retweet_of:
        tweet["referenced_tweets"] = [{"type": "retweeted", "id": retweet_of}]
    if note:
        tweet["note_tweet"] = {"text": note}
    user = {
        "id": user_id,
        "name": username.title(),
        "username": username,
        "public_metrics": {
            "followers_count": followers,
            "following_count": 10,
            "tweet_count": 1000,
            "listed_count": 1,
            "like_count": 5,
            "media_count": 2,
        },
        "created_at": "2015-01-01T00:00:00.000Z",
        "protected": False,
        "verified": False,
    }
    return Post(tweet, user)


class FakeX:
    """Install on a FakeServer. `posts` is what recent search can find.

    `script` is consumed one entry per authenticated search before normal service: a Response
    is sent as is (with the rate-limit headers added), None answers normally. `remaining` is the
    window's request budget; `usage_capped`, `enrolled` and `credits` switch on those refusals.
    """

    def __init__(self, server: FakeServer, token: str, prefix: str = "") -> None:
        self.server = server
        self.token = token
        self.prefix = prefix  # a path the API is mounted under, as behind a proxy
        self.posts: list[Post] = []
        self.script: list[Response | None] = []
        self.limit = 450
        self.remaining = 450
        self.reset = int(time.time()) + WINDOW
        self.usage_capped = False
        self.enrolled = True
        self.credits = True
        self._pages: dict[str, tuple[tuple[str, ...], int]] = {}
        server.route("GET", prefix + SEARCH, self._search)

    @property
    def base_url(self) -> str:
        return self.server.url + self.prefix

    @property
    def searches(self) -> list[Request]:
        return [r for r in self.server.requests if r.path == self.prefix + SEARCH]

    def _headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(max(self.remaining, 0)),
            "x-rate-limit-reset": str(self.reset),
        }

    def _search(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json(UNAUTHORIZED, 401)
        if not self.enrolled:
            return Response.json(NOT_ENROLLED, 403)
        if not self.credits:
            return Response.json(CREDITS_DEPLETED, 402)
        if self.usage_capped:
            return Response.json(USAGE_CAPPED, 429, self._headers())
        if self.remaining <= 0:
            return Response.json(TOO_MANY, 429, self._headers())
        self.remaining -= 1
        scripted = self.script.pop(0) if self.script else None
        if scripted is not None:
            scripted.headers.update(self._headers())
            return scripted
        try:
            body = self._answer(req)
        except _Invalid as exc:
            return Response.json(exc.body(), 400, self._headers())
        return Response.json(body, 200, self._headers())

    def _answer(self, req: Request) -> dict[str, Any]:
        now = datetime.now(UTC)
        query = req.arg("query")
        if not query:
            raise _Invalid("query", "", "The `query` query parameter can not be empty")
        if len(query) > MAX_QUERY:
            raise _Invalid(
                "query", query, f"There were errors processing your request: Query is too long "
                f"({len(query)} characters, the limit is {MAX_QUERY})"
            )  # fmt: skip
        expr = _parse(query)
        per_page = _int(req, "max_results", 10)
        if not 10 <= per_page <= 100:
            raise _Invalid(
                "max_results", str(per_page),
                f"The `max_results` query parameter value [{per_page}] is not between 10 and 100",
            )  # fmt: skip
        tweet_fields = _listed(req, "tweet.fields", TWEET_FIELDS)
        user_fields = _listed(req, "user.fields", USER_FIELDS)
        expansions = _listed(req, "expansions", EXPANSIONS)
        since_id, start, end = req.arg("since_id"), req.arg("start_time"), req.arg("end_time")
        if since_id and (start or end):
            raise _Invalid(
                "since_id", since_id,
                "Invalid use of 'since_id' or 'until_id' in conjunction with 'start_time' or "
                "'end_time'.",
            )  # fmt: skip
        if since_id and not since_id.isdigit():
            raise _Invalid("since_id", since_id, f"Invalid 'since_id':'{since_id}'.")
        oldest = now - HISTORY
        if since_id and _minted(int(since_id)) < oldest:
            raise _Invalid(
                "since_id", since_id,
                f"Invalid 'since_id':'{since_id}'. 'since_id' must be a tweet id created after "
                f"{oldest:%Y-%m-%dT%H:%MZ}.",
            )  # fmt: skip
        start_at = _time(req, "start_time")
        end_at = _time(req, "end_time") or now
        if start_at is not None and start_at < oldest:
            raise _Invalid(
                "start_time", start or "",
                f"Invalid 'start_time':'{start}'. 'start_time' must be on or after "
                f"{oldest:%Y-%m-%dT%H:%MZ}",
            )  # fmt: skip
        hits = [
            p
            for p in self.posts
            if _holds(expr, p)
            and (not since_id or int(p.id) > int(since_id))
            and (start_at is None or _created(p) >= start_at)
            and _created(p) < end_at
        ]
        hits.sort(key=lambda p: int(p.id), reverse=True)
        page_key = (query, since_id or "", start or "", end or "")
        offset = 0
        if token := req.arg("next_token"):
            key, offset = self._pages.pop(token, (None, 0))
            if key != page_key:
                raise _Invalid("next_token", token, f"The `next_token` value [{token}] is invalid")
        window = hits[offset : offset + per_page]
        meta: dict[str, Any] = {"result_count": len(window)}
        if not window:
            return {"meta": meta}
        meta["newest_id"], meta["oldest_id"] = window[0].id, window[-1].id
        if offset + per_page < len(hits):
            token = secrets.token_hex(16)
            self._pages[token] = (page_key, offset + per_page)
            meta["next_token"] = token
        body: dict[str, Any] = {
            "data": [_pick(p.tweet, DEFAULT_TWEET_FIELDS, tweet_fields) for p in window],
            "meta": meta,
        }
        if "author_id" in expansions:
            users = {p.user["id"]: _pick(p.user, DEFAULT_USER_FIELDS, user_fields) for p in window}
            body["includes"] = {"users": list(users.values())}
        return body


# ---- request parameters ----------------------------------------------------------------------


@dataclass
class _Invalid(Exception):
    parameter: str
    value: str
    message: str

    def body(self) -> dict[str, Any]:
        return {
            "errors": [{"parameters": {self.parameter: [self.value]}, "message": self.message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }


def _int(req: Request, name: str, default: int) -> int:
    value = req.arg(name)
    if value is None:
        return default
    if not value.isdigit():
        raise _Invalid(name, value, f"The `{name}` query parameter value [{value}] is not a number")
    return int(value)


def _listed(req: Request, name: str, allowed: set[str]) -> set[str]:
    values = {v for v in (req.arg(name) or "").split(",") if v}
    if unknown := sorted(values - allowed):
        raise _Invalid(
            name, unknown[0],
            f"The `{name}` query parameter value [{unknown[0]}] is not one of {sorted(allowed)}",
        )  # fmt: skip
    return values


def _time(req: Request, name: str) -> datetime | None:
    value = req.arg(name)
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _Invalid(name, value, f"Invalid '{name}':'{value}'.") from None


def _minted(tweet_id: int) -> datetime:
    return datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def _created(p: Post) -> datetime:
    return datetime.fromisoformat(p.tweet["created_at"])


def _pick(obj: dict[str, Any], defaults: tuple[str, ...], requested: set[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k in defaults or k in requested}


# ---- X's query language ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    kind: str  # "word", "phrase", "hashtag", "mention", "lang", "from", "is"
    value: tuple[str, ...]


@dataclass(frozen=True)
class _Op:
    kind: str  # "and", "or", "not"
    items: tuple[Any, ...] = field(default=())


_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|(-)(?=\S)|([^\s()"]+))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise _Invalid("query", text, f"There were errors processing your request: "
                               f"unexpected character at position {pos}")  # fmt: skip
            break
        pos = m.end()
        opened, closed, phrase, minus, word = m.groups()
        if opened or closed:
            out.append(((opened or closed), ""))
        elif phrase is not None:
            out.append(("phrase", phrase))
        elif minus:
            out.append(("-", ""))
        elif word == "OR":
            out.append(("OR", ""))
        elif word:
            out.append(("word", word))
    return out


def _parse(text: str) -> _Op | _Term:
    tokens = _tokens(text)
    pos = 0

    def fail(message: str) -> _Invalid:
        return _Invalid("query", text, f"There were errors processing your request: {message}")

    def or_() -> _Op | _Term:
        items = [and_()]
        while pos < len(tokens) and tokens[pos][0] == "OR":
            advance()
            items.append(and_())
        return items[0] if len(items) == 1 else _Op("or", tuple(items))

    def and_() -> _Op | _Term:
        items = []
        while pos < len(tokens) and tokens[pos][0] not in (")", "OR"):
            items.append(unary())
        if not items:
            raise fail("Ambiguous use of OR or an empty group")
        if all(isinstance(i, _Op) and i.kind == "not" for i in items):
            raise fail("Rules must contain a non-negation term (at least one positive term)")
        return items[0] if len(items) == 1 else _Op("and", tuple(items))

    def unary() -> _Op | _Term:
        if tokens[pos][0] == "-":
            advance()
            if pos < len(tokens) and tokens[pos][0] == "(":
                raise fail("negating a group of operators is not supported")
            return _Op("not", (primary(),))
        return primary()

    def primary() -> _Op | _Term:
        if pos >= len(tokens):
            raise fail("the query ends where a term was expected")
        kind, value = tokens[pos]
        advance()
        if kind == "(":
            inner = or_()
            if pos >= len(tokens) or tokens[pos][0] != ")":
                raise fail("missing ')'")
            advance()
            return inner
        if kind == "phrase":
            return _Term("phrase", _words(value))
        if kind == "word":
            return _term(value, fail)
        raise fail(f"unexpected '{kind}'")

    def advance() -> None:
        nonlocal pos
        pos += 1

    expr = or_()
    if pos < len(tokens):
        raise fail(f"unexpected '{tokens[pos][0]}'")
    if isinstance(expr, _Op) and expr.kind == "not":
        raise fail("Rules must contain a non-negation term (at least one positive term)")
    return expr


def _term(word: str, fail: Any) -> _Term:
    if word.startswith("#") and len(word) > 1:
        return _Term("hashtag", (_fold(word[1:]),))
    if word.startswith("@") and len(word) > 1:
        return _Term("mention", (_fold(word[1:]),))
    if ":" in word:
        name, _, value = word.partition(":")
        if name not in OPERATORS:
            raise fail(f"Reference to invalid operator '{name}'. Operator is not available in "
                       "current product or product packaging.")  # fmt: skip
        return _Term(name, (value.lower(),))
    return _Term("word", _words(word))


def _fold(text: str) -> str:
    """Case- and accent-insensitive, as X's search documents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", _fold(text)))


def _holds(expr: _Op | _Term, p: Post) -> bool:
    if isinstance(expr, _Op):
        if expr.kind == "and":
            return all(_holds(i, p) for i in expr.items)
        if expr.kind == "or":
            return any(_holds(i, p) for i in expr.items)
        return not _holds(expr.items[0], p)
    text = p.tweet.get("note_tweet", {}).get("text") or p.tweet["text"]
    match expr.kind:
        case "word" | "phrase":
            words, want = _words(text), expr.value
            return bool(want) and any(
                words[i : i + len(want)] == want for i in range(len(words) - len(want) + 1)
            )
        case "hashtag":
            return expr.value[0] in {_fold(t) for t in re.findall(r"#(\w+)", text)}
        case "mention":
            return expr.value[0] in {_fold(t) for t in re.findall(r"@(\w+)", text)}
        case "lang":
            return p.tweet["lang"] == expr.value[0]
        case "from":
            return p.user["username"].lower() == expr.value[0]
        case _:  # is:retweet
            refs = p.tweet.get("referenced_tweets") or []
            return expr.value[0] == "retweet" and any(r["type"] == "retweeted" for r in refs)
