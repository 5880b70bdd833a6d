from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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
