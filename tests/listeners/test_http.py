from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from pydantic import BaseModel

from core.http import USER_AGENT
from fakes.server import FakeServer, Request, Response
from listeners.errors import AuthError, ListenerError, MalformedResponse, RateLimited
from listeners.http import Budget, HttpClient, read_json, read_model


def sequence(*responses: Response):
    """A handler answering with each response in turn, then repeating the last one."""
    queue = list(responses)

    def handler(req: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def close_to(when: datetime, expected: datetime, slack: float = 3.0) -> bool:
    return abs((when - expected).total_seconds()) <= slack


def test_sends_a_descriptive_user_agent(server: FakeServer, http: HttpClient) -> None:
    server.route("GET", "/x", lambda r: Response.json({"ok": True}))
    http.get(f"{server.url}/x")
    ua = server.requests[0].headers["user-agent"]
    assert ua == USER_AGENT
    assert ua.startswith("listenpost/") and "+https://" in ua


def test_server_error_is_retried_then_succeeds(server: FakeServer, http: HttpClient) -> None:
    server.route("GET", "/x", sequence(Response(500, "boom"), Response.json({"n": 1})))
    assert http.get(f"{server.url}/x").json() == {"n": 1}
    assert len(server.requests) == 2


def test_server_error_forever_gives_up_after_bounded_retries(
    server: FakeServer, http: HttpClient
) -> None:
    server.route("GET", "/x", lambda r: Response(502, "bad gateway"))
    with pytest.raises(ListenerError, match=r"HTTP 502.*/x.*after 3 attempts"):
        http.get(f"{server.url}/x")
    assert len(server.requests) == 3  # 1 + retries=2


def test_timeouts_are_retried(server: FakeServer) -> None:
    calls = []

    def slow_then_fast(req: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.5)
        return Response.json({"ok": True})

    server.route("GET", "/x", slow_then_fast)
    with HttpClient(timeout=0.2, retries=1, backoff=0.01) as client:
        assert client.get(f"{server.url}/x").json() == {"ok": True}
    assert len(calls) == 2


def test_unreachable_host_is_a_clear_listener_error(http: HttpClient) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    with pytest.raises(ListenerError, match=rf"could not reach 127.0.0.1:{port}.*3 attempts"):
        http.get(f"http://127.0.0.1:{port}/x")


def test_429_with_retry_after_seconds_raises_rate_limited_without_sleeping(
    server: FakeServer, http: HttpClient
) -> None:
    server.route("GET", "/x", lambda r: Response(429, "slow down", {"Retry-After": "120"}))
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert time.monotonic() - started < 1
    assert close_to(info.value.until, datetime.now(UTC) + timedelta(seconds=120))
    assert info.value.until.tzinfo is not None
    assert len(server.requests) == 1  # a 429 is not retried


def test_429_with_retry_after_http_date(server: FakeServer, http: HttpClient) -> None:
    when = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    retry = format_datetime(when, usegmt=True)
    server.route("GET", "/x", lambda r: Response(429, "", {"Retry-After": retry}))
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert info.value.until == when


def test_after_a_429_the_host_is_refused_before_sending(
    server: FakeServer, http: HttpClient
) -> None:
    server.route("GET", "/x", lambda r: Response(429, "", {"Retry-After": "60"}))
    with pytest.raises(RateLimited):
        http.get(f"{server.url}/x")
    with pytest.raises(RateLimited, match="budget is spent"):
        http.get(f"{server.url}/other")
    assert len(server.requests) == 1


def test_reddit_style_budget_headers_stop_the_next_request(
    server: FakeServer, http: HttpClient
) -> None:
    headers = {"X-Ratelimit-Used": "100", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "42"}
    server.route("GET", "/x", lambda r: Response.json({"ok": True}, headers=headers))
    assert http.get(f"{server.url}/x").status_code == 200  # the last allowed request succeeds
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert close_to(info.value.until, datetime.now(UTC) + timedelta(seconds=42))
    assert len(server.requests) == 1


def test_budget_is_usable_again_once_the_window_resets(
    server: FakeServer, http: HttpClient
) -> None:
    headers = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "0"}
    server.route("GET", "/x", lambda r: Response.json({}, headers=headers))
    http.get(f"{server.url}/x")
    http.get(f"{server.url}/x")
    assert len(server.requests) == 2


def test_x_style_epoch_reset_on_429(server: FakeServer, http: HttpClient) -> None:
    reset = int(time.time()) + 900
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    server.route("GET", "/x", lambda r: Response.json({"title": "Too Many Requests"}, 429, headers))
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert info.value.until == datetime.fromtimestamp(reset, UTC)


def test_403_with_spent_budget_is_a_rate_limit_not_an_auth_error(
    server: FakeServer, http: HttpClient
) -> None:
    headers = {"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "30"}
    server.route("GET", "/x", lambda r: Response(403, "", headers))
    with pytest.raises(RateLimited):
        http.get(f"{server.url}/x")


def test_503_with_retry_after_is_a_rate_limit_not_retried(
    server: FakeServer, http: HttpClient
) -> None:
    server.route("GET", "/x", lambda r: Response(503, "", {"Retry-After": "30"}))
    with pytest.raises(RateLimited):
        http.get(f"{server.url}/x")
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_never_show_the_secret(
    server: FakeServer, http: HttpClient, status: int
) -> None:
    server.route("GET", "/x", lambda r: Response.json({"message": "Unauthorized"}, status))
    with pytest.raises(AuthError) as info:
        http.get(
            f"{server.url}/x",
            params={"q": "acme", "api_key": "s3cr3t-key"},
            headers={"Authorization": "Bearer s3cr3t-token"},
        )
    message = str(info.value)
    assert f"HTTP {status}" in message and "/x?q=acme" in message
    assert "s3cr3t" not in message
    assert len(server.requests) == 1


def test_other_client_errors_name_status_and_url(server: FakeServer, http: HttpClient) -> None:
    with pytest.raises(ListenerError, match=r"HTTP 404 Not Found for GET http://.*/missing"):
        http.get(f"{server.url}/missing")
    assert len(server.requests) == 1


def test_a_network_specific_rule_plugs_in_per_request(server: FakeServer, http: HttpClient) -> None:
    """Stack Exchange style: a `backoff` field in a 200 body means 'no more calls for N s'."""

    class BodyBackoff:
        def read(self, response: httpx.Response, now: datetime) -> Budget | None:
            seconds = response.json().get("backoff")
            return Budget(0, now + timedelta(seconds=seconds)) if seconds else None

    server.route("GET", "/x", lambda r: Response.json({"items": [], "backoff": 10}))
    http.get(f"{server.url}/x", rules=[BodyBackoff()])
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert close_to(info.value.until, datetime.now(UTC) + timedelta(seconds=10))
    assert len(server.requests) == 1


def test_read_json_rejects_a_body_that_is_not_json(server: FakeServer, http: HttpClient) -> None:
    server.route("GET", "/x", lambda r: Response(200, "<html>maintenance</html>"))
    with pytest.raises(MalformedResponse, match=r"not JSON.*maintenance"):
        read_json(http.get(f"{server.url}/x"))


def test_read_model_names_the_missing_field(server: FakeServer, http: HttpClient) -> None:
    class Listing(BaseModel):
        items: list[int]

    server.route("GET", "/x", lambda r: Response.json({"itemz": []}))
    with pytest.raises(MalformedResponse, match="items: Field required"):
        read_model(http.get(f"{server.url}/x"), Listing)


def test_an_invalid_url_is_a_listener_error(http: HttpClient) -> None:
    with pytest.raises(ListenerError, match="invalid URL"):
        http.get("http://[::1")


def test_an_error_page_echoing_our_key_never_carries_it_into_the_error(
    server: FakeServer, http: HttpClient
) -> None:
    key = "U4DMV*8nvpm3EOpvf69Rxw(("
    encoded = "U4DMV%2A8nvpm3EOpvf69Rxw%28%28"
    server.route(
        "GET", "/echo", lambda r: Response(404, f"no route for /echo?key={encoded}&q=acme")
    )
    with pytest.raises(ListenerError) as info:
        http.get(f"{server.url}/echo", params={"key": key, "q": "acme"})
    assert key not in str(info.value) and encoded not in str(info.value)
    assert "q=acme" in str(info.value)


def test_an_absurd_reset_header_pauses_a_source_for_a_day_at_most(
    server: FakeServer, http: HttpClient
) -> None:
    server.route("GET", "/x", lambda r: Response(429, "", {"Retry-After": "999999999"}))
    with pytest.raises(RateLimited) as info:
        http.get(f"{server.url}/x")
    assert info.value.until <= datetime.now(UTC) + timedelta(days=1, minutes=1)
