"""Meta's Graph API as the Facebook Page and Instagram listeners both speak it.

Both networks are the same API on the same host with the same page access token, so the parts
that are about Graph rather than about one network live here: the token, Graph's error bodies,
its usage headers, and cursor pagination.

Graph reports failures in the body, not the status: `{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`. A throttled app may get HTTP 403 or 400, an expired token
HTTP 400, so the status alone cannot tell "wait" from "renew the token". `GraphSignal` (a
`RateLimitRule`) reads every response's body and usage headers before `listeners.http` judges
the status; `GraphApi` then turns the HTTP layer's verdict into the error Graph meant.

Usage headers: `X-App-Usage` `{"call_count", "total_cputime", "total_time"}` (percentages of
the app's budget) and `X-Business-Use-Case-Usage` `{"<object id>": [{"type", "call_count",
"total_cputime", "total_time", "estimated_time_to_regain_access"}]}` (minutes). Any figure at
100 means Graph has started refusing, so the host is refused here before sending until the
stated time, instead of spending calls that Graph counts against the penalty.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from listeners.base import SourceSettings
from listeners.errors import AuthError, ListenerError, NotConfigured, RateLimited
from listeners.http import Budget, HttpClient, read_model

log = logging.getLogger(__name__)

GRAPH_URL = "https://graph.facebook.com"
TOKEN_ENV = "FACEBOOK_PAGE_TOKEN"
PERMISSIONS = (
    "pages_read_engagement, pages_read_user_content, instagram_basic, instagram_manage_comments"
)

# Graph's throttling codes: app (4), user (17), page (32), custom (613), and the Business Use
# Case limits that page tokens fall under for Pages (80001) and Instagram (80002).
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
TOKEN_CODES = frozenset({102, 190})  # session / access token invalid or expired
USAGE_CEILING = 100  # percent: Graph refuses from here on
# Graph names no wait with X-App-Usage or a bare throttling error. Its windows roll (one hour
# for apps, 24 hours for pages) and calls made while throttled count against the limit, so wait
# long enough for usage to fall rather than probing every cycle.
DEFAULT_THROTTLE_WAIT = timedelta(minutes=15)
_VERSION = re.compile(r"v\d+\.\d+")
_VERSIONED_PATH = re.compile(r"/v\d+\.\d+(/.*)$")


def page_token(env: Mapping[str, str], source: str) -> str:
    """The page access token; read on use so one unconfigured source never stops the others."""
    token = env.get(TOKEN_ENV, "").strip()
    if not token:
        raise NotConfigured(
            f"{source}: set {TOKEN_ENV} to a long-lived Page access token. Create a Meta app "
            f"(developers.facebook.com), give it the permissions {PERMISSIONS}, log in as a "
            "Page admin in the Graph API Explorer to get a user token, exchange it for a "
            "long-lived one (GET /oauth/access_token?grant_type=fb_exchange_token) and read the "
            "Page's token from GET /me/accounts - that token does not expire."
        )
    return token


class GraphSettings(SourceSettings):
    """Keys both Meta sources accept. `match_query` false (the default) hears every comment on
    the brand's own page or account, since people answering there rarely name the brand; true
    keeps only those matching the brand's query."""

    api_version: str = "v21.0"
    match_query: bool = False

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.fullmatch(value):
            raise ValueError(f"{value!r} is not a Graph API version like 'v21.0'")
        return value


# ---- wire format -----------------------------------------------------------------------------


class GraphError(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str = ""
    type: str = ""
    code: int
    error_subcode: int | None = None
    fbtrace_id: str | None = None


class _ErrorBody(BaseModel):
    error: GraphError


class Cursors(BaseModel):
    before: str | None = None
    after: str | None = None


class Paging(BaseModel):
    cursors: Cursors | None = None
    next: str | None = None
    previous: str | None = None


T = TypeVar("T", bound=BaseModel)


class Edge(BaseModel, Generic[T]):
    """One page of any Graph edge; `paging.next` is present exactly when more may follow."""

    data: list[T]
    paging: Paging | None = None

    @property
    def next(self) -> str | None:
        return self.paging.next if self.paging else None


class Author(BaseModel):
    """`from` on posts and comments; absent without pages_read_user_content."""

    id: str | None = None
    name: str | None = None


# ---- rate limits -----------------------------------------------------------------------------


@dataclass
class GraphSignal:
    """A `RateLimitRule` for one request: what Graph said about usage and what went wrong.

    One instance per request, so `error` and `until` belong to that response alone even when
    scheduler threads share the HTTP client.
    """

    error: GraphError | None = None
    until: datetime | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        self.error = _error_of(response)
        percent, regain = _usage(response.headers)
        throttled = self.error is not None and self.error.code in THROTTLE_CODES
        if not throttled and percent < USAGE_CEILING:
            return None
        wait = timedelta(minutes=regain) if regain > 0 else DEFAULT_THROTTLE_WAIT
        self.until = now + wait
        return Budget(remaining=0, reset_at=self.until)


def _error_of(response: httpx.Response) -> GraphError | None:
    if response.status_code < 400:
        return None
    try:
        return _ErrorBody.model_validate_json(response.content).error
    except ValidationError:
        return None  # not Graph's error shape (a proxy's page): the status speaks alone


def _usage(headers: httpx.Headers) -> tuple[float, float]:
    """(highest usage percentage, longest wait in minutes) over both usage headers."""
    entries: list[Mapping[str, Any]] = []
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            log.debug("ignoring an unreadable %s header", name)
            continue
        if isinstance(value, dict) and "call_count" in value:
            entries.append(value)  # X-App-Usage: one flat object
        elif isinstance(value, dict):  # BUC: object id -> list of use cases
            entries.extend(
                e
                for uses in value.values()
                if isinstance(uses, list)
                for e in uses
                if isinstance(e, dict)
            )
    percent = max(
        (_num(e.get(k)) for e in entries for k in ("call_count", "total_cputime", "total_time")),
        default=0.0,
    )
    regain = max((_num(e.get("estimated_time_to_regain_access")) for e in entries), default=0.0)
    return percent, regain


def _num(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


# ---- requests --------------------------------------------------------------------------------


class GraphApi:
    """GETs against one Graph version with the page token, speaking Graph's errors."""

    def __init__(
        self, http: HttpClient, base_url: str, version: str, token: str, source: str
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.version = version
        self.token = token
        self.source = source

    def get(self, path: str, params: Mapping[str, Any], model: type[T]) -> T:
        """`path` like '/123/feed' (the version is added); the body validated against `model`."""
        return self._get(f"{self.base_url}/{self.version}{path}", path, dict(params), model)

    def edge(self, path: str, params: Mapping[str, Any], item: type[T]) -> Iterator[Edge[T]]:
        """Every page of an edge, following `paging.next` until Graph stops giving one.

        `next` is a full URL on graph.facebook.com; only its path and query are kept, so a
        `base_url` (proxy, test server) is honoured on every page, not just the first. Graph
        may send an empty page that still has a `next`, so emptiness does not end the walk.
        """
        url, query = f"{self.base_url}/{self.version}{path}", dict(params)
        while True:
            page = self._get(url, path, query, Edge[item])
            yield page
            if not page.next:
                return
            following = self._rebase(page.next)
            if following == (url, query):
                return  # a `next` pointing at itself would loop forever
            url, query = following

    def _rebase(self, next_url: str) -> tuple[str, dict[str, str]]:
        parsed = httpx.URL(next_url)
        versioned = _VERSIONED_PATH.search(parsed.path)
        tail = versioned.group(1) if versioned else parsed.path
        query = {k: v for k, v in parsed.params.multi_items() if k != "access_token"}
        return f"{self.base_url}/{self.version}{tail}", query

    def _get(self, url: str, path: str, params: dict[str, Any], model: type[T]) -> T:
        signal = GraphSignal()
        query = {**params, "access_token": self.token}
        try:
            response = self.http.get(url, params=query, rules=[signal])
        except ListenerError as exc:
            if signal.error is None:
                raise
            raise self._explain(signal.error, signal.until, path, exc) from exc
        return read_model(response, model)

    def _explain(
        self, error: GraphError, until: datetime | None, path: str, exc: ListenerError
    ) -> ListenerError:
        said = f"(#{error.code}{f'/{error.error_subcode}' if error.error_subcode else ''}) "
        said += error.message or error.type or "no message"
        where = f"GET /{self.version}{path}"
        if error.code in THROTTLE_CODES:
            if isinstance(exc, RateLimited):
                until = exc.until  # the HTTP layer's verdict, Retry-After included
            until = until or datetime.now(UTC) + DEFAULT_THROTTLE_WAIT
            return RateLimited(
                f"{self.source}: Graph API is throttling this app or page on {where}: {said}; "
                f"retry after {until:%Y-%m-%d %H:%M:%S} UTC",
                until,
            )
        if error.code in TOKEN_CODES:
            return AuthError(
                f"{self.source}: Meta refused {TOKEN_ENV} on {where}: {said}. The token expired, "
                "was revoked or is not a Page token; generate a new long-lived Page token"
            )
        if error.code == 10 or 200 <= error.code < 300:
            return AuthError(
                f"{self.source}: {TOKEN_ENV} lacks a permission for {where}: {said}. The Meta "
                f"app needs {PERMISSIONS}, and the token must belong to the Page"
            )
        if isinstance(exc, AuthError):
            return AuthError(f"{self.source}: Meta refused {where}: {said}")
        return ListenerError(f"{self.source}: Graph API error on {where}: {said}")


def unix(when: datetime) -> int:
    return int(when.timestamp())


def with_alias(model: BaseModel) -> dict[str, Any]:
    """A Graph object as `Mention.raw`: Graph's own field names (`from`, not `author`)."""
    return model.model_dump(by_alias=True, exclude_none=True)
