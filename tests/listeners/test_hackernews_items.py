"""HN items: every id in order from the cursor, held at an id not visible yet, edits re-read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.hn_firebase import FakeHackerNewsFirebase
from fakes.server import FakeServer
from listeners.hackernews_items import HackerNewsItemsListener, HackerNewsItemsSettings
from listeners.http import HttpClient
from tests.listeners.stream_harness import Run, wait_for


@pytest.fixture
def hn() -> Iterator[FakeHackerNewsFirebase]:
    with FakeServer() as srv:
        yield FakeHackerNewsFirebase(srv)


def listener(http: HttpClient, hn: FakeHackerNewsFirebase, **settings: object):
    defaults: dict[str, object] = {"poll": 0.05, "updates": 0, "workers": 8, "max_backoff": 0.2}
    return HackerNewsItemsListener(
        HackerNewsItemsSettings(base_url=hn.base_url, **{**defaults, **settings}), http, {}
    )


def test_every_item_from_the_cursor_in_id_order(
    hn: FakeHackerNewsFirebase, http: HttpClient
) -> None:
    start = hn.max_id
    story = hn.story("Show HN: Acme", url="https://acme.example", text="<p>We built <i>it</i></p>")
    ids = [story] + [hn.comment(f"<p>comment {i} on acme</p>", parent=story) for i in range(300)]
    hn.deleted()
    run = Run(listener(http, hn), "all", str(start)).wait_heard([str(i) for i in ids])
    wait_for(lambda: run.cursor == str(hn.max_id))
    run.finish()
    assert run.ids == [str(i) for i in ids]  # in order, none twice, the deleted one skipped
    first = run.batches[0].posts[0] if run.batches[0].posts else run.batches[1].posts[0]
    assert first.mention.title == "Show HN: Acme" and first.mention.text == "We built it"
    assert first.text == "Show HN: Acme\x1fWe built it\x1fhttps://acme.example"
    comment = next(h for b in run.batches for h in b.posts if h.mention.native_id == str(ids[1]))
    assert comment.mention.title is None and comment.mention.in_reply_to == str(story)
    assert len(set(hn.item_reads)) == len(hn.item_reads)  # each id read once


def test_without_a_cursor_listening_starts_now(
    hn: FakeHackerNewsFirebase, http: HttpClient
) -> None:
    hn.story("old news about acme")
    run = Run(listener(http, hn), "all", None).wait_ready()
    new = hn.story("fresh acme news")
    run.wait_heard([str(new)]).finish()
    assert run.ids == [str(new)]


def test_an_id_not_visible_yet_holds_the_cursor_until_it_appears(
    hn: FakeHackerNewsFirebase, http: HttpClient
) -> None:
    run = Run(listener(http, hn, null_tries=1000), "all", None).wait_ready()
    late = hn.story("acme, propagated late")
    hn.hide(late)
    after = hn.comment("acme after it")
    wait_for(lambda: hn.item_reads.count(late) >= 3)
    assert str(after) not in run.ids and run.cursor == str(late - 1)
    hn.show(late)
    run.wait_heard([str(late), str(after)]).finish()
    assert run.ids == [str(late), str(after)]


def test_an_id_that_stays_null_is_skipped_after_null_tries(
    hn: FakeHackerNewsFirebase, http: HttpClient
) -> None:
    run = Run(listener(http, hn, null_tries=3), "all", None).wait_ready()
    never = hn.story("never published")
    hn.hide(never)
    after = hn.comment("acme after the hole")
    run.wait_heard([str(after)]).finish()
    assert run.cursor == str(after)


def test_an_edited_item_is_read_again(hn: FakeHackerNewsFirebase, http: HttpClient) -> None:
    run = Run(listener(http, hn, updates=0.1), "all", None).wait_ready()
    looked = lambda: [r for r in hn.server.requests if r.path == "/v0/updates.json"]  # noqa: E731
    wait_for(lambda: looked())  # the first look only notes what changed before listening
    item = hn.comment("nothing to see")
    wait_for(lambda: str(item) in run.ids)
    hn.edit(item, "edited: acme is down")
    wait_for(lambda: any("acme is down" in h.mention.text for b in run.batches for h in b.posts))
    run.finish()
