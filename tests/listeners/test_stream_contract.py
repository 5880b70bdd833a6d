"""The contract every stream keeps, proven against each network's local fake.

Parametrized over `listeners.registry.STREAMS`: a stream registered without a harness in
`stream_harness.py` fails here. What every stream must do:

- hear posts written after it starts, each once, and return promptly when stopped;
- resume from a committed cursor with no gap (posts written while it was down are heard) and
  no repeat (or, for streams that reopen a window before the cursor, repeats only of posts
  the first run had already read, which storage keeps once);
- reconnect after a failure mid-message with nothing lost and nothing heard twice;
- reopen a connection that goes silent (streams that are one long connection).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from listeners import registry
from tests.listeners.stream_harness import HARNESSES, StreamHarness, open_harness

REGISTERED = sorted(registry.STREAMS)


@pytest.fixture(params=REGISTERED)
def harness(request: pytest.FixtureRequest) -> Iterator[StreamHarness]:
    if request.param not in HARNESSES:
        pytest.fail(f"stream {request.param!r} has no harness in tests/listeners/stream_harness.py")
    yield from open_harness(request.param)


def test_hears_new_posts_once_and_stops_cleanly(harness: StreamHarness) -> None:
    run = harness.start().wait_ready()
    ids = [harness.emit(f"acme news {i}") for i in range(5)]
    run.wait_heard(ids).finish()
    assert sorted(run.ids) == sorted(ids)
    assert len(run.ids) == len(set(run.ids))
    assert run.cursor is not None


def test_resumes_from_its_cursor_without_gaps(harness: StreamHarness) -> None:
    first = harness.start().wait_ready()
    before = [harness.emit(f"before the restart {i}") for i in range(3)]
    first.wait_heard(before).finish()

    missed = [harness.emit(f"while it was down {i}") for i in range(4)]
    second = harness.start(first.cursor).wait_ready()
    after = [harness.emit(f"after the restart {i}") for i in range(2)]
    second.wait_heard(missed + after).finish()

    assert len(second.ids) == len(set(second.ids))
    repeated = set(second.ids) - set(missed + after)
    if harness.repeats_on_resume:
        assert repeated <= set(before)
    else:
        assert not repeated, f"read again after a restart: {repeated}"


def test_reconnects_after_a_failure_without_gaps_or_repeats(harness: StreamHarness) -> None:
    harness.disconnect()
    run = harness.start().wait_ready()
    ids = [harness.emit(f"acme during trouble {i}") for i in range(6)]
    run.wait_heard(ids, timeout=15).finish()
    assert sorted(run.ids) == sorted(ids)
    assert run.errors, "the failure was not reported"


# Polling streams (HN items, Reddit new) are covered by the HTTP client's timeouts instead.
@pytest.fixture(params=[name for name in REGISTERED if HARNESSES[name].stalls])
def long_lived(request: pytest.FixtureRequest) -> Iterator[StreamHarness]:
    yield from open_harness(request.param)


def test_a_silent_connection_is_reopened(long_lived: StreamHarness) -> None:
    harness = long_lived
    harness.stall()
    run = harness.start().wait_ready()
    ids = [harness.emit(f"acme before and after the stall {i}") for i in range(4)]
    run.wait_heard(ids, timeout=15).finish()
    assert sorted(run.ids) == sorted(ids)
    assert any("timeout" in e.lower() or "read" in e.lower() for e in run.errors), run.errors
