from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.server import FakeServer
from listeners.http import HttpClient


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def other_server() -> Iterator[FakeServer]:
    """A second host, for tests where per-host state (rate limits) must not be shared."""
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def http() -> Iterator[HttpClient]:
    # Tiny backoff and timeout: the retry paths run for real, but in milliseconds.
    with HttpClient(timeout=0.5, retries=2, backoff=0.01) as client:
        yield client
