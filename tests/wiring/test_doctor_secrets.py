"""`doctor` says what failed without showing the credentials an error body echoes back
(issue 15, item 8): the same text `poll`, `sources` and the database already scrub."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from typer.testing import CliRunner

from fakes.reddit import FakeReddit
from fakes.server import FakeServer
from listenpost.cli import app
from tests.wiring.conftest import settings_text

CLIENT_ID = "lp-app-id_42"
CLIENT_SECRET = "s3cr3t/with+plus=and*star"
ENV = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": CLIENT_SECRET, "COLUMNS": "250"}
# Every form the fake token endpoint echoes: the pair, the Basic header, the secret URL-encoded.
FORMS = [
    CLIENT_ID,
    CLIENT_SECRET,
    base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
    quote_plus(CLIENT_SECRET),
]
runner = CliRunner()


@pytest.fixture
def echoing(tmp_path: Path) -> Iterator[tuple[FakeReddit, Path]]:
    with FakeServer() as srv:
        reddit = FakeReddit(srv, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        reddit.echo_credentials = True
        path = tmp_path / "settings.toml"
        path.write_text(
            settings_text(tmp_path / "lp.db", {"reddit": {"base_url": reddit.base_url}})
        )
        yield reddit, path


def leaked(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def test_doctor_names_the_refusal_without_the_echoed_credentials(
    echoing: tuple[FakeReddit, Path],
) -> None:
    reddit, path = echoing
    result = runner.invoke(app, ["--settings", str(path), "doctor"], env=ENV)

    assert result.exit_code == 1
    assert len(reddit.server.requests) >= 1  # the endpoint was asked and answered
    assert "✗  source reddit" in result.output
    assert "reddit refused REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET" in result.output
    assert "invalid_client" in result.output and "basic=***" in result.output
    assert leaked(result.output) == []


def test_poll_sources_and_the_database_scrub_the_same_text(
    echoing: tuple[FakeReddit, Path], tmp_path: Path
) -> None:
    _, path = echoing
    poll = runner.invoke(app, ["--settings", str(path), "poll", "--once"], env=ENV)
    sources = runner.invoke(app, ["--settings", str(path), "sources"], env=ENV)
    with sqlite3.connect(tmp_path / "lp.db") as db:
        stored = "\n".join(str(row) for row in db.execute("SELECT * FROM source_state"))

    assert "invalid_client" in stored
    for text in (poll.output, sources.output, stored):
        assert leaked(text) == []
