"""Logging set up once, with every secret the process knows about scrubbed from every record
(the filter is core/secrets.py, which layers below the wiring use on what they store).

Three shapes, one event each: rich, coloured lines for a person at a terminal; plain lines
for a file or a service (one event per line, an ISO-8601 UTC stamp first, never wrapped, so
grep and `journalctl` see whole URLs); and JSON lines for log shippers (`--log-format json`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from core.secrets import RedactSecrets, secrets_from

# What every LogRecord carries; anything else on a record came from `extra=` and is shown.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def setup(
    env: Mapping[str, str], verbose: bool = False, fmt: LogFormat = LogFormat.text
) -> None:
    """Route all logging to stderr (stdout is for tables and JSON), with the redaction filter
    on the handler."""
    redactor = RedactSecrets(secrets_from(env))
    handler: logging.Handler
    if fmt is LogFormat.json:
        handler = _StderrHandler()
        handler.setFormatter(JsonLines(redactor))
    elif sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=True),
            show_path=False,
            rich_tracebacks=False,
            markup=False,
            log_time_format="%H:%M:%S",
        )
    else:
        handler = _StderrHandler()
        handler.setFormatter(PlainLines(redactor))
    handler.addFilter(redactor)
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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when the record is emitted (tests swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def utc_stamp(record: logging.LogRecord) -> str:
    """'2026-12-07T03:59:58.123Z': sorts as text, reads the same in every locale and zone."""
    when = datetime.fromtimestamp(record.created, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _one_line(text: str) -> str:
    return text.replace("\r", "").replace("\n", "\\n")


class _Lines(logging.Formatter):
    """The handler's filter has already scrubbed the message and traceback; values passed as
    `extra=` are scrubbed here with the same secrets."""

    def __init__(self, redactor: RedactSecrets) -> None:
        super().__init__()
        self.redactor = redactor

    def extras(self, record: logging.LogRecord) -> dict[str, Any]:
        return {
            key: value
            if isinstance(value, int | float | bool) or value is None
            else self.redactor.redact(str(value))
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        }


class PlainLines(_Lines):
    """`<ISO UTC> <LEVEL> <logger>: <message> [key=value...]`, a traceback on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{utc_stamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if extras := self.extras(record):
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if exc := _exception(record):
            text += f" | {exc}"
        return _one_line(text)


class JsonLines(_Lines):
    """One JSON object per line: ts, level, logger, message, then any extras and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": utc_stamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in self.extras(record).items():
            event.setdefault(key, value)
        if exc := _exception(record):
            event["exc"] = exc
        return json.dumps(event, ensure_ascii=False, default=str)


def _exception(record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    return record.exc_text or None
