"""Settings mistakes caught at load time, each as one line naming the key and the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from listenpost.config import SettingsError, load

BRAND = '[[brands]]\nname = "Acme"\nquery = "acme"\n'


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding=encoding)
    return path


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SettingsError) as info:
        load(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_alerts_max_age_defaults_to_a_day(tmp_path: Path) -> None:
    settings = load(write(tmp_path, BRAND))
    assert settings.alerts.max_age == "24h"
    assert settings.alerts.max_age_delta == timedelta(hours=24)


def test_alerts_max_age_is_read_and_validated(tmp_path: Path) -> None:
    settings = load(write(tmp_path, BRAND + '[alerts]\nmax_age = "2d"\n'))
    assert settings.alerts.max_age_delta == timedelta(days=2)
    msg = error(tmp_path, BRAND + '[alerts]\nmax_age = "soon"\n')
    assert "alerts.max_age" in msg and "not a duration" in msg


def test_route_with_unknown_brand_names_route_and_suggests(tmp_path: Path) -> None:
    msg = error(tmp_path, BRAND + '[[alerts.routes]]\nname = "ops"\nbrands = ["acme"]\n')
    assert "alerts.routes[0]" in msg and "'ops'" in msg and "'acme'" in msg
    assert "did you mean 'Acme'" in msg


def test_route_with_unknown_network_names_route_and_suggests(tmp_path: Path) -> None:
    msg = error(tmp_path, BRAND + '[[alerts.routes]]\nname = "ops"\nnetworks = ["redit"]\n')
    assert "'ops'" in msg and "'redit'" in msg and "did you mean 'reddit'" in msg


def test_route_with_known_names_loads(tmp_path: Path) -> None:
    text = BRAND + '[[alerts.routes]]\nname = "ops"\nbrands = ["Acme"]\nnetworks = ["x"]\n'
    assert load(write(tmp_path, text)).alerts.routes[0].networks == ["x"]


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("notaurl", "not a database URL"),
        ("mysql://u@h/db", "not supported"),
        ("oracle+cx_oracle://u@h/db", "not supported"),
    ],
)
def test_storage_url_is_checked_at_load(tmp_path: Path, url: str, expect: str) -> None:
    msg = error(tmp_path, f'[storage]\nurl = "{url}"\n' + BRAND)
    assert "storage.url" in msg and expect in msg and "sqlite:///" in msg


@pytest.mark.parametrize(
    "url", ["sqlite:///x.db", "sqlite://", "postgresql+psycopg://u@h/db", "postgresql://h/db"]
)
def test_supported_storage_urls_load(tmp_path: Path, url: str) -> None:
    assert load(write(tmp_path, f'[storage]\nurl = "{url}"\n' + BRAND)).storage.url == url


def test_settings_file_with_a_bom_loads(tmp_path: Path) -> None:
    settings = load(write(tmp_path, "\ufeff" + BRAND, encoding="utf-8"))
    assert settings.brands[0].name == "Acme"


@pytest.mark.parametrize("channel", ["", "   "])
def test_empty_slack_channel_is_rejected(tmp_path: Path, channel: str) -> None:
    msg = error(tmp_path, BRAND + f'[alerts.slack]\nchannel = "{channel}"\n')
    assert "alerts.slack.channel" in msg


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com", "http://", "example.com"])
def test_source_base_url_must_be_http(tmp_path: Path, url: str) -> None:
    msg = error(tmp_path, BRAND + f'[sources.hackernews]\nbase_url = "{url}"\n')
    assert "sources.hackernews.base_url" in msg and "http(s)" in msg


def test_source_http_base_url_loads(tmp_path: Path) -> None:
    text = BRAND + '[sources.hackernews]\nbase_url = "http://127.0.0.1:9/api"\n'
    assert "hackernews" in load(write(tmp_path, text)).source_settings()


def test_deeply_nested_query_is_a_settings_error(tmp_path: Path) -> None:
    query = "(" * 5000 + "acme" + ")" * 5000
    msg = error(tmp_path, f'[[brands]]\nname = "Acme"\nquery = "{query}"\n')
    assert "nests too deeply" in msg
