"""Distributed mode for real: PostgreSQL, Redis (and RabbitMQ once), `listenpost worker`,
`scheduler` and `slack-app` processes, the fakes on 127.0.0.1. No mocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.cluster import Cluster
from fakes.postgres import MachineServer, PostgresServer


@pytest.fixture
def database(postgres: MachineServer | PostgresServer) -> str:
    return postgres.new_database()


def settings_text(
    database: str,
    broker: str,
    hn_url: str,
    slack_url: str,
    every: str = "2s",
    extra: str = "",
    page: int = 100,
) -> str:
    """One brand on the fake Hacker News, alerts to the fake Slack, with a 2 s SLA, a digest
    due now and a radar that judges the window that just closed."""
    digest_at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%H:%M")
    lines = [
        "[storage]",
        f"url = {json.dumps(database)}",
        "[queue]",
        f"broker = {json.dumps(broker)}",
        "visibility_timeout = 20",
        "[[brands]]",
        'name = "Acme"',
        """query = '(acme OR "acme cloud") -hiring'""",
        "[sources.hackernews]",
        f"every = {json.dumps(every)}",
        f"base_url = {json.dumps(hn_url)}",
        f"hits_per_page = {page}",
        "[alerts.slack]",
        'channel = "#brand-alerts"',
        f"base_url = {json.dumps(slack_url)}",
        "[[alerts.routes]]",
        'name = "support"',
        'sla = "2s"',
        'networks = ["hackernews"]',
        'escalate_to = "#leads"',
        "[[alerts.digests]]",
        'channel = "#digest"',
        f'at = "{digest_at}"',
        "[radar]",
        'channel = "#radar"',
        'lag = "1s"',
        "confirm = 1",
        "history_weeks = 1",
    ]
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(text: str, env: dict[str, str]) -> Cluster:
        path = tmp_path / "settings.toml"
        path.write_text(text)
        cluster = Cluster(path, tmp_path / "logs", env)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()
