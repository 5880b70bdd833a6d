"""What several test packages share: the real bundled model, the fake Hacker News and Slack
servers, and PostgreSQL (the storage tests run on it as well as on SQLite; distributed mode runs
only on it)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from classifiers.triager import Triager
from fakes.hackernews import FakeHackerNews
from fakes.postgres import MachineServer, PostgresServer, available
from fakes.server import FakeServer
from fakes.slack import FakeSlack


@pytest.fixture(scope="session")
def triager() -> Triager:
    """The real bundled model, loaded once for the whole run."""
    return Triager()


@pytest.fixture
def hn() -> Iterator[FakeHackerNews]:
    with FakeServer() as srv:
        yield FakeHackerNews(srv)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="session")
def postgres() -> Iterator[MachineServer | PostgresServer]:
    """A server to create one fresh database per test on (`new_database()`)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is not installed: pip install -e '.[postgres]'")
    with available() as server:
        if server is None:
            if os.environ.get("CI"):
                pytest.fail("no PostgreSQL on 127.0.0.1:5432 and no initdb: .ci/run starts one")
            pytest.skip("no PostgreSQL: none on 127.0.0.1:5432 and no initdb to start one")
        yield server
