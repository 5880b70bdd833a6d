"""The one HTTP layer every listener goes through, so no network re-implements retries or limits.

Two kinds of waiting are kept apart on purpose. A 5xx, a timeout or a dropped connection is
retried here after a short, bounded backoff: the next try usually works. A rate limit is never
slept on: it becomes `RateLimited(until)` and the scheduler skips the source until then, so one
throttled network cannot stall a job thread for minutes.

Rate-limit signals differ per network, so they are read by small rule objects. The defaults
cover Reddit-style `X-Ratelimit-*` headers (reset in seconds), X-style `x-rate-limit-*` headers
(reset as an epoch) and the IETF `RateLimit-*` draft. A network with its own signal (Stack
Exchange's `backoff` body field, say) writes a `RateLimitRule` and passes it per request::

    http.get(url, params=..., rules=[StackExchangeBackoff()])

Whatever a rule reports is remembered per host, and a host whose budget is spent is refused
*before* sending, with the reset time the network gave.

What a source can make us do is bounded too: a body is read as a stream and dropped past
`max_bytes` (whatever Content-Length says), and a redirect is followed only within the origin
(scheme, host and port) that was asked, or to hosts a source's settings name, so a feed cannot
send us to another service and have its answer stored as a mention. `Listener` gives each source
its own view of the shared client with its settings' limits (`HttpClient.limited`).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, quote_plus

import httpx
from pydantic import BaseModel, ValidationError

from core.http import USER_AGENT, retry_after
from listeners.errors import AuthError, ListenerError, MalformedResponse, RateLimited, Runaway

log = logging.getLogger(__name__)


MAX_BACKOFF = 30.0  # seconds; the bounded part of "bounded retries"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # one answer of one source, decompressed
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)
MAX_RATE_LIMIT_WAIT = timedelta(days=1)  # a 429 that names no time at all
_EPOCH_THRESHOLD = 1_000_000_000  # a reset value this large is a timestamp, not a delay

# Query parameters whose values must never reach a log line or an error message.
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "client_secret",
        "code",
        "key",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
    }
)

# Worth another try: the server or the path to it hiccupped. Anything else (a bad URL, an
# unsupported scheme) fails the same way every time.
_RETRYABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Poll:
    """What one poll of one source has asked for, so a source that pages forever (a cursor that
    cycles, a page count that never ends) is stopped by the layer every listener goes through,
    without each network guarding itself."""

    deadline: float  # time.monotonic() past which no request is sent
    budget: float  # seconds, for the message
    read: set[str] = field(default_factory=set)  # GET URLs answered in this poll
    skipped: list[str] = field(default_factory=list)  # items `read_model` could not read


_poll: ContextVar[Poll | None] = ContextVar("listenpost_poll", default=None)


@contextmanager
def polling(budget_seconds: float) -> Iterator[Poll]:
    """Bound the requests made inside: none after `budget_seconds`, each one's timeout cut to
    the time left, and no GET of a URL already read (a loop) within this poll."""
    poll = Poll(time.monotonic() + budget_seconds, budget_seconds)
    token = _poll.set(poll)
    try:
        yield poll
    finally:
        _poll.reset(token)


@dataclass(frozen=True, slots=True)
class Budget:
    """What a network says about requests left on one host; None means it did not say."""

    remaining: float | None = None
    reset_at: datetime | None = None

    @property
    def spent(self) -> bool:
        # Reddit reports fractional counts ("0.0"); less than one whole request is none.
        return self.remaining is not None and self.remaining < 1


class RateLimitRule(Protocol):
    """Reads one network's rate-limit signal from a response (any status, headers or body)."""

    def read(self, response: httpx.Response, now: datetime) -> Budget | None: ...


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """A remaining-count header plus a reset header.

    `reset_is_epoch` None guesses from the value: Reddit sends seconds until reset, X and GitHub
    send a Unix time, and no real window is 30 years long.
    """

    remaining: str
    reset: str
    reset_is_epoch: bool | None = None

    def read(self, response: httpx.Response, now: datetime) -> Budget | None:
        remaining = _number(response.headers.get(self.remaining))
        reset = _number(response.headers.get(self.reset))
        if remaining is None and reset is None:
            return None
        reset_at = None
        if reset is not None:
            is_epoch = self.reset_is_epoch
            if is_epoch is None:
                is_epoch = reset >= _EPOCH_THRESHOLD
            if is_epoch:
                reset_at = datetime.fromtimestamp(reset, UTC)
            else:
                reset_at = now + timedelta(seconds=reset)
        return Budget(remaining, reset_at)


DEFAULT_RULES: tuple[RateLimitRule, ...] = (
    HeaderRule("x-ratelimit-remaining", "x-ratelimit-reset"),
    HeaderRule("x-rate-limit-remaining", "x-rate-limit-reset", reset_is_epoch=True),
    # The IETF draft says seconds; Bluesky sends an epoch. The value's size tells them apart.
    HeaderRule("ratelimit-remaining", "ratelimit-reset"),
)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def wait_until(retry_after_header: str | None, now: datetime) -> datetime | None:
    """The moment a `Retry-After` header points at, at most `MAX_RATE_LIMIT_WAIT` away: one
    wrong header must not silence a source for years."""
    seconds = retry_after(retry_after_header, now)
    if seconds is None:
        return None
    return now + timedelta(seconds=min(seconds, MAX_RATE_LIMIT_WAIT.total_seconds()))


def redact(url: httpx.URL | str) -> str:
    """The URL as it may appear in logs and errors: no userinfo, no secret query values."""
    parsed = httpx.URL(url)
    params = [
        (name, "***" if name.lower() in _SECRET_PARAMS else value)
        for name, value in parsed.params.multi_items()
    ]
    return str(parsed.copy_with(userinfo=b"", params=params))


class HttpClient:
    """Shared by all listeners of one process; safe to use from several scheduler threads."""

    def __init__(
        self,
        user_agent: str = USER_AGENT,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        *,
        rules: Sequence[RateLimitRule] = DEFAULT_RULES,
        stopping: threading.Event | None = None,
    ) -> None:
        self.retries = retries
        # Set when the process stops (Ctrl-C): a retry is then not worth waiting for.
        self.stopping = stopping or threading.Event()
        self.backoff = backoff
        self.rules = tuple(rules)
        self.max_bytes = DEFAULT_MAX_BYTES
        self.redirect_hosts: frozenset[str] = frozenset()
        self.setting = "sources.<name>"  # where a person raises a limit, for error messages
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # followed here, within the origin (`_next_hop`)
        )
        self._budgets: dict[str, Budget] = {}
        self._lock = threading.Lock()

    def limited(
        self, setting: str, max_bytes: int, redirect_hosts: Sequence[str] = ()
    ) -> HttpClient:
        """This client (connections, rate-limit budgets) with one source's limits: `max_bytes`
        per answer, redirects also to `redirect_hosts` ("host" or "host:port"); `setting`
        ("sources.rss") names where a person changes them."""
        view = copy.copy(self)
        view.setting = setting
        view.max_bytes = max_bytes
        view.redirect_hosts = frozenset(h.lower() for h in redirect_hosts)
        return view

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        rules: Sequence[RateLimitRule] = (),
    ) -> httpx.Response:
        return self.request("GET", url, params=params, headers=headers, rules=rules)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        auth: tuple[str, str] | None = None,
        rules: Sequence[RateLimitRule] = (),
    ) -> httpx.Response:
        """Send with retries, following redirects within the origin; returns a 2xx/304 response
        with its body read (at most `max_bytes`), raises a `ListenerError` otherwise."""
        try:
            request = self._client.build_request(
                method, url, params=params, headers=headers, data=data, json=json, content=content
            )
        except httpx.InvalidURL as exc:
            raise ListenerError(f"{method} to an invalid URL: {exc}") from exc
        poll = _poll.get()
        if poll is not None and method == "GET" and str(request.url) in poll.read:
            host = request.url.netloc.decode("ascii")
            shown = f"{method} {redact(request.url)}"
            raise Runaway(f"{host} led back to a page this poll already read; not fetching {shown}")
        asked = request.url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(request, auth, rules, poll)
            if not response.has_redirect_location or response.next_request is None:
                if poll is not None and method == "GET":
                    poll.read.add(str(asked))
                return response
            request = self._next_hop(asked, response.next_request, f"{method} {redact(asked)}")
        raise ListenerError(
            f"{method} {redact(asked)} redirected more than {MAX_REDIRECTS} times; not followed"
        )

    def _next_hop(self, asked: httpx.URL, hop: httpx.Request, shown: str) -> httpx.Request:
        """The redirect's request, if it stays within the origin asked (or goes to a host the
        source's settings allow)."""
        to = hop.url
        same = (to.scheme, to.host, to.port) == (asked.scheme, asked.host, asked.port)
        allowed = {to.host.lower(), to.netloc.decode("ascii").lower()} & self.redirect_hosts
        if same or allowed:
            return hop
        raise ListenerError(
            f"{shown} redirected to {redact(hop.url)}, outside {asked.scheme}://"
            f"{asked.netloc.decode('ascii')}; not followed (allow that host with "
            f"{self.setting}.follow_redirects_to)"
        )

    def _send(
        self,
        request: httpx.Request,
        auth: tuple[str, str] | None,
        rules: Sequence[RateLimitRule],
        poll: Poll | None,
    ) -> httpx.Response:
        """One hop: retried on 5xx and network errors, its body read within `max_bytes`."""
        method = request.method
        host = request.url.netloc.decode("ascii")
        shown = f"{method} {redact(request.url)}"
        self._refuse_if_spent(host, shown)
        attempt = 0
        while True:
            if poll is not None:
                request.extensions["timeout"] = _within(poll, shown, self._client.timeout)
            try:
                response = self._read(self._client.send(request, auth=auth, stream=True), shown)
            except _RETRYABLE as exc:
                if poll is not None and time.monotonic() >= poll.deadline:
                    raise _over_budget(poll, shown) from exc  # the wait was cut to the budget
                if attempt >= self.retries:
                    raise ListenerError(
                        f"could not reach {host} for {shown} after {_attempts(attempt + 1)} "
                        f"({type(exc).__name__})"
                    ) from exc
                failure = type(exc).__name__
            except httpx.HTTPError as exc:
                raise ListenerError(f"{shown} failed: {type(exc).__name__}") from exc
            else:
                now = _now()
                # A network's own rules first: they know its headers better than the defaults.
                budget = self._observe(host, response, (*rules, *self.rules), now)
                server_failed = response.status_code >= 500
                asked_to_wait = "retry-after" in response.headers
                if not server_failed or asked_to_wait or attempt >= self.retries:
                    return self._checked(response, host, shown, budget, now, attempt + 1)
                failure = f"HTTP {response.status_code}"
            delay = min(self.backoff * 2**attempt, MAX_BACKOFF)
            # Debug only: the caller says once, loudly, when a source stops or starts answering.
            log.debug(
                "%s: %s; retry %d of %d in %.1fs", shown, failure, attempt + 1, self.retries, delay
            )
            if self.stopping.wait(delay):
                raise ListenerError(f"{shown}: {failure}; not retried, stopping")
            attempt += 1

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float = 30.0,
    ) -> Iterator[httpx.Response]:
        """A GET whose body is read as it arrives (server-sent events), for as long as it lasts.

        Statuses and rate limits are checked as `request` checks them; failures are not retried
        here, since a stream's own reconnect loop does that (and resumes from its cursor). A
        body silent for `read_timeout` seconds raises `httpx.ReadTimeout` from the read.
        """
        timeout = httpx.Timeout(self._client.timeout.connect, read=read_timeout)
        try:
            request = self._client.build_request(
                "GET", url, params=params, headers=headers, timeout=timeout
            )
        except httpx.InvalidURL as exc:
            raise ListenerError(f"GET to an invalid URL: {exc}") from exc
        host = request.url.netloc.decode("ascii")
        shown = f"GET {redact(request.url)}"
        self._refuse_if_spent(host, shown)
        try:
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
            raise ListenerError(f"could not reach {host} for {shown} ({failure})") from exc
        try:
            now = _now()
            budget = self._observe(host, response, self.rules, now)
            if response.status_code >= 400:
                response.read()
                self._checked(response, host, shown, budget, now, 1)
            yield response
        finally:
            response.close()

    def _read(self, response: httpx.Response, shown: str) -> httpx.Response:
        """The response with its body read, refusing past `max_bytes`: by its Content-Length
        at once, else (no length, or a wrong one) as soon as the stream passes the cap."""
        try:
            if response.has_redirect_location:
                return response  # the body of a redirect is not read
            declared = _number(response.headers.get("content-length"))
            encoded = response.headers.get("content-encoding", "identity") != "identity"
            if declared is not None and declared > self.max_bytes and not encoded:
                raise self._too_big(shown, f"announces {declared:,.0f} bytes")
            body = bytearray()
            for chunk in response.iter_bytes(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_big(shown, f"sent more than {self.max_bytes:,} bytes")
        finally:
            response.close()
        # Decoded already: the copy must not claim an encoding or a length it no longer has.
        framing = {"content-encoding", "content-length", "transfer-encoding"}
        return httpx.Response(
            response.status_code,
            headers=[(k, v) for k, v in response.headers.multi_items() if k.lower() not in framing],
            content=bytes(body),
            request=response.request,
            extensions=response.extensions,
        )

    def _too_big(self, shown: str, what: str) -> ListenerError:
        return ListenerError(
            f"{shown} {what}, over the {self.max_bytes:,}-byte limit; stopped reading "
            f"(raise {self.setting}.max_bytes if that is expected)"
        )

    def budget(self, url: str) -> Budget | None:
        """What the network last said about requests left on `url`'s host (None: it never said)."""
        host = httpx.URL(url).netloc.decode("ascii")
        with self._lock:
            return self._budgets.get(host)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse_if_spent(self, host: str, shown: str) -> None:
        with self._lock:
            budget = self._budgets.get(host)
            if budget is None or not budget.spent:
                return
            if budget.reset_at is None or _now() >= budget.reset_at:
                del self._budgets[host]  # the window has rolled over (or was never stated)
                return
        raise RateLimited(
            f"{host} request budget is spent until {_clock(budget.reset_at)}; not sending {shown}",
            budget.reset_at,
        )

    def _observe(
        self, host: str, response: httpx.Response, rules: Sequence[RateLimitRule], now: datetime
    ) -> Budget | None:
        budgets = [b for rule in rules if (b := rule.read(response, now)) is not None]
        if not budgets:
            return None
        budget = next((b for b in budgets if b.spent), budgets[0])
        if budget.reset_at is not None and budget.reset_at > now + MAX_RATE_LIMIT_WAIT:
            budget = Budget(budget.remaining, now + MAX_RATE_LIMIT_WAIT)
        with self._lock:
            self._budgets[host] = budget
        return budget

    def _block(self, host: str, until: datetime) -> None:
        with self._lock:
            self._budgets[host] = Budget(0, until)

    def _checked(
        self,
        response: httpx.Response,
        host: str,
        shown: str,
        budget: Budget | None,
        now: datetime,
        attempts: int,
    ) -> httpx.Response:
        status = response.status_code
        if status < 400:
            return response
        spent = budget is not None and budget.spent
        asked_to_wait = "retry-after" in response.headers
        if status == 429 or (status == 403 and spent) or (status >= 500 and asked_to_wait):
            until = wait_until(response.headers.get("retry-after"), now)
            if until is None and budget is not None:
                until = budget.reset_at
            until = max(until or now + DEFAULT_RATE_LIMIT_WAIT, now + timedelta(seconds=1))
            # One wrong header (a reset read in the wrong unit) must not silence a source for
            # years: a day is longer than any documented window.
            until = min(until, now + MAX_RATE_LIMIT_WAIT)
            self._block(host, until)
            raise RateLimited(
                f"{host} asked us to wait (HTTP {status}) on {shown}; retry after {_clock(until)}",
                until,
            )
        detail = _snippet(response)
        if status in (401, 403):
            raise AuthError(
                f"{host} refused access (HTTP {status} {response.reason_phrase}) to {shown}: "
                f"{detail} - check the credentials and the plan's access for this source"
            )
        if status >= 500:
            raise ListenerError(
                f"{host} kept failing: HTTP {status} {response.reason_phrase} for {shown} "
                f"after {_attempts(attempts)}"
            )
        raise ListenerError(f"HTTP {status} {response.reason_phrase} for {shown}: {detail}")


def _within(poll: Poll, shown: str, timeout: httpx.Timeout) -> dict[str, float | None]:
    """The request's timeouts, none longer than what is left of the poll's time budget."""
    left = poll.deadline - time.monotonic()
    if left <= 0:
        raise _over_budget(poll, shown)

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return {
        "connect": cut(timeout.connect),
        "read": cut(timeout.read),
        "write": cut(timeout.write),
        "pool": cut(timeout.pool),
    }


def _over_budget(poll: Poll, shown: str) -> Runaway:
    return Runaway(f"the poll ran past its {poll.budget:g}s time budget (max_poll_time) at {shown}")


def _attempts(n: int) -> str:
    return f"{n} attempt" if n == 1 else f"{n} attempts"


def _clock(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _snippet(response: httpx.Response, limit: int = 200) -> str:
    """The start of an error body, with our own secrets taken out: proxies and error pages
    often echo the request URL back, key and token included, and this text is logged and
    stored as the source's last error."""
    text = " ".join(response.text.split())
    if not text:
        return "(empty body)"
    for secret in _request_secrets(response.request):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text if len(text) <= limit else text[:limit] + "..."


def _request_secrets(request: httpx.Request) -> list[str]:
    """Secret values this request carried in its query or its Authorization header."""
    values = [
        value
        for name, value in request.url.params.multi_items()
        if name.lower() in _SECRET_PARAMS and len(value) >= 4
    ]
    auth = request.headers.get("authorization", "")
    if " " in auth:
        values.append(auth.split(" ", 1)[1])
    return sorted(values, key=len, reverse=True)


def read_json(response: httpx.Response) -> Any:
    """The decoded JSON body, or `MalformedResponse` saying which URL sent what instead."""
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponse(
            f"{redact(response.request.url)} answered HTTP {response.status_code} with a body "
            f"that is not JSON ({exc}); it starts {response.text[:80]!r}"
        ) from exc


M = TypeVar("M", bound=BaseModel)


def read_model(response: httpx.Response, model: type[M]) -> M:
    """The body validated against a network's documented shape (a pydantic model).

    Declaring the wire format as a model keeps each listener honest about which fields it relies
    on, and turns a silent API change into an error naming the field that moved. One item of a
    list that cannot be read (a post without an id) is left out, logged and counted for the
    poll, so it cannot block its source forever; a list whose every item fails is a format
    change, not a bad item, and fails the page as before.
    """
    body = read_json(response)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        failure = exc
    left = _without_unreadable(body, failure.errors())
    if left is not None:
        body, skipped = left
        try:
            parsed = model.model_validate(body)
        except ValidationError as exc:
            failure = exc
        else:
            where = redact(response.request.url)
            said = "; ".join(skipped)
            log.warning("%s: skipped %d unreadable item(s): %s", where, len(skipped), said)
            if (poll := _poll.get()) is not None:
                poll.skipped.extend(skipped)
            return parsed
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
        for err in failure.errors()[:3]
    )
    raise MalformedResponse(
        f"{redact(response.request.url)} answered in an unexpected shape: {problems}"
    ) from failure


def _without_unreadable(body: Any, errors: Sequence[Any]) -> tuple[Any, list[str]] | None:
    """`body` without the list items the errors lie in, and what each was missing; None when an
    error lies outside any list item, or when every item of a list failed."""
    doomed: dict[tuple[Any, ...], dict[int, str]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        at = next((i for i, part in enumerate(loc) if isinstance(part, int)), None)
        if at is None:
            return None
        inside = ".".join(str(p) for p in loc[at + 1 :]) or "item"
        doomed.setdefault(loc[:at], {}).setdefault(loc[at], f"{inside}: {err['msg']}")
    body = copy.deepcopy(body)
    skipped: list[str] = []
    for path, items in doomed.items():
        container = body
        for key in path:
            try:
                container = container[key]
            except (KeyError, IndexError, TypeError):
                return None
        if not isinstance(container, list) or len(items) >= len(container):
            return None  # not one bad item among good ones: the format itself moved
        for index in sorted(items, reverse=True):
            del container[index]
        skipped += [f"{'.'.join(map(str, (*path, i)))} ({why})" for i, why in sorted(items.items())]
    return body, skipped
