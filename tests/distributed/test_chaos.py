"""Workers SIGKILLed at random moments while a backlog and a steady stream come in: nothing
lost, nothing stored twice, no alert lost, no alert posted twice."""

from __future__ import annotations

import random
import re
import time
from collections import Counter

from bench.cluster import fresh_redis, wait_for
from fakes.hackernews import FakeHackerNews, story
from fakes.slack import FakeSlack
from storage import Store
from tests.distributed.conftest import settings_text

FAST_SLACK = "[alerts.fatigue]\ngroup_after = 1000\nper_second = 10\nburst = 50\n"
ANGRY = "Acme Cloud is down again, outage for hours, terrible service, incident {n}"
INCIDENT = re.compile(r"incident (\d+)")
CALM = "Trying out the Acme dashboard for our team, note {n}"


def add_posts(hn: FakeHackerNews, first: int, count: int, angry_every: int = 10) -> None:
    now = int(time.time())
    for n in range(first, first + count):
        text = (ANGRY if n % angry_every == 0 else CALM).format(n=n)
        hn.items.append(story(n, now - (first + count - n), text))


def test_killed_workers_lose_nothing_and_double_nothing(
    database: str, hn: FakeHackerNews, slack: FakeSlack, cluster_factory
) -> None:
    add_posts(hn, 1, 200)  # the backlog
    text = settings_text(database, fresh_redis(10), hn.base_url, slack.base_url, every="1s",
                         extra=FAST_SLACK, page=20)
    cluster = cluster_factory(text, {"SLACK_BOT_TOKEN": slack.token})
    workers = [cluster.worker(), cluster.worker()]
    cluster.scheduler()
    store = Store(database)
    rng = random.Random(18)
    kills, next_post = 0, 201
    try:
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1.0, 3.0))
            add_posts(hn, next_post, 10)  # the steady stream
            next_post += 10
            victim = rng.randrange(len(workers))
            cluster.kill(workers[victim])
            kills += 1
            workers[victim] = cluster.worker()

        expected = {str(n) for n in range(1, next_post)}
        angry = {str(n) for n in range(1, next_post) if n % 10 == 0}

        def settled() -> bool:
            stored = {m.native_id for m in store.mentions(limit=10_000)}
            alerted = [m for m in slack.messages if m["channel"] == "#brand-alerts"]
            return stored == expected and len(alerted) >= len(angry)

        wait_for(settled, 120, "every post stored and every alert posted", every=1.0)
        time.sleep(3)  # a duplicate would show up now, after the queues drained
        stored = store.mentions(limit=10_000)
        assert kills >= 5
        assert len(stored) == len({m.native_id for m in stored}) == len(expected)  # 0 twice
        assert all(m.triage is not None for m in stored)
        posted = Counter(
            found.group(1)
            for m in slack.messages
            if m["channel"] == "#brand-alerts" and (found := INCIDENT.search(m["text"]))
        )
        assert set(posted) == angry, f"alerts lost: {sorted(angry - set(posted))}"
        assert max(posted.values()) == 1, f"posted twice: {posted.most_common(3)}"
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.log_tail(2000)}") from None
    finally:
        cluster.stop_all()
        store.close()
