"""Every Store test runs on SQLite and, where its binaries are installed, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from tests.storage.postgres import PostgresServer, find_binaries, running


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = find_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("PostgreSQL is installed but psycopg is not: pip install -e '.[postgres]'")
    with running(bindir) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL no other test uses; the same URL reopens the same database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'listenpost.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    s.close()
