"""Engine creation and migrations: SQLite tuned for one process with many threads, or PostgreSQL.

SQLite gets WAL (readers never block the writer), a busy timeout, foreign keys, and BEGIN
IMMEDIATE so two writers queue for the lock instead of failing with "database is locked" when a
read transaction tries to upgrade. On PostgreSQL, the writers that read before they write
(ingestion, migrations) take turns on an advisory lock for the same reason.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock keys for writers that must take turns on PostgreSQL (on SQLite, BEGIN
# IMMEDIATE already makes every writer wait for the one before it).
LOCKS = {"migrate": 0x6C70_0001, "ingest": 0x6C70_0002}

# SQLite primary result codes that speak of the whole database, never of one row: busy, locked,
# out of memory, read-only, I/O error, corrupt, full, cannot open, lock protocol, not a database.
_SQLITE_WIDE = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})
# PostgreSQL SQLSTATE classes and codes of the same kind: connection exceptions, insufficient
# resources (disk full, out of memory), operator intervention, system (I/O) errors, internal
# errors; a read-only transaction, serialization failures and deadlocks, a lock not available.
_PG_WIDE_CLASSES = frozenset({"08", "53", "57", "58", "XX"})
_PG_WIDE_CODES = frozenset({"25006", "40001", "40P01", "55P03"})


class DatabaseUnavailable(Exception):
    """The database as a whole refused (disk full, read-only, locked, I/O error, connection lost).

    No row is at fault, so storing a page row by row would only drop the rows one by one: the
    caller keeps its cursor and tries again later, and nothing is marked as seen.
    """


def database_wide(exc: BaseException) -> bool:
    """Whether `exc` (a DBAPI error, or SQLAlchemy's wrapper of one) concerns the whole database."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_WIDE
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in _PG_WIDE_CLASSES or sqlstate in _PG_WIDE_CODES
    return bool(getattr(exc, "connection_invalidated", False))


def create(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"storage url: listenpost runs on sqlite or postgresql, not {backend!r}")
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            # The driver the `postgres` extra installs, whatever SQLAlchemy's default is.
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, json_serializer=_to_json)
        _name_whole_database_errors(engine)
        return engine
    if (path := sqlite_path(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, json_serializer=_to_json
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    _name_whole_database_errors(engine)
    return engine


def _name_whole_database_errors(engine: Engine) -> None:
    """Every statement, commit or connect that fails for the whole database raises
    `DatabaseUnavailable`, one line naming the database's own words ("database or disk is
    full"), so no caller mistakes it for one bad row."""

    @event.listens_for(engine, "handle_error")
    def _whole_database(context: Any) -> None:
        exc = context.original_exception
        if database_wide(exc) or context.is_disconnect:
            said = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseUnavailable(f"database unavailable: {said}") from exc


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite URL names; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.query.get("uri") == "true":
        return None
    return Path(parsed.database).expanduser()


def _enable_wal(cursor: Any) -> None:
    """Switch a new file to WAL. The switch needs the file to itself and SQLite answers "locked"
    at once, without waiting, while another process opens it too; so wait here, as briefly."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _to_json(value: Any) -> str:
    """`Mention.raw` is whatever a listener parsed; a date in it must not make a page unsavable
    (the cursor could then never move past it), so dates become ISO text and the rest str()."""
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, date) else str(v))


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there.

    One write transaction, so two processes opening a new database take turns and the second
    finds the work done.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.begin() as connection:
        take_turns(connection, "migrate")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def insert(conn: Connection, table: Table) -> Any:
    """An INSERT that can say ON CONFLICT ... (the same API on both backends)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def take_turns(conn: Connection, lock: str) -> None:
    """Hold `lock` until this transaction ends, so writers that read before they write do not
    interleave on PostgreSQL (two polls inserting the same post would otherwise collide)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCKS[lock]})
