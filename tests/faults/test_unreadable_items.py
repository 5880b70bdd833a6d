"""One item a source cannot describe properly never refuses the page around it: a missing time
is filled from what the item still says (an X id is a Snowflake; other networks fall back to
another field or the fetch time), and an item that cannot be read at all is skipped, logged and
counted, while the rest of the page is stored and the cursor moves on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from fakes.hackernews import story
from fakes.harness import HARNESSES, Harness, RecordingServer, last_cursor, query
from fakes.server import Request, Response
from listeners.base import Page
from listeners.http import HttpClient, polling
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import build
from tests.wiring.conftest import settings_text

NOW = int(time.time())

# Per network: where a response's items are, and how to make one unreadable (its identity gone).
Spoil = Callable[[Any], str | None]


def _spoil_in(path: tuple[str, ...], key: tuple[str, ...], ident: str) -> Spoil:
    """Remove `key` from the second item of the list at `path`; returns that item's identity."""

    def spoil(body: Any) -> str | None:
        items = body
        for step in path:
            items = items.get(step) if isinstance(items, dict) else None
        if not isinstance(items, list) or len(items) < 2:
            return None
        item = items[1]
        where = item
        for step in key[:-1]:
            where = where[step]
        identity = where[ident] if ident in where else item[ident]
        del where[key[-1]]
        return str(identity)

    return spoil


SPOILERS: dict[str, Spoil] = {
    "x": _spoil_in(("data",), ("text",), "id"),
    "reddit": _spoil_in(("data", "children"), ("data", "name"), "name"),
    "hackernews": _spoil_in(("hits",), ("objectID",), "objectID"),
    "mastodon": _spoil_in((), ("uri",), "uri"),
    "bluesky": _spoil_in(("posts",), ("author",), "uri"),
}


@pytest.fixture(params=sorted(SPOILERS))
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with RecordingServer() as server:
        yield HARNESSES[request.param](server)


def _spoil_once(h: Harness, spoil: Spoil) -> list[str]:
    """Spoil one item of the first answer that has two; returns [its identity] once done."""
    spoiled: list[str] = []
    for (method, path), handler in list(h.server.routes.items()):
        if method != "GET":
            continue

        def wrapped(req: Request, handler: Any = handler) -> Response:
            response = handler(req)
            if spoiled or response.status != 200:
                return response
            raw = response.body
            try:
                body = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
            except ValueError:
                return response
            identity = spoil(body)
            if identity is None:
                return response
            spoiled.append(identity)
            return Response(200, json.dumps(body).encode(), dict(response.headers))

        h.server.routes[(method, path)] = wrapped
    return spoiled


def _read(h: Harness, http: HttpClient, cursor: str | None) -> tuple[list[Page], list[str]]:
    with polling(60) as poll:
        pages = list(h.listener(http).search(query(), cursor))
    return pages, poll.skipped


def test_one_unreadable_item_is_skipped_and_the_source_moves_on(harness: Harness) -> None:
    h = harness
    http = HttpClient(retries=0)
    cursor = h.start(h.listener(http), query())
    seeded = h.seed(4)
    spoiled = _spoil_once(h, SPOILERS[h.network])

    pages, skipped = _read(h, http, cursor)
    (broken,) = spoiled
    heard = [h.ident(m) for p in pages for m in p.mentions]
    assert sorted(heard) == sorted(set(seeded) - {broken})  # the rest of its page is kept
    assert len(skipped) == 1  # recorded, once
    cursor = last_cursor(pages, cursor)
    assert cursor is not None  # the source is not held at the bad item

    later = h.seed(1)
    pages, skipped = _read(h, http, cursor)
    assert later[0] in [h.ident(m) for p in pages for m in p.mentions]
    http.close()


def test_x_posts_without_created_at_are_dated_by_their_snowflake() -> None:
    """The reported case: a recent-search answer without `created_at` stored nothing, ever."""
    with RecordingServer() as server:
        h = HARNESSES["x"](server)
        http = HttpClient(retries=0)
        cursor = h.start(h.listener(http), query())
        seeded = h.seed(3)

        def undated(body: Any) -> str | None:
            for tweet in body.get("data", []):
                tweet.pop("created_at", None)
            return "all" if body.get("data") else None

        _spoil_once(h, undated)
        pages, skipped = _read(h, http, cursor)
        mentions = [m for p in pages for m in p.mentions]
        assert sorted(m.native_id for m in mentions) == sorted(seeded)
        assert skipped == []
        for m in mentions:
            minted = ((int(m.native_id) >> 22) + 1288834974657) / 1000
            assert m.created_at == datetime.fromtimestamp(minted, UTC)
            assert abs(m.created_at.timestamp() - time.time()) < 400 * 20 * 60  # a real date
        http.close()


def test_the_poll_result_counts_what_was_skipped(tmp_path, hn, triager) -> None:
    hn.items += [story(1, NOW - 60, "Acme outage"), story(2, NOW - 50, "Acme is down")]
    broken = {k: v for k, v in story(3, NOW - 40, "Acme billing").items() if k != "objectID"}
    hn.items.append(broken)
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}))
    rt = build(config.load(path), {}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    (poll,) = run_cycle(rt).polls
    assert poll.error is None and poll.new == 2 and poll.skipped >= 1
    assert rt.store.get_cursor("Acme", "hackernews") is not None
    rt.close()


UNDATED: dict[str, Callable[[Any], Any]] = {
    "x": lambda body: [t.pop("created_at", None) for t in body.get("data", [])],
    "reddit": lambda body: [
        (c["data"].pop("created_utc", None), c["data"].pop("created", None))
        for c in body.get("data", {}).get("children", [])
    ],
    "hackernews": lambda body: [h.pop("created_at_i", None) for h in body.get("hits", [])],
    "mastodon": lambda body: [s.pop("created_at", None) for s in body],
    "bluesky": lambda body: [p.pop("indexedAt", None) for p in body.get("posts", [])],
}


@pytest.mark.parametrize("network", sorted(UNDATED))
def test_a_missing_time_degrades_instead_of_refusing_the_page(network: str) -> None:
    with RecordingServer() as server:
        h = HARNESSES[network](server)
        http = HttpClient(retries=0)
        cursor = h.start(h.listener(http), query())
        seeded = h.seed(2)
        undate = UNDATED[network]

        def spoil(body: Any) -> str | None:
            return "undated" if undate(body) else None

        _spoil_once(h, spoil)
        pages, skipped = _read(h, http, cursor)
        heard = [h.ident(m) for p in pages for m in p.mentions]
        assert set(seeded) <= set(heard) and skipped == []
        http.close()
