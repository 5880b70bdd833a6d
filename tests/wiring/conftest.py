from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classifiers.triager import Triager
from fakes.hackernews import FakeHackerNews
from fakes.server import FakeServer
from fakes.slack import FakeSlack


@pytest.fixture(scope="session")
def triager() -> Triager:
    """The real bundled model, loaded once for the whole wiring suite."""
    return Triager()


@pytest.fixture
def hn() -> Iterator[FakeHackerNews]:
    with FakeServer() as srv:
        yield FakeHackerNews(srv)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def settings_text(db: Path, sources: dict[str, dict[str, Any]], slack_url: str = "") -> str:
    """A settings.toml for one brand, with each source pointed at a local fake."""
    lines = [
        "[storage]",
        f'url = "sqlite:///{db}"',
        "",
        "[[brands]]",
        'name = "Acme"',
        """query = '(acme OR "acme cloud" OR #acmecloud) -hiring'""",
        "",
    ]
    for name, table in sources.items():
        lines += [f"[sources.{name}]", 'every = "1m"']
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        lines.append("")
    lines += ["[alerts.slack]", 'channel = "#brand-alerts"']
    if slack_url:
        lines.append(f'base_url = "{slack_url}"')
    return "\n".join(lines) + "\n"
