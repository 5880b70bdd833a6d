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
    buc_usage,
    graph_error,
    ig_comment,
    media,
)
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from listeners.instagram import InstagramListener, InstagramSettings
from tests.listeners.helpers import ids, seconds_until

NOW = int(time.time())
DAY = 86400
IG = "17841400000000001"
ENV = {"FACEBOOK_PAGE_TOKEN": TOKEN}


@pytest.fixture
def graph(server: FakeServer) -> FakeGraph:
    fake = FakeGraph(server)
    fake.add_ig_user(IG, "acmehq")
    return fake


def listener(
    graph: FakeGraph, http: HttpClient, env: dict[str, str] = ENV, **settings: object
) -> InstagramListener:
    options = InstagramSettings(base_url=graph.base_url, ig_user_id=IG, **settings)
    return InstagramListener(options, http, env=env)


def run(lst: InstagramListener, query: str = "acme", cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def test_pages_through_media_and_comments_to_the_end(graph: FakeGraph, http: HttpClient) -> None:
    for i in range(130):
        graph.add_media(IG, media(f"m{i}", NOW - DAY - i, f"post {i}"), [])
    chatter = [ig_comment(f"c{i}", NOW - 3000 + i, f"love it {i}") for i in range(120)]
    graph.add_media(IG, media("busy", NOW - 60, "new drop"), chatter)
    pages = run(listener(graph, http, media_limit=131))
    assert sorted(ids(pages)) == sorted(c["id"] for c in chatter)
    assert [p.cursor is None for p in pages] == [True, True, False]
    media_calls = graph.requests_to(f"/{IG}/media")
    assert [r.arg("after") is None for r in media_calls] == [True, False]
    assert media_calls[0].arg("limit") == "100"
    comment_calls = graph.requests_to("/busy/comments")
    assert len(comment_calls) == 3  # 50 + 50 + 20, through paging.next on base_url
    # Media without comments cost no request at all.
    assert len(graph.requests_to("/comments")) == 3


def test_comments_and_replies_become_mentions_but_the_account_itself_does_not(
    graph: FakeGraph, http: HttpClient
) -> None:
    thread = ig_comment(
        "c1",
        NOW - 600,
        "Does this come in blue?",
        like_count=3,
        replies=[
            ig_comment("r1", NOW - 500, "Yes! Link in bio", username="acmehq"),
            ig_comment("r2", NOW - 400, "ordered two", username="sam"),
        ],
    )
    graph.add_media(IG, media("m1", NOW - DAY, "Summer colours"), [thread])
    graph.add_media(IG, media("m2", NOW - 2 * DAY, "Old"), [ig_comment("c2", NOW - 300, "")])
    found = {m.native_id: m for p in run(listener(graph, http)) for m in p.mentions}
    assert sorted(found) == ["c1", "r2"]  # no brand reply, no empty comment
    question, reply = found["c1"], found["r2"]
    assert (question.network, question.author, question.text) == (
        "instagram",
        "jo.customer",
        "Does this come in blue?",
    )
    assert question.url == "https://www.instagram.com/p/m1/"
    assert (question.metrics.likes, question.metrics.replies) == (3, 2)
    assert question.in_reply_to == "m1" and reply.in_reply_to == "c1"
    assert question.created_at == datetime.fromtimestamp(NOW - 600, UTC)
    assert question.raw["media_id"] == "m1" and "replies" not in question.raw


def test_a_long_reply_thread_is_read_past_the_nested_first_page(
    graph: FakeGraph, http: HttpClient
) -> None:
    replies = [ig_comment(f"r{i}", NOW - 900 + i, f"same here {i}") for i in range(60)]
    graph.add_media(
        IG,
        media("m1", NOW - DAY, "Launch"),
        [ig_comment("c1", NOW - 1000, "broken", replies=replies)],
    )
    found = ids(run(listener(graph, http)))
    assert sorted(found) == sorted(["c1", *(r["id"] for r in replies)])
    assert len(graph.requests_to("/c1/replies")) == 2  # 50 + 10, the nested 25 not re-counted


def test_match_query_applies_the_brand_query_and_its_exclusions(
    graph: FakeGraph, http: HttpClient
) -> None:
    comments = [
        ig_comment("c1", NOW - 30, "where is my parcel"),
        ig_comment("c2", NOW - 20, "acme broke after a week"),
        ig_comment("c3", NOW - 10, "acme giveaway entry"),
    ]
    graph.add_media(IG, media("m1", NOW - DAY, "Launch"), comments)
    assert sorted(ids(run(listener(graph, http)))) == ["c1", "c2", "c3"]
    assert ids(run(listener(graph, http, match_query=True), "acme -giveaway")) == ["c2"]


def test_resuming_reads_only_media_whose_comment_count_moved(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_media(IG, media("m1", NOW - 3 * DAY, "Old"), [ig_comment("a", NOW - 2 * DAY, "hi")])
    graph.add_media(IG, media("m2", NOW - DAY, "New"), [ig_comment("b", NOW - 100, "nice")])
    lst = listener(graph, http)
    first = run(lst)
    assert sorted(ids(first)) == ["a", "b"]
    cursor = first[-1].cursor
    assert cursor is not None and json.loads(cursor)["counts"] == {"m1": 1, "m2": 1}

    before = len(graph.requests_to("/comments"))
    again = run(lst, cursor=cursor)
    assert ids(again) == []
    assert len(graph.requests_to("/comments")) == before  # nothing moved, nothing read

    # A reply under a two-day-old comment on a three-day-old media: heard, once.
    graph.ig_comments["m1"][0]["replies"].append(ig_comment("r", NOW - 30, "still waiting"))
    later = run(lst, cursor=again[-1].cursor)
    assert ids(later) == ["r"]
    assert [r.path for r in graph.requests_to("/comments")[before:]] == ["/v21.0/m1/comments"]
    assert ids(run(lst, cursor=later[-1].cursor)) == []


def test_media_limit_bounds_what_is_watched(graph: FakeGraph, http: HttpClient) -> None:
    for i in range(5):
        graph.add_media(
            IG, media(f"m{i}", NOW - i * DAY, "x"), [ig_comment(f"c{i}", NOW - i, "hi")]
        )
    assert sorted(ids(run(listener(graph, http, media_limit=2)))) == ["c0", "c1"]
    assert graph.requests_to("/media")[0].arg("limit") == "2"


def test_instagram_throttling_is_rate_limited_for_the_estimated_time(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.add_media(IG, media("m1", NOW - DAY, "x"), [ig_comment("c1", NOW - 10, "hi")])
    usage = buc_usage(IG, "instagram", call_count=100, regain_minutes=30)
    graph.script = [
        None,
        graph_error(
            400,
            80002,
            "(#80002) There have been too many calls to this Instagram account.",
            headers={"X-Business-Use-Case-Usage": usage},
        ),
    ]
    pages: list[Page] = []
    with pytest.raises(RateLimited, match="80002") as info:
        for page in listener(graph, http).search(parse("acme"), None):
            pages.append(page)
    assert pages == []
    assert 29 * 60 < seconds_until(info.value.until) <= 30 * 60


def test_an_expired_token_is_an_auth_error_without_retries(
    graph: FakeGraph, http: HttpClient
) -> None:
    graph.script = [
        graph_error(400, 190, "Error validating access token: Session has expired", subcode=463)
    ]
    with pytest.raises(AuthError, match=r"FACEBOOK_PAGE_TOKEN.*#190/463") as info:
        run(listener(graph, http))
    assert len(graph.server.requests) == 1
    assert TOKEN not in str(info.value)


def test_a_missing_token_is_not_configured(graph: FakeGraph, http: HttpClient) -> None:
    with pytest.raises(NotConfigured, match="instagram: set FACEBOOK_PAGE_TOKEN"):
        run(listener(graph, http, env={"FACEBOOK_PAGE_TOKEN": "  "}))
    assert graph.server.requests == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not JSON"),
        (json.dumps({"data": [{"id": "m1", "caption": "x"}]}), "timestamp"),
        (json.dumps({"data": {"id": "m1"}}), "data"),
    ],
)
def test_malformed_response(graph: FakeGraph, http: HttpClient, body: str, message: str) -> None:
    graph.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(graph, http))


def test_backfill_reads_comments_back_to_since(graph: FakeGraph, http: HttpClient) -> None:
    graph.add_media(
        IG,
        media("m1", NOW - 5 * DAY, "x"),
        [ig_comment(f"c{d}", NOW - d * DAY, f"day {d}") for d in range(1, 5)],
    )
    lst = listener(graph, http)
    since = datetime.fromtimestamp(NOW - 2 * DAY - 3600, UTC)
    pages = run(lst, cursor=lst.backfill_cursor(since))
    assert sorted(ids(pages)) == ["c1", "c2"]
    assert ids(run(lst, cursor=pages[-1].cursor)) == []


def test_settings_and_check(graph: FakeGraph, http: HttpClient) -> None:
    with pytest.raises(ValidationError, match="instagram_business_account"):
        InstagramSettings(ig_user_id="@acmehq")
    with pytest.raises(ValidationError):
        InstagramSettings(ig_user_id=IG, media_limit=0)
    assert listener(graph, http).check() == f"Instagram account @acmehq ({IG}) answered"
