"""A runtime built from a real settings.toml, with no listeners: hand-off tests start at the
stored, triaged mention and end at a local receiver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from listenpost.config import load
from listenpost.runtime import Runtime, build

Build = Callable[[str, dict[str, str]], Runtime]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Build]:
    built: list[Runtime] = []

    def make(extra: str, env: dict[str, str]) -> Runtime:
        settings = tmp_path / "settings.toml"
        settings.write_text(
            f'[storage]\nurl = "sqlite:///{tmp_path / "lp.db"}"\n\n'
            '[[brands]]\nname = "Acme"\nquery = "acme"\n\n[sources]\n\n' + extra
        )
        rt = build(load(settings), env)
        built.append(rt)
        return rt

    yield make
    for rt in built:
        rt.close()
