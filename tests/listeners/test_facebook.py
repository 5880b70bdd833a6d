from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.facebook import (
    TOKEN,
    FakeGraph,
    app_usage,
    buc_usage,
    comment,
    graph_error,
    person,
    post,
)
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.facebook import FacebookListener, FacebookSettings
from listeners.http import HttpClient
from listeners.watermark import OVERLAP_SECONDS
from tests.listeners.helpers import ids, seconds_until

NOW = int(time.time())
DAY = 86400
PAGE = "1001"
ENV = {"FACEBOOK_PAGE_TOKEN": TOKEN}
VISITOR = person("Vic Visitor", "7007")


@pytest.fixture
def graph(server: FakeServer) -> FakeGraph:
    fake = FakeGraph(server)
    fake.add_page(PAGE, "Acme")
    return fake


def listener(
    graph: FakeGraph, http: HttpClient, env: dict[str, str] = ENV, **settings: object
) -> FacebookListener:
    options = FacebookSettings(base_url=graph.base_url, page_id=PAGE, **settings)
    return FacebookListener(options, http, env=env)


def run(lst: FacebookListener, query: str = "acme", cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def collect(
    lst: FacebookListener, cursor: str | None = None
) -> tuple[list[Page], Exception | None]:
    pages: list[Page] = []
    try:
        for page in lst.search(parse("acme"), cursor):
            pages.append(page)
    except Exception as exc:
        return pages, exc
    return pages, None


def test_pages_through_comments_to_the_end_following_paging_next(
    graph: FakeGraph, http: HttpClient
) -> None:
    chatter = [comment(f"1001_1_{i}", NOW - 5000 + i, f"question {i}") for i in range(230)]
    graph.add_post(PAGE, post("1001_1", NOW - DAY, "Our new plan"), chatter)
    pages = run(listener(graph, http, posts_limit=1))
    assert sorted(ids(pages)) == sorted(c["id"] for c in chatter)
    # Feed page, tagged page, then the cursor once everything is read.
    assert [p.cursor is None for p in pages] == [True, True, False]
    sent = graph.requests_to("/1001_1/comments")
    # Graph's `next` links point at graph.facebook.com; every page still came from base_url.
    assert len(sent) == 3
    assert [r.arg("after") is None for r in sent] == [True, False, False]
    assert sent[0].arg("filter") == "stream"
    assert sent[0].arg("order") == "reverse_chronological"
    assert sent[0].arg("since") is None  # first run: no lower bound
    assert all(r.arg("access_token") == TOKEN for r in sent)


def test_visitor_posts_and_comments_become_mentions_but_the_page_itself_does_not(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(
        PAGE,
        post("1001_1", NOW - DAY, "Big launch today!"),
        [
            comment("1001_1_1", NOW - 600, "Is the app down?", like_count=4, comment_count=1),
            comment("1001_1_2", NOW - 500, "Looking into it", author=person("Acme", PAGE)),
            comment("1001_1_3", NOW - 400, "Still down", parent="1001_1_1"),
            comment("1001_1_4", NOW - 300, None),  # a sticker alone
        ],
    )
    graph.add_post(PAGE, post("1001_2", NOW - 200, "Refund please", author=VISITOR), [])
    pages = run(listener(graph, http))
    found = {m.native_id: m for p in pages for m in p.mentions}
    assert sorted(found) == ["1001_1_1", "1001_1_3", "1001_2"]
    first, reply, visitor = found["1001_1_1"], found["1001_1_3"], found["1001_2"]
    assert (first.text, first.author, first.network) == (
        "Is the app down?",
        "Jo Customer",
        "facebook",
    )
    assert first.url == "https://www.facebook.com/1001_1_1"
    assert (first.metrics.likes, first.metrics.replies) == (4, 1)
    assert first.in_reply_to == "1001_1" and reply.in_reply_to == "1001_1_1"
    assert first.created_at == datetime.fromtimestamp(NOW - 600, UTC)
    assert first.raw["from"] == {"name": "Jo Customer", "id": "9001"}
    assert first.raw["post_id"] == "1001_1"
    assert visitor.author == "Vic Visitor" and visitor.in_reply_to is None
    assert visitor.url == "https://www.facebook.com/1001/posts/2"


def test_every_comment_is_heard_unless_match_query_is_set(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(
        PAGE,
        post("1001_1", NOW - DAY, "Spring sale"),
        [
            comment("c1", NOW - 30, "where is my order?"),
            comment("c2", NOW - 20, "Acme support never answers"),
            comment("c3", NOW - 10, "acme refund please"),
        ],
    )
    assert sorted(ids(run(listener(graph, http)))) == ["c1", "c2", "c3"]
    matched = run(listener(graph, http, match_query=True), "acme -refund")
    assert ids(matched) == ["c2"]  # the brand named, the exclusion honoured


def test_resuming_from_the_cursor_yields_only_what_is_new(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(PAGE, post("1001_1", NOW - 3 * DAY, "Old post"), [comment("a", NOW - DAY, "hi")])
    graph.add_post(PAGE, post("1001_2", NOW - 2 * DAY, "Quiet post"), [])
    graph.add_post(PAGE, post("1001_3", NOW - 120, "Hello", author=VISITOR), [])
    lst = listener(graph, http)
    first = run(lst)
    assert sorted(ids(first)) == ["1001_3", "a"]
    cursor = first[-1].cursor
    assert cursor is not None and json.loads(cursor)["since"] == NOW - 120

    before = len(graph.requests_to("/comments"))
    again = run(lst, cursor=cursor)
    assert ids(again) == [] and again[-1].cursor is not None
    # Only the post touched inside the window (the visitor post) costs a comments request.
    touched = graph.requests_to("/comments")[before:]
    assert [r.path for r in touched] == ["/v21.0/1001_3/comments"]
    assert touched[0].arg("since") == str(NOW - 120 - OVERLAP_SECONDS)

    # A new comment on a three-day-old post moves its updated_time: it is heard, once.
    graph.add_comments("1001_1", [comment("b", NOW - 60, "any news?")])
    later = run(lst, cursor=again[-1].cursor)
    assert ids(later) == ["b"]
    assert ids(run(lst, cursor=later[-1].cursor)) == []


def test_tagged_posts_are_mentions_unless_turned_off(graph: FakeGraph, http: HttpClient) -> None:
    graph.add_tagged(PAGE, post("55_1", NOW - 100, "Loving my @Acme blender", author=VISITOR))
    assert ids(run(listener(graph, http))) == ["55_1"]
    assert ids(run(listener(graph, http, tagged=False))) == []
    assert graph.requests_to("/tagged")[0].arg("fields") == (
        "id,message,created_time,updated_time,from,permalink_url"
    )


def test_app_throttling_code_4_is_rate_limited_and_refuses_further_calls(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(PAGE, post("1001_1", NOW - 900, "first"), [comment("a", NOW - 800, "one")])
    graph.add_post(PAGE, post("1001_2", NOW - 300, "second"), [comment("b", NOW - 200, "two")])
    throttled = graph_error(
        403,
        4,
        "(#4) Application request limit reached",
        headers={"X-App-Usage": app_usage(100, 12, 30)},
    )
    # Feed page 1 and its post's comments, feed page 2, then the limit on its comments.
    graph.script = [None, None, None, throttled]
    lst = listener(graph, http, posts_limit=1)
    since = datetime.fromtimestamp(NOW - DAY, UTC)
    pages, error = collect(lst, lst.backfill_cursor(since))
    assert isinstance(error, RateLimited)
    assert "(#4) Application request limit reached" in str(error)
    assert 14 * 60 < seconds_until(error.until) <= 15 * 60  # X-App-Usage names no time
    assert ids(pages) == ["b"]  # committed before the limit...
    assert all(p.cursor is None for p in pages)  # ...without moving the cursor past "a"
    sent = len(graph.server.requests)
    with pytest.raises(RateLimited):
        run(listener(graph, http))
    assert len(graph.server.requests) == sent  # refused before sending, Graph never asked


def test_page_throttling_waits_for_the_time_graph_estimates(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(PAGE, post("1001_1", NOW - 50, "first"), [comment("a", NOW - 40, "one")])
    usage = buc_usage(PAGE, "pages", call_count=100, regain_minutes=7)
    graph.script = [
        graph_error(
            400,
            32,
            "(#32) Page request limit reached",
            headers={"X-Business-Use-Case-Usage": usage},
        )
    ]
    pages, error = collect(listener(graph, http))
    assert pages == []
    assert isinstance(error, RateLimited)
    assert 6 * 60 < seconds_until(error.until) <= 7 * 60


def test_usage_at_the_ceiling_refuses_the_next_call_before_graph_does(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_post(PAGE, post("1001_1", NOW - 50, "first"), [comment("a", NOW - 40, "one")])
    graph.headers = {"X-Business-Use-Case-Usage": buc_usage(PAGE, "pages", 100, 42)}
    pages, error = collect(listener(graph, http))
    assert isinstance(error, RateLimited)
    assert 41 * 60 < seconds_until(error.until) <= 42 * 60
    assert len(graph.server.requests) == 1  # the feed answered; its comments were not asked for
    assert all(p.cursor is None for p in pages)


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            graph_error(
                400, 190, "Error validating access token: Session has expired", subcode=463
            ),
            "refused FACEBOOK_PAGE_TOKEN",
        ),
        (
            graph_error(403, 10, "(#10) Requires pages_read_user_content permission"),
            "lacks a permission",
        ),
    ],
)
def test_token_and_permission_errors_are_auth_errors_without_retries(
    graph: FakeGraph, http: HttpClient, failure: Response, message: str
) -> None:
    graph.script = [failure]
    with pytest.raises(AuthError, match=message) as info:
        run(listener(graph, http))
    assert len(graph.server.requests) == 1
    assert TOKEN not in str(info.value)


def test_a_wrong_token_is_refused_by_graph_and_never_shown(
    graph: FakeGraph, http: HttpClient
) -> None:
    with pytest.raises(AuthError, match="#190") as info:
        run(listener(graph, http, env={"FACEBOOK_PAGE_TOKEN": "EAAB-stale"}))
    assert "EAAB-stale" not in str(info.value)


def test_a_missing_token_explains_how_to_get_one(graph: FakeGraph, http: HttpClient) -> None:
    lst = listener(graph, http, env={})  # building never fails
    with pytest.raises(NotConfigured, match=r"FACEBOOK_PAGE_TOKEN.*pages_read_engagement"):
        run(lst)
    with pytest.raises(NotConfigured):
        lst.check()
    assert graph.server.requests == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad gateway</html>", "not JSON"),
        (json.dumps({"data": [{"id": "1001_1", "message": "hi"}]}), "created_time"),
        (json.dumps({"posts": []}), "data"),
    ],
)
def test_malformed_response(graph: FakeGraph, http: HttpClient, body: str, message: str) -> None:
    graph.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message) as info:
        run(listener(graph, http))
    assert TOKEN not in str(info.value)


def test_backfill_reads_comments_and_posts_back_to_since(
    graph: FakeGraph, http: HttpClient
) -> None:
    for day in range(1, 5):
        graph.add_post(
            PAGE,
            post(f"1001_{day}", NOW - day * DAY, f"post {day}"),
            [comment(f"c{day}", NOW - day * DAY + 60, f"comment {day}")],
        )
    lst = listener(graph, http, posts_limit=1)
    since = datetime.fromtimestamp(NOW - 3 * DAY - 3600, UTC)
    pages = run(lst, cursor=lst.backfill_cursor(since))
    # Past posts_limit, the feed walk goes on while posts are newer than `since`.
    assert sorted(ids(pages)) == ["c1", "c2", "c3"]
    assert graph.requests_to("/comments")[0].arg("since") == str(int(since.timestamp()))
    assert ids(run(lst, cursor=pages[-1].cursor)) == []


def test_settings_validate_ids_and_choose_the_api_version(
    server: FakeServer, http: HttpClient
) -> None:
    with pytest.raises(ValidationError, match="numeric Page id"):
        FacebookSettings(page_id="acme")
    with pytest.raises(ValidationError, match="Graph API version"):
        FacebookSettings(page_id=PAGE, api_version="21")
    with pytest.raises(ValidationError):
        FacebookSettings()  # page_id is required
    older = FakeGraph(server, version="v19.0")
    older.add_page(PAGE, "Acme")
    lst = listener(older, http, api_version="v19.0")
    assert lst.check() == "Page Acme (1001) answered with the Page token"
    assert server.requests[-1].path == "/v19.0/1001"


def test_an_unreadable_cursor_starts_over(graph: FakeGraph, http: HttpClient) -> None:
    graph.add_post(PAGE, post("1001_1", NOW - 50, "hi"), [comment("a", NOW - 40, "hello")])
    assert ids(run(listener(graph, http), cursor="not json{")) == ["a"]
