"""Opening a store creates or upgrades its schema, any number of times, from any directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from storage import Store, db
from storage.schema import metadata
from tests.storage.factories import mention


def head_revision() -> str:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def test_opening_the_same_database_again_keeps_data_and_schema(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini anywhere near: the package carries it all
    first = Store(url)
    first.save_page("Acme", "reddit", [mention(1)], "c1")
    first.close()

    for _ in range(2):
        again = Store(url)
        assert again.count_mentions() == 1
        assert again.get_cursor("Acme", "reddit") == "c1"
        again.close()
    db.migrate(again.engine)  # and once more on an open engine

    engine = create_engine(again.engine.url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head_revision()]
        # The tables the migrations built are the tables the code queries.
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()


def test_foreign_keys_are_enforced(store: Store) -> None:
    """SQLite ignores them unless told: an alert for a missing mention must not be queued."""
    with pytest.raises(IntegrityError):
        store.enqueue_alerts([(12345, "default", "#alerts")], [])
    assert store.delivered_count() == 0 and store.due_alerts(mention(1).created_at) == []


def test_ping_names_the_backend(store: Store, url: str) -> None:
    described = store.ping()
    if url.startswith("sqlite"):
        assert described.startswith("sqlite 3.") and "(WAL)" in described
    else:
        assert described.startswith("postgresql 1")


def test_a_database_from_the_first_release_upgrades_in_place(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.create(url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text("INSERT INTO source_state (brand, source, cursor) VALUES ('A', 'x', 'c')")
        )
    engine.dispose()
    store = Store(url)
    assert store.get_cursor("A", "x") == "c"
    store.record_budget("A", "x", "57 left")
    assert store.source_state("A", "x").rate_budget == "57 left"
    store.close()


def test_upgrading_ungroups_different_people_who_wrote_the_same_words(tmp_path: Path) -> None:
    """Before 0006 a copy was the same words from anyone: after the upgrade the counts are
    right, while a person's own cross-post stays grouped under their first post."""
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.create(url)
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    sentence = "Is Acme down? Checkout keeps failing for me"
    old_key = "0" * 32  # what hashing the words alone gave every one of them
    rows = [  # (id, network, author, duplicate_of)
        (1, "reddit", "alice", None),
        (2, "reddit", "bob", 1),
        (3, "x", "carol", 1),
        (4, "mastodon", "alice@mastodon.social", 1),
    ]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        for n, network, author, of in rows:
            conn.execute(
                text(
                    "INSERT INTO mentions (id, network, native_id, url, author, text, "
                    "created_at, fetched_at, raw, dup_key, duplicate_of, routed_at) VALUES "
                    "(:id, :network, :native, :url, :author, :text, :at, :at, '{}', :key, "
                    ":of, :at)"
                ),
                {
                    "id": n, "network": network, "native": f"n{n}", "url": f"https://e/{n}",
                    "author": author, "text": sentence, "at": f"2026-11-0{n} 10:00:00",
                    "key": old_key, "of": of,
                },
            )
    engine.dispose()
    store = Store(url)
    by_id = {m.id: m for m in store.mentions(limit=10)}
    assert {i: m.duplicate_of for i, m in by_id.items()} == {1: None, 2: None, 3: None, 4: 1}
    store.close()
