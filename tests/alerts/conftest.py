from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.slack import SlackSender
from fakes.slack import FakeSlack
from storage import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'listenpost.db'}")
    yield s
    s.close()


@pytest.fixture
def sender(slack: FakeSlack) -> SlackSender:
    return SlackSender(slack.token, base_url=slack.base_url)
