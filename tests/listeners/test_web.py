from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psutil
import pytest
from pydantic import ValidationError

from core.http import USER_AGENT
from core.mention import Mention
from core.query import parse
from fakes.server import FakeServer, Response
from fakes.web import ARCHIVE, LISTING, FakeForum, Post
from listeners import web
from listeners.base import Page
from listeners.errors import AuthError, ListenerError, MalformedResponse, RateLimited
from listeners.http import HttpClient
from listeners.web import ItemLine, WebListener, WebSettings, parse_date, post_ids, read_crawl
from tests.listeners.helpers import ids, seconds_until

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUERY = "acme -hiring"
SITE = {
    "name": "acme-forum",
    "start_urls": [LISTING],
    "item": "article.post",
    "text": ".post-body",
    "author": ".author",
    "date": "time::attr(datetime)",
    "link": "a.permalink::attr(href)",
    "title": "h2",
    "next_page": "a.next::attr(href)",
    "max_pages": 5,
}


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_forum(server: FakeServer) -> FakeForum:
    pages = [
        [
            Post(5, "dana", "Acme sync is down again.\n\nPlease help!", at(50), "Sync outage"),
            Post(4, "eli", "Loving the new Acme dashboard", at(40)),
            Post(3, "fay", "What is your favourite editor?", at(30)),
        ],
        [
            Post(2, "gus", "Acme is hiring engineers", at(20), "Jobs"),
            Post(1, "hal", "Acme API limits are confusing", None, permalink=False),
        ],
    ]
    return FakeForum(server, pages, archive=[Post(0, "ida", "Acme, from the archive", at(0))])


def listener(
    forum: FakeForum, http: HttpClient, sites: list[dict] | None = None, **settings: object
) -> WebListener:
    options = WebSettings(base_url=forum.base_url, delay=0, sites=sites or [SITE], **settings)
    return WebListener(options, http, env={})


def run(lst: WebListener, query: str = QUERY, cursor: str | None = None) -> list[Page]:
    return list(lst.search(parse(query), cursor))


def run_until_error(lst: WebListener, cursor: str | None = None) -> tuple[list[Page], Exception]:
    pages: list[Page] = []
    with pytest.raises(ListenerError) as info:
        for page in lst.search(parse(QUERY), cursor):
            pages.append(page)
    return pages, info.value


def mentions(pages: list[Page]) -> list[Mention]:
    return [m for p in pages for m in p.mentions]


def urls(pages: list[Page]) -> list[str]:
    return [m.url for m in mentions(pages)]


# ---- one full crawl, shared by the assertions about what it heard ------------------------------


@dataclass
class Crawled:
    forum: FakeForum
    pages: list[Page]
    started: datetime
    finished: datetime


@pytest.fixture(scope="module")
def crawled() -> Iterator[Crawled]:
    with FakeServer() as server, HttpClient() as http:
        forum = make_forum(server)
        started = datetime.now(UTC)
        pages = run(listener(forum, http))
        yield Crawled(forum, pages, started, datetime.now(UTC))


def test_posts_become_mentions_with_text_author_date_and_absolute_link(crawled: Crawled) -> None:
    by_url = {m.url: m for m in mentions(crawled.pages)}
    sync = by_url[crawled.forum.url("/t/5")]
    assert sync.network == "web"
    assert sync.text == "Acme sync is down again.\n\nPlease help!"
    assert sync.title == "Sync outage"
    assert sync.author == "dana"
    assert sync.created_at == at(50)
    assert sync.raw["site"] == "acme-forum"
    assert by_url[crawled.forum.url("/t/4")].title is None


def test_a_post_without_link_or_date_points_at_its_page_and_is_stamped_when_heard(
    crawled: Crawled,
) -> None:
    (undated,) = [m for m in mentions(crawled.pages) if m.author == "hal"]
    assert undated.url == crawled.forum.url(LISTING + "?page=2")
    assert crawled.started <= undated.created_at <= crawled.finished
    assert len({m.native_id for m in mentions(crawled.pages)}) == 3


def test_next_page_is_followed_and_every_post_is_rechecked_against_the_query(
    crawled: Crawled,
) -> None:
    forum = crawled.forum
    assert forum.listing_pages_read() == ["1", "2"]
    # post 3 does not mention acme; post 2 says "hiring", which the query excludes
    assert urls(crawled.pages) == [
        forum.url("/t/5"),
        forum.url("/t/4"),
        forum.url(LISTING + "?page=2"),
    ]
    assert len(crawled.pages) == 1 and crawled.pages[0].cursor is not None


def test_robots_txt_is_obeyed(crawled: Crawled) -> None:
    forum = crawled.forum
    assert len(forum.requests_to("/robots.txt")) == 1
    assert forum.requests_to(ARCHIVE) == []  # page 2 links there; robots.txt disallows it
    assert "from the archive" not in " ".join(m.text for m in mentions(crawled.pages))
    assert {r.headers["user-agent"] for r in forum.server.requests} == {USER_AGENT}


# ---- crawls of their own --------------------------------------------------------------------


def test_resume_reads_only_the_first_page_then_hears_a_new_post(
    server: FakeServer, http: HttpClient
) -> None:
    forum = make_forum(server)
    lst = listener(forum, http)
    cursor = run(lst)[-1].cursor
    again = run(lst, cursor=cursor)
    assert ids(again) == []
    assert forum.listing_pages_read() == ["1", "2", "1"]  # nothing new on page 1: stop there
    forum.pages[0].insert(0, Post(6, "jo", "Acme billed me twice", at(60)))
    third = run(lst, cursor=again[-1].cursor)
    assert urls(third) == [forum.url("/t/6")]


def test_max_pages_bounds_the_crawl(server: FakeServer, http: HttpClient) -> None:
    forum = make_forum(server)
    pages = run(listener(forum, http, sites=[{**SITE, "max_pages": 1}]))
    assert forum.listing_pages_read() == ["1"]
    assert urls(pages) == [forum.url("/t/5"), forum.url("/t/4")]


def test_a_selector_that_matches_nothing_is_an_empty_result_with_a_warning(
    server: FakeServer, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    forum = make_forum(server)
    with caplog.at_level(logging.WARNING, logger="listeners.web"):
        pages = run(listener(forum, http, sites=[{**SITE, "item": "div.topic-row"}]))
    assert ids(pages) == [] and pages[0].cursor is not None
    assert "'div.topic-row' matched nothing on 2 page(s)" in caplog.text


def test_a_site_failing_everywhere_is_a_listener_error_naming_it(
    server: FakeServer, http: HttpClient
) -> None:
    forum = make_forum(server)
    forum.outage = Response(500, "<h1>Internal Server Error</h1>", {"Content-Type": "text/html"})
    pages, error = run_until_error(listener(forum, http))
    assert pages == []
    assert type(error) is ListenerError
    assert str(error) == (
        f"web site 'acme-forum': {forum.url(LISTING)}: "
        "HTTP 500 Internal Server Error after 3 attempts"
    )
    assert len(forum.requests_to(LISTING)) == 3  # retried, boundedly


def test_one_failing_site_keeps_its_state_while_the_others_move_on(
    server: FakeServer, http: HttpClient
) -> None:
    forum = make_forum(server)
    archive = {**SITE, "name": "archive", "start_urls": [ARCHIVE]}
    pages, error = run_until_error(listener(forum, http, sites=[SITE, archive]))
    assert len(urls(pages)) == 3
    assert list(json.loads(pages[-1].cursor or "{}")["sites"]) == ["acme-forum"]
    assert str(error) == f"web site 'archive': {forum.url(ARCHIVE)}: forbidden by robots.txt"
    assert forum.requests_to(ARCHIVE) == []


def test_429_is_rate_limited_until_retry_after_and_not_hammered(
    server: FakeServer, http: HttpClient
) -> None:
    forum = make_forum(server)
    forum.script = [Response(429, "Too many requests", {"Retry-After": "120"})]
    pages, error = run_until_error(listener(forum, http))
    assert isinstance(error, RateLimited)
    assert 110 < seconds_until(error.until) <= 120
    assert pages == []  # no cursor persisted past the error
    assert len(forum.requests_to(LISTING)) == 1


def test_403_everywhere_is_an_auth_error(server: FakeServer, http: HttpClient) -> None:
    forum = make_forum(server)
    forum.outage = Response(403, "<h1>Access denied</h1>", {"Content-Type": "text/html"})
    pages, error = run_until_error(listener(forum, http))
    assert isinstance(error, AuthError)
    assert "HTTP 403 Forbidden" in str(error) and "refuses this crawler" in str(error)
    assert pages == [] and len(forum.requests_to(LISTING)) == 1


def test_a_start_url_that_is_not_html_is_malformed(server: FakeServer, http: HttpClient) -> None:
    forum = make_forum(server)
    forum.raw("/export.zip", b"PK\x03\x04" + bytes(range(256)), "application/zip")
    lst = listener(forum, http, sites=[{**SITE, "start_urls": ["/export.zip"]}])
    pages, error = run_until_error(lst)
    assert pages == []
    assert isinstance(error, MalformedResponse)
    assert "export.zip: not an HTML page (application/zip)" in str(error)


def test_a_crawl_past_its_wall_clock_is_killed(server: FakeServer, http: HttpClient) -> None:
    forum = make_forum(server)
    forum.stall = threading.Event()  # the listing never answers within the download timeout
    lst = listener(forum, http, timeout="3s", download_timeout="60s")
    started = time.monotonic()
    try:
        pages, error = run_until_error(lst)
    finally:
        forum.stall.set()
    assert "ran past its 3s limit and was killed" in str(error)
    assert time.monotonic() - started < 6
    assert pages == [] and forum.requests_to(LISTING)
    assert psutil.Process().children(recursive=True) == []


def test_a_crawler_that_cannot_start_is_reported_with_its_log(
    server: FakeServer, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    forum = make_forum(server)
    monkeypatch.setattr(web, "SPIDER_MODULE", "listeners.no_such_spider")
    _, error = run_until_error(listener(forum, http))
    assert "the crawler exited with status 1" in str(error)
    assert "No module named listeners.no_such_spider" in str(error)


def test_backfill_keeps_posts_after_since_and_leaves_a_plain_cursor(
    server: FakeServer, http: HttpClient
) -> None:
    forum = make_forum(server)
    lst = listener(forum, http)
    pages = run(lst, cursor=lst.backfill_cursor(at(45)))
    # post 4 (12:40) matches but predates the backfill; the undated post 1 is kept
    assert urls(pages) == [forum.url("/t/5"), forum.url(LISTING + "?page=2")]
    state = json.loads(pages[-1].cursor or "{}")["sites"]["acme-forum"]
    assert "since" not in state and len(state["seen"]) == 5


def test_check_counts_the_posts_on_each_start_page(server: FakeServer, http: HttpClient) -> None:
    forum = make_forum(server)
    assert listener(forum, http).check() == f"acme-forum: 3 post(s) on {forum.url(LISTING)}"
    blocked = listener(forum, http, sites=[{**SITE, "start_urls": [ARCHIVE]}])
    with pytest.raises(ListenerError, match=r"robots\.txt forbids"):
        blocked.check()
    assert forum.requests_to(ARCHIVE) == []


# ---- pieces without a crawl -------------------------------------------------------------------


def test_crawler_output_that_is_not_its_json_lines_is_malformed() -> None:
    item = b'{"kind": "item", "page": "https://f.example/c", "text": "acme"}\n'
    with pytest.raises(MalformedResponse, match=r"unreadable line 2 .*Traceback"):
        read_crawl("acme-forum", item + b"Traceback (most recent call last):\n", b"")
    with pytest.raises(MalformedResponse, match="without its summary line; crawler log ends: OOM"):
        read_crawl("acme-forum", item, b"OOM\n")


def test_posts_sharing_one_link_keep_distinct_ids() -> None:
    reviews = [
        ItemLine(page="p", text="Acme is great", author="a", link="https://s.example/app"),
        ItemLine(page="p", text="Acme crashes", author="b", link="https://s.example/app"),
    ]
    first, second = post_ids("store", reviews)
    assert first != second
    alone = ItemLine(page="p", text="edited later", link="https://f.example/t/1")
    assert post_ids("forum", [alone]) == post_ids("forum", [alone.model_copy(update={"text": "x"})])


NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-03-01T12:50:00Z", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("2026-03-01T13:50:00+01:00", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("Sun, 01 Mar 2026 12:50:00 GMT", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("1772369400", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("1772369400000", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("March 1st, 2026 at 12:50 pm", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("Mar 1, 2026", datetime(2026, 3, 1, tzinfo=UTC)),
        ("1 March 2026 12:50", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("01.03.2026 12:50", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("2026-03-01 12:50:00 UTC", datetime(2026, 3, 1, 12, 50, tzinfo=UTC)),
        ("3 hours ago", NOW - timedelta(hours=3)),
        ("an hour ago", NOW - timedelta(hours=1)),
        ("yesterday", NOW - timedelta(days=1)),
        ("03/04/2026", None),  # day-first or month-first: not guessed
        ("last full moon", None),
        ("", None),
    ],
)
def test_dates_are_read_tolerantly(written: str, expected: datetime | None) -> None:
    assert parse_date(written, NOW) == expected


def test_settings_are_strict_and_selectors_must_compile() -> None:
    WebSettings(base_url="http://mirror.example", sites=[SITE])
    assert WebSettings(sites=[{**SITE, "start_urls": ["https://f.example/c"]}]).every == "30m"
    cases = [
        ({"sites": [{**SITE, "text": "div.post["}]}, "'div.post\\[' is not a valid CSS selector"),
        ({"sites": [{**SITE, "date": "xpath://time[@"}]}, "is not a valid XPath expression"),
        ({"sites": [{**SITE, "selector": "p"}]}, "Extra inputs are not permitted"),
        ({"sites": [SITE]}, "start URL '/c/support' is relative; write it in full or set base_url"),
        ({"sites": [{**SITE, "start_urls": ["ftp://f.example/c"]}]}, "not an http"),
        ({"sites": [SITE, SITE], "base_url": "http://x"}, "repeated: acme-forum"),
        ({"sites": [SITE], "base_url": "http://x", "timeout": "soon"}, "not a duration"),
        ({"sites": []}, "at least 1 item"),
    ]
    for values, message in cases:
        with pytest.raises(ValidationError, match=message):
            WebSettings.model_validate(values)
