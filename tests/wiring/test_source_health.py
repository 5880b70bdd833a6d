"""A source that stops answering is said once, loudly, per change of state (also after a
restart on the same database); retries stay at debug level; a cycle polls sources side by side,
so one unreachable source costs its own retries, not everyone's."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from fakes.hackernews import FakeHackerNews, story
from listeners.http import HttpClient
from listenpost import config
from listenpost.pipeline import run_cycle
from listenpost.runtime import Runtime, build

DEAD = "http://127.0.0.1:9"


def runtime(tmp_path: Path, base_url: str, brands: int = 1, backoff: float = 0.01) -> Runtime:
    settings = config.Settings.model_validate(
        {
            "storage": {"url": f"sqlite:///{tmp_path / 'lp.db'}"},
            "brands": [{"name": f"Acme{i}", "query": "acme"} for i in range(brands)],
            "sources": {"hackernews": {"base_url": base_url}},
        }
    )
    rt = build(settings, {}, http=HttpClient(timeout=2, retries=2, backoff=backoff))
    rt.__dict__["triager"] = None  # nothing is stored: the model is never asked
    return rt


def said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def test_an_unreachable_source_is_said_once_and_its_retries_only_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rt = runtime(tmp_path, DEAD)
    try:
        run_cycle(rt)
        run_cycle(rt)
    finally:
        rt.close()
    loud = said(caplog, logging.WARNING)
    assert len(loud) == 1, loud
    assert "Acme0/hackernews: could not reach 127.0.0.1:9" in loud[0]
    retries = [r for r in caplog.records if "retry 1 of 2" in r.getMessage()]
    assert retries and all(r.levelno == logging.DEBUG for r in retries)


def test_a_restart_on_the_same_database_says_it_once_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(2):  # two processes, one after the other
        rt = runtime(tmp_path, DEAD)
        try:
            run_cycle(rt)
            run_cycle(rt)
        finally:
            rt.close()
    loud = [m for m in said(caplog, logging.ERROR) if "could not reach" in m]
    assert len(loud) == 2, loud


def test_a_source_that_answers_again_is_said_once_also_after_a_restart(
    tmp_path: Path, hn: FakeHackerNews, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rt = runtime(tmp_path, DEAD)
    try:
        run_cycle(rt)
    finally:
        rt.close()
    hn.items.append(story(1, int(time.time()) - 60, "nothing about the brand"))
    rt = runtime(tmp_path, hn.base_url)  # restarted, and the source answers now
    try:
        run_cycle(rt)
        run_cycle(rt)
    finally:
        rt.close()
    again = [m for m in said(caplog, logging.WARNING) if "reachable again" in m]
    assert again == ["Acme0/hackernews: reachable again"]


def test_a_cycle_polls_its_sources_side_by_side(tmp_path: Path) -> None:
    # Each poll of the dead source sleeps 0.6 + 1.2 s between its three attempts; four of them
    # one after another would take over 7 s.
    rt = runtime(tmp_path, DEAD, brands=4, backoff=0.6)
    try:
        start = time.monotonic()
        report = run_cycle(rt)
        took = time.monotonic() - start
    finally:
        rt.close()
    assert [p.brand for p in report.polls] == ["Acme0", "Acme1", "Acme2", "Acme3"]
    assert all(p.error and "could not reach" in p.error for p in report.polls)
    assert took < 4.0, f"{took:.1f}s: polled one after another"


def test_stopping_cuts_the_retries_short_and_records_nothing(tmp_path: Path) -> None:
    rt = runtime(tmp_path, DEAD, backoff=5)
    rt.stopping.set()
    try:
        start = time.monotonic()
        report = run_cycle(rt)
        took = time.monotonic() - start
        assert rt.store.source_state("Acme0", "hackernews") is None
    finally:
        rt.close()
    assert took < 2.0
    assert report.polls[0].error and "stopping" in report.polls[0].error
