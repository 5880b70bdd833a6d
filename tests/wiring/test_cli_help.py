"""`--help` reads like any Unix tool's: flags show no type, options say what they take in words;
and an empty database's report says so instead of printing rows of zeros."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from listenpost.cli import app
from storage import Store
from tests.wiring.conftest import settings_text

runner = CliRunner()
def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's words, a group's subcommands (`query test`) included."""
    found = []
    for name, command in sorted(group.commands.items()):  # type: ignore[attr-defined]
        found.append((*path, name))
        if hasattr(command, "commands"):
            found += _commands(command, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))
PYTHON_TYPES = re.compile(r"<(bool|str|int|float|path|list\[|float range|int range)|x>=|x<=")


def help_of(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=" ".join)
def test_no_command_shows_python_types(command: tuple[str, ...]) -> None:
    shown = help_of(*command)
    assert not PYTHON_TYPES.search(shown), shown


def test_flags_look_like_flags_and_options_say_what_they_take() -> None:
    poll = help_of("poll")
    assert re.search(r"--once\s+One full cycle", poll)
    assert re.search(r"--brand\s+NAME\s", poll) and re.search(r"--interval\s+SECONDS\s", poll)
    assert re.search(r"--help\s+Show this message", poll)
    assert re.search(r"--since\s+DURATION\s", help_of("backfill"))
    assert re.search(r"--limit\s+N\s", help_of("mentions"))
    root = help_of()
    assert re.search(r"--settings\s+-s\s+FILE\s", root)
    assert re.search(r"--log-format\s+text\|json\s", root)
    assert re.search(r"\*\s+FILE\s+TSV with a header row", help_of("eval"))


def test_a_lower_bound_is_said_in_words() -> None:
    result = runner.invoke(app, ["mentions", "--limit", "0"], env={"COLUMNS": "100"})
    assert result.exit_code == 2
    assert "must be at least 1, got 0" in result.output


def test_an_empty_database_report_says_nothing_is_stored_yet(tmp_path: Path) -> None:
    db = tmp_path / "lp.db"
    Store(f"sqlite:///{db}").close()  # created, as `run` would, and nothing fetched yet
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(db, {}))
    result = runner.invoke(app, ["--settings", str(path), "report"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert result.output.strip() == (
        "nothing is stored yet: run `listenpost run` or `listenpost poll --once` first"
    )
