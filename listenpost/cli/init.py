"""`listenpost init`: a first settings.toml from four answers (brand, query, networks, Slack
channel), asked in turn or given as flags, each checked as it is given; then the next command.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from listenpost.cli import common

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


class Invalid(ValueError):
    """An answer that cannot be used; the message says why and what would do."""


def check_brand(text: str) -> str:
    brand = text.strip()
    if not brand:
        raise Invalid("a brand name is needed, like Acme")
    return brand


def check_query(text: str) -> str:
    from core.query import QueryError, parse

    query = text.strip()
    try:
        parse(query)
    except QueryError as exc:
        raise Invalid(f"the query does not parse: {exc}") from None
    return query


def check_networks(text: str) -> list[str]:
    from listeners.registry import LISTENERS
    from listenpost.settings_template import needs_more

    names = list(dict.fromkeys(n.strip().lower() for n in re.split(r"[,\s]+", text) if n.strip()))
    if not names:
        raise Invalid(f"name at least one network: {', '.join(sorted(LISTENERS))}")
    for name in names:
        if name not in LISTENERS:
            close = difflib.get_close_matches(name, list(LISTENERS), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use {', '.join(sorted(LISTENERS))}"
            raise Invalid(f"unknown network {name!r}; {hint}")
        if missing := needs_more(name):
            raise Invalid(
                f"{name} needs {', '.join(missing)}, which init cannot guess: leave it out and "
                f"add [sources.{name}] by hand (README, Networks)"
            )
    return names


def check_channel(text: str) -> str:
    channel = text.strip()
    if not channel or any(c.isspace() for c in channel):
        raise Invalid("a Slack channel is one word, like #brand-alerts")
    if not channel.startswith("#") and not _CHANNEL_ID.fullmatch(channel):
        channel = "#" + channel
    return channel


def _answer(
    given: str | None,
    question: str,
    default: str | None,
    check: Callable[[str], object],
    flag: str,
    ask: bool,
) -> object:
    """The flag's value, or the default without asking, or asked until it checks out."""
    if given is not None or not ask:
        if given is None and default is None:
            raise common.error(f"{flag} is needed with --yes")
        try:
            return check(given if given is not None else default or "")
        except Invalid as exc:
            raise common.error(f"{flag}: {exc}") from None
    while True:
        text = typer.prompt(question, default=default)
        try:
            return check(text)
        except Invalid as exc:
            common.err_console.print(
                f"{exc}; try again", style="red", highlight=False, markup=False
            )


def _default_query(brand: str) -> str:
    word = brand.lower()
    return f'"{word}"' if " " in word else word


def init(
    brand: Annotated[str | None, typer.Option(help="The brand to listen for.")] = None,
    query: Annotated[
        str | None, typer.Option(help='What to match, e.g. \'acme OR "acme cloud" -hiring\'.')
    ] = None,
    networks: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. hackernews,reddit,rss.")
    ] = None,
    slack_channel: Annotated[
        str | None, typer.Option(help="Where alerts go, e.g. #brand-alerts.")
    ] = None,
    path: Annotated[Path, typer.Option(help="The file to write.")] = Path("settings.toml"),
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Ask nothing: flags, else the defaults.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented settings.toml for your brand, then say what to run next."""
    from listenpost.settings_template import CREDENTIALS, DEFAULT_NETWORKS, render

    if path.exists() and not force:
        raise common.error(f"{path} exists; pass --force to overwrite it", 1)
    ask = not yes
    if ask:
        common.err_console.print(
            "Four questions for a first settings.toml; Enter takes the [default].",
            markup=False, highlight=False,
        )  # fmt: skip
    name = str(_answer(brand, "Brand name", None, check_brand, "--brand", ask))
    matcher = str(_answer(query, "Query", _default_query(name), check_query, "--query", ask))
    chosen = _answer(
        networks, "Networks", ",".join(DEFAULT_NETWORKS), check_networks, "--networks", ask
    )
    channel = str(
        _answer(slack_channel, "Slack channel", "#brand-alerts", check_channel, "--slack-channel",
                ask)
    )  # fmt: skip
    assert isinstance(chosen, list)
    text = render(name, matcher, chosen, channel)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise common.fail("cannot write", f"{path}: {exc.strerror or exc}", 1) from None
    _check_written(path)
    here = path.absolute() == Path("settings.toml").absolute()
    settings = "" if here else f" --settings {path}"
    lines = [
        f"wrote {path}: {name} on {', '.join(chosen)}, alerts to {channel}",
        *(f"{n}: {CREDENTIALS[n]}" for n in chosen if CREDENTIALS.get(n, "").startswith("req")),
        "alerts print here until SLACK_BOT_TOKEN=xoxb-... is set in the environment",
        f"next: listenpost{settings} doctor   (checks every part, one line each)",
        f"then: listenpost{settings} run",
    ]
    for line in lines:
        common.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _check_written(path: Path) -> None:
    """The file must load as written: a template bug would otherwise show up at `run`."""
    from listenpost import config

    try:
        config.load(path)
    except config.SettingsError as exc:
        path.unlink(missing_ok=True)
        raise common.fail("settings error", exc) from None


def register(app: typer.Typer) -> None:
    app.command()(init)
