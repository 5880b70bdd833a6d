"""Logging set up once, with every secret the process knows about scrubbed from every record
(the filter is core/secrets.py, which layers below the wiring use on what they store)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from rich.console import Console
from rich.logging import RichHandler

from core.secrets import RedactSecrets, secrets_from


def setup(env: Mapping[str, str], verbose: bool = False) -> None:
    """Route all logging through rich on stderr (stdout is for tables and JSON), with the
    redaction filter on the handler."""
    handler = RichHandler(
        console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False
    )
    handler.addFilter(RedactSecrets(secrets_from(env)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    noisy = ("httpx", "httpcore", "apscheduler", "urllib3", "filelock", "transformers", "alembic")
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" is coalescing doing its job when a
    # poll outlasts its interval, not something to act on.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
