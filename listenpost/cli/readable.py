"""Help that reads like any Unix tool's: a flag shows no type (`--once`, not `--once <bool>`),
an option shows what it takes in words (`--since DURATION`, `--limit N`), never a Python type.

Typer derives the shown type from annotations; these command classes set each parameter's
metavar once, when the command is built, so every command module keeps plain annotations.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, get_args

import typer
from typer.core import TyperCommand, TyperGroup

# Options whose meaning says more than their type.
BY_NAME = {
    "--settings": "FILE",
    "--since": "DURATION",
    "--until": "DURATION",
    "--brand": "NAME",
    "--source": "NAME",
    "--interval": "SECONDS",
    "--limit": "N",
    "--html": "FILE",
    "--data": "DIR",
    "--out": "DIR",
    "--teacher": "DIR",
    "--by": "NAME",
    "--path": "FILE",
    "--query": "QUERY",
    "--networks": "NAMES",
    "--slack-channel": "CHANNEL",
}
BY_TYPE = {str: "TEXT", int: "N", float: "NUMBER", Path: "PATH"}


def _readable(params: list[Any]) -> None:
    for param in params:
        if getattr(param, "is_flag", False):
            param.metavar = ""  # a flag takes no value: show none
        elif param.metavar is None:
            param.metavar = _metavar(param)
        if param.param_type_name == "argument" and hasattr(param, "display_type_rich"):
            # An argument's name is its metavar already: no '<path>' beside it.
            param.display_type_rich = lambda ctx: None


def _metavar(param: Any) -> str:
    names = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    if names and names[0] in BY_NAME:
        return BY_NAME[names[0]]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    inner = get_args(annotation)
    annotation = inner[0] if inner else annotation  # list[str] -> str (the option repeats)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(member.value) for member in annotation)
    if param.param_type_name == "argument":
        return param.name.upper()
    return BY_TYPE.get(annotation, "TEXT")


class _Readable:
    """Mixed into Typer's command and group classes, ahead of them."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _readable(self.params)

    def get_help_option(self, ctx: typer.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class ReadableCommand(_Readable, TyperCommand):
    pass


class ReadableGroup(_Readable, TyperGroup):
    pass


def apply(app: typer.Typer) -> None:
    """Every command of `app` registered so far reads this way (the app itself: pass
    `cls=ReadableGroup` to `typer.Typer`)."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # Typer fills in its own class when none is given
            info.cls = ReadableCommand
    for group in app.registered_groups:  # `listenpost query explain|test`, and the like
        if group.typer_instance is not None:
            group.typer_instance.info.cls = ReadableGroup
            apply(group.typer_instance)
