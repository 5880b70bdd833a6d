"""`listenpost run` killed with SIGKILL at random moments (mid-poll, and with a Slack post on
the wire) and restarted: every mention stored once, every alert posted once, in order."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from fakes.hackernews import FakeHackerNews, story
from fakes.server import Request, Response
from fakes.slack import FakeSlack
from storage import Store
from storage.schema import mentions, outbox
from tests.faults.conftest import REPO
from tests.wiring.conftest import settings_text

NOW = int(time.time())
ALERTS = 5
SEED = int(os.environ.get("LISTENPOST_FAULT_SEED", "1515"))


def _start(settings: Path, token: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLACK_BOT_TOKEN": token, "PYTHONPATH": str(REPO), "COLUMNS": "400"}
    return subprocess.Popen(
        [sys.executable, "-m", "listenpost.cli", "--settings", str(settings), "run"],
        cwd=settings.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _number(message: dict) -> int:
    text = json.dumps(message)
    return next(n for n in range(ALERTS) if f"outage number {n}," in text)


def test_sigkill_during_run_loses_and_repeats_nothing(
    tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack
) -> None:
    rng = random.Random(SEED)
    hn.items.extend(
        story(100 + n, NOW - 600 + n, f"Acme outage number {n}, everything is down, refund me now")
        for n in range(ALERTS)
    )
    serve_hn = hn.server.routes[("GET", "/api/v1/search_by_date")]
    polling = threading.Event()

    def slow_pages(req: Request) -> Response:
        polling.set()
        time.sleep(0.3)
        return serve_hn(req)

    hn.server.route("GET", "/api/v1/search_by_date", slow_pages)
    serve_post = slack.server.routes[("POST", "/api/chat.postMessage")]
    on_the_wire = threading.Event()

    def slow_post(req: Request) -> Response:
        on_the_wire.set()  # the post is on its way; Slack has not taken it yet
        time.sleep(0.8)
        return serve_post(req)

    slack.server.route("POST", "/api/chat.postMessage", slow_post)
    db = tmp_path / "lp.db"
    settings = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url, "hits_per_page": 2}}
    settings.write_text(settings_text(db, sources, slack.base_url))

    # 1. Killed at a random moment while it polls (pages of two, 0.3 s each).
    proc = _start(settings, slack.token)
    try:
        assert _wait(polling.is_set, 90), "run never polled"
        time.sleep(rng.uniform(0.0, 0.6))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    # 2. Killed with a post on the wire, after a random number of accepted ones.
    proc = _start(settings, slack.token)
    try:
        after = rng.randrange(1, 3)  # the channel id is known from an earlier post
        assert _wait(lambda: len(slack.messages) >= after, 120), "no alert was ever posted"
        on_the_wire.clear()
        assert _wait(on_the_wire.is_set, 60), "no post went out"
        time.sleep(rng.uniform(0.0, 0.5))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    # 3. Left to finish; the claim of the killed send runs out after 30 s.
    proc = _start(settings, slack.token)
    try:
        assert _wait(lambda: len(slack.messages) >= ALERTS, 150), slack.messages
        time.sleep(1.5)  # a repeat would come now, if any
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    store = Store(f"sqlite:///{db}")
    stored = sorted(m.native_id for m in store.mentions(limit=100))
    assert stored == [str(100 + n) for n in range(ALERTS)]  # lost 0, duplicated 0
    with store.engine.begin() as conn:
        queued = conn.execute(
            select(mentions.c.native_id).join(outbox, outbox.c.mention_id == mentions.c.id)
            .order_by(outbox.c.id)
        ).scalars().all()
    store.close()
    posted = [_number(m) for m in slack.messages]
    assert sorted(posted) == list(range(ALERTS))  # alerts lost 0, posted twice 0
    assert posted == [int(native) - 100 for native in queued]  # in the order they were queued
