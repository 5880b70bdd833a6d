"""A database that refuses as a whole (disk full, read-only) is never mistaken for one bad row:
the page fails whole, the cursor stays, the source says so once, and the next cycle stores
everything exactly once."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from fakes.hackernews import FakeHackerNews, story
from fakes.postgres import find_binaries, running
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import poll_source, process, run_cycle
from listenpost.runtime import Runtime, build
from storage import DatabaseUnavailable, Store
from storage.db import database_wide
from tests.faults.conftest import cli, fill
from tests.storage.factories import mention
from tests.wiring.conftest import settings_text

NOW = int(time.time())
POSTS = 60
FILLER = "Acme cloud keeps timing out for our whole team this morning. " * 25  # ~1.5 KB


def _stories(hn: FakeHackerNews, count: int = POSTS) -> list[str]:
    hn.items.extend(
        story(1000 + i, NOW - 3600 + i, f"Acme report {i}", story_text=FILLER) for i in range(count)
    )
    return sorted(str(1000 + i) for i in range(count))


def _runtime(tmp_path: Path, hn: FakeHackerNews, triager: Any) -> Runtime:
    path = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url, "hits_per_page": 20}}
    path.write_text(settings_text(tmp_path / "lp.db", sources))
    rt = build(config.load(path), {}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    return rt


def _on_every_connection(store: Store, pragma: str) -> Callable[[], None]:
    """Apply `pragma` to every new connection of `store` from now on; returns its undo."""

    def apply(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(pragma)
        dbapi_connection.commit()  # PostgreSQL: a SET inside a rolled-back transaction is undone

    event.listen(store.engine, "connect", apply)
    store.engine.dispose()

    def undo() -> None:
        event.remove(store.engine, "connect", apply)
        store.engine.dispose()

    return undo


def _page_count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text("PRAGMA page_count")).scalar_one())


def _stored_ids(store: Store) -> list[str]:
    return sorted(m.native_id for m in store.mentions(limit=10_000))


def _lines(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if words in r.getMessage()]


@pytest.mark.parametrize(
    ("pragma", "said"),
    [
        # SQLite's own "disk full": the file may grow only a few pages (48 KiB) more.
        ("PRAGMA max_page_count={pages}", "database or disk is full"),
        ("PRAGMA query_only=ON", "attempt to write a readonly database"),
    ],
    ids=["disk-full", "read-only"],
)
def test_a_database_wide_refusal_fails_the_page_and_loses_nothing(
    tmp_path, hn, triager, caplog, pragma: str, said: str
) -> None:
    expected = _stories(hn)
    rt = _runtime(tmp_path, hn, triager)
    undo = _on_every_connection(rt.store, pragma.format(pages=_page_count(rt.store) + 12))

    report = run_cycle(rt)
    poll = report.polls[0]
    assert poll.error is not None and said in poll.error
    assert "\n" not in poll.error
    assert not _lines(caplog, "could not store")  # no row-by-row fallback, no rows dropped
    assert not _lines(caplog, "one by one")
    assert len([line for line in _lines(caplog, said) if "hackernews" in line]) == 1

    undo()  # space freed / the file writable again
    assert rt.store.get_cursor("Acme", "hackernews") is None  # nothing was marked as seen
    again = run_cycle(rt)
    assert again.polls[0].error is None
    assert _stored_ids(rt.store) == expected  # every post, exactly once
    assert rt.store.count_mentions() == POSTS
    assert rt.store.get_cursor("Acme", "hackernews") is not None
    rt.close()


def test_a_bad_row_still_falls_back_to_one_by_one(tmp_path, hn, triager, caplog) -> None:
    """The fallback for one post the database cannot hold is kept; only database-wide errors
    skip it."""
    _stories(hn, 3)
    rt = _runtime(tmp_path, hn, triager)
    real_save = rt.store.save_page

    def refuse_one(brand, source, page, cursor, now=None):  # type: ignore[no-untyped-def]
        if any(m.native_id == "1001" for m in page):
            raise ValueError("value too long for type character varying(255)")
        return real_save(brand, source, page, cursor, now)

    rt.store.save_page = refuse_one  # type: ignore[method-assign]
    report = run_cycle(rt)
    assert report.polls[0].error is None and report.new == 2
    assert _lines(caplog, "could not store hackernews 1001")
    rt.close()


def test_postgres_read_only_is_database_wide(tmp_path) -> None:
    bindir = find_binaries()
    assert bindir is not None, "PostgreSQL binaries are part of the test environment"
    with running(bindir) as server:
        store = Store(server.new_database())
        _on_every_connection(store, "SET default_transaction_read_only = on")
        with pytest.raises(DatabaseUnavailable, match="read-only transaction"):
            store.save_page("Acme", "hackernews", [mention(1)], "cursor")
        store.close()


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "wide"),
    [
        ("53100", True),  # disk_full
        ("25006", True),  # read_only_sql_transaction
        ("08006", True),  # connection_failure
        ("57P01", True),  # admin_shutdown
        ("58030", True),  # io_error
        ("40P01", True),  # deadlock_detected
        ("22001", False),  # string_data_right_truncation: one row's value
        ("23505", False),  # unique_violation
        ("22P05", False),  # untranslatable_character
    ],
)
def test_postgres_errors_are_sorted_by_sqlstate(sqlstate: str, wide: bool) -> None:
    assert database_wide(_PgError(sqlstate)) is wide


def test_disk_full_for_real_under_the_cli(tmp_path, tiny_disk, hn) -> None:
    """A 2 MiB filesystem fills during `poll --once`: exit 1, one line, the cursor stays; after
    space is freed, the next run stores every post exactly once."""
    expected = _stories(hn, 150)
    db = tiny_disk / "lp.db"
    Store(f"sqlite:///{db}").close()  # migrated while there is room
    settings = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url, "hits_per_page": 25}}
    settings.write_text(settings_text(db, sources))
    filler = fill(tiny_disk, leave=96 * 1024)

    full = cli(settings, "poll", "--once")
    assert full.returncode == 1, full.stderr[-2000:]
    said = [ln for ln in full.stderr.splitlines() if "database or disk is full" in ln]
    assert len([ln for ln in said if "hackernews" in ln]) == 1, full.stderr[-3000:]
    assert "could not store" not in full.stderr and "Traceback" not in full.stderr
    store = Store(f"sqlite:///{db}")
    assert store.get_cursor("Acme", "hackernews") is None
    store.close()

    filler.unlink()
    done = cli(settings, "poll", "--once")
    assert done.returncode == 0, done.stderr[-2000:]
    store = Store(f"sqlite:///{db}")
    assert _stored_ids(store) == expected
    assert store.get_cursor("Acme", "hackernews") is not None
    store.close()


def test_read_only_filesystem_under_the_cli(tmp_path, tiny_disk, hn) -> None:
    """The volume goes read-only between runs: one line, no traceback, nothing stored or lost;
    writable again, the next run stores the new posts exactly once."""
    first = _stories(hn, 5)
    db = tiny_disk / "lp.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(settings_text(db, {"hackernews": {"base_url": hn.base_url}}))
    assert cli(settings, "poll", "--once").returncode == 0
    hn.items.append(story(5000, NOW - 10, "Acme billing charged me twice"))

    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    try:
        refused = cli(settings, "poll", "--once")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=True)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "database unavailable" in refused.stderr
    assert refused.stderr.strip().count("\n") == 0, refused.stderr[-2000:]  # one line

    assert cli(settings, "poll", "--once").returncode == 0
    store = Store(f"sqlite:///{db}")
    assert _stored_ids(store) == sorted([*first, "5000"])
    store.close()


def test_disk_full_at_triage_and_read_only_at_delivery_lose_and_repeat_nothing(
    tmp_path, tiny_disk, hn, slack, triager, caplog
) -> None:
    """The database refuses after the poll: triage and routing wait (one line each), then
    delivery waits before claiming, so nothing is posted that is not recorded; once writable,
    every alert goes out exactly once."""
    hn.items += [
        story(1, NOW - 60, "Acme outage, everything is down, refund me now"),
        story(2, NOW - 50, "Acme is down again, terrible, I want my money back"),
    ]
    path = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url}}
    path.write_text(settings_text(tiny_disk / "lp.db", sources, slack.base_url))
    rt = build(config.load(path), {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    assert poll_source(rt, "Acme", "hackernews").new == 2
    filler = fill(tiny_disk, leave=0)  # the volume fills up between the poll and triage
    report = process(rt)
    assert report.triaged == 0 and report.enqueued == 0
    assert len(_lines(caplog, "triage waits: database unavailable: database or disk is full")) == 1
    assert not slack.posts
    filler.unlink()

    queued = 0
    undo = _on_every_connection(rt.store, "PRAGMA query_only=ON")
    report = process(rt)  # triage and routing wait too; delivery claims nothing
    assert not slack.posts
    assert _lines(caplog, "delivery waits: database unavailable")
    undo()
    report = process(rt)
    queued = report.enqueued
    assert queued >= 1 and report.delivery is not None and report.delivery.sent == queued
    assert len(slack.messages) == queued  # each alert once
    assert process(rt).delivery.sent == 0  # and never again
    assert rt.store.count_mentions() == 2
    rt.close()
