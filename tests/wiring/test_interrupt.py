"""Ctrl-C exits 130 from `run` and from `poll`, and promptly even while sources are being
retried at start-up: a retry is not worth waiting for once the user asked to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.wiring.conftest import settings_text

ROOT = Path(__file__).resolve().parents[2]
DEAD = "http://127.0.0.1:9"  # refuses at once: every poll goes through its retries


def start(tmp_path: Path, *command: str) -> tuple[subprocess.Popen[str], list[str]]:
    settings = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": DEAD}, "reddit": {"base_url": DEAD}}
    settings.write_text(settings_text(tmp_path / "lp.db", sources))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    env.pop("SLACK_BOT_TOKEN", None)
    env.pop("SLACK_APP_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "listenpost.cli", "--settings", str(settings), "--verbose",
         *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    lines: list[str] = []
    assert proc.stderr is not None
    threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True).start()
    return proc, lines


def wait_for(lines: list[str], text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, f"never saw {text!r}: {lines}"
        time.sleep(0.05)


@pytest.mark.parametrize("command", [("run",), ("poll", "--once")])
def test_ctrl_c_during_start_up_retries_exits_130_promptly(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    proc, lines = start(tmp_path, *command)
    try:
        wait_for(lines, "retry 1 of 3")  # the first polls are backing off
        asked = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        took = time.monotonic() - asked
    finally:
        proc.kill()
    assert proc.returncode == 130, lines
    assert took < 2.0, f"{took:.1f}s to stop after Ctrl-C"
    assert not any("Traceback" in line for line in lines), lines
    # Stopping is not the sources' fault: no error was recorded or said for them.
    assert not any("could not reach" in line for line in lines), lines
