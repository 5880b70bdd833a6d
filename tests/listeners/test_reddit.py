from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.reddit import FakeReddit, post
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.errors import AuthError, ListenerError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.reddit import RedditListener, RedditSettings
from tests.listeners.helpers import ids, seconds_until

NOW = time.time()
OAUTH_ENV = {"REDDIT_CLIENT_ID": "app-id", "REDDIT_CLIENT_SECRET": "app-secret"}


@pytest.fixture
def reddit(server: FakeServer) -> FakeReddit:
    return FakeReddit(server)


def listener(
    reddit: FakeReddit, http: HttpClient, env: dict[str, str] | None = None, **settings: object
) -> RedditListener:
    return RedditListener(RedditSettings(base_url=reddit.base_url, **settings), http, env or {})


def run(lst: RedditListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def test_pages_through_after_to_the_end(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post(f"p{i}", NOW - 60 * i, f"Acme thing {i}") for i in range(1, 6)]
    pages = run(listener(reddit, http, limit=2), "acme")
    assert ids(pages) == ["t3_p1", "t3_p2", "t3_p3", "t3_p4", "t3_p5"]
    assert [p.cursor is None for p in pages] == [True, True, False]
    sent = reddit.searches
    assert [r.arg("after") for r in sent] == [None, "t3_p2", "t3_p4"]
    assert sent[0].path == "/search.json"
    assert (sent[0].arg("q"), sent[0].arg("sort"), sent[0].arg("limit")) == ("acme", "new", "2")
    assert sent[0].headers["user-agent"].startswith("listenpost/")


def test_a_cross_post_carries_its_parents_words_and_author(
    reddit: FakeReddit, http: HttpClient
) -> None:
    parent = post("p1", NOW - 90, "Acme kettle leaks", selftext="Mine leaked twice", author="kim")
    reddit.posts = [
        post("c1", NOW - 30, "Acme kettle leaks", author="lee", crosspost_of=parent),
        parent,
    ]
    cross, original = [m for p in run(listener(reddit, http), "acme") for m in p.mentions]
    assert (cross.author, cross.repost_of, cross.text) == ("lee", "kim", "Mine leaked twice")
    assert (original.repost_of, original.text) == (None, "Mine leaked twice")


def test_posts_become_mentions(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [
        post(
            "abc",
            NOW - 30,
            "Acme & friends",
            selftext="Acme support is slow",
            author="kim",
            subreddit="sysadmin",
            score=12,
            num_comments=3,
        )
    ]
    (m,) = run(listener(reddit, http), "acme")[0].mentions
    assert m.native_id == "t3_abc"
    assert m.url == "https://www.reddit.com/r/sysadmin/comments/abc/acme_friends/"
    assert (m.title, m.text, m.author) == ("Acme & friends", "Acme support is slow", "kim")
    assert (m.metrics.likes, m.metrics.replies) == (12, 3)
    assert m.created_at == datetime.fromtimestamp(NOW - 30, UTC)
    assert m.raw["subreddit"] == "sysadmin"


def test_resuming_from_the_cursor_yields_nothing_new_and_stops_early(
    reddit: FakeReddit, http: HttpClient
) -> None:
    reddit.posts = [post(f"p{i}", NOW - 3600 * i, f"acme {i}") for i in range(1, 8)]
    lst = listener(reddit, http, limit=2)
    cursor = run(lst, "acme")[-1].cursor
    before = len(reddit.searches)
    again = run(lst, "acme", cursor)
    assert ids(again) == []
    assert again[-1].cursor is not None
    assert len(reddit.searches) - before == 1  # stopped at the first page older than the cursor

    reddit.posts.append(post("new", NOW + 10, "acme news"))
    assert ids(run(lst, "acme", again[-1].cursor)) == ["t3_new"]


def test_exclusions_and_phrases_are_rechecked_locally(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [
        post("a", NOW - 1, "The Acme Cloud outage"),
        post("b", NOW - 2, "Acme Cloud jobs: we are hiring"),
        post("c", NOW - 3, "cloud costs", selftext="moving off acme"),
        post("d", NOW - 4, "jobs"),
    ]
    pages = run(listener(reddit, http), '"acme cloud" -jobs')
    assert ids(pages) == ["t3_a"]
    assert reddit.searches[0].arg("q") == '"acme cloud" NOT jobs'


def test_subreddits_restrict_the_search(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.serve_subreddits("sysadmin", "devops")
    reddit.posts = [
        post("a", NOW - 1, "acme down", subreddit="sysadmin"),
        post("b", NOW - 2, "acme down", subreddit="funny"),
    ]
    pages = run(listener(reddit, http, subreddits=["r/sysadmin", "devops"]), "acme")
    assert ids(pages) == ["t3_a"]
    assert reddit.searches[0].path == "/r/sysadmin+devops/search.json"
    assert reddit.searches[0].arg("restrict_sr") == "on"


def test_settings_reject_bad_subreddits_and_limits() -> None:
    with pytest.raises(ValidationError, match="not a subreddit"):
        RedditSettings(subreddits=["no spaces"])
    with pytest.raises(ValidationError):
        RedditSettings(limit=500)
    with pytest.raises(ValidationError):
        RedditSettings(subreddit=["typo"])


def test_429_with_retry_after_raises_and_no_page_carries_a_cursor(
    reddit: FakeReddit, http: HttpClient
) -> None:
    reddit.posts = [post(f"p{i}", NOW - i, f"acme {i}") for i in range(1, 6)]
    reddit.script = [
        None,
        Response.json({"message": "Too Many Requests", "error": 429}, 429, {"Retry-After": "90"}),
    ]
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in listener(reddit, http, limit=2).search(parse("acme"), None):
            pages.append(page)
    assert ids(pages) == ["t3_p1", "t3_p2"]
    assert all(p.cursor is None for p in pages)
    assert 85 < seconds_until(info.value.until) <= 90


def test_a_spent_budget_stops_before_sending(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post(f"p{i}", NOW - i, f"acme {i}") for i in range(1, 8)]
    reddit.remaining = 2
    reddit.reset_seconds = 240
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in listener(reddit, http, limit=2).search(parse("acme"), None):
            pages.append(page)
    assert len(pages) == 2 and all(p.cursor is None for p in pages)
    assert len(reddit.searches) == 2  # the third request was never sent
    assert 235 < seconds_until(info.value.until) <= 240


def test_server_error_is_retried_then_succeeds(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post("a", NOW, "acme")]
    reddit.script = [Response(500, "<html>all our servers are busy</html>")]
    assert ids(run(listener(reddit, http), "acme")) == ["t3_a"]
    assert len(reddit.searches) == 2


def test_server_error_forever_is_a_listener_error(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.outage = Response(503, "down")
    with pytest.raises(ListenerError, match="HTTP 503"):
        run(listener(reddit, http), "acme")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<!doctype html><title>reddit</title>", "not JSON"),
        (
            json.dumps({"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {}}]}}),
            "name",
        ),
        (json.dumps({"kind": "t3", "data": {}}), "kind"),
    ],
)
def test_malformed_response(reddit: FakeReddit, http: HttpClient, body: str, message: str) -> None:
    reddit.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(reddit, http), "acme")


def test_oauth_with_credentials_from_env(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post("a", NOW, "acme")]
    lst = listener(reddit, http, env=OAUTH_ENV)
    assert ids(run(lst, "acme")) == ["t3_a"]
    token_req = next(r for r in reddit.server.requests if r.path == "/api/v1/access_token")
    assert token_req.method == "POST"
    assert token_req.form() == {"grant_type": ["client_credentials"]}
    search = reddit.searches[0]
    assert search.path == "/search"
    assert search.headers["authorization"].startswith("bearer ")
    # the token is reused for the next search
    run(lst, "acme")
    assert sum(r.path == "/api/v1/access_token" for r in reddit.server.requests) == 1


def test_oauth_renews_a_revoked_token_once(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post("a", NOW, "acme")]
    lst = listener(reddit, http, env=OAUTH_ENV)
    run(lst, "acme")
    reddit.revoke_tokens()
    assert ids(run(lst, "acme")) == ["t3_a"]
    assert sum(r.path == "/api/v1/access_token" for r in reddit.server.requests) == 2


def test_oauth_wrong_secret_is_an_auth_error_without_the_secret(
    reddit: FakeReddit, http: HttpClient
) -> None:
    env = {"REDDIT_CLIENT_ID": "app-id", "REDDIT_CLIENT_SECRET": "wrong-s3cret"}
    with pytest.raises(AuthError, match="REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET") as info:
        run(listener(reddit, http, env=env), "acme")
    assert "wrong-s3cret" not in str(info.value)
    assert reddit.searches == []


def test_half_configured_oauth_is_not_configured(reddit: FakeReddit, http: HttpClient) -> None:
    lst = listener(reddit, http, env={"REDDIT_CLIENT_ID": "app-id"})  # building never fails
    with pytest.raises(NotConfigured, match="both"):
        run(lst, "acme")
    with pytest.raises(NotConfigured, match="both"):
        lst.check()
    assert reddit.server.requests == []


def test_check_describes_the_mode(reddit: FakeReddit, http: HttpClient) -> None:
    assert "public JSON" in listener(reddit, http).check()
    assert "OAuth" in listener(reddit, http, env=OAUTH_ENV).check()


def test_backfill_cursor_stops_at_since(reddit: FakeReddit, http: HttpClient) -> None:
    reddit.posts = [post(f"p{i}", NOW - 3600 * i, f"acme {i}") for i in range(1, 9)]
    lst = listener(reddit, http, limit=2)
    since = datetime.fromtimestamp(NOW - 3 * 3600 - 60, UTC)
    pages = run(lst, "acme", lst.backfill_cursor(since))
    assert ids(pages) == ["t3_p1", "t3_p2", "t3_p3"]
    assert len(reddit.searches) == 2  # the page holding p4 (older than since) is the last
