"""Every registered network names itself, and looking a name up loads no listener early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from listeners import registry


@pytest.mark.parametrize("network", sorted(registry.LISTENERS))
def test_every_registered_network_has_a_display_name(network: str) -> None:
    listener = registry.load(network)
    assert "display_name" in vars(listener), f"{listener.__name__} names no display_name"
    assert listener.display_name.strip()
    assert registry.display_name(network) == listener.display_name


def test_a_network_no_longer_registered_still_reads_as_a_name() -> None:
    assert registry.display_name("old_forum") == "Old Forum"


def test_importing_alert_rendering_loads_no_listener() -> None:
    probe = (
        "import sys, alerts.render; "
        "print(sorted(m for m in sys.modules if m.startswith('listeners.') "
        "and m not in ('listeners.registry', 'listeners.errors')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"
