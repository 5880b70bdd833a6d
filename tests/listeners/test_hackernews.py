from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.hackernews import FakeHackerNews, comment, story
from fakes.server import FakeServer, Response
from listeners.base import Page
from listeners.errors import ListenerError, MalformedResponse, RateLimited
from listeners.hackernews import HackerNewsListener, HackerNewsSettings
from listeners.http import HttpClient
from listeners.watermark import OVERLAP_SECONDS
from tests.listeners.helpers import ids, seconds_until

NOW = int(time.time())


@pytest.fixture
def hn(server: FakeServer) -> FakeHackerNews:
    return FakeHackerNews(server)


def listener(hn: FakeHackerNews, http: HttpClient, **settings: object) -> HackerNewsListener:
    options = HackerNewsSettings(base_url=hn.base_url, **settings)
    return HackerNewsListener(options, http, env={})


def run(lst: HackerNewsListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def test_pages_to_the_end_newest_first_with_the_cursor_on_the_last_page_only(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [story(i, NOW - 100 * i, f"Acme launch {i}") for i in range(1, 6)]
    pages = run(listener(hn, http, hits_per_page=2), "acme")
    assert ids(pages) == ["1", "2", "3", "4", "5"]
    assert [p.cursor is None for p in pages] == [True, True, False]
    sent = hn.searches
    assert [r.arg("page") for r in sent] == ["0", "1", "2"]
    assert sent[0].arg("query") == "acme"
    assert sent[0].arg("tags") == "(story,comment)"
    assert sent[0].arg("hitsPerPage") == "2"
    assert sent[0].arg("numericFilters") is None  # first run: no lower bound


def test_stories_and_comments_become_mentions(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [
        story(
            10,
            NOW - 5,
            "Acme raises $10M",
            url="https://acme.com/news",
            points=42,
            num_comments=7,
            author="alice",
        ),
        comment(
            11,
            NOW - 1,
            "I think <i>Acme</i>&#x27;s support is great.<p>Really.",
            story_id=10,
            parent_id=10,
            story_title="Acme raises $10M",
            author="bob",
        ),
    ]
    pages = run(listener(hn, http), "acme")
    c, s = pages[-1].mentions
    assert s.url == "https://news.ycombinator.com/item?id=10"
    assert (s.title, s.text, s.author) == ("Acme raises $10M", "Acme raises $10M", "alice")
    assert (s.metrics.likes, s.metrics.replies) == (42, 7)
    assert s.created_at == datetime.fromtimestamp(NOW - 5, UTC)
    assert s.in_reply_to is None
    assert c.text == "I think Acme's support is great.\nReally."
    assert c.title is None and c.in_reply_to == "10" and c.author == "bob"
    assert c.raw["story_title"] == "Acme raises $10M"
    assert "_highlightResult" not in c.raw


def test_a_comment_is_not_a_mention_because_of_its_story_title(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [comment(11, NOW, "great news", story_title="Acme raises $10M")]
    hn.items[0]["title"] = "Acme raises $10M"  # make the fake's fuzzy search return it
    assert ids(run(listener(hn, http), "acme")) == []


def test_resuming_from_the_cursor_yields_only_what_is_new(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [story(i, NOW - 10 * i, f"acme {i}") for i in range(1, 4)]
    lst = listener(hn, http, hits_per_page=2)
    first = run(lst, "acme")
    cursor = first[-1].cursor
    assert cursor is not None

    again = run(lst, "acme", cursor)
    assert ids(again) == []
    assert again[-1].cursor is not None
    floor = NOW - 10 - OVERLAP_SECONDS
    assert hn.searches[-1].arg("numericFilters") == f"created_at_i>={floor}"

    # A new story, and one indexed late (older than the newest seen): both are heard, once.
    hn.items += [story(7, NOW + 5, "acme new"), story(8, NOW - 15, "acme late")]
    later = run(lst, "acme", again[-1].cursor)
    assert ids(later) == ["7", "8"]
    assert ids(run(lst, "acme", later[-1].cursor)) == []


def test_exclusions_and_phrases_are_rechecked_locally(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [
        story(1, NOW - 1, "The Acme Cloud is down"),
        story(2, NOW - 2, "Acme Cloud jobs board"),  # excluded word
        story(3, NOW - 3, "Cloud pricing at Acme"),  # words, but not the phrase
    ]
    pages = run(listener(hn, http), '"acme cloud" -jobs')
    assert ids(pages) == ["1"]
    assert hn.searches[0].arg("query") == '"acme cloud"'  # the network was asked widely


def test_or_runs_one_search_per_alternative_and_dedupes(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [
        story(1, NOW - 1, "acme and globex merge"),
        story(2, NOW - 2, "globex earnings"),
        story(3, NOW - 3, "acme earnings"),
    ]
    pages = run(listener(hn, http), "acme OR globex")
    assert sorted(ids(pages)) == ["1", "2", "3"]
    assert [r.arg("query") for r in hn.searches] == ["acme", "globex"]
    assert [p.cursor is None for p in pages] == [True, False]


def test_rate_limit_mid_way_raises_and_no_page_carries_a_cursor(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [story(i, NOW - i, f"acme {i}") for i in range(1, 6)]
    hn.script = [None, Response(429, "", {"Retry-After": "300"})]
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in listener(hn, http, hits_per_page=2).search(parse("acme"), None):
            pages.append(page)
    assert ids(pages) == ["1", "2"]
    assert all(p.cursor is None for p in pages)
    assert 295 < seconds_until(info.value.until) <= 300


def test_server_error_is_retried_then_the_search_completes(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [story(1, NOW, "acme")]
    hn.script = [Response.json({"message": "internal error", "status": 500}, 500)]
    pages = run(listener(hn, http), "acme")
    assert ids(pages) == ["1"]
    assert len(hn.searches) == 2


def test_server_error_forever_is_a_listener_error(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [story(1, NOW, "acme")]
    hn.outage = Response(500, "oops")
    with pytest.raises(ListenerError, match="HTTP 500"):
        run(listener(hn, http), "acme")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad gateway</html>", "not JSON"),
        # (a hit without created_at_i is dated by created_at or fetch time: tests/faults/)
        (json.dumps({"hits": [{"created_at_i": 1}], "page": 0, "nbPages": 1}), "objectID"),
        (json.dumps({"results": []}), "hits"),
    ],
)
def test_malformed_response(hn: FakeHackerNews, http: HttpClient, body: str, message: str) -> None:
    hn.script = [Response(200, body, {"Content-Type": "application/json"})]
    with pytest.raises(MalformedResponse, match=message):
        run(listener(hn, http), "acme")


def test_settings_choose_tags_and_page_size(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [story(1, NOW - 1, "acme story"), comment(2, NOW, "acme comment")]
    pages = run(listener(hn, http, tags=["comment"], hits_per_page=50), "acme")
    assert ids(pages) == ["2"]
    assert hn.searches[0].arg("tags") == "comment"
    with pytest.raises(ValidationError):
        HackerNewsSettings(tags=["stories"])
    with pytest.raises(ValidationError):
        HackerNewsSettings(hits_per_page=5000)


def test_check_reports_the_newest_story(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [story(1, 1_700_000_000, "hello")]
    assert "newest story 2023-11-14 22:13 UTC" in listener(hn, http).check()


def test_backfill_cursor_reads_history_back_to_since(hn: FakeHackerNews, http: HttpClient) -> None:
    hn.items = [story(i, NOW - 3600 * i, f"acme {i}") for i in range(1, 6)]
    lst = listener(hn, http)
    since = datetime.fromtimestamp(NOW - 3 * 3600 - 60, UTC)
    pages = run(lst, "acme", lst.backfill_cursor(since))
    assert ids(pages) == ["1", "2", "3"]
    assert hn.searches[0].arg("numericFilters") == f"created_at_i>={int(since.timestamp())}"
    assert ids(run(lst, "acme", pages[-1].cursor)) == []


def test_an_unreadable_cursor_starts_over_instead_of_failing(
    hn: FakeHackerNews, http: HttpClient
) -> None:
    hn.items = [story(1, NOW, "acme")]
    assert ids(run(listener(hn, http), "acme", "not json{")) == ["1"]


def test_a_window_busier_than_algolias_1000_hit_cap_is_fetched_in_full(
    server: FakeServer, http: HttpClient
) -> None:
    hn = FakeHackerNews(server)
    now = int(time.time())
    hn.items.extend(story(5000 + i, now - 2600 + i, f"Acme post {i}") for i in range(2500))
    listener = HackerNewsListener(
        HackerNewsSettings(base_url=hn.base_url, hits_per_page=500), http, {}
    )
    since = listener.backfill_cursor(datetime.fromtimestamp(now - 3600, UTC))
    pages = list(listener.search(parse("acme"), since))
    found = [m.native_id for p in pages for m in p.mentions]
    assert len(found) == len(set(found)) == 2500
    assert any("created_at_i<=" in (r.arg("numericFilters") or "") for r in hn.searches)


def test_the_first_run_does_not_walk_back_through_years_of_history(
    server: FakeServer, http: HttpClient
) -> None:
    hn = FakeHackerNews(server)
    now = int(time.time())
    hn.items.extend(story(5000 + i, now - 86_400 * i, f"Acme post {i}") for i in range(1500))
    listener = HackerNewsListener(
        HackerNewsSettings(base_url=hn.base_url, hits_per_page=500), http, {}
    )
    pages = list(listener.search(parse("acme"), None))
    assert sum(len(p.mentions) for p in pages) == 1000  # Algolia's window, nothing older
    assert pages[-1].cursor is not None
