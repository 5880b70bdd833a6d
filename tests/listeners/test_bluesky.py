from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.bluesky import FakeBluesky, did_of, post
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.bluesky import BlueskyListener, BlueskySettings, compile_bluesky
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.watermark import OVERLAP_SECONDS
from tests.listeners.helpers import seconds_until

NOW = time.time()
HANDLE, PASSWORD = "acme.bsky.social", "abcd-efgh-ijkl-mnop"
ENV = {"BLUESKY_HANDLE": HANDLE, "BLUESKY_APP_PASSWORD": PASSWORD}
CREATE = "com.atproto.server.createSession"
REFRESH = "com.atproto.server.refreshSession"


@pytest.fixture
def bsky(server: FakeServer) -> FakeBluesky:
    return FakeBluesky(server, HANDLE, PASSWORD)


def listener(
    fake: FakeBluesky, http: HttpClient, env: dict[str, str] | None = None, **settings: object
) -> BlueskyListener:
    options = BlueskySettings(base_url=fake.base_url, **settings)
    return BlueskyListener(options, http, ENV if env is None else env)


def run(lst: BlueskyListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def texts(pages: list[Page]) -> list[str]:
    return [m.text for p in pages for m in p.mentions]


def test_pages_to_the_end_newest_first_with_the_cursor_on_the_last_page_only(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post("acme launch 0", NOW - 7200)]
    lst = listener(bsky, http, limit=2)
    cursor = run(lst, "acme")[-1].cursor
    bsky.posts += [post(f"acme launch {i}", NOW - 100 * i) for i in range(1, 6)]
    pages = run(lst, "acme", cursor)
    assert texts(pages) == [f"acme launch {i}" for i in range(1, 6)]
    assert [p.cursor is None for p in pages] == [True, True, False]
    sent = bsky.searches[1:]
    assert [r.arg("cursor") for r in sent] == [None, "2", "4"]
    assert sent[0].query["q"] == ["acme"] and sent[0].arg("sort") == "latest"
    assert sent[0].arg("limit") == "2"
    assert all(r.headers["authorization"].startswith("Bearer ") for r in sent)
    assert len(bsky.calls(CREATE)) == 1  # one session for every call


def test_first_poll_hears_the_newest_page(bsky: FakeBluesky, http: HttpClient) -> None:
    bsky.posts = [post(f"acme {i}", NOW - i) for i in range(5)]
    pages = run(listener(bsky, http, limit=2), "acme")
    assert texts(pages) == ["acme 0", "acme 1"]
    assert bsky.searches[0].arg("since") is None
    assert pages[-1].cursor is not None


def test_a_post_becomes_a_mention_with_its_bsky_app_url(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    parent = "at://did:plc:parent/app.bsky.feed.post/3kparent"
    bsky.posts = [
        post(
            "Is acme.com/pri... down?",
            1_700_000_000,
            handle="carol.example.com",
            indexed_at=1_700_000_002,
            langs=["en"],
            reply_to=parent,
            likes=4,
            reposts=2,
            replies=1,
            links=["https://acme.com/pricing"],
            rkey="3kabc",
        )
    ]
    (m,) = [m for p in run(listener(bsky, http), '"acme.com/pricing"') for m in p.mentions]
    assert m.url == "https://bsky.app/profile/carol.example.com/post/3kabc"
    assert m.native_id == f"at://{did_of('carol.example.com')}/app.bsky.feed.post/3kabc"
    assert (m.author, m.lang, m.in_reply_to) == ("carol.example.com", "en", parent)
    assert (m.metrics.likes, m.metrics.reposts, m.metrics.replies) == (4, 2, 1)
    assert m.created_at == datetime.fromtimestamp(1_700_000_000, UTC)
    json.dumps(m.raw)


def test_an_invalid_handle_links_by_did(bsky: FakeBluesky, http: HttpClient) -> None:
    bsky.posts = [post("acme", NOW, handle="gone.example", rkey="3kxyz")]
    bsky.posts[0]["author"]["handle"] = "handle.invalid"
    (m,) = [m for p in run(listener(bsky, http), "acme") for m in p.mentions]
    assert m.url == f"https://bsky.app/profile/{did_of('gone.example')}/post/3kxyz"


def test_resuming_asks_since_the_overlap_and_hears_late_posts_once(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post(f"acme {i}", NOW - 10 * i) for i in range(1, 4)]
    lst = listener(bsky, http)
    first = run(lst, "acme")
    again = run(lst, "acme", first[-1].cursor)
    assert texts(again) == []
    since = datetime.fromtimestamp(int(NOW - 10) - OVERLAP_SECONDS, UTC)
    assert bsky.searches[-1].arg("since") == since.strftime("%Y-%m-%dT%H:%M:%SZ")

    # A new post, and one written earlier but indexed late: both heard, once.
    bsky.posts += [post("acme new", NOW + 5), post("acme late", NOW - 15, indexed_at=NOW + 6)]
    later = run(lst, "acme", again[-1].cursor)
    assert texts(later) == ["acme new", "acme late"]
    assert texts(run(lst, "acme", later[-1].cursor)) == []


def test_exclusions_phrases_and_languages_are_rechecked_locally(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [
        post("The Acme Cloud is down", NOW - 1),
        post("Acme Cloud jobs board", NOW - 2),
        post("Cloud pricing at Acme", NOW - 3),
        post("Acme Cloud est en panne", NOW - 4, langs=["fr"]),
        post("Acme Cloud bilingual", NOW - 5, langs=["fr", "en"]),
    ]
    pages = run(listener(bsky, http), '"acme cloud" -jobs lang:en')
    assert texts(pages) == ["The Acme Cloud is down", "Acme Cloud bilingual"]
    assert bsky.searches[0].arg("q") == '"acme cloud"'  # asked widely
    assert bsky.searches[0].arg("lang") is None


def test_or_runs_one_search_per_alternative_and_dedupes(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post("acme and globex", NOW - 1), post("globex only", NOW - 2)]
    pages = run(listener(bsky, http), "acme OR globex")
    assert sorted(texts(pages)) == ["acme and globex", "globex only"]
    assert [r.arg("q") for r in bsky.searches] == ["acme", "globex"]
    assert [p.cursor is None for p in pages] == [True, False]
    assert compile_bluesky(parse("#acme OR c++ OR @acme.bsky.social")) == [
        "acme",
        '"c++"',
        "acme.bsky.social",
    ]


def test_an_expired_access_token_is_refreshed_and_the_call_repeated(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post("acme", NOW)]
    lst = listener(bsky, http)
    run(lst, "acme")
    bsky.expire_access_tokens()
    pages = run(lst, "acme")
    assert texts(pages) == ["acme"]
    assert len(bsky.calls(REFRESH)) == 1 and len(bsky.calls(CREATE)) == 1
    refresh = bsky.calls(REFRESH)[0].headers["authorization"]
    assert refresh.startswith("Bearer ") and refresh[7:] not in bsky.access  # the refreshJwt


def test_an_expired_refresh_token_opens_a_new_session(bsky: FakeBluesky, http: HttpClient) -> None:
    bsky.posts = [post("acme", NOW)]
    lst = listener(bsky, http)
    run(lst, "acme")
    bsky.expire_access_tokens()
    bsky.expire_refresh_tokens()
    assert texts(run(lst, "acme")) == ["acme"]
    assert len(bsky.calls(CREATE)) == 2


def test_a_refused_app_password_is_an_auth_error_sent_once_and_never_logged(
    bsky: FakeBluesky, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {**ENV, "BLUESKY_APP_PASSWORD": "wrong-pass-word-0000"}
    with pytest.raises(AuthError, match="BLUESKY_APP_PASSWORD") as info:
        run(listener(bsky, http, env=env), "acme")
    assert "Invalid identifier or password" in str(info.value)
    assert "wrong-pass-word-0000" not in str(info.value) + caplog.text
    assert len(bsky.calls(CREATE)) == 1 and bsky.searches == []


def test_tokens_never_reach_errors_or_logs(
    bsky: FakeBluesky, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bsky.outage = Response(502, "bad gateway")
    lst = listener(bsky, http)
    with pytest.raises(Exception) as info:
        run(lst, "acme")
    shown = str(info.value) + caplog.text + repr(lst._session)
    for secret in (PASSWORD, *bsky.access, *bsky.refresh):
        assert secret not in shown


def test_forbidden_search_is_an_auth_error_without_renewal(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.script = [Response.json({"error": "AccountTakedown", "message": "taken down"}, 403)]
    with pytest.raises(AuthError, match="HTTP 403"):
        run(listener(bsky, http), "acme")
    assert len(bsky.searches) == 1 and bsky.calls(REFRESH) == []


def test_a_second_refusal_after_renewal_is_final(bsky: FakeBluesky, http: HttpClient) -> None:
    refused = Response.json({"error": "AuthMissing", "message": "Authentication Required"}, 401)
    bsky.script = [refused, refused]
    with pytest.raises(AuthError, match="refused a fresh session"):
        run(listener(bsky, http), "acme")
    assert len(bsky.searches) == 2 and len(bsky.calls(REFRESH)) == 1


def test_missing_credentials_are_not_configured(bsky: FakeBluesky, http: HttpClient) -> None:
    with pytest.raises(NotConfigured, match=r"BLUESKY_HANDLE.*BLUESKY_APP_PASSWORD"):
        run(listener(bsky, http, env={"BLUESKY_HANDLE": HANDLE}), "acme")
    assert bsky.server.requests == []


def test_a_429_waits_for_blueskys_epoch_reset_and_no_page_carries_a_cursor(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post(f"acme {i}", NOW - i) for i in range(1, 6)]
    lst = listener(bsky, http, limit=2)
    cursor = run(lst, "acme")[-1].cursor
    bsky.posts += [post(f"acme new {i}", NOW + i) for i in range(1, 6)]
    reset = int(time.time()) + 240
    headers = {"RateLimit-Limit": "3000", "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    limited = Response.json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, headers
    )
    bsky.script = [None, limited]
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)
    assert 230 < seconds_until(info.value.until) <= 240
    assert len(texts(pages)) == 2
    assert all(p.cursor is None for p in pages)


def test_a_spent_budget_pauses_until_blueskys_reset_then_is_heard_again(
    bsky: FakeBluesky, http: HttpClient
) -> None:
    bsky.posts = [post("acme", NOW)]
    lst = listener(bsky, http)
    bsky.reset = int(time.time()) + 2
    bsky.remaining = 1  # createSession answers "RateLimit-Remaining: 0"
    with pytest.raises(RateLimited) as info:
        run(lst, "acme")
    assert seconds_until(info.value.until) <= 2
    assert bsky.searches == []  # refused here, before spending a request past the budget
    time.sleep(max(bsky.reset - time.time(), 0) + 0.2)
    bsky.remaining, bsky.reset = 3000, int(time.time()) + 300
    assert texts(run(lst, "acme")) == ["acme"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad gateway</html>", "not JSON"),
        (json.dumps({"cursor": "2"}), "posts"),
        (json.dumps({"posts": [{"uri": "at://x/app.bsky.feed.post/1", "cid": "b"}]}), "author"),
    ],
)
def test_malformed_response(bsky: FakeBluesky, http: HttpClient, body: str, message: str) -> None:
    bsky.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(bsky, http), "acme")


def test_backfill_cursor_searches_since_the_horizon(bsky: FakeBluesky, http: HttpClient) -> None:
    bsky.posts = [post(f"acme {i}", NOW - 3600 * i) for i in range(1, 6)]
    lst = listener(bsky, http, limit=2)
    since = datetime.fromtimestamp(int(NOW - 3 * 3600 - 60), UTC)
    pages = run(lst, "acme", lst.backfill_cursor(since))
    assert texts(pages) == ["acme 1", "acme 2", "acme 3"]
    assert bsky.searches[0].arg("since") == since.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert texts(run(lst, "acme", pages[-1].cursor)) == []


def test_settings_bound_the_page_size() -> None:
    with pytest.raises(ValidationError):
        BlueskySettings(limit=101)


def test_check_signs_in_and_searches(bsky: FakeBluesky, http: HttpClient) -> None:
    assert f"as @{HANDLE}" in listener(bsky, http).check()
    assert bsky.searches[0].arg("limit") == "1"
