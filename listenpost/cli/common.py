"""What every `listenpost` command shares: the consoles, the global options, and the one-line
failures. Command modules import this; it imports none of them, so the CLI has no circle."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from core.tables import Cell, Column, fit

if TYPE_CHECKING:  # the heavy modules load only when a command needs them: --help stays fast
    from listenpost.config import Settings, SettingsOrigin
    from listenpost.runtime import Runtime
    from storage import Store

log = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)


class _State:
    settings_path: str | None = None
    verbose: bool = False


state = _State()


def table(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], title: str | None = None
) -> Table:
    """A table fitted to this terminal (80 columns when piped), text wrapped at words."""
    return fit(columns, rows, console.width, title)


def at_least(low: float) -> Callable[[float | None], float | None]:
    """An option callback for a lower bound, said in words ('at least 1'), not as 'x>=1'."""

    def check(value: float | None) -> float | None:
        if value is not None and value < low:
            raise typer.BadParameter(f"must be at least {low:g}, got {value:g}")
        return value

    return check


def fail(label: str, message: object, code: int = 2) -> typer.Exit:
    """Print one red line on stderr, never wrapped (a URL or a command in it stays whole); the
    label and message are plain text, never Rich markup."""
    err_console.print(
        f"[bold red]{escape(label)}:[/] {escape(str(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


def error(message: object, code: int = 2) -> typer.Exit:
    err_console.print(Text(str(message), style="red"), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_origin() -> SettingsOrigin:
    from listenpost import config

    return config.locate(state.settings_path, os.environ)


def load_settings() -> Settings:
    from listenpost import config

    origin = settings_origin()
    log.debug("settings: %s", origin.text)
    try:
        return config.load(origin.path)
    except config.SettingsError as exc:
        raise fail("settings error", exc) from None


def open_runtime(settings: Settings) -> Runtime:
    from listenpost.config import SettingsError
    from listenpost.runtime import build

    try:
        return build(settings, os.environ)
    except SettingsError as exc:
        raise fail("settings error", exc) from None
    except Exception as exc:  # a bad or unreachable database, a missing folder: one line, no trace
        raise fail("cannot start", one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    """An exception as one line: SQLAlchemy's multi-line messages and their doc links folded."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = " ".join(ln for ln in lines if not ln.startswith("(Background on this error"))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_store(settings: Settings, read_only: bool = False) -> Store:
    """The store; a command that only reads never creates a database where the user stands."""
    from storage import Store
    from storage.db import sqlite_path

    path = sqlite_path(settings.storage.url)
    if read_only and path is not None and not path.exists():
        raise error(
            f"no database at {path.absolute()} yet; run `listenpost run` or "
            "`listenpost poll --once` first",
            1,
        )
    try:
        return Store(settings.storage.url)
    except Exception as exc:
        raise fail("cannot open the database", one_line(exc)) from None


def need_brands(settings: Settings) -> None:
    if not settings.brands:
        raise fail(
            "settings error",
            "no [[brands]] configured; add one to settings.toml "
            "(see the example in the repository) or pass --settings FILE",
        )


def check_brands(settings: Settings, wanted: list[str] | None) -> None:
    configured = [b.name for b in settings.brands]
    unknown = [b for b in dict.fromkeys(wanted or ()) if b not in configured]
    if unknown:
        raise error(f"no brand named {', '.join(unknown)}; configured: {', '.join(configured)}")


def check_sources(rt: Runtime, wanted: list[str] | None) -> None:
    unknown = sorted(set(wanted or ()) - set(rt.listeners))
    if unknown:
        enabled = ", ".join(rt.listeners) or "none"
        raise error(f"no enabled source named {', '.join(unknown)}; enabled: {enabled}")


def write_utf8(text: str) -> None:
    """JSON is UTF-8 whatever the locale says: an ASCII or cp1252 stdout must not crash it."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    # A lone surrogate becomes a \uXXXX escape, which is still valid JSON inside a string.
    buffer.write(text.encode("utf-8", "backslashreplace"))
    buffer.flush()


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
