"""With `[queue]` set, the single process's end-to-end flow passes on two worker processes and a
scheduler on PostgreSQL + Redis: poll -> store -> triage -> route -> Slack, a button click on the
alert (the Slack app running alone), the SLA escalation, the digest and the radar."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from alerts import render as r
from bench.cluster import fresh_redis, wait_for
from core.mention import Mention, Metrics
from core.triage import Triage
from fakes.hackernews import FakeHackerNews, comment, story
from fakes.slack import APP_TOKEN, FakeSlack
from fakes.slack_payloads import block_actions, button
from fakes.socket_mode import FakeSocketMode
from listenpost import config, jobs
from listenpost.dispatch import send
from listenpost.queues import make_app
from storage import Store
from storage.cases import get_case
from tests.distributed.conftest import settings_text

NOW = int(time.time())
WINDOW = timedelta(minutes=15)


def verdict(sentiment: str, categories: list[str]) -> Triage:
    return Triage(
        sentiment=sentiment,  # type: ignore[arg-type]
        sentiment_scores={"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.9},
        urgency="medium",  # below the route's "high": the radar's business, not an alert's
        reasons=[],
        categories=categories,
        model_version="test",
    )


def seed_storm(store: Store) -> None:
    """A calm week on X, then an outage storm in the 15 minutes that just closed."""
    now = datetime.now(UTC)
    closed = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    posts, n = [], 0
    t = closed - timedelta(days=8)
    while t < closed - WINDOW:
        for minute, text in ((7, "Using acme for invoices"), (37, "Acme dashboard looks nice")):
            n += 1
            posts.append(_post(n, t + timedelta(minutes=minute), f"{text} {n}"))
        t += timedelta(hours=1)
    ids = store.save_page("Acme", "x", posts, None)
    store.save_triage([(i, verdict("neutral", [])) for i in ids])
    storm = [
        _post(10_000 + k, closed - WINDOW + timedelta(seconds=40 * k),
              f"acme login is down, outage since lunch #acmedown {k}")
        for k in range(16)
    ]
    ids = store.save_page("Acme", "x", storm, None)
    store.save_triage([(i, verdict("negative", ["outage", "complaint"])) for i in ids])


def _post(n: int, at: datetime, text: str) -> Mention:
    return Mention(network="x", native_id=f"x-{n}", url=f"https://x.example/status/{n}",
                   author=f"user{n}", text=text, created_at=at, metrics=Metrics(followers=50))


def test_two_workers_and_a_scheduler_run_the_whole_flow(
    database: str, hn: FakeHackerNews, slack: FakeSlack, cluster_factory
) -> None:
    hn.items += [
        story(101, NOW - 300, "Acme Cloud is down again, outage for 3 hours, this is terrible"),
        story(102, NOW - 200, "Love the new Acme dashboard, great work team"),
        comment(103, NOW - 100, "Acme is hiring backend engineers"),  # excluded by -hiring
    ]
    text = settings_text(database, fresh_redis(9), hn.base_url, slack.base_url)
    store = Store(database)
    seed_storm(store)
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": APP_TOKEN}
    with FakeSocketMode() as socket_mode:
        slack.socket_mode(socket_mode.url)
        cluster = cluster_factory(text, env)
        cluster.worker(concurrency=1)
        cluster.worker(concurrency=1)
        cluster.scheduler()
        cluster.slack_app()
        try:
            alerts = lambda: [m for m in slack.messages if m["channel"] == "#brand-alerts"]  # noqa: E731
            first = wait_for(alerts, 90, "the first alert")[0]
            assert "down again" in first["text"]
            stored = {m.native_id: m for m in store.mentions(limit=1000) if m.network != "x"}
            assert set(stored) == {"101", "102"}  # the -hiring post never reaches storage
            wait_for(lambda: all(m.triage for m in store.mentions(limit=1000)), 30, "triage")
            assert store.mentions(limit=1000)[0].triage is not None

            # Polling goes on: a new post is stored and alerted, the old ones never again.
            hn.items.append(story(104, int(time.time()) - 5, "Acme outage again, all down"))
            wait_for(lambda: len(alerts()) == 2, 60, "the second alert")

            # A click on the first alert's button, served by `listenpost slack-app`.
            socket_mode.wait_for_session(1, timeout=30)
            payload = block_actions(button(first["blocks"], r.RESOLVE), first,
                                    slack.response_url(), user="U0ANA")
            socket_mode.deliver("interactive", payload)
            wait_for(lambda: slack.updates, 30, "the alert updated in place")
            mention_101 = stored["101"].id
            case = wait_for(lambda: get_case(store, mention_101), 10, "the case")
            wait_for(lambda: get_case(store, mention_101).status == "resolved", 10, "resolved")

            # Housekeeping, sent the way the scheduler sends it, run by a worker.
            settings = config.load(cluster.settings)
            app = make_app(settings)
            by_id = {j.id: j for j in jobs.table(settings)}
            time.sleep(2.5)  # past the 2 s SLA of the second alert's case
            for job_id in ("sla", "digests", "radar"):
                send(app, by_id[job_id])
            wait_for(lambda: any("SLA breached" in m["text"] for m in slack.messages), 60,
                     "the SLA escalation")
            wait_for(lambda: slack.files, 60, "the digest")
            radar = wait_for(
                lambda: [m for m in slack.messages
                         if m["channel"] == "#radar" and not m.get("thread_ts")],
                60, "the radar alert",
            )
            assert len(radar) == 1 and "Spike: Acme" in radar[0]["text"]
            assert len(alerts()) == 2, "nothing alerted twice"
            assert case is not None
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{cluster.log_tail()}") from None
        finally:
            cluster.stop_all()
    store.close()
