"""Leases that hold across processes and machines: PostgreSQL session advisory locks.

Celery workers on several machines share nothing but the database, so "one worker at a time"
(a brand x source being polled, the delivery pass that paces Slack channels, the one scheduler)
is a lock there. A session lock lives with its connection: a worker killed mid-task drops its
connection and the lock with it, so nothing is ever held by the dead.

On SQLite listenpost is one process, whose scheduler never runs a job twice at once, and
distributed mode refuses SQLite: a lease there is always granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from storage import Store


def key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name` (the same in every process)."""
    digest = hashlib.blake2b(f"listenpost:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Lease:
    """One named lock, held on a connection of its own until released or the process dies."""

    def __init__(self, store: Store, name: str) -> None:
        self.name = name
        self._store = store
        self._conn: Connection | None = None
        self._shared = store.engine.dialect.name == "postgresql"
        self._held = False

    def acquire(self, wait: bool = False) -> bool:
        """Take the lock; without `wait`, False at once when another process holds it."""
        if self._held or not self._shared:
            self._held = True
            return True
        conn = self._store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        call = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        try:
            got = conn.execute(text(f"SELECT {call}(:k)"), {"k": key(self.name)}).scalar()
        except BaseException:
            conn.close()
            raise
        if wait or got:
            self._conn, self._held = conn, True
            return True
        conn.close()
        return False

    def alive(self) -> bool:
        """Whether the lock's connection still answers: a leader that lost it must step down,
        since the server freed the lock with the connection."""
        if not self._held or self._conn is None:
            return self._held
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def release(self) -> None:
        conn, self._conn, self._held = self._conn, None, False
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key(self.name)})
        except Exception:
            conn.invalidate()  # a broken connection: the server dropped the lock with it
        finally:
            conn.close()


@contextmanager
def lease(store: Store, name: str, wait: bool = False) -> Iterator[bool]:
    """Hold `name` for the block; yields False (and holds nothing) when another has it."""
    held = Lease(store, name)
    got = held.acquire(wait)
    try:
        yield got
    finally:
        held.release()
