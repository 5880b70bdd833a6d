"""The `[radar]` table: defaults that work, and one clear line for each mistake."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from listenpost import config


def load(tmp_path: Path, radar: str) -> config.Settings:
    path = tmp_path / "settings.toml"
    path.write_text(f'[[brands]]\nname = "Acme"\nquery = "acme"\n\n[radar]\n{radar}\n')
    return config.load(path)


def test_defaults_watch_brand_categories_and_terms_every_quarter_hour(tmp_path: Path) -> None:
    radar = load(tmp_path, "").radar
    assert radar.enabled and radar.scopes == ["brand", "category", "term"]
    params = radar.params()
    assert params.window == timedelta(minutes=15) and params.long_windows == 4
    assert params.confirm == 2 and params.cooldown == timedelta(hours=6)


def test_settings_reach_the_detector(tmp_path: Path) -> None:
    radar = load(
        tmp_path,
        'window = "5m"\nsensitivity = "high"\nmin_count = 12\nconfirm = 3\ncooldown = "1h"\n'
        'history_weeks = 6\nterms = ["#acmedown", "\\"acme cloud\\""]\nchannel = "#crisis"',
    ).radar
    params = radar.params()
    assert params.window == timedelta(minutes=5) and params.long_windows == 12
    assert params.alpha == 1e-3 and params.min_ratio == 1.5
    assert (params.min_count, params.confirm, params.history_weeks) == (12, 3, 6)
    assert params.cooldown == timedelta(hours=1)
    assert radar.channel == "#crisis"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('window = "7m"', "radar.window: '7m' must divide an hour evenly"),
        ('sensitivity = "paranoid"', "radar.sensitivity: unknown sensitivity 'paranoid'"),
        ('categories = ["outages"]', "radar.categories: unknown category 'outages'"),
        ('terms = ["(acme"]', "radar.terms: term '(acme' does not parse"),
        ('scopes = ["brand", "author"]', "radar.scopes[1]"),
        ("confirm = 0", "radar.confirm"),
        ('cooldown = "soon"', "radar.cooldown: 'soon' is not a duration"),
        ("sensitivty = 'low'", "radar.sensitivty: unknown key (did you mean 'sensitivity'?)"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(config.SettingsError) as err:
        load(tmp_path, line)
    assert message in str(err.value)
