from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
