from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from core.query import parse
from fakes.rss import FakeFeeds, Item
from fakes.server import FakeServer, Handler, Request, Response
from listeners.base import Page
from listeners.errors import ListenerError, MalformedResponse, RateLimited
from listeners.http import HttpClient
from listeners.rss import RssListener, RssSettings
from tests.listeners.helpers import ids, seconds_until

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def feeds(server: FakeServer) -> FakeFeeds:
    return FakeFeeds(server)


def listener(fake: FakeFeeds, http: HttpClient, **settings: object) -> RssListener:
    return RssListener(RssSettings(base_url=fake.base_url, **settings), http, env={})


def run(lst: RssListener, query: str, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def test_google_news_search_url_is_built_from_the_query(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.news = [Item("n1", "Acme Cloud outage hits Europe", at(5), source="The Register")]
    pages = run(listener(feeds, http), '("acme cloud" OR globex) -jobs')
    (req,) = feeds.requests_to("/rss/search")
    assert req.query == {
        "q": ['("acme cloud" OR globex) -jobs'],
        "hl": ["en-US"],
        "gl": ["US"],
        "ceid": ["US:en"],
    }
    (m,) = pages[0].mentions
    assert m.title == "Acme Cloud outage hits Europe - The Register"
    assert m.author == "The Register"
    assert m.url == "https://news.google.com/rss/articles/n1?oc=5"
    assert m.created_at == at(5)
    assert m.lang == "en"
    assert m.network == "rss" and m.native_id == "n1"


def test_default_google_news_host() -> None:
    lst = RssListener(RssSettings(), HttpClient(), env={})
    url = urlsplit(lst.google_news_url(parse("acme")))
    assert (url.scheme, url.netloc, url.path) == ("https", "news.google.com", "/rss/search")
    assert parse_qs(url.query)["q"] == ["acme"]


def test_rss_and_atom_feeds_are_read_and_filtered_locally(
    feeds: FakeFeeds, http: HttpClient
) -> None:
    feeds.rss(
        "/blog.xml",
        [
            Item(
                "b1",
                "Acme launches a thing",
                at(1),
                summary="<p>We at <b>Acme</b> ...</p>",
                author="Jo",
            ),
            Item("b2", "Unrelated post", at(2)),
            Item("b3", "Acme is hiring", at(3), summary="jobs jobs jobs"),
        ],
    )
    feeds.atom("/status.atom", [Item("s1", "Degraded performance", at(4), summary="Acme API slow")])
    lst = listener(
        feeds, http, google_news=False, feeds=[feeds.url("/blog.xml"), feeds.url("/status.atom")]
    )
    pages = run(lst, "acme -jobs")
    assert ids(pages) == ["b1", "tag:status.acme.example,2026:s1"]
    blog, status = pages[0].mentions[0], pages[1].mentions[0]
    assert blog.text == "We at Acme ..." and blog.author == "Jo"
    assert status.title == "Degraded performance" and status.text == "Acme API slow"
    assert status.created_at == at(4) and status.url == feeds.url("/status.atom") + "/s1"
    assert all(p.cursor for p in pages)  # one feed per page, each safe to persist


def test_resume_with_etag_gets_304_and_yields_nothing(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.rss("/blog.xml", [Item("b1", "acme news", at(1))])
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/blog.xml")])
    cursor = run(lst, "acme")[-1].cursor
    assert run(lst, "acme", cursor) == []
    second = feeds.requests_to("/blog.xml")[-1]
    assert second.headers["if-none-match"].startswith('"')
    assert "if-modified-since" in second.headers


def test_resume_without_etag_skips_seen_entries_and_hears_new_ones(
    feeds: FakeFeeds, http: HttpClient
) -> None:
    items = [Item("b1", "acme one", at(1))]
    feeds.rss("/blog.xml", items, conditional=False)
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/blog.xml")])
    cursor = run(lst, "acme")[-1].cursor
    again = run(lst, "acme", cursor)
    assert ids(again) == []
    items.insert(0, Item("b2", "acme two", at(2)))
    assert ids(run(lst, "acme", again[-1].cursor)) == ["b2"]


def test_google_news_rate_limit_leaves_its_state_and_other_feeds_move_on(
    feeds: FakeFeeds, other_server: FakeServer, http: HttpClient
) -> None:
    blog = FakeFeeds(other_server)  # another host, so Google's limit does not apply to it
    blog.rss("/blog.xml", [Item("b1", "acme blog", at(1))])
    feeds.script = [Response(429, "", {"Retry-After": "600"})]
    lst = listener(feeds, http, feeds=[blog.url("/blog.xml")])
    pages: list[Page] = []
    with pytest.raises(RateLimited) as info:
        for page in lst.search(parse("acme"), None):
            pages.append(page)
    assert 595 < seconds_until(info.value.until) <= 600
    assert ids(pages) == ["b1"]
    # the cursor moves only the feed that answered; Google News will be read from scratch
    assert pages[0].cursor is not None
    assert list(json.loads(pages[0].cursor)["feeds"]) == [blog.url("/blog.xml")]


def test_server_error_is_retried_then_succeeds(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.rss("/blog.xml", [Item("b1", "acme", at(1))])
    feeds.script = [Response(502, "bad gateway")]
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/blog.xml")])
    assert ids(run(lst, "acme")) == ["b1"]
    assert len(feeds.requests_to("/blog.xml")) == 2


def test_server_error_forever_is_a_listener_error(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.rss("/blog.xml", [Item("b1", "acme", at(1))])
    feeds.outage = Response(500, "oops")
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/blog.xml")])
    with pytest.raises(ListenerError, match="HTTP 500"):
        run(lst, "acme")


def test_a_page_that_is_not_a_feed_is_malformed(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.raw("/not-a-feed", "<html><body>Please enable JavaScript</body></html>")
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/not-a-feed")])
    with pytest.raises(MalformedResponse, match="not-a-feed is not an RSS or Atom feed"):
        run(lst, "acme")


def test_two_broken_feeds_are_both_named(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.raw("/a", "nope")
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url("/a"), feeds.url("/gone")])
    with pytest.raises(ListenerError) as info:
        run(lst, "acme")
    assert "/a is not an RSS" in str(info.value) and "HTTP 404" in str(info.value)


def test_query_language_filters_feeds_that_declare_one(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.rss("/fr.xml", [Item("f1", "acme en panne", at(1))], language="fr-fr")
    feeds.rss("/en.xml", [Item("e1", "acme is down", at(1))])
    lst = listener(
        feeds, http, google_news=False, feeds=[feeds.url("/fr.xml"), feeds.url("/en.xml")]
    )
    assert ids(run(lst, "acme lang:en")) == ["e1"]


def test_settings() -> None:
    with pytest.raises(ValidationError, match="nothing to read"):
        RssSettings(google_news=False)
    with pytest.raises(ValidationError, match="not an http"):
        RssSettings(feeds=["ftp://x/feed"])
    assert RssSettings().google_news is True


def test_check_reads_every_feed(feeds: FakeFeeds, http: HttpClient) -> None:
    feeds.rss("/blog.xml", [])
    assert (
        listener(feeds, http, feeds=[feeds.url("/blog.xml")])
        .check()
        .startswith("2 feed(s) answered")
    )


def test_feeds_are_fetched_side_by_side(feeds: FakeFeeds, server: FakeServer) -> None:
    """Each feed answers only once both requests are in flight: read one after the other, the
    first would wait in vain and fail, and an unreachable feed's retries would hold up the rest."""
    both_asked = threading.Barrier(2, timeout=5)
    items = {"/a.xml": [Item("a1", "Acme on a", at(1))], "/b.xml": [Item("b1", "Acme on b", at(2))]}
    for path, posts in items.items():
        feeds.rss(path, posts)
        served = server.routes[("GET", path)]

        def together(req: Request, served: Handler = served) -> Response:
            try:
                both_asked.wait()
            except threading.BrokenBarrierError:
                return Response(503, "asked alone")
            return served(req)

        server.route("GET", path, together)
    http = HttpClient(timeout=10, retries=0)
    lst = listener(feeds, http, google_news=False, feeds=[feeds.url(p) for p in items])
    pages = run(lst, "acme")
    assert sorted(ids(pages)) == ["a1", "b1"]
