"""Prometheus numbers for `run`, the workers and the scheduler, on `[metrics] port`.

Counted where the work happens (polls, errors, mentions triaged, alert latency), read from the
database at scrape time where the database is the truth (each source's lag behind its newest
stored post, the outbox's depth). A Celery worker forks processes that each count: the worker
sets PROMETHEUS_MULTIPROC_DIR before anything imports this module (`prepare_multiprocess`),
and its main process serves what all of them counted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from storage.monitoring import alert_timings, newest_posts, outbox_depth

if TYPE_CHECKING:
    from listenpost.settings_queue import MetricsSettings
    from storage import Store

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

POLLS = Counter("listenpost_polls", "Polls of one brand on one source", ["brand", "source"])
POLL_ERRORS = Counter(
    "listenpost_poll_errors", "Polls that ended in an error", ["brand", "source"]
)
TRIAGED = Counter("listenpost_triaged_mentions", "Mentions scored by the triage model")
ALERT_LATENCY = Histogram(
    "listenpost_alert_latency_seconds",
    "From storing a mention to Slack accepting its alert",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
)

_serving = False  # alert latency costs a query per delivery pass: only while someone scrapes


def prepare_multiprocess() -> None:
    """Before forking workers and before this module is imported: one folder for all their
    counters. Call from the process that will serve them."""
    if MULTIPROC_ENV not in os.environ:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="listenpost-metrics-")


class _FromDatabase(Collector):
    """Gauges read at scrape time, so every worker reports the same truth."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        lag = GaugeMetricFamily(
            "listenpost_source_lag_seconds",
            "Seconds since the newest stored post of a brand on a source",
            labels=["brand", "source"],
        )
        for (brand, source), newest in sorted(newest_posts(self.store).items()):
            lag.add_metric([brand, source], max(0.0, (now - newest).total_seconds()))
        yield lag
        yield GaugeMetricFamily(
            "listenpost_outbox_depth", "Messages waiting to be delivered", outbox_depth(self.store)
        )


def serve(settings: MetricsSettings, store: Store) -> bool:
    """Start the endpoint in a thread when a port is set; True when it serves."""
    global _serving
    if settings.port is None:
        return False
    registry: CollectorRegistry = REGISTRY
    if MULTIPROC_ENV in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    registry.register(_FromDatabase(store))
    start_http_server(settings.port, addr=settings.host, registry=registry)
    _serving = True
    return True


def observe_poll(brand: str, source: str, failed: bool) -> None:
    POLLS.labels(brand, source).inc()
    if failed:
        POLL_ERRORS.labels(brand, source).inc()


def observe_triaged(count: int) -> None:
    TRIAGED.inc(count)


def observe_delivered(store: Store, now: datetime) -> None:
    """The alerts a delivery pass at `now` sent (they are marked delivered at `now`)."""
    if not _serving:
        return
    for timing in alert_timings(store, now, now):
        ALERT_LATENCY.observe(max(0.0, (timing.delivered_at - timing.fetched_at).total_seconds()))
