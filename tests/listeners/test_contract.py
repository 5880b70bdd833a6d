"""The contract every registered listener keeps, checked the same way on every network's fake.

What the scheduler and storage rely on, whatever the network: a search pages to the end and hears
each matching post once (never an excluded one); a stored cursor resumes without repeats or
losses; throttling is `RateLimited` with a future `until` and no cursor that skips what was not
read; a refused credential is `AuthError` without hammering the network; an unreadable body is
`MalformedResponse`; and `backfill_cursor` either reads history or says it cannot.

Parametrized over `listeners.registry.LISTENERS`: a network registered without a harness in
`fakes/harness.py` fails here until it gets one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from fakes.harness import HARNESSES, Harness, RecordingServer, last_cursor, query
from listeners import registry
from listeners.base import Page
from listeners.errors import AuthError, MalformedResponse, NotConfigured, RateLimited
from listeners.http import HttpClient
from tests.listeners.helpers import seconds_until

# Throttling `until` may land this much before the wait the answer named: the time between the
# fake answering and the assertion (a Scrapy crawl takes a second or two).
CLOCK_SLACK = 15.0


def client() -> HttpClient:
    return HttpClient(timeout=2, retries=1, backoff=0.01)


REGISTERED = sorted(registry.LISTENERS)


def harness_for(name: str) -> type[Harness]:
    made = HARNESSES.get(name)
    if made is None:
        pytest.fail(
            f"listener {name!r} is registered in listeners/registry.py but has no contract "
            f"harness: add a {name!r} entry to HARNESSES in fakes/harness.py "
            "(a Harness subclass using its fake from fakes/)"
        )
    return made


@pytest.fixture(params=REGISTERED)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    made = harness_for(request.param)
    with RecordingServer() as server:
        yield made(server)


@pytest.fixture
def http() -> Iterator[HttpClient]:
    with client() as c:
        yield c


def run(h: Harness, http: HttpClient, cursor: str | None) -> list[Page]:
    return list(h.listener(http).search(query(), cursor))


def heard(h: Harness, pages: list[Page]) -> list[str]:
    return [h.ident(m) for p in pages for m in p.mentions]


@pytest.mark.parametrize("name", REGISTERED)
def test_every_registered_listener_has_a_harness_building_it(name: str, http: HttpClient) -> None:
    made = harness_for(name)
    with RecordingServer() as server:
        built = made(server).listener(http)
        assert type(built) is registry.load(name)
        assert built.name == name
        assert built.base_url.startswith(server.url)  # it talks to the fake, nothing else


def test_pages_to_the_end_hearing_each_match_once(harness: Harness, http: HttpClient) -> None:
    h = harness
    lst = h.listener(http)
    start = h.start(lst, query())
    size = h.page_size
    seeded = h.seed(size + 1)
    excluded = h.seed_excluded()
    seeded += h.seed(size)
    before = len(h.server.answers)
    pages = list(lst.search(query(), start))
    got = heard(h, pages)
    assert sorted(got) == sorted(seeded), "every match heard exactly once across the pages"
    assert excluded not in got
    assert last_cursor(pages, None) is not None, "a finished search leaves a cursor to store"
    if h.paginates:
        assert len(h.server.answers) - before > 2, "the seeded posts should span several pages"


def test_resuming_from_the_cursor_hears_only_what_is_new(
    harness: Harness, http: HttpClient
) -> None:
    h = harness
    lst = h.listener(http)
    start = h.start(lst, query())
    seeded = h.seed(h.page_size + 1)
    h.seed_excluded()
    first = list(lst.search(query(), start))
    assert sorted(heard(h, first)) == sorted(seeded)
    cursor = last_cursor(first, start)
    assert cursor is not None

    again = list(lst.search(query(), cursor))
    assert heard(h, again) == [], "nothing new was posted, so nothing is heard again"
    cursor = last_cursor(again, cursor)

    new = h.seed(1)
    later = list(lst.search(query(), cursor))
    assert heard(h, later) == new


def test_throttling_is_rate_limited_and_no_cursor_skips_the_unread(
    harness: Harness, http: HttpClient
) -> None:
    h = harness
    lst = h.listener(http)
    start = h.start(lst, query())
    seeded = h.seed(2 * h.page_size + 1)
    wait = h.throttle()
    before = len(h.server.answers)
    pages: list[Page] = []
    answered_at: list[int] = []  # answers served when each page was yielded
    with pytest.raises(RateLimited) as info:
        for page in lst.search(query(), start):
            pages.append(page)
            answered_at.append(len(h.server.answers))

    left = seconds_until(info.value.until)
    assert wait - CLOCK_SLACK < left <= wait + 1, f"asked to wait {wait}s, told to wait {left:.0f}s"

    statuses = h.server.answers[before:]
    refused = next((i for i, s in enumerate(statuses) if s >= 400), len(statuses))
    after_error = [p for p, n in zip(pages, answered_at, strict=True) if n - before > refused]
    if not h.keeps_failed_stream_state:
        assert all(p.cursor is None for p in after_error), "a page after the error moved the cursor"

    # Whatever cursor was stored, the next cycle (a fresh client: this one now waits for
    # `until`) hears everything the throttled one did not.
    committed = last_cursor(pages, start)
    with client() as later:
        resumed = run(h, later, committed)
    assert set(heard(h, pages)) | set(heard(h, resumed)) == set(seeded)


def test_a_refused_credential_is_an_auth_error_without_a_retry_storm(
    harness: Harness, http: HttpClient
) -> None:
    h = harness
    h.seed(2)
    h.deny()
    before = len(h.server.answers)
    with pytest.raises(AuthError):
        run(h, http, None)
    refusals = [s for s in h.server.answers[before:] if s >= 400]
    assert 1 <= len(refusals) <= 2, f"{len(refusals)} refused requests for one search"


def test_a_malformed_body_is_a_malformed_response(harness: Harness, http: HttpClient) -> None:
    h = harness
    h.seed(2)
    h.malform()
    with pytest.raises(MalformedResponse):
        run(h, http, None)


def test_backfill_reads_the_history_or_says_it_cannot(harness: Harness, http: HttpClient) -> None:
    h = harness
    lst = h.listener(http)
    history = h.seed(2 * h.page_size + 1)
    excluded = h.seed_excluded()
    since = h.history_start
    assert since < datetime.now(UTC)
    if not h.backfill:
        with pytest.raises(NotConfigured):
            lst.backfill_cursor(since)
        return
    cursor = lst.backfill_cursor(since)
    assert cursor is not None
    pages = list(lst.search(query(), cursor))
    got = heard(h, pages)
    assert sorted(got) == sorted(history)
    assert excluded not in got
