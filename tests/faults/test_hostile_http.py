"""A source cannot make listenpost read without end or fetch from elsewhere: answers are read as
a stream and dropped past the source's `max_bytes` (whatever Content-Length claims), and
redirects are followed only within the origin asked, or to hosts the settings name."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from fakes.flood import FloodServer
from fakes.rss import FakeFeeds, Item
from fakes.server import FakeServer, Response
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import Runtime, build
from tests.wiring.conftest import settings_text

MB = 1024 * 1024


@pytest.fixture
def flood() -> Iterator[FloodServer]:
    with FloodServer() as server:
        yield server


@pytest.fixture
def feeds() -> Iterator[FakeFeeds]:
    with FakeServer() as srv:
        yield FakeFeeds(srv)


@pytest.fixture
def elsewhere() -> Iterator[FakeFeeds]:
    """Another service on another port: what a redirect must not reach unless allowed."""
    with FakeServer() as srv:
        yield FakeFeeds(srv)


def _runtime(tmp_path: Path, rss: dict[str, Any], triager: Any) -> Runtime:
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {"rss": {"google_news": False, **rss}}))
    rt = build(config.load(path), {}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    return rt


class _PeakMemory:
    """The process's resident memory, sampled every 20 ms, above where it started."""

    def __init__(self) -> None:
        self._me = psutil.Process()
        self.start = self._me.memory_info().rss
        self.peak = self.start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self.peak = max(self.peak, self._me.memory_info().rss)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def grew(self) -> int:
        return self.peak - self.start


@pytest.mark.parametrize(
    ("length", "said"),
    [
        ("true", "announces"),  # an honest Content-Length: refused before reading
        (None, "sent more than"),  # no length at all: stopped while streaming
    ],
    ids=["honest-length", "no-length"],
)
def test_a_100_mb_feed_is_dropped_at_the_cap(
    tmp_path, flood, triager, caplog, length: Any, said: str
) -> None:
    flood.serve("/feed.xml", size=100 * MB, content_length=length)
    rss = {"feeds": [f"{flood.url}/feed.xml"], "max_bytes": 2 * MB}
    rt = _runtime(tmp_path, rss, triager)
    started = time.monotonic()
    with _PeakMemory() as memory:
        (poll,) = run_cycle(rt).polls
    assert time.monotonic() - started < 20
    assert poll.error is not None and said in poll.error and "\n" not in poll.error
    assert "sources.rss.max_bytes" in poll.error
    assert memory.grew < 40 * MB, f"memory grew {memory.grew / MB:.0f} MB"
    assert flood.sent.get("/feed.xml", 0) < 50 * MB
    assert rt.store.count_mentions() == 0
    rt.close()


def test_a_content_length_that_lies_cannot_make_us_read_on(tmp_path, flood, triager) -> None:
    """Says 500 bytes, sends a gigabyte: 500 bytes are read, the connection is dropped."""
    flood.serve("/feed.xml", size=1024 * MB, content_length=500)
    rt = _runtime(tmp_path, {"feeds": [f"{flood.url}/feed.xml"]}, triager)
    started = time.monotonic()
    with _PeakMemory() as memory:
        (poll,) = run_cycle(rt).polls
    assert time.monotonic() - started < 20
    assert memory.grew < 40 * MB
    assert poll.error is None or "\n" not in poll.error
    assert rt.store.count_mentions() == 0
    rt.close()


def _acme(n: int) -> Item:
    return Item(
        f"urn:acme:{n}",
        f"Acme outage {n}",
        datetime.now(UTC) - timedelta(minutes=n),
        summary="Acme is down again",
        link=f"https://blog.example/{n}",
    )


def test_a_redirect_to_another_origin_is_not_followed(tmp_path, feeds, elsewhere, triager):
    elsewhere.rss("/internal", [_acme(1)])
    feeds.server.route(
        "GET", "/feed.xml", lambda req: Response(302, "", {"Location": elsewhere.url("/internal")})
    )
    rt = _runtime(tmp_path, {"feeds": [feeds.url("/feed.xml")]}, triager)
    (poll,) = run_cycle(rt).polls
    assert poll.error is not None and "not followed" in poll.error and "\n" not in poll.error
    assert "sources.rss.follow_redirects_to" in poll.error
    assert elsewhere.requests_to("/internal") == []  # never even asked
    assert rt.store.count_mentions() == 0
    rt.close()


def test_redirects_within_the_origin_or_to_allowed_hosts_are_followed(
    tmp_path, feeds, elsewhere, triager
) -> None:
    feeds.rss("/new-home.xml", [_acme(1)])
    feeds.server.route(
        "GET", "/feed.xml", lambda req: Response(301, "", {"Location": "/new-home.xml"})
    )
    elsewhere.rss("/partner.xml", [_acme(2)])
    partner = elsewhere.url("/partner.xml")
    feeds.server.route("GET", "/partner", lambda req: Response(302, "", {"Location": partner}))
    other = elsewhere.url("").split("//", 1)[1]  # "127.0.0.1:PORT"
    rss = {"feeds": [feeds.url("/feed.xml"), feeds.url("/partner")], "follow_redirects_to": [other]}
    rt = _runtime(tmp_path, rss, triager)
    (poll,) = run_cycle(rt).polls
    assert poll.error is None and poll.new == 2
    rt.close()


def test_the_web_crawler_keeps_its_size_cap_and_its_sites(tmp_path, triager) -> None:
    """Scrapy honours the same limits: a page past `max_bytes` and a redirect to another host
    are reported, each in one line, and nothing from them is stored."""
    with FakeServer() as srv, FloodServer() as flood:
        flood.serve("/big", size=50 * MB, content_type="text/html", content_length=None)
        offsite = flood.url.replace("127.0.0.1", "localhost") + "/big"
        srv.route("GET", "/moved", lambda req: Response(302, "", {"Location": offsite}))
        nothing = Response(200, "", {"Content-Type": "text/plain"})
        srv.route("GET", "/robots.txt", lambda req: nothing)
        path = tmp_path / "settings.toml"
        path.write_text(
            settings_text(tmp_path / "lp.db", {"web": {"max_bytes": MB, "delay": 0}})
            + "".join(
                f'[[sources.web.sites]]\nname = "{name}"\nstart_urls = ["{url}"]\n'
                'item = "article"\ntext = "p"\n'
                for name, url in (("big", f"{flood.url}/big"), ("moved", f"{srv.url}/moved"))
            )
        )
        rt = build(config.load(path), {}, http=HttpClient(retries=0))
        rt.__dict__["triager"] = triager
        started = time.monotonic()
        (poll,) = run_cycle(rt).polls
        assert time.monotonic() - started < 60
        assert poll.error is not None and "\n" not in poll.error, poll.error
        assert "another site" in poll.error and "sources.web.max_bytes" in poll.error
        assert flood.sent.get("/big", 0) < 20 * MB
        assert rt.store.count_mentions() == 0
        rt.close()
