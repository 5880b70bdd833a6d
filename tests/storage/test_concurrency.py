"""Two processes on one database (the scheduler and a manual `listenpost poll`) both succeed."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from storage import Store
from tests.storage.factories import T0, mention, verdict

ROUNDS = 25


def drain(store: Store) -> int:
    """Triage and route whatever is waiting, as a pipeline cycle does; returns alerts queued."""
    pending = store.untriaged()
    store.save_triage([(m.id, verdict()) for m in pending])
    routable = store.unrouted()
    return store.enqueue_alerts([(m.id, "r", "#c") for m in routable], [m.id for m in routable])


def test_two_stores_writing_at_once_neither_fail_nor_double_count(url: str) -> None:
    stores = [Store(url), Store(url)]
    start = threading.Barrier(len(stores))
    linked: list[list[int]] = [[] for _ in stores]
    queued = [0 for _ in stores]
    errors: list[BaseException] = []

    def work(n: int, store: Store) -> None:
        try:
            start.wait()
            for i in range(ROUNDS):
                # Both fetch the same post (read-then-write on the same rows) and one of their own.
                page = [mention(i), mention(1000 * (n + 1) + i)]
                linked[n] += store.save_page("Acme", f"source{n}", page, cursor=f"{n}:{i}")
                queued[n] += drain(store)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        everything = stores[0].mentions(limit=10_000)
        assert len(everything) == 3 * ROUNDS
        # Each shared post was new for exactly one of the two writers...
        assert Counter(linked[0] + linked[1]) == Counter(m.id for m in everything)
        # ...and alerted exactly once, whichever cycle got to it.
        assert sum(queued) + drain(stores[0]) == 3 * ROUNDS
        assert len(stores[1].due_alerts(T0 + timedelta(days=1), limit=1000)) == 3 * ROUNDS
        assert [stores[1].get_cursor("Acme", f"source{n}") for n in (0, 1)] == [
            f"0:{ROUNDS - 1}",
            f"1:{ROUNDS - 1}",
        ]
    finally:
        for s in stores:
            s.close()


def test_two_processes_opening_a_new_database_at_once_both_get_the_schema(url: str) -> None:
    start = threading.Barrier(3)
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            start.wait()
            opened.append(Store(url))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        assert len(opened[0].save_page("Acme", "reddit", [mention(1)], None)) == 1
        assert [s.count_mentions() for s in opened] == [1, 1, 1]
    finally:
        for s in opened:
            s.close()
