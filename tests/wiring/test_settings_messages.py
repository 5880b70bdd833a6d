"""Settings mistakes read like a person wrote them: every problem at once, each with its fix
and an example; and no settings text, however broken or hostile, gets past `config.load` as
anything but a SettingsError (property-based: a few hundred random and mutated files)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from listeners import registry
from listenpost import config
from listenpost.cli import app

ROOT = Path(__file__).resolve().parents[2]
BRAND = '[[brands]]\nname = "Acme"\nquery = "acme"\n'


def problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    with pytest.raises(config.SettingsError) as info:
        config.load(path)
    return str(info.value).removeprefix(f"{path}: ")


def test_a_misspelt_required_key_says_which_key_it_meant(tmp_path: Path) -> None:
    said = problem(tmp_path, '[[brands]]\nnme = "Firefox"\nquery = "firefox"\n')
    assert said == (
        """brands[0].nme: unknown key (did you mean 'name'? it is required, like name = "Acme")"""
    )


def test_a_wrong_type_reads_like_a_person_wrote_it(tmp_path: Path) -> None:
    said = problem(tmp_path, '[[brands]]\nname = 5\nquery = "acme"\n')
    assert said == 'brands[0].name: expected text like "Acme", got the number 5'
    said = problem(tmp_path, BRAND + "[sources.hackernews]\nevery = 5\n")
    assert said == 'sources.hackernews.every: expected text like "5m", got the number 5'
    said = problem(tmp_path, BRAND + '[alerts.fatigue]\nper_second = "fast"\n')
    assert said == "alerts.fatigue.per_second: expected a number like 1.0, got the text 'fast'"


def test_every_problem_is_listed_each_with_its_fix(tmp_path: Path) -> None:
    text = (
        '[[brands]]\nnme = "Firefox"\nquery = "firefox"\n'
        "[alerts]\nmax_age = 3\n"
        '[sources.hackernews]\nevry = "5m"\n'
        '[[alerts.routes]]\nname = "r"\nmin_reach = -1\n'
    )
    said = problem(tmp_path, text)
    lines = said.splitlines()
    assert lines[0] == "4 problems:"
    assert sorted(lines[1:]) == sorted(
        [
            """  - brands[0].nme: unknown key (did you mean 'name'? it is required, like name = "Acme")""",  # noqa: E501
            '  - alerts.max_age: expected text like "24h", got the number 3',
            "  - alerts.routes[0].min_reach: should be at least 0, got the number -1",
            "  - sources.hackernews.evry: unknown key (did you mean 'every'?)",
        ]
    )


def test_a_missing_required_key_shows_an_example(tmp_path: Path) -> None:
    said = problem(tmp_path, '[[brands]]\nname = "Acme"\n')
    assert said == (
        """brands[0].query: required key is missing; add it, like query = 'acme OR "acme cloud" -hiring'"""  # noqa: E501
    )


def test_the_cli_prints_the_list_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[[brands]]\nname = 5\n[alerts]\nmax_age = "soon"\n')
    result = CliRunner().invoke(app, ["--settings", str(path), "doctor"], env={"COLUMNS": "80"})
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0] == f"settings error: {path}: 3 problems:"
    assert len(lines) == 4 and all(line.startswith("  - ") for line in lines[1:])
    assert "Traceback" not in result.output


# ---- issue 15, item 7: settings that crashed with a traceback -------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sources.hackernews]\nevery = "99999999999d"\n', "sources.hackernews.every: "),
        ('[alerts]\nmax_age = "99999999999d"\n', "alerts.max_age: "),
        ('[[alerts.routes]]\nname = "r"\nsla = "99999999999d"\n', "alerts.routes[0].sla: "),
        ('[[alerts.routes]]\nname = "r"\nsla = { dm = "99999999999d" }\n', "sla.dm"),
        ('[radar]\nwindow = "99999999999d"\n', "radar.window: "),
        ('[radar]\ncooldown = "99999999999d"\n', "radar.cooldown: "),
        ('[reports]\ndelay = "99999999999d"\n', "reports.delay: "),
        ('[alerts.fatigue]\ngroup_window = "99999999999d"\n', "alerts.fatigue.group_window: "),
    ],
)
def test_a_duration_too_long_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    said = problem(tmp_path, BRAND + text)
    assert expected in said and "longer than 3650 days" in said and "\n" not in said


@pytest.mark.parametrize(
    "text",
    [
        '[[alerts.routes]]\nname = "r"\ntimezone = "Europe"\n',
        '[[alerts.digests]]\nchannel = "#d"\ntimezone = "Europe"\n',
    ],
)
def test_a_region_is_not_a_time_zone(tmp_path: Path, text: str) -> None:
    assert "timezone 'Europe': not an IANA time zone, like Europe/Berlin" in problem(
        tmp_path, BRAND + text
    )


@pytest.mark.parametrize("where", ["x = ", "[sources.hackernews]\nx = ", "[alerts]\nmax_age = "])
def test_a_thousand_deep_array_is_one_line(tmp_path: Path, where: str) -> None:
    said = problem(tmp_path, BRAND + where + "[" * 1000 + "]" * 1000 + "\n")
    assert said == "arrays or tables nest too deeply"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[alerts.slack]\nbase_url = "file:///etc/passwd"\n', "alerts.slack.base_url"),
        ('[sources.reddit]\nbase_url = "file:///etc/passwd"\n', "sources.reddit.base_url"),
        ('[sources.rss]\nfeeds = ["file:///etc/passwd"]\n', "sources.rss.feeds"),
        (
            '[[alerts.routes]]\nname = "r"\ntarget = "webhook"\n'
            '[alerts.routes.webhook]\nurl = "file:///etc/passwd"\n',
            "alerts.routes[0].webhook.url",
        ),
    ],
)
def test_url_keys_take_only_http_urls(tmp_path: Path, text: str, key: str) -> None:
    said = problem(tmp_path, BRAND + text)
    assert said.startswith(key) and "http(s)" in said


# ---- property-based: only SettingsError, whatever the text -----------------------------------


def _keys(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every key any settings table knows, so random files hit real validators."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    found = set(model.model_fields)
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found |= _keys(annotation, seen)
            stack.extend(getattr(annotation, "__args__", ()))
    return found


KEYS = sorted(
    _keys(config.Settings)
    | set(registry.LISTENERS)
    | {k for name in registry.LISTENERS for k in registry.load(name).Settings.model_fields}
)
SHIPPED = tomllib.loads((ROOT / "settings.toml").read_text())

scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "5m", "99999999999d", "3650d", "0s", "-1h", "9" * 60 + "d", "Europe", "Europe/Berlin",
            "../../etc/passwd", "file:///etc/passwd", "http://127.0.0.1:9", "https://", "http://[::1",
            "sqlite:///x.db", "postgresql://h/db", "mysql://h/db", "#brand-alerts", "<!channel>",
            "22:00-07:00", "25:99-00:00", "acme OR (", '"acme', "negative", "critical", "daily",
            "weekly", "en", "outage", "http", "socket", "webhook", "zendesk", "{author}", "{x",
        ]
    ),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string, or a TOML error
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml(document: dict[str, Any]) -> str:
    return "".join(f"{_key(k)} = {_toml_value(v)}\n" for k, v in document.items())


def _only_settings_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config.load(path)
    except config.SettingsError as exc:
        assert str(exc).strip(), "an empty message"


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The shipped settings with a few keys replaced, added or dropped, anywhere in the tree."""
    document: dict[str, Any] = json.loads(json.dumps(SHIPPED))
    for _ in range(draw(st.integers(1, 4))):
        node: Any = document
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            children = list(node) if isinstance(node, dict) else list(range(len(node)))
            child = draw(st.sampled_from(children))
            if not isinstance(node[child], dict | list):
                break
            node = node[child]
        if isinstance(node, dict):
            key = draw(st.sampled_from(KEYS) | st.sampled_from(sorted(node) or ["name"]))
            if draw(st.booleans()) or key not in node:
                node[key] = draw(values)
            else:
                del node[key]
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(values)
    return document


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(document=mutated())
def test_mutated_settings_fail_only_with_a_settings_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    _only_settings_errors(tmp_path, _toml(document))


@FUZZ
@given(document=st.dictionaries(st.sampled_from(KEYS), values, max_size=5))
def test_random_settings_fail_only_with_a_settings_error(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    _only_settings_errors(tmp_path, _toml(document))


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_the_shipped_file_with_random_edits_fails_only_with_a_settings_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    text = (ROOT / "settings.toml").read_text()
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 3))
        insert = data.draw(st.text(alphabet='[]{}="#\\\n ,.0123456789dmhs', max_size=6))
        text = text[:at] + insert + text[at + cut :]
    _only_settings_errors(tmp_path, text)
