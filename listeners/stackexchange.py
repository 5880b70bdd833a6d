"""Stack Exchange questions (Stack Overflow, Super User, Server Fault...) through API 2.3.

API: GET {base}/2.3/search/advanced?site=&q=|title=|body=&fromdate=&sort=creation&order=desc
&page=&pagesize=&filter=withbody[&key=]. Every answer is the common wrapper object: `items`,
`has_more`, `quota_max`, `quota_remaining` and, when the API wants a method left alone for a
while, `backoff` (seconds, on any answer, successful or not). Errors come in the same wrapper as
HTTP 400 with `error_id`/`error_name`/`error_message`: 502 `throttle_violation` (backoff ignored
or the daily quota spent: "... more requests available in N seconds"), 401-406 token, key and
permission problems, 400 `bad_parameter` naming the parameter. Responses are gzip-compressed.

Quota: 300 requests a day per IP without a key, 10,000 with `STACKEXCHANGE_KEY` (a free Stack
Apps key, not a secret in the OAuth sense, but kept out of settings like every credential).
Without a key the API refuses pages past 25. Questions only: answers and comments are not
searchable through this method.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.mention import Mention, Metrics
from core.query import Post, Query, fields, words
from listeners.base import Listener, Page, SourceSettings
from listeners.errors import AuthError, ListenerError, RateLimited
from listeners.http import Budget, read_model
from listeners.query_syntax import Syntax, alternatives
from listeners.text import html_to_text
from listeners.watermark import Watermark

log = logging.getLogger(__name__)

API_VERSION = "2.3"
KEY_ENV = "STACKEXCHANGE_KEY"
KEY_HELP = (
    f"register an app at https://stackapps.com/apps/oauth/register and set {KEY_ENV} to its "
    "Key (not the client secret) to raise the daily quota from 300 to 10,000 requests"
)
MAX_PAGE_WITHOUT_KEY = 25  # the API answers access_denied past this page without a key
THROTTLE_ID = 502
AUTH_IDS = frozenset({401, 402, 403, 405, 406})  # token required/invalid, denied, key required
# A throttle_violation that names no time (a backoff ignored): the API's backoffs are seconds to
# minutes, so a short wait, then the next cycle learns the exact time if it is still throttled.
DEFAULT_THROTTLE_WAIT = timedelta(minutes=5)
LOW_QUOTA_SHARE = 0.1  # warn when a tenth of the day's requests is left
_AVAILABLE_IN = re.compile(r"available in (\d+) seconds?")
_SITE = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


class StackExchangeSettings(SourceSettings):
    """`[sources.stackexchange]`: `sites` (API site names like 'stackoverflow', 'superuser' or
    domains like 'askubuntu.com'), `search_in` (`all` asks `q`, which matches titles, bodies
    and tags; `title` or `body` restrict the search and the local check to that field),
    `pagesize` (at most 100). `every` defaults to 15 minutes: without a key the whole day is
    300 requests, shared by every brand and site."""

    every: str = "15m"
    sites: list[str] = Field(default=["stackoverflow"], min_length=1)
    search_in: Literal["all", "title", "body"] = "all"
    pagesize: int = Field(default=100, ge=1, le=100)

    @field_validator("sites")
    @classmethod
    def _site_names(cls, value: list[str]) -> list[str]:
        names = [name.strip().lower() for name in value]
        for name in names:
            if not _SITE.fullmatch(name):
                raise ValueError(
                    f"{name!r} is not a Stack Exchange site like 'stackoverflow' or 'superuser'"
                )
        if len(set(names)) != len(names):
            raise ValueError("each site may be listed once")
        return names


# ---- wire format -----------------------------------------------------------------------------


class Owner(BaseModel):
    """`shallow_user`; a deleted account has only `display_name` and `user_type`."""

    model_config = ConfigDict(extra="allow")

    display_name: str | None = None
    reputation: int | None = None
    link: str | None = None
    user_id: int | None = None
    user_type: str | None = None


class Question(BaseModel):
    model_config = ConfigDict(extra="allow")

    question_id: int
    title: str
    link: str
    creation_date: int
    body: str | None = None  # present with filter=withbody
    owner: Owner | None = None
    score: int | None = None
    answer_count: int | None = None
    view_count: int | None = None
    tags: list[str] = []


class Wrapper(BaseModel):
    """The common wrapper object of every successful answer."""

    items: list[Question]
    has_more: bool
    quota_max: int | None = None
    quota_remaining: int | None = None
    backoff: int | None = None


class Quota(BaseModel):
    """`/info`'s wrapper, for `check`: how much of the day is left."""

    quota_max: int
    quota_remaining: int


class ApiError(BaseModel):
    error_id: int
    error_name: str = ""
    error_message: str = ""


@dataclass
class Throttle:
    """A `RateLimitRule` for one request: the wrapper's `backoff` and throttle errors.

    A backoff on a good page lets that page through, and the shared HTTP client then refuses the
    next call to the API before sending it, until the backoff has passed. One instance per
    request, so `error` belongs to that response even when threads share the client.
    """

    error: ApiError | None = None
    until: datetime | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        body = _json_object(response)
        if response.status_code >= 400:
            try:
                self.error = ApiError.model_validate(body)
            except ValidationError:
                self.error = None  # not the API's wrapper (a proxy's page): the status speaks
        waits: list[timedelta] = []
        backoff = body.get("backoff")
        if isinstance(backoff, int) and backoff > 0:
            waits.append(timedelta(seconds=backoff))
        if self.error is not None and self.error.error_id == THROTTLE_ID:
            stated = _AVAILABLE_IN.search(self.error.error_message)
            if stated:
                waits.append(timedelta(seconds=int(stated.group(1))))
            elif not waits:
                waits.append(DEFAULT_THROTTLE_WAIT)
        if not waits:
            return None
        self.until = now + max(waits)
        return Budget(remaining=0, reset_at=self.until)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# ---- query and mentions ----------------------------------------------------------------------


STACKEXCHANGE = Syntax()  # words only: no field the search API reads from `q`


def compile_stackexchange(query: Query) -> list[str]:
    """One search per alternative: the API has no OR, and how `q`, `title` and `body` treat
    quotes and '-' is undocumented, so phrases go as their words and exclusions stay local."""
    return list(dict.fromkeys(" ".join(words(alt)) for alt in alternatives(query, STACKEXCHANGE)))


def to_mention(question: Question, site: str) -> Mention:
    owner = question.owner
    return Mention(
        network="stackexchange",
        native_id=f"{site}:{question.question_id}",
        url=question.link,
        author=html.unescape(owner.display_name or "") if owner else "",
        # Without the body (a filter that drops it), the title is all there is to read.
        text=html_to_text(question.body) or html.unescape(question.title),
        title=html.unescape(question.title),
        created_at=datetime.fromtimestamp(question.creation_date, UTC),
        metrics=Metrics(likes=question.score, replies=question.answer_count),
        raw={**question.model_dump(exclude_none=True), "site": site},
    )


def matched_text(mention: Mention, question: Question, search_in: str) -> str:
    """What the query is checked against: the fields the API was asked to search."""
    if search_in == "title":
        return mention.title or ""
    if search_in == "body":
        return mention.text
    return fields(mention.title, mention.text, " ".join(question.tags))


# ---- cursor ----------------------------------------------------------------------------------


def load_marks(cursor: str | None, sites: list[str]) -> dict[str, Watermark]:
    """One watermark per site (question ids are per site); unreadable -> start over."""
    data: Mapping[str, Any] = {}
    if cursor:
        try:
            loaded = json.loads(cursor)
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            log.warning("ignoring an unreadable stackexchange cursor; starting from the newest")
    return {
        site: Watermark.load(json.dumps(data[site]) if isinstance(data.get(site), dict) else None)
        for site in sites
    }


def dump_marks(marks: Mapping[str, Watermark]) -> str:
    return json.dumps({site: json.loads(mark.dumps()) for site, mark in marks.items()})


class StackExchangeListener(Listener):
    name: ClassVar[str] = "stackexchange"
    display_name: ClassVar[str] = "Stack Exchange"
    Settings: ClassVar[type[SourceSettings]] = StackExchangeSettings
    default_base_url: ClassVar[str] = "https://api.stackexchange.com"
    syntax: ClassVar[Syntax | None] = STACKEXCHANGE
    settings: StackExchangeSettings

    def compiled(self, query: Query) -> list[str]:
        return compile_stackexchange(query)

    def search(self, query: Query, cursor: str | None) -> Iterator[Page]:
        """Newest first, site by site. A site's watermark moves on the page that finishes it,
        so a throttle on the second site keeps everything the first one committed."""
        marks = load_marks(cursor, self.settings.sites)
        searches = compile_stackexchange(query)
        warned = False
        for site in self.settings.sites:
            mark = marks[site]
            fetched: dict[str, int] = {}
            for number, terms in enumerate(searches, start=1):
                page = 1
                while True:
                    body = self._fetch(site, terms, page, mark.floor)
                    warned = warned or self._warn_if_quota_low(body)
                    mentions = []
                    for question in body.items:
                        qid, created = str(question.question_id), question.creation_date
                        if qid not in fetched and mark.is_new(qid, created):
                            mention = to_mention(question, site)
                            text = matched_text(mention, question, self.settings.search_in)
                            if query.accepts(Post.of(mention, text)):
                                mentions.append(mention)
                        fetched[qid] = created
                    done = self._last_page(body, page, mark)
                    cursor_out = None
                    if done and number == len(searches):
                        marks[site] = mark.advance(fetched.items())
                        cursor_out = dump_marks(marks)
                    yield Page(mentions, cursor_out)
                    if done:
                        break
                    page += 1

    def backfill_cursor(self, since: datetime) -> str | None:
        """Every site's questions back to `since` (without a key, at most 25 pages a search)."""
        return dump_marks({site: Watermark.reaching_back_to(since) for site in self.settings.sites})

    def check(self) -> str:
        site = self.settings.sites[0]
        response = self._get("info", {"site": site})
        body = read_model(response, Quota)
        quota = f"{body.quota_remaining} of {body.quota_max} requests left today"
        hint = "" if self._key() else f"; {KEY_HELP}"
        return f"{self.base_url} answered for {site}: {quota}{hint}"

    def _last_page(self, body: Wrapper, page: int, mark: Watermark) -> bool:
        if not body.has_more or not body.items:
            return True
        if mark.floor is None:
            return True  # first run: hear from the newest page on, not the site's history
        if page >= MAX_PAGE_WITHOUT_KEY and not self._key():
            log.warning(
                "stackexchange: stopped after page %d of a search (more questions matched than "
                "that since the last poll); %s",
                page,
                KEY_HELP,
            )
            return True
        return False

    def _fetch(self, site: str, terms: str, page: int, floor: int | None) -> Wrapper:
        params: dict[str, str | int] = {
            "site": site,
            "sort": "creation",
            "order": "desc",
            "page": page,
            "pagesize": self.settings.pagesize,
            "filter": "withbody",
        }
        params["q" if self.settings.search_in == "all" else self.settings.search_in] = terms
        if floor is not None:
            params["fromdate"] = floor
        return read_model(self._get("search/advanced", params), Wrapper)

    def _get(self, method: str, params: dict[str, str | int]) -> httpx.Response:
        key = self._key()
        if key:
            params = {**params, "key": key}
        throttle = Throttle()
        try:
            return self.http.get(
                f"{self.base_url}/{API_VERSION}/{method}", params=params, rules=[throttle]
            )
        except RateLimited:
            raise
        except ListenerError as exc:
            if throttle.error is None:
                if isinstance(exc, AuthError):
                    raise AuthError(f"stackexchange: {exc}") from exc
                raise
            raise self._explain(throttle.error, throttle.until, method, exc) from exc

    def _explain(
        self, error: ApiError, until: datetime | None, method: str, exc: ListenerError
    ) -> ListenerError:
        said = f"{error.error_name} ({error.error_id}): {error.error_message or 'no message'}"
        where = f"/{API_VERSION}/{method}"
        if error.error_id == THROTTLE_ID:
            until = until or datetime.now(UTC) + DEFAULT_THROTTLE_WAIT
            return RateLimited(
                f"stackexchange is throttling {where}: {said}; retry after "
                f"{until:%Y-%m-%d %H:%M:%S} UTC",
                until,
            )
        bad_key = error.error_name == "bad_parameter" and error.error_message.startswith("key")
        if bad_key:
            return AuthError(
                f"stackexchange refused {KEY_ENV} on {where}: {said}. Use the app's Key from "
                "https://stackapps.com/apps/oauth (not its client id or secret), or unset it"
            )
        if error.error_id in AUTH_IDS:
            hint = "" if self._key() else f"; {KEY_HELP}"
            return AuthError(f"stackexchange refused {where}: {said}{hint}")
        if isinstance(exc, AuthError):
            return AuthError(f"stackexchange refused {where}: {said}")
        return ListenerError(f"stackexchange error on {where}: {said}")

    def _warn_if_quota_low(self, body: Wrapper) -> bool:
        """Said once a search: the day's requests are running out, before the throttle hits."""
        if body.quota_remaining is None or not body.quota_max:
            return False
        if body.quota_remaining > body.quota_max * LOW_QUOTA_SHARE:
            return False
        hint = "" if self._key() else f"; {KEY_HELP}"
        log.warning(
            "stackexchange: %d of %d requests left today%s",
            body.quota_remaining,
            body.quota_max,
            hint,
        )
        return True

    def _key(self) -> str:
        return self.env.get(KEY_ENV, "").strip()
