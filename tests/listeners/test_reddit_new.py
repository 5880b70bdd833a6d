"""Reddit new: both listings in order with `before`, OAuth shared with search, a lost cursor."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fakes.reddit import FakeReddit
from fakes.reddit_new import FakeRedditListings
from fakes.server import FakeServer
from listeners.errors import RateLimited
from listeners.http import HttpClient
from listeners.reddit_new import RedditNewListener, RedditNewSettings
from tests.listeners.stream_harness import Run, wait_for

OAUTH = {"REDDIT_CLIENT_ID": "app-id", "REDDIT_CLIENT_SECRET": "app-secret"}


@pytest.fixture
def reddit() -> Iterator[FakeRedditListings]:
    with FakeServer() as srv:
        fake = FakeReddit(srv)
        fake.remaining = 10_000
        yield FakeRedditListings(srv, fake)


def listener(
    http: HttpClient, reddit: FakeRedditListings, env: dict[str, str] | None = None, **settings
) -> RedditNewListener:
    defaults: dict[str, object] = {"poll": 0.05, "max_backoff": 0.2}
    return RedditNewListener(
        RedditNewSettings(base_url=reddit.server.url, **{**defaults, **settings}),
        http,
        OAUTH if env is None else env,
    )


def test_posts_and_comments_are_two_channels_read_in_order(
    reddit: FakeRedditListings, http: HttpClient
) -> None:
    stream = listener(http, reddit)
    assert stream.channels() == ["posts", "comments"]
    reddit.post("before listening")
    posts = Run(stream, "posts", None).wait_ready()
    comments = Run(stream, "comments", None).wait_ready()
    new_posts = [reddit.post(f"Acme launch {i}", selftext="details") for i in range(250)]
    new_comments = [reddit.comment(f"acme comment {i}") for i in range(3)]
    posts.wait_heard(new_posts).finish()
    comments.wait_heard(new_comments).finish()
    assert posts.ids == new_posts  # oldest first, across three pages of `before`
    assert comments.ids == new_comments
    first = next(h for b in posts.batches for h in b.posts)
    assert first.mention.title == "Acme launch 0" and first.text.startswith("Acme launch 0\x1f")
    comment = comments.batches[-1].posts[-1].mention
    assert comment.native_id.startswith("t1_") and comment.in_reply_to == "t3_abc"
    assert comment.url.startswith("https://www.reddit.com/r/technology/comments/abc/")
    reads = [r for r in reddit.reads if "before" in r.query]
    assert reads and all(r.path == "/r/all/new" or r.path == "/r/all/comments" for r in reads)
    assert all(r.headers["authorization"].startswith("bearer ") for r in reads)


def test_without_credentials_the_public_json_is_read(
    reddit: FakeRedditListings, http: HttpClient
) -> None:
    run = Run(listener(http, reddit, env={}, comments=False), "posts", None).wait_ready()
    name = reddit.post("acme")
    run.wait_heard([name]).finish()
    assert {r.path for r in reddit.reads} == {"/r/all/new.json"}


def test_a_removed_cursor_item_is_resynced_by_time(
    reddit: FakeRedditListings, http: HttpClient
) -> None:
    gone = reddit.post("soon removed")
    cursor = json.dumps({"name": gone, "at": 0})
    reddit.remove(gone)
    later = [reddit.post(f"acme {i}") for i in range(3)]
    run = Run(listener(http, reddit, resync_after=2), "posts", cursor)
    run.wait_heard(later).finish()
    assert run.ids == later
    assert json.loads(run.cursor)["name"] == later[-1]


def test_subreddits_narrow_both_listings(reddit: FakeRedditListings, http: HttpClient) -> None:
    reddit.serve("python", "rust")
    run = Run(listener(http, reddit, subreddits=["r/python", "rust"]), "posts", None).wait_ready()
    mine = reddit.post("acme in python", subreddit="python")
    reddit.post("acme elsewhere", subreddit="golang")
    run.wait_heard([mine]).finish()
    assert run.ids == [mine]
    assert reddit.reads[-1].path == "/r/python+rust/new"


def test_a_spent_budget_is_a_rate_limit_for_the_runner(
    reddit: FakeRedditListings, http: HttpClient
) -> None:
    reddit.reddit.remaining = 2
    run = Run(listener(http, reddit, comments=False), "posts", None)
    wait_for(lambda: run.error is not None)
    assert isinstance(run.error, RateLimited)
