"""The pieces distributed mode stands on, each against real PostgreSQL: settings, leases, triage
batches no two workers share, and the Prometheus endpoint."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from listenpost import config, metrics
from listenpost.config import SettingsError
from storage import Store
from storage.locks import Lease, lease
from tests.storage.factories import mention, verdict


def load(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return config.load(path)


def test_distributed_mode_needs_postgresql_and_a_broker_url(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="queue: broker: distributed mode needs PostgreSQL"):
        load(tmp_path, '[queue]\nbroker = "redis://127.0.0.1:6379/0"\n')
    with pytest.raises(SettingsError, match="'http://x' is not a Redis or RabbitMQ URL"):
        load(tmp_path, '[storage]\nurl = "postgresql://h/db"\n[queue]\nbroker = "http://x"\n')
    settings = load(
        tmp_path,
        '[storage]\nurl = "postgresql://h/db"\n[queue]\nbroker = "amqp://u:secret@h:5672//"\n'
        "[metrics]\nport = 9108\n",
    )
    assert settings.queue.distributed and settings.metrics.port == 9108
    assert settings.queue.broker_shown == "amqp://u:***@h:5672//"
    assert not load(tmp_path, "").queue.distributed  # `listenpost run` as it always was


def test_a_lease_is_held_by_one_process_at_a_time(database: str) -> None:
    one, two = Store(database), Store(database)  # two engines: two workers
    try:
        with lease(one, "poll:Acme:reddit") as held:
            assert held
            with lease(two, "poll:Acme:reddit") as other:
                assert not other
            with lease(two, "poll:Acme:x") as other:
                assert other  # another source is another lock
        with lease(two, "poll:Acme:reddit") as held:
            assert held  # released at the end of the block
        leader = Lease(one, "scheduler")
        assert leader.acquire() and leader.alive()
        with two.engine.begin() as conn:  # the leader's connection dies, the lock with it
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid <> pg_backend_pid() AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ))
        assert not leader.alive()  # so it steps down
        assert Lease(two, "scheduler").acquire()
    finally:
        one.close()
        two.close()


def test_workers_scoring_at_once_take_disjoint_batches(database: str) -> None:
    store = Store(database)
    ids = store.save_page("Acme", "reddit", [mention(i) for i in range(1, 7)], None)
    first_batch: list[int] = []
    taken = threading.Event()
    release = threading.Event()

    def slow_worker() -> None:
        with store.claim_untriaged(4) as claim:
            first_batch.extend(m.id for m in claim.mentions)
            taken.set()
            release.wait(10)
            claim.save([(m.id, verdict()) for m in claim.mentions])

    thread = threading.Thread(target=slow_worker)
    thread.start()
    assert taken.wait(10)
    with store.claim_untriaged(4) as claim:  # the other worker skips the locked rows
        second_batch = [m.id for m in claim.mentions]
        claim.save([(m.id, verdict()) for m in claim.mentions])
    release.set()
    thread.join()
    assert len(first_batch) == 4 and len(second_batch) == 2
    assert sorted(first_batch + second_batch) == sorted(ids)
    assert store.untriaged() == []
    store.close()


def test_the_metrics_endpoint_reads_lag_and_outbox_depth(database: str, tmp_path: Path) -> None:
    store = Store(database)
    store.save_page("Acme", "reddit", [mention(1)], None)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load(tmp_path, f"[metrics]\nport = {port}\n")
    assert metrics.serve(settings.metrics, store)
    errors = 'listenpost_poll_errors_total{brand="Acme",source="reddit"} '

    def scrape() -> str:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    def counted(body: str) -> float:  # the registry is the process's: other tests count too
        line = next((ln for ln in body.splitlines() if ln.startswith(errors)), errors + "0")
        return float(line.removeprefix(errors))

    before = counted(scrape())
    metrics.observe_poll("Acme", "reddit", failed=True)
    body = scrape()
    assert 'listenpost_source_lag_seconds{brand="Acme",source="reddit"}' in body
    assert "listenpost_outbox_depth 0.0" in body
    assert counted(body) == before + 1
    assert "listenpost_alert_latency_seconds_bucket" in body
    store.close()
