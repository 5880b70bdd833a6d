"""The `listenpost` Typer app: global options, and each command group registered in turn.

Each group lives in its own module; what they share (consoles, global options, one-line
failures) is in `common`.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from listenpost import logs
from listenpost.cli import (
    cases,
    common,
    distributed,
    init,
    mentions,
    monitor,
    query,
    radar,
    readable,
    report,
    triage,
)

app = typer.Typer(
    cls=readable.ReadableGroup,
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
    log_format: Annotated[
        logs.LogFormat,
        typer.Option(
            "--log-format",
            envvar="LISTENPOST_LOG_FORMAT",
            help="Logs on stderr as text (one line per event when not a terminal) or json "
            "(one object per line, for log shippers).",
        ),
    ] = logs.LogFormat.text,
) -> None:
    common.state.settings_path = settings
    common.state.verbose = verbose
    logs.setup(os.environ, verbose, log_format)


for group in (init, monitor, mentions, triage, report, cases, radar, query, distributed):
    group.register(app)
readable.apply(app)
