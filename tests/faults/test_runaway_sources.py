"""A source that pages forever, loops or hangs costs one poll of bounded time and one line:
what it sent before is kept, and the sources after it are still polled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.hackernews import story
from fakes.reddit import FakeReddit, post
from fakes.server import FakeServer, Request, Response
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import Runtime, build
from tests.faults.conftest import cli
from tests.wiring.conftest import settings_text

NOW = int(time.time())


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    with FakeServer() as srv:
        yield FakeReddit(srv)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


def _hn_page(hits: list[dict[str, Any]], page: int, pages: int) -> Response:
    return Response.json(
        {"hits": hits, "page": page, "nbPages": pages, "nbHits": pages * len(hits) or 0}
    )


def _runtime(tmp_path: Path, sources: dict[str, dict[str, Any]], triager: Any) -> Runtime:
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", sources))
    rt = build(config.load(path), {}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    return rt


def _healthy(reddit: FakeReddit) -> dict[str, Any]:
    reddit.posts.append(post("ok1", NOW - 30, "Acme billing charged me twice"))
    return {"base_url": reddit.base_url}


def test_hn_repeating_one_page_of_a_billion_is_stopped(tmp_path, server, reddit, triager) -> None:
    hits = [story(1, NOW - 60, "Acme outage"), story(2, NOW - 50, "Acme is down")]
    server.route(
        "GET",
        "/api/v1/search_by_date",
        lambda req: _hn_page(hits, int(req.arg("page") or 0), 1_000_000_000),
    )
    sources = {"hackernews": {"base_url": f"{server.url}/api/v1"}, "reddit": _healthy(reddit)}
    rt = _runtime(tmp_path, sources, triager)
    started = time.monotonic()
    polls = {p.source: p for p in run_cycle(rt).polls}
    assert time.monotonic() - started < 30
    error = polls["hackernews"].error or ""
    assert "repeats hits already read" in error and "\n" not in error
    assert len(server.requests) <= 4  # the first repeat is the last request
    assert polls["reddit"].error is None and polls["reddit"].new == 1  # still polled
    assert {m.native_id for m in rt.store.mentions()} >= {"1", "2"}  # the first page stays
    assert rt.store.get_cursor("Acme", "hackernews") is None
    rt.close()


def test_endless_new_pages_stop_at_the_page_cap(tmp_path, server, reddit, triager) -> None:
    def endless(req: Request) -> Response:
        page = int(req.arg("page") or 0)
        n = 100 + page
        return _hn_page([story(n, NOW - n, f"Acme report {n}")], page, 1_000_000_000)

    server.route("GET", "/api/v1/search_by_date", endless)
    hn = {"base_url": f"{server.url}/api/v1", "max_pages": 7}
    rt = _runtime(tmp_path, {"hackernews": hn, "reddit": _healthy(reddit)}, triager)
    polls = {p.source: p for p in run_cycle(rt).polls}
    error = polls["hackernews"].error or ""
    assert "after 7 pages" in error and "sources.hackernews.max_pages" in error
    assert polls["hackernews"].pages == 7 and polls["hackernews"].new == 7  # committed, kept
    assert len(server.requests) == 8
    assert polls["reddit"].new == 1
    rt.close()


def test_reddit_after_cursor_cycling_a_b_is_stopped(tmp_path, server, triager) -> None:
    """`after` alternates t3_a -> t3_b -> t3_a: the layer every listener uses refuses to read
    the same page twice in one poll."""
    items = {
        None: ([post("a", NOW - 10, "Acme one")], "t3_b"),
        "t3_b": ([post("b", NOW - 20, "Acme two")], "t3_a"),
        "t3_a": ([post("c", NOW - 30, "Acme three")], "t3_b"),
    }

    def listing(req: Request) -> Response:
        children, after = items[req.arg("after")]
        data = {"children": [{"kind": "t3", "data": c} for c in children], "after": after}
        return Response.json({"kind": "Listing", "data": data})

    server.route("GET", "/search.json", listing)
    rt = _runtime(tmp_path, {"reddit": {"base_url": server.url}}, triager)
    started = time.monotonic()
    (poll,) = run_cycle(rt).polls
    assert time.monotonic() - started < 30
    assert poll.error is not None and "page this poll already read" in poll.error
    assert len(server.requests) == 3
    assert poll.pages == 3 and poll.new == 3
    rt.close()


def test_a_slow_endless_source_stops_at_its_time_budget(tmp_path, server, triager) -> None:
    def slow(req: Request) -> Response:
        time.sleep(0.3)
        page = int(req.arg("page") or 0)
        return _hn_page([story(500 + page, NOW - page, "Acme slow")], page, 1_000_000_000)

    server.route("GET", "/api/v1/search_by_date", slow)
    hn = {"base_url": f"{server.url}/api/v1", "max_poll_time": "2s", "max_pages": 10_000}
    rt = _runtime(tmp_path, {"hackernews": hn}, triager)
    started = time.monotonic()
    (poll,) = run_cycle(rt).polls
    assert time.monotonic() - started < 8
    assert poll.error is not None and "max_poll_time" in poll.error
    assert 3 <= poll.pages <= 8
    rt.close()


def test_a_hanging_source_times_out_within_the_poll_budget(tmp_path, server, triager) -> None:
    def hang(req: Request) -> Response:
        time.sleep(20)
        return _hn_page([], 0, 0)

    server.route("GET", "/api/v1/search_by_date", hang)
    hn = {"base_url": f"{server.url}/api/v1", "max_poll_time": "2s"}
    rt = _runtime(tmp_path, {"hackernews": hn}, triager)
    started = time.monotonic()
    (poll,) = run_cycle(rt).polls
    assert time.monotonic() - started < 8
    assert poll.error is not None and "\n" not in poll.error
    rt.close()


def test_poll_once_with_a_looping_source_finishes_and_polls_the_rest(
    tmp_path, server, reddit
) -> None:
    """The reported case, as cron runs it: `poll --once` used to spin for minutes on a source
    that announces a billion pages; now it exits 1 in seconds, the healthy source polled."""
    hits = [story(1, NOW - 60, "Acme outage")]
    server.route(
        "GET", "/api/v1/search_by_date", lambda req: _hn_page(hits, 0, 1_000_000_000)
    )
    sources = {"hackernews": {"base_url": f"{server.url}/api/v1"}, "reddit": _healthy(reddit)}
    settings = tmp_path / "settings.toml"
    settings.write_text(settings_text(tmp_path / "lp.db", sources))
    started = time.monotonic()
    done = cli(settings, "poll", "--once")
    assert time.monotonic() - started < 90
    assert done.returncode == 1, done.stderr[-2000:]
    said = [ln for ln in done.stderr.splitlines() if "repeats hits already read" in ln]
    assert len(said) == 1, done.stderr[-3000:]
    assert len(reddit.searches) >= 1  # the source after it was polled
    assert len(server.requests) <= 4
