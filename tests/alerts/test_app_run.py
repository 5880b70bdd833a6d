"""`listenpost run` starts the Slack app with the scheduler when SLACK_APP_TOKEN is set, and
stops it on Ctrl-C; routing honours the mutes people set from Slack."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.slack import APP_TOKEN, FakeSlack
from fakes.slack_payloads import slash_command
from fakes.socket_mode import FakeSocketMode
from listenpost import config
from listenpost.pipeline import route_pending
from listenpost.runtime import build
from listenpost.scheduler import run_forever
from storage.cases import add_mute
from tests.alerts.appkit import T0, eventually, verdict
from tests.storage.factories import mention


def settings(tmp_path: Path, slack: FakeSlack) -> config.Settings:
    return config.Settings.model_validate(
        {
            "storage": {"url": f"sqlite:///{tmp_path / 'lp.db'}"},
            "brands": [{"name": "Acme", "query": "acme"}],
            "sources": {},  # nothing to poll: this test is about the app
            "alerts": {"slack": {"channel": "#brand-alerts", "base_url": slack.base_url}},
        }
    )


def test_run_serves_the_slack_app_until_stopped(tmp_path: Path, slack: FakeSlack) -> None:
    env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": APP_TOKEN}
    rt = build(settings(tmp_path, slack), env)
    stop = threading.Event()
    with FakeSocketMode() as socket_mode:
        slack.socket_mode(socket_mode.url)
        worker = threading.Thread(target=run_forever, args=(rt, stop))
        worker.start()
        try:
            envelope_id = socket_mode.deliver(
                "slash_commands", slash_command("status", slack.response_url()), True
            )
            ack = socket_mode.ack_for(envelope_id)
            assert "• open cases: 0" in ack["payload"]["text"]
        finally:
            stop.set()
            worker.join(timeout=20)
        assert not worker.is_alive(), "run did not stop"
        # The app hung up: the fake sees the connection end.
        eventually(lambda: socket_mode.closed.is_set())
    rt.close()


def test_without_an_app_token_run_posts_alerts_without_the_app(
    tmp_path: Path, slack: FakeSlack
) -> None:
    rt = build(settings(tmp_path, slack), {"SLACK_BOT_TOKEN": slack.token})
    stop = threading.Event()
    stop.set()  # start and stop at once: only the start-up decision matters here
    run_forever(rt, stop)
    app_calls = ("/api/apps.connections.open", "/api/auth.test")
    assert [req.path for req in slack.server.requests if req.path in app_calls] == []
    rt.close()


def test_muted_authors_and_terms_are_not_routed(tmp_path: Path, slack: FakeSlack) -> None:
    rt = build(settings(tmp_path, slack), {})
    store = rt.store
    fresh = datetime.now(UTC) - timedelta(minutes=5)  # older posts are never alerted
    posts = [
        mention(1, author="Troll42", created_at=fresh),
        mention(2, text="Acme giveaway: FREE crypto for everyone", created_at=fresh),
        mention(3, author="someone", network="hackernews", created_at=fresh),  # muted on reddit
        mention(4, created_at=fresh),
    ]
    ids = store.save_page("Acme", "reddit", posts, None)
    store.save_triage([(i, verdict()) for i in ids])
    add_mute(store, "author", "troll42", "U0ANA", network="reddit")
    add_mute(store, "author", "someone", "U0ANA", network="reddit")
    add_mute(store, "term", "free crypto", "U0ANA", until=T0 + timedelta(days=30_000))
    add_mute(store, "author", "user4", "U0ANA", until=T0)  # long expired

    route_pending(rt)

    queued = {item.mention.native_id for item in store.due_alerts(T0 + timedelta(days=1))}
    assert queued == {"t3_3", "t3_4"}
    assert store.unrouted() == []  # muted posts are routed (to nobody), not left pending
    rt.close()
