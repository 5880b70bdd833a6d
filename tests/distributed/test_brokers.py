"""RabbitMQ as the broker, and the one schedule: two schedulers never send the work twice."""

from __future__ import annotations

import subprocess
import sys
import time

from kombu import Connection

from bench.cluster import fresh_redis, wait_for
from fakes.hackernews import FakeHackerNews, story
from fakes.slack import FakeSlack
from listenpost import config
from listenpost.queues import look
from listenpost.settings_queue import QUEUES
from tests.distributed.conftest import settings_text

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def test_rabbitmq_carries_the_flow(
    database: str, hn: FakeHackerNews, slack: FakeSlack, cluster_factory
) -> None:
    with Connection(RABBITMQ) as conn:  # no task of an earlier run left behind
        channel = conn.channel()
        for queue in QUEUES:
            try:
                channel.queue_purge(queue)
            except Exception:
                channel = conn.channel()  # not declared yet
    hn.items.append(story(7, int(time.time()) - 60, "Acme Cloud is down again, terrible outage"))
    cluster = cluster_factory(settings_text(database, RABBITMQ, hn.base_url, slack.base_url),
                              {"SLACK_BOT_TOKEN": slack.token})
    cluster.worker(concurrency=1)
    cluster.scheduler()
    try:
        wait_for(lambda: [m for m in slack.messages if m["channel"] == "#brand-alerts"], 90,
                 "the alert over RabbitMQ")
        view = wait_for(lambda: (v := look(config.load(cluster.settings))).workers and v, 20,
                        "the worker to answer a ping")
        assert view.error is None and view.broker == "amqp://guest:***@127.0.0.1:5672//"
        assert set(view.depths) == set(QUEUES)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.log_tail(2000)}") from None


def test_two_schedulers_send_one_schedule_and_a_standby_takes_over(
    database: str, hn: FakeHackerNews, slack: FakeSlack, cluster_factory
) -> None:
    broker = fresh_redis(11)
    text = settings_text(database, broker, hn.base_url, slack.base_url, every="1s")
    cluster = cluster_factory(text, {})
    first = cluster.scheduler()
    wait_for(lambda: "leading" in cluster.log_tail(), 30, "the first scheduler to lead")
    cluster.scheduler()
    settings = config.load(cluster.settings)
    try:
        wait_for(lambda: "standing by" in cluster.log_tail(), 30, "the second to stand by")
        # No worker runs: what waits is what was sent. Polls every second, ~5 seconds.
        before = look(settings).depths["poll"] or 0
        time.sleep(5)
        sent = (look(settings).depths["poll"] or 0) - before
        assert 3 <= sent <= 7, f"{sent} polls sent in 5 s for one 1 s job: doubled?"
        cluster.kill(first)  # the leader's machine dies; its lease goes with its connection
        wait_for(lambda: cluster.log_tail().count("leading:") == 2, 30, "the standby to lead")
        before = look(settings).depths["poll"] or 0
        time.sleep(3)
        assert (look(settings).depths["poll"] or 0) > before, "the standby sends nothing"
        shown = subprocess.run(
            [sys.executable, "-m", "listenpost.cli", "-s", str(cluster.settings), "sources"],
            capture_output=True, text=True, env={**cluster.env, "COLUMNS": "80"}, timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert f"queues on {broker}" in shown.stdout and "workers seen: 0" in shown.stdout
        assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.log_tail(2000)}") from None
