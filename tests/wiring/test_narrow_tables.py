"""Every table command at 80 columns and piped: posts, errors and names stay readable.

Rich squeezed the free-text column of a seven-column table to a letter or two, so a post
printed one letter per line. Each command is checked for lines that fit and words kept whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listenpost.cli import app
from storage import Store, cases
from storage.spikes import ACTIVE, SpikeRecord, Track, save_spike
from tests.alerts.factories import triage
from tests.alerts.queueing import mention
from tests.wiring.conftest import settings_text

runner = CliRunner()
NOW = datetime.now(UTC).replace(microsecond=0)
POST = (
    "Acme support has not answered my ticket for three days and the status page still shows "
    "an outage banner for the European region"
)
STARTED = NOW - timedelta(hours=1)
ERROR = "could not reach hn.algolia.com after 4 attempts (ConnectError: connection refused)"


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    db = tmp_path / "lp.db"
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(db, {}))
    store = Store(f"sqlite:///{db}")
    ids = store.save_page(
        "Acme", "reddit", [mention(1, text=POST, author="a_rather_long_author")], None, now=NOW
    )
    store.save_triage([(i, triage()) for i in ids])
    opened = NOW - timedelta(hours=2)
    cases.open_case(store, ids[0], "support", opened, sla_due_at=opened + timedelta(minutes=30))
    store.record_error("Acme", "hackernews", ERROR, now=NOW)
    going = Track(ACTIVE, started_at=STARTED, confirmed_at=NOW, peak=3.2)
    save_spike(store, SpikeRecord("Acme", "term", "#acmedown outage storm", going, NOW))
    store.close()
    return path


def flatten(output: str) -> list[str]:
    """The words of a table's cells, in reading order, with the box drawing removed."""
    return " ".join(output.translate({ord(c): " " for c in "│┃┏┓┗┛┡┩└┘━─╇┳┻╋┣┫"}).split()).split()


def check(output: str, *texts: str) -> None:
    lines = output.splitlines()
    assert lines, "no output"
    assert max(len(line) for line in lines) <= 80, output
    words = flatten(output)
    for text in texts:
        for word in text.split():
            assert word in words, f"{word!r} was cut or split in:\n{output}"


@pytest.mark.parametrize(
    ("command", "texts"),
    [
        (["mentions"], [POST, "a_rather_long_author", "negative"]),
        (["cases", "--status", "all"], [POST[:60].rsplit(" ", 1)[0], "a_rather_long_author"]),
        (["sources"], ["could not reach hn.algolia.com", "hackernews"]),
        (
            ["spikes"],
            ["#acmedown outage storm", "active", f"{STARTED:%Y-%m-%d %H:%M}", "peak: 3.2x"],
        ),
    ],
)
def test_table_commands_read_well_at_80_columns(
    settings: Path, command: list[str], texts: list[str]
) -> None:
    result = runner.invoke(app, ["--settings", str(settings), *command], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    check(result.output, *texts)


def test_mentions_piped_to_a_file_without_columns(settings: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = tmp_path / "mentions.txt"
    with out.open("w") as handle:
        subprocess.run(
            [sys.executable, "-m", "listenpost.cli", "--settings", str(settings), "mentions"],
            stdout=handle,
            env=env,
            check=True,
            timeout=120,
        )
    check(out.read_text(), POST)


def test_report_tables_read_well_at_80_columns_and_piped(settings: Path, tmp_path: Path) -> None:
    """Dates, route names and headers whole (no `2026-12-…` or `answ…`)."""
    since = (NOW - timedelta(days=1)).date().isoformat()
    args = ["--settings", str(settings), "report", "--since", since]
    store = Store(f"sqlite:///{settings.parent / 'lp.db'}")
    cases.mark_breached(store, store.mentions()[0].id, NOW, escalated=False)
    store.close()
    result = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    opened = f"{NOW - timedelta(hours=2):%Y-%m-%d %H:%M}"
    due = f"{NOW - timedelta(minutes=90):%Y-%m-%d %H:%M}"
    texts = ["support", "all routes", "answered:", "breached: 1", "share", opened, due]
    check(result.output, *texts)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = tmp_path / "report.txt"
    with out.open("w") as handle:
        subprocess.run(
            [sys.executable, "-m", "listenpost.cli", *args],
            stdout=handle,
            env=env,
            check=True,
            timeout=120,
        )
    check(out.read_text(), *texts)
