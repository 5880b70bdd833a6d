"""Logs written to a file or a service: one event per line with an ISO-8601 UTC stamp, never
wrapped; `--log-format json` gives one JSON object per line, secrets still scrubbed."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fakes.hackernews import FakeHackerNews, story
from listenpost import logs
from tests.wiring.conftest import settings_text

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S"
)
DEAD = "http://127.0.0.1:9/a/path/long/enough/that/eighty/columns/would/have/split/this/url"


def poll(tmp_path: Path, hn: FakeHackerNews, *options: str) -> subprocess.CompletedProcess[str]:
    hn.items.append(story(11, int(time.time()) - 60, "Acme Cloud is down again"))
    settings = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url}, "reddit": {"base_url": DEAD}}
    settings.write_text(settings_text(tmp_path / "lp.db", sources))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "listenpost.cli", "--settings", str(settings), *options,
         "poll", "--once"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )


def test_logs_off_a_terminal_are_one_line_per_event_stamped_in_utc(
    tmp_path: Path, hn: FakeHackerNews
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    done = poll(tmp_path, hn)
    lines = done.stderr.splitlines()
    assert lines, done.stderr
    for line in lines:
        match = LINE.match(line)
        assert match, f"not one event with an ISO UTC stamp: {line!r}"
        stamp = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
        assert started <= stamp <= datetime.now(UTC)
    # The unreachable source's error keeps its whole URL on its one line.
    assert any("ERROR" in line and DEAD.split("//")[1] in line for line in lines), lines
    assert any("INFO" in line and "1 new mention" in line for line in lines), lines
    assert not re.search(r"\[\d\d/\d\d/\d\d", done.stderr)


def test_json_log_lines_parse_and_carry_the_fields_shippers_need(
    tmp_path: Path, hn: FakeHackerNews
) -> None:
    done = poll(tmp_path, hn, "--log-format", "json")
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert events, done.stderr
    for event in events:
        assert {"ts", "level", "logger", "message"} <= set(event)
        assert datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).tzinfo is not None
    assert any(e["level"] == "ERROR" and DEAD.split("//")[1] in e["message"] for e in events)
    assert "poll cycle" in done.stdout  # the table still goes to stdout


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_scrub_secrets_from_the_message_extras_and_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = "xoxb-1111-2222-secretvalue"
    logs.setup({"SLACK_BOT_TOKEN": token}, fmt=logs.LogFormat.json)
    log = logging.getLogger("listenpost.test")
    try:
        raise RuntimeError(f"refused {token}")
    except RuntimeError:
        log.exception("posting with %s failed", token, extra={"channel": "#a", "token": token})
    err = capsys.readouterr().err
    assert token not in err
    (event,) = [json.loads(line) for line in err.splitlines()]
    assert event["level"] == "ERROR" and event["logger"] == "listenpost.test"
    assert event["message"] == "posting with *** failed"
    assert event["channel"] == "#a" and event["token"] == "***"
    assert "RuntimeError: refused ***" in event["exc"]


@pytest.mark.usefixtures("restore_logging")
def test_plain_lines_fold_a_traceback_onto_the_event_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup({})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("listenpost.test").exception("it\nbroke")
    (line,) = capsys.readouterr().err.splitlines()
    assert LINE.match(line)
    assert "it\\nbroke | Traceback" in line and "ValueError: boom" in line
