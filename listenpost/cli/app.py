"""The `listenpost` Typer app: global options, and each command group registered in turn.

Each group lives in its own module; what they share (consoles, global options, one-line
failures) is in `common`.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from listenpost import logs
from listenpost.cli import cases, common, distributed, mentions, monitor, radar, report, triage

app = typer.Typer(
    help="Self-hosted social listening: hear every mention of your brand, answer what matters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    settings: Annotated[
        str | None,
        typer.Option("--settings", "-s", help="settings.toml to use (or $LISTENPOST_SETTINGS)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    common.state.settings_path = settings
    common.state.verbose = verbose
    logs.setup(os.environ, verbose)


for group in (monitor, mentions, triage, report, cases, radar, distributed):
    group.register(app)
