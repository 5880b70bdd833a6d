"""Streams in distributed mode: the leading scheduler reads them (one reader, however many
schedulers stand by), the workers triage, route and deliver what they store."""

from __future__ import annotations

import json

from bench.cluster import fresh_redis, wait_for
from fakes.hackernews import FakeHackerNews
from fakes.jetstream import FakeJetstream
from fakes.slack import FakeSlack
from storage import Store
from tests.distributed.conftest import settings_text

DID = "did:plc:alice"


def test_the_leader_reads_the_stream_and_the_workers_alert(
    database: str, hn: FakeHackerNews, slack: FakeSlack, cluster_factory
) -> None:
    with FakeJetstream() as js:
        extra = "\n".join(
            [
                "[sources.bluesky_stream]",
                f"url = {json.dumps([js.url])}",
                "read_timeout = 5",
                "[[alerts.routes]]",
                'name = "stream"',
                'channel = "#stream-alerts"',
                'networks = ["bluesky"]',
                'sentiments = ["negative"]',
            ]
        )
        text = settings_text(database, fresh_redis(10), hn.base_url, slack.base_url, extra=extra)
        cluster = cluster_factory(text, {"SLACK_BOT_TOKEN": slack.token})
        cluster.worker(concurrency=1)
        cluster.scheduler()
        cluster.scheduler()  # a standby: it must not open a second reader
        try:
            wait_for(lambda: js.connections, 60, "the leader to open the stream")
            js.post(DID, "3kdown", "Acme Cloud is down again, outage for hours, this is terrible")
            wait_for(
                lambda: [m for m in slack.messages if m["channel"] == "#stream-alerts"],
                90,
                "the stream's alert",
            )
            assert len(js.connections) == 1, "the standby scheduler read the stream too"
            assert "standing by" in cluster.log_tail()
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{cluster.log_tail(2000)}") from None
    store = Store(database)
    assert store.stream_cursor("bluesky_stream", "all") is not None
    assert [m.network for m in store.mentions()] == ["bluesky"]
    store.close()
