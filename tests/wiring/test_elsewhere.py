"""Running from another folder: `doctor` says which settings file is in use (or where it
looked), and the commands that only read never leave a stray database behind."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listenpost.cli import app
from tests.wiring.conftest import settings_text

runner = CliRunner()
# Sources are tried through a proxy that refuses at once: no test waits on the internet.
OFFLINE = {"COLUMNS": "200", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder to stand in, with no settings in the environment."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LISTENPOST_SETTINGS", raising=False)
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield folder
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_doctor_says_no_settings_file_was_found_and_where_it_looked(elsewhere: Path) -> None:
    result = runner.invoke(app, ["doctor"], env=OFFLINE)
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if "settings file" in ln)
    assert "✗" in line
    assert "none found" in line and "--settings" in line and "$LISTENPOST_SETTINGS" in line
    assert str(elsewhere / "settings.toml") in line
    assert list(elsewhere.iterdir()) == [], "doctor created files where it stood"


def test_doctor_names_the_settings_file_in_use_and_how_it_was_found(
    elsewhere: Path, tmp_path: Path
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {}))
    by_option = runner.invoke(app, ["--settings", str(path), "doctor"], env=OFFLINE)
    shown = rf"✓\s+settings file\s+{re.escape(str(path))} \(--settings\)"
    assert re.search(shown, by_option.output)
    assert "after 1 attempt (" in by_option.output  # doctor tries each source once
    by_env = runner.invoke(app, ["doctor"], env={**OFFLINE, "LISTENPOST_SETTINGS": str(path)})
    assert f"{path} ($LISTENPOST_SETTINGS)" in by_env.output
    # The database does not exist yet: doctor says so and does not create it.
    assert "none yet at" in by_env.output and str(tmp_path / "lp.db") in by_env.output
    assert not (tmp_path / "lp.db").exists()
    assert list(elsewhere.iterdir()) == []


def test_verbose_logs_the_settings_file(elsewhere: Path, tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {}))
    result = runner.invoke(app, ["--settings", str(path), "--verbose", "sources"], env=OFFLINE)
    assert f"settings: {path} (--settings)" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["mentions"],
        ["mentions", "--json"],
        ["cases"],
        ["export", "--csv", "-"],
        ["sources"],
        ["report", "--since", "7d"],
        ["spikes"],
    ],
)
def test_a_command_that_only_reads_never_creates_a_database(
    elsewhere: Path, tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "lp.db"
    path = tmp_path / "team.toml"
    path.write_text(settings_text(db, {}))
    result = runner.invoke(app, ["--settings", str(path), *command], env=OFFLINE)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"no database at {db} yet; run `listenpost run` or `listenpost poll --once` first"
    )
    assert not db.exists()
    assert list(elsewhere.iterdir()) == []


def test_with_the_embedded_defaults_mentions_creates_no_listenpost_db(elsewhere: Path) -> None:
    result = runner.invoke(app, ["mentions"], env=OFFLINE)
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert not (elsewhere / "listenpost.db").exists()
