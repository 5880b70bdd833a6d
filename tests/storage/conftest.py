"""Every Store test runs on SQLite and on PostgreSQL (the `postgres` fixture: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.postgres import MachineServer, PostgresServer
from storage import Store


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL no other test uses; the same URL reopens the same database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'listenpost.db'}"
    server: MachineServer | PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url)
    yield s
    s.close()
