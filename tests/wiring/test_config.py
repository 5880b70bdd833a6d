"""A broken settings file must produce one clear line naming the key, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from listenpost import config
from listenpost.config import SettingsError

REPO = Path(__file__).resolve().parents[2]

GOOD = """
[storage]
url = "sqlite:///x.db"

[[brands]]
name = "Acme"
query = '"acme cloud" OR #acme -hiring'

[sources.hackernews]
every = "2m"

[alerts.slack]
channel = "#alerts"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def test_checked_in_example_settings_are_valid() -> None:
    settings = config.load(REPO / "settings.toml")
    assert settings.brands and settings.brands[0].name
    assert set(settings.source_settings()) >= {"hackernews", "reddit", "rss"}


def test_good_settings_load(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD))
    assert settings.brands[0].name == "Acme"
    assert settings.source_settings()["hackernews"].interval.total_seconds() == 120


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace('every = "2m"', 'evry = "2m"'),
            "sources.hackernews.evry: unknown key (did you mean 'every'?)",
        ),
        (GOOD.replace('every = "2m"', 'every = "soon"'), "sources.hackernews.every"),
        (GOOD.replace("[storage]", "[storge]"), "storge: unknown key (did you mean 'storage'?)"),
        (GOOD.replace("#acme -hiring'", "#acme -hiring) '"), "brands[0].query"),
        (GOOD + "\n[sources.myspace]\n", "sources.myspace: unknown source 'myspace'"),
        (GOOD.replace('name = "Acme"', "name = 42"), "brands[0].name"),
        (GOOD.replace('url = "sqlite:///x.db"', 'url = "sqlite:///x.db'), "not valid TOML"),
        (
            GOOD + '\n[[alerts.routes]]\nname = "r"\nmin_urgency = "urgent"\n',
            "alerts.routes[0].min_urgency",
        ),
    ],
)
def test_broken_settings_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        config.load(write(tmp_path, text))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="file not found"):
        config.load(tmp_path / "nope.toml")


def test_no_sources_table_enables_the_public_keyless_sources(tmp_path: Path) -> None:
    text = GOOD.split("[sources.hackernews]")[0] + '[alerts.slack]\nchannel = "#a"\n'
    settings = config.load(write(tmp_path, text))
    assert set(settings.source_settings()) == {"hackernews", "reddit", "rss"}


def test_cli_prints_one_line_and_exit_code_2_for_broken_settings(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('every = "2m"', 'evry = "2m"'))
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "listenpost.cli", "--settings", str(path), "poll", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("settings error: ")
    assert "sources.hackernews.evry: unknown key (did you mean 'every'?)" in lines[0]
