"""Pydantic's validation report turned into problems a person can act on: each names the key
(as a TOML path), says what is wrong in plain words, and gives the fix with an example.

`nme = "Firefox"` is one problem, not two: an unknown key beside a missing required key that
it resembles is a typo of it, and the message says so.
"""

from __future__ import annotations

import difflib
import tomllib
import types
from collections.abc import Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

MAX_SHOWN = 10  # problems listed; a file with more is probably not a settings file

# Examples of the right form for keys whose default says nothing (or that have none).
EXAMPLES = {
    "name": '"Acme"',
    "query": """'acme OR "acme cloud" -hiring'""",
    "channel": '"#brand-alerts"',
    "slack_channel": '"#brand-alerts"',
    "escalate_to": '"#leads"',
    "every": '"5m"',
    "max_age": '"24h"',
    "sla": '"30m"',
    "window": '"15m"',
    "base_url": '"https://example.com"',
    "url": '"https://example.com/hook"',
    "feeds": '["https://example.com/feed.xml"]',
    "start_urls": '["https://forum.example.com/c/support"]',
    "instances": '["mastodon.social"]',
    "timezone": '"Europe/Berlin"',
    "quiet_hours": '"22:00-07:00"',
    "text": '"Thanks {author}, we are on it."',
    "brands": '["Acme"]',
    "networks": '["reddit", "hackernews"]',
    "sentiments": '["negative"]',
    "min_urgency": '"high"',
    "categories": '["outage"]',
    "languages": '["en", "fr"]',
    "terms": '["outage", "#acmedown"]',
    "item": '"article.post"',
    "scopes": '["brand", "term"]',
    "sources": "[sources.hackernews]",
}
# Examples for the values of free-form tables: `topics = { sync = "..." }`.
ENTRY_EXAMPLES = {"topics": '"sync OR backup"'}
_KINDS = {  # pydantic error type -> what the key takes, in words
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}
_GENERIC = {  # an example by kind, when the key has none of its own
    "text": '"some text"',
    "a whole number": "5",
    "a number": "1.5",
    "true or false": "true",
    "a list": '["a", "b"]',
    "a table": "{ key = \"value\" }",
}
_BOUNDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """One line per problem, in file order, duplicates (one per union member) folded."""
    errors = list(exc.errors())
    located = [(_clean(model, err["loc"]), err) for err in errors]
    missing = {loc for loc, err in located if err["type"] == "missing"}
    typos: dict[tuple[Any, ...], str] = {}  # a missing key -> the unknown key that resembles it
    for loc, err in located:
        if err["type"] == "extra_forbidden" and loc:
            parent, key = loc[:-1], str(loc[-1])
            wanted = [
                str(m[-1]) for m in missing if m[:-1] == parent and (*parent, m[-1]) not in typos
            ]
            close = difflib.get_close_matches(key, wanted, n=1)
            if close:
                typos[(*parent, close[0])] = key
    # A value that fits no member of a union (`sla` takes text or a table) fails once per member.
    kinds: dict[tuple[Any, ...], list[str]] = {}
    for loc, err in located:
        if err["type"] in _KINDS:
            kinds.setdefault(loc, []).append(_KINDS[err["type"]])
    out: list[str] = []
    for loc, err in located:
        if err["type"] == "missing" and loc in typos:
            continue  # said with its typo
        text = _problem(model, loc, err, prefix, typos, kinds.get(loc, []))
        if text not in out:
            out.append(text)
    return out


def _problem(
    model: type[BaseModel],
    loc: tuple[Any, ...],
    err: Any,
    prefix: str,
    typos: dict[tuple[Any, ...], str],
    kinds: list[str],
) -> str:
    path = _path(prefix, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        meant = next((k for k, typo in typos.items() if typo == key and k[:-1] == loc[:-1]), None)
        if meant is not None:
            name = str(meant[-1])
            return (
                f"{path}: unknown key (did you mean '{name}'? it is required, "
                f"like {name} = {_example(model, meant, None)})"
            )
        known = known_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            return f"{path}: unknown key (did you mean '{close[0]}'?)"
        return f"{path}: unknown key" + (f" (allowed: {', '.join(known)})" if known else "")
    if kind == "missing":
        key = str(loc[-1]) if loc else "?"
        return f"{path}: required key is missing; add it, like {key} = {_example(model, loc, None)}"
    if kind in _KINDS:
        what = " or ".join(dict.fromkeys(kinds or [_KINDS[kind]]))
        if what == "a list" and _model_at(model, loc) is not None:
            return f"{path}: write each entry as its own [[{dotted(loc)}]] table, got {_got(err)}"
        return f"{path}: expected {what} like {_example(model, loc, what)}, got {_got(err)}"
    if kind in {"too_short", "string_too_short", "too_long", "string_too_long"}:
        ctx = err.get("ctx", {})
        if kind == "string_too_short":
            return f"{path}: must not be empty; like {_example(model, loc, 'text')}"
        if kind == "string_too_long":
            return f"{path}: at most {ctx.get('max_length')} characters, got {_got(err)}"
        if kind == "too_short":
            like = _example(model, loc, None)
            return f"{path}: needs at least {ctx.get('min_length')}, like {like}"
        return f"{path}: at most {ctx.get('max_length')} entries"
    if kind == "literal_error":
        return f"{path}: expected {err['ctx']['expected']}, got {_got(err)}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        bound = next((f"{_BOUNDS[b]} {v}" for b, v in err.get("ctx", {}).items()), "in range")
        return f"{path}: should be {bound}, got {_got(err)}"
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind in {"value_error", "assertion_error"}:
        return f"{path}: {message}"
    return f"{path}: {message[:1].lower()}{message[1:]} (got {_got(err)})"


def _got(err: Any) -> str:
    """The value found, described the way a person would: 'the number 5', 'the text "x"'."""
    value = err.get("input")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _path(prefix: str, loc: Sequence[Any]) -> str:
    loc_text = dotted(loc)
    if prefix and loc_text:
        return f"{prefix}{loc_text}" if loc_text.startswith("[") else f"{prefix}.{loc_text}"
    return prefix or loc_text or "settings"


def dotted(loc: Sequence[Any]) -> str:
    """('brands', 0, 'query') -> 'brands[0].query', the way people read TOML paths."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _clean(model: type[BaseModel], loc: Sequence[Any]) -> tuple[Any, ...]:
    """The location without pydantic's union-member and validator tags ('str', 'function-
    after[...]'), which mean nothing in a TOML file."""
    out: list[Any] = []
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        fields = getattr(current, "model_fields", None)
        if fields is not None:
            if part in fields:
                out.append(part)
                current = _inner_model(fields[part].annotation)
            elif not _is_tag(str(part)):
                out.append(part)  # an unknown key, named as written
                current = None
            continue
        if not _is_tag(str(part)):
            out.append(part)  # a key of a free-form table
    return tuple(out)


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "none", "list", "dict"}


def known_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names of the nested table at `loc`, for 'did you mean' hints."""
    current = _model_at(model, loc)
    return sorted(current.model_fields) if current is not None else []


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None:
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The settings table inside `Model`, `Model | None`, `list[Model]`, `dict[str, Model]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _example(model: type[BaseModel], loc: tuple[Any, ...], kind: str | None) -> str:
    """The right form for the key at `loc`: its default, a known example, or one by kind."""
    if loc and isinstance(loc[-1], int):  # an entry of a list: one item of the list's example
        whole = _example(model, loc[:-1], "a list")
        try:
            items = tomllib.loads(f"x = {whole}")["x"]
            return _toml(items[0]) if isinstance(items, list) and items else whole
        except tomllib.TOMLDecodeError:
            return whole
    key = str(loc[-1]) if loc else ""
    parent = _model_at(model, loc[:-1])
    field = parent.model_fields.get(key) if parent is not None else None
    if field is not None and field.default not in (None, [], {}, "") and _scalar(field.default):
        return _toml(field.default)
    if key in EXAMPLES:
        return EXAMPLES[key]
    if field is None and len(loc) >= 2 and str(loc[-2]) in ENTRY_EXAMPLES:  # topics.<name>
        return ENTRY_EXAMPLES[str(loc[-2])]
    if kind is None and field is not None:
        kind = _kind_of(field.annotation)
    return _GENERIC.get(kind or "text", '"..."')


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _kind_of(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _kind_of(args[0]) if args else "text"
    if origin is list:
        return "a list"
    if origin is dict or _inner_model(annotation) is not None:
        return "a table"
    return {int: "a whole number", float: "a number", bool: "true or false"}.get(annotation, "text")


def format_problems(where: str, found: list[str]) -> str:
    """One problem: one line. Several: a count, then each on its own line."""
    if len(found) == 1:
        return f"{where}: {found[0]}"
    shown = [f"  - {p}" for p in found[:MAX_SHOWN]]
    if len(found) > MAX_SHOWN:
        shown.append(f"  - ... and {len(found) - MAX_SHOWN} more")
    return f"{where}: {len(found)} problems:\n" + "\n".join(shown)
