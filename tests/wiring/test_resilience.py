"""Failures a user must never pay for with lost mentions: bad pages, dead processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.hackernews import story
from fakes.reddit import FakeReddit, post
from fakes.server import FakeServer, Request, Response
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import build
from storage import Store
from tests.wiring.conftest import settings_text

NOW = int(time.time())
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    with FakeServer() as srv:
        yield FakeReddit(srv)


def test_malformed_page_is_logged_and_other_sources_still_run(
    tmp_path, hn, reddit, slack, triager, caplog
) -> None:
    hn.items.append(story(1, NOW - 60, "Acme outage, the whole thing is down"))
    reddit.posts.append(post("abc1", NOW - 30, "Acme billing charged me twice, terrible"))
    proxy_error = Response(200, "<html>upstream proxy error</html>", {"Content-Type": "text/html"})
    hn.script.append(proxy_error)
    path = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url}, "reddit": {"base_url": reddit.base_url}}
    path.write_text(settings_text(tmp_path / "lp.db", sources, slack.base_url))
    rt = build(config.load(path), {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    report = run_cycle(rt)
    by_source = {p.source: p for p in report.polls}
    assert by_source["hackernews"].error and "not JSON" in by_source["hackernews"].error
    assert by_source["reddit"].error is None and by_source["reddit"].new == 1
    assert any("hackernews" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    assert rt.store.get_cursor("Acme", "hackernews") is None
    # Next cycle the page is fine again: the Hacker News post arrives, nothing is lost.
    again = run_cycle(rt)
    assert {p.source: p.new for p in again.polls} == {"hackernews": 1, "reddit": 0}
    rt.close()


def test_process_killed_between_fetch_and_commit_loses_nothing(tmp_path, hn) -> None:
    """SIGKILL while page 2 is in flight; the restarted poll stores every mention exactly once."""
    hn.items.extend(story(100 + i, NOW - 600 + i, f"Acme review number {i}") for i in range(6))
    hold = {"on": True}
    serve = hn.server.routes[("GET", "/api/v1/search_by_date")]

    def slow_second_page(req: Request) -> Response:
        if hold["on"] and req.arg("page") == "1":
            time.sleep(30)  # the process is killed while it waits for this page
        return serve(req)

    hn.server.route("GET", "/api/v1/search_by_date", slow_second_page)
    db = tmp_path / "lp.db"
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(db, {"hackernews": {"base_url": hn.base_url, "hits_per_page": 2}})
    )
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    cmd = [sys.executable, "-m", "listenpost.cli", "--settings", str(path), "poll", "--once"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 60
        while not any(r.arg("page") == "1" for r in hn.searches) and time.time() < deadline:
            time.sleep(0.05)
        assert any(r.arg("page") == "1" for r in hn.searches), "poll never reached page 2"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    store = Store(f"sqlite:///{db}")
    assert store.count_mentions() == 2  # page 1 was committed...
    assert store.get_cursor("Acme", "hackernews") is None  # ...but the cursor did not move
    store.close()

    hold["on"] = False
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    store = Store(f"sqlite:///{db}")
    ids = sorted(m.native_id for m in store.mentions(limit=100))
    assert ids == [str(100 + i) for i in range(6)]
    assert store.get_cursor("Acme", "hackernews") is not None
    store.close()


def test_a_mention_the_database_refuses_does_not_stall_its_source(
    tmp_path,
    hn,
    slack,
    triager,
    caplog,
) -> None:
    hn.items += [
        story(1, NOW - 60, "Acme outage, the whole thing is down"),
        story(2, NOW - 50, "Acme poisoned post"),
        story(3, NOW - 40, "Acme billing charged me twice"),
    ]
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}, slack.base_url)
    )
    rt = build(config.load(path), {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient(retries=0))
    rt.__dict__["triager"] = triager
    real_save = rt.store.save_page

    def refuse_poison(brand, source, page, cursor, now=None):
        if any(m.native_id == "2" for m in page):
            raise ValueError("value too long for type character varying(255)")
        return real_save(brand, source, page, cursor, now)

    rt.store.save_page = refuse_poison  # type: ignore[method-assign]
    report = run_cycle(rt)
    assert report.polls[0].error is None and report.new == 2
    assert rt.store.get_cursor("Acme", "hackernews") is not None  # the source moves on
    assert any("could not store hackernews 2" in r.getMessage() for r in caplog.records)
    rt.close()


def test_ctrl_c_stops_run_after_the_current_page(tmp_path, hn) -> None:
    hn.items.extend(story(100 + i, NOW - 600 + i, f"Acme review number {i}") for i in range(40))
    serve = hn.server.routes[("GET", "/api/v1/search_by_date")]

    def slow(req: Request) -> Response:
        time.sleep(0.5)
        return serve(req)

    hn.server.route("GET", "/api/v1/search_by_date", slow)
    path = tmp_path / "settings.toml"
    path.write_text(
        settings_text(
            tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url, "hits_per_page": 2}}
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    cmd = [sys.executable, "-m", "listenpost.cli", "--settings", str(path), "run"]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 60
    while len(hn.searches) < 2 and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    started = time.time()
    proc.wait(timeout=30)
    assert time.time() - started < 6, "run kept paging after Ctrl-C"
    assert len(hn.searches) < 12  # it did not read all 20 pages first
