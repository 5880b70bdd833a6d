"""The CLI survives hostile text, bad input and odd terminals: one clear line, the right code."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fakes.hackernews import FakeHackerNews, story
from fakes.server import Response
from listenpost.cli import app
from listenpost.cli import common as cli_common
from listenpost.cli import mentions as cli_mentions
from tests.wiring.conftest import settings_text

NOW = int(time.time())
runner = CliRunner()
ENV = {"COLUMNS": "250"}


@pytest.fixture
def settings(tmp_path: Path, hn: FakeHackerNews) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(settings_text(tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}))
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def test_mentions_prints_post_text_verbatim_not_as_markup(
    settings: Path, hn: FakeHackerNews
) -> None:
    hn.items.append(story(1, NOW - 60, "Acme rocks [/] then [link=https://evil.example]x[/link]"))
    assert invoke("--settings", str(settings), "poll", "--once").exit_code == 0
    result = invoke("--settings", str(settings), "mentions")
    assert result.exit_code == 0, result.output
    assert "[/]" in result.stdout
    assert "[link=https://evil.example]x[/link]" in result.stdout


def test_mentions_never_emits_a_terminal_hyperlink(
    settings: Path, hn: FakeHackerNews, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    hn.items.append(story(1, NOW - 60, "Acme [link=https://evil.example]click[/link]"))
    assert invoke("--settings", str(settings), "poll", "--once").exit_code == 0
    buf = io.StringIO()
    monkeypatch.setattr(cli_common, "console", Console(file=buf, force_terminal=True, width=250))
    assert invoke("--settings", str(settings), "mentions").exit_code == 0
    assert "\x1b]8;" not in buf.getvalue()  # OSC 8 = a clickable link
    assert "evil.example" in buf.getvalue()


def test_poll_error_with_brackets_is_shown_not_parsed(settings: Path, hn: FakeHackerNews) -> None:
    hn.script = [Response(400, "bad request [/oops]")]
    result = invoke("--settings", str(settings), "poll", "--once")
    assert result.exit_code == 1, result.output
    assert "[/oops]" in result.stdout


def test_sources_shows_bracketed_errors_verbatim(settings: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storage import Store

    store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    try:
        store.record_error(
            "Acme", "hackernews", "bad [/oops] [link=https://e]x[/link]", datetime.now(UTC)
        )
    finally:
        store.close()
    result = invoke("--settings", str(settings), "sources")
    assert result.exit_code == 0, result.output
    assert "bad [/oops] [link=https://e]x[/link]" in result.stdout


def test_doctor_detail_is_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from listenpost import doctor
    from listenpost.config import Settings

    monkeypatch.setattr(
        doctor,
        "build_sender",
        lambda *_: (_ for _ in ()).throw(
            RuntimeError("slack said [/] and [link=https://evil]x[/link]")
        ),
    )
    settings = Settings.model_validate({"sources": {}, "storage": {"url": "sqlite://"}})
    buf = io.StringIO()
    ok = doctor.run_checks(settings, {}, Console(file=buf, width=250))
    assert not ok
    assert "slack said [/] and [link=https://evil]x[/link]" in buf.getvalue()


def test_settings_error_keeps_its_brackets(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[[brands]]\nname = "Acme"\nquery = "acme"\n[sources.hackernews]\nevery = "[/x]"\n'
    )
    result = invoke("--settings", str(path), "poll", "--once")
    assert result.exit_code == 2
    assert "'[/x]' is not a duration" in result.stderr


def test_no_brands_message_is_not_garbled(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("")
    result = invoke("--settings", str(path), "poll", "--once")
    assert result.exit_code == 2
    assert "no [[brands]] configured" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("poll", "--once", "--brand", "acme"),
        ("backfill", "--since", "1d", "--brand", "Nope"),
    ],
)
def test_unknown_brand_is_a_usage_error(settings: Path, hn: FakeHackerNews, args: tuple) -> None:
    result = invoke("--settings", str(settings), *args)
    assert result.exit_code == 2, result.output
    assert f"no brand named {args[-1]}; configured: Acme" in result.stderr
    assert not hn.searches


def test_poll_once_exits_1_when_any_source_fails(tmp_path: Path, hn: FakeHackerNews) -> None:
    from fakes.reddit import FakeReddit
    from fakes.server import FakeServer

    with FakeServer() as srv:
        reddit = FakeReddit(srv)
        path = tmp_path / "settings.toml"
        sources = {
            "hackernews": {"base_url": hn.base_url},
            "reddit": {"base_url": reddit.base_url},
        }
        path.write_text(settings_text(tmp_path / "lp.db", sources))
        hn.outage = Response.json({"message": "down", "status": 500}, 500)
        result = invoke("--settings", str(path), "poll", "--once")
    assert result.exit_code == 1, result.output
    assert "exit" in invoke("poll", "--help").stdout.lower()


def test_poll_ctrl_c_exits_130(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import listenpost.pipeline

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(listenpost.pipeline, "run_cycle", interrupted)
    result = invoke("--settings", str(settings), "poll", "--once")
    assert result.exit_code == 130


def test_runtime_build_failure_is_one_line(settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import listenpost.runtime

    def broken(*_a: object) -> None:
        raise RuntimeError("could not connect to server\nIs the server running?")

    monkeypatch.setattr(listenpost.runtime, "build", broken)
    result = invoke("--settings", str(settings), "poll", "--once")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "could not connect to server Is the server running?" in result.stderr


def test_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(
        '[storage]\nurl = "postgresql+psycopg://u@127.0.0.1:9/x"\n'
        '[[brands]]\nname = "Acme"\nquery = "acme"\n'
    )
    for args in (("poll", "--once"), ("mentions",), ("sources",)):
        result = invoke("--settings", str(path), *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
        assert "127.0.0.1" in result.stderr


def test_mentions_json_is_utf8_on_an_ascii_stdout(
    settings: Path, hn: FakeHackerNews, monkeypatch: pytest.MonkeyPatch
) -> None:
    hn.items.append(story(1, NOW - 60, "Acme is down 😡 outage"))
    assert invoke("--settings", str(settings), "poll", "--once").exit_code == 0
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    monkeypatch.setattr(cli_common.state, "settings_path", str(settings))
    cli_mentions.mentions(brand=None, limit=50, as_json=True)
    ascii_out.flush()
    rows = json.loads(raw.getvalue().decode("utf-8"))
    assert rows[0]["text"] == "Acme is down 😡 outage"


def test_log_records_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from listenpost import logs

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.setup({}, verbose=False)
        logging.getLogger("listenpost.test").warning("a log line, not table output")
        out, err = capsys.readouterr()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert "a log line" not in out
    assert "a log line" in err
