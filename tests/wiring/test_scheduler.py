"""The monitor's schedule: one job per brand x source, never overlapping, and a clean stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fakes.hackernews import story
from listenpost import config
from listenpost.runtime import build
from listenpost.scheduler import build_scheduler, run_forever
from tests.wiring.conftest import settings_text


def test_one_job_per_brand_and_source_coalesced_single_instance(tmp_path: Path, hn) -> None:
    text = settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}})
    text += '\n[[brands]]\nname = "Globex"\nquery = "globex"\n'
    path = tmp_path / "settings.toml"
    path.write_text(text)
    rt = build(config.load(path), {})
    scheduler = build_scheduler(rt)
    scheduler.start(paused=True)  # job defaults apply once the scheduler owns the jobs
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {
        "poll:Acme:hackernews",
        "poll:Globex:hackernews",
        "outbox",
        "deliver",
        "radar",
    }
    poll = jobs["poll:Acme:hackernews"]
    assert poll.coalesce is True and poll.max_instances == 1
    assert poll.trigger.interval.total_seconds() == 60
    # A backlog drains at Slack's pace (3 messages per 3 s per channel), not once per cycle.
    assert jobs["deliver"].trigger.interval.total_seconds() == 3
    scheduler.shutdown(wait=False)
    rt.close()


def test_run_forever_polls_and_stops_cleanly(tmp_path: Path, hn, triager) -> None:
    hn.items.append(story(1, int(time.time()) - 30, "Acme outage, everything is down"))
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}))
    rt = build(config.load(path), {})
    rt.__dict__["triager"] = triager
    stop = threading.Event()
    worker = threading.Thread(target=run_forever, args=(rt, stop))
    worker.start()
    deadline = time.time() + 60

    def triaged() -> bool:
        return any(m.triage is not None for m in rt.store.mentions())

    # A poll that found something processes it at once (stopping earlier would leave it to the
    # next start), so wait for the verdict, not just the stored row.
    while not triaged() and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the scheduler did not stop"
    assert rt.store.count_mentions() == 1
    (mention,) = rt.store.mentions()
    assert mention.triage is not None
    rt.close()
