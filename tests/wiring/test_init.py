"""`listenpost init`: four answers (flags or questions), each checked as given, a commented
settings.toml that loads, never an overwrite without --force, and the next command."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from listenpost import config
from listenpost.cli import app

runner = CliRunner()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def init(*args: str, answers: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["init", *args], input=answers, env={"COLUMNS": "80"})
    return result.exit_code, result.output


def test_flags_write_a_commented_settings_file_that_loads(here: Path) -> None:
    code, out = init(
        "--yes", "--brand", "Acme Cloud", "--query", 'acme OR "acme cloud" -hiring',
        "--networks", "hackernews, x", "--slack-channel", "brand-alerts",
    )  # fmt: skip
    assert code == 0, out
    path = here / "settings.toml"
    text = path.read_text()
    assert text.startswith("# listenpost settings, written by `listenpost init`")
    data = tomllib.loads(text)
    assert data["brands"] == [{"name": "Acme Cloud", "query": 'acme OR "acme cloud" -hiring'}]
    assert sorted(data["sources"]) == ["hackernews", "x"]
    assert data["alerts"]["slack"]["channel"] == "#brand-alerts"
    settings = config.load(path)
    assert settings.brands[0].parsed.words()
    lines = out.splitlines()
    assert "x: required: X_BEARER_TOKEN" in out
    assert lines[-2:] == [
        "next: listenpost doctor   (checks every part, one line each)",
        "then: listenpost run",
    ]


def test_yes_takes_the_defaults_and_another_path_is_named_in_the_next_command(
    here: Path,
) -> None:
    code, out = init("--yes", "--brand", "Acme", "--path", "team/acme.toml")
    assert code == 0, out
    settings = config.load(here / "team" / "acme.toml")
    assert settings.brands[0].query == "acme"
    assert sorted(settings.sources) == ["hackernews", "reddit", "rss"]
    assert settings.alerts.slack.channel == "#brand-alerts"
    assert "then: listenpost --settings team/acme.toml run" in out
    assert not (here / "settings.toml").exists()


def test_questions_re_ask_until_each_answer_checks_out(here: Path) -> None:
    answers = "\n".join(
        [
            "",  # no brand: asked again
            "Acme",
            "(acme",  # does not parse: asked again
            "acme -hiring",
            "hackernews,redit",  # a typo: asked again, with the fix
            "hackernews,web",  # web needs its sites: asked again
            "",  # the default networks
            "#acme-alerts",
        ]
    )
    code, out = init(answers=answers + "\n")
    assert code == 0, out
    assert out.count("Brand name:") == 2
    assert "the query does not parse: unclosed '('" in out
    assert "unknown network 'redit'; did you mean 'reddit'?" in out
    assert "web needs sites" in out
    settings = config.load(here / "settings.toml")
    assert settings.brands[0].query == "acme -hiring"
    assert sorted(settings.sources) == ["hackernews", "reddit", "rss"]
    assert settings.alerts.slack.channel == "#acme-alerts"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--query", "(acme"], "--query: the query does not parse: unclosed '('"),
        (["--networks", "myspace"], "--networks: unknown network 'myspace'"),
        (["--slack-channel", "brand alerts"], "--slack-channel: a Slack channel is one word"),
    ],
)
def test_a_bad_flag_fails_in_one_line_without_writing(
    here: Path, args: list[str], expected: str
) -> None:
    code, out = init("--yes", "--brand", "Acme", *args)
    assert code == 2
    assert out.strip().startswith(expected) and len(out.strip().splitlines()) == 1
    assert not (here / "settings.toml").exists()


def test_yes_without_a_brand_says_what_is_missing(here: Path) -> None:
    code, out = init("--yes")
    assert (code, out.strip()) == (2, "--brand is needed with --yes")


def test_an_existing_file_is_never_overwritten_without_force(here: Path) -> None:
    path = here / "settings.toml"
    path.write_text("# mine\n")
    code, out = init("--yes", "--brand", "Acme")
    assert code == 1 and "settings.toml exists; pass --force to overwrite it" in out
    assert path.read_text() == "# mine\n"
    code, out = init("--yes", "--brand", "Acme", "--force")
    assert code == 0, out
    assert config.load(path).brands[0].name == "Acme"


def test_names_with_quotes_are_written_as_valid_toml(here: Path) -> None:
    code, out = init("--yes", "--brand", "O'Reilly \"Media\"", "--query", "oreilly")
    assert code == 0, out
    assert config.load(here / "settings.toml").brands[0].name == "O'Reilly \"Media\""
