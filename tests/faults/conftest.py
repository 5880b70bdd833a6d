"""The fault matrix: the faults a deployment meets (a full disk, a read-only database, a Slack
outage, a source that loops, hangs or floods) against the real pieces (a SQLite file, the CLI in
a subprocess, local HTTP servers speaking each network's wire format)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of 2 MiB (tmpfs), so "disk full" is the kernel's ENOSPC, not a mock.

    The suite runs as root, locally and in CI; the mount is undone whatever the test did.
    """
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Take all of `disk`'s free space but `leave` bytes; delete the file returned to free it."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave, 0))
    return filler


def cli(settings: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`listenpost --settings SETTINGS ARGS` in a subprocess, as cron or systemd runs it; wide
    enough a console that a log line is never wrapped."""
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    env |= {"COLUMNS": "400", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "listenpost.cli", "--settings", str(settings), *args]
    return subprocess.run(
        cmd, cwd=settings.parent, env=env, capture_output=True, text=True, timeout=timeout
    )
