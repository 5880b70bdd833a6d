"""PostgreSQL for the tests and benchmarks: the machine's server on 127.0.0.1:5432 (CI's
`.ci/run` makes sure one answers), or, where none does, a throwaway server started from the
local binaries.

The same Store tests run against it as against SQLite, because "the same code runs on
PostgreSQL" is only true while something checks it. Every test gets a database of its own,
dropped at the end of the session, so tests never see each other's rows. Under CI a missing
PostgreSQL fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_user() -> str | None:
    """initdb refuses to run as root: drop to the postgres (or nobody) account then."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class PostgresServer:
    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir, self.root, self.port, self.user = bindir, root, port, user
        self.data = root / "data"
        self._databases = 0

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{tool} failed: {done.stderr or done.stdout}\n{tail}")

    def start(self) -> None:
        if self.user:
            shutil.chown(self.root, user=self.user)
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F -c full_page_writes=off"
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def new_database(self) -> str:
        """A fresh, empty database per test, so no test sees another's rows."""
        import psycopg

        self._databases += 1
        name = f"listenpost_{self._databases}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


MACHINE_HOST, MACHINE_PORT = "127.0.0.1", 5432


class MachineServer:
    """The machine's own server (trust auth, as CI and the dev machines set it up)."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.created: list[str] = []

    def new_database(self) -> str:
        import psycopg

        name = f"listenpost_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.created.append(name)
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{MACHINE_HOST}:{MACHINE_PORT}/{database}"

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def machine_server() -> MachineServer | None:
    """The server on 127.0.0.1:5432 when it answers and lets us create databases."""
    import psycopg

    for user in ("postgres", "root"):
        url = f"postgresql://{user}@{MACHINE_HOST}:{MACHINE_PORT}/postgres"
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                if conn.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles "
                                "WHERE rolname = current_user").fetchone() == (True,):
                    return MachineServer(user)
        except psycopg.Error:
            continue
    return None


@contextmanager
def available() -> Iterator[MachineServer | PostgresServer | None]:
    """The machine's server, else a throwaway one, else None (no PostgreSQL here at all)."""
    machine = machine_server()
    if machine is not None:
        try:
            yield machine
        finally:
            machine.drop_all()
        return
    bindir = find_binaries()
    if bindir is None:
        yield None
        return
    with running(bindir) as server:
        yield server


@contextmanager
def running(bindir: Path) -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="listenpost-pg-"))
    server = PostgresServer(bindir, root, _free_port(), _server_user())
    try:
        server.start()
        yield server
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
