"""Language per mention, offline, and routes that send each language to its own team."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from alerts.routes import Route, decide
from classifiers.language import LanguageDetector, normalise
from classifiers.triager import Triager
from core.triage import TriageInput
from listenpost.config import SettingsError, load
from listenpost.runtime import build_routes
from tests.alerts.factories import stored, triage
from tests.classifiers.test_triage_rules import FixedModel

DETECTOR = LanguageDetector()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Acme is down again and support is not answering", "en"),
        ("Acme est en panne depuis ce matin, aucune réponse du support", "fr"),
        ("Die Acme App stürzt ständig ab, das ist wirklich ärgerlich", "de"),
        ("¿Por qué no funciona la aplicación de Acme desde ayer?", "es"),
        ("Acmeのアプリが朝から動かない", "ja"),
    ],
)
def test_detects_the_language_of_a_post(text: str, lang: str) -> None:
    assert DETECTOR.detect(text) == lang


@pytest.mark.parametrize("text", ["lol", "acme", "@acme https://t.co/abcdef #acme", "👍👍"])
def test_says_nothing_rather_than_guess(text: str) -> None:
    assert DETECTOR.detect(text) is None


def test_the_networks_own_language_wins_and_is_normalised() -> None:
    tri = Triager(model=FixedModel(), detector=DETECTOR)
    told, guessed = tri.triage(
        [
            TriageInput("Acme est en panne depuis ce matin", lang="en-US"),
            TriageInput("Acme est en panne depuis ce matin, personne ne répond"),
        ]
    )
    assert (told.lang, guessed.lang) == ("en", "fr")
    assert normalise("pt_BR") == "pt" and normalise("") is None


def test_routes_filter_on_language_and_let_unknown_through() -> None:
    french = Route("fr-team", "#fr", sentiments=["negative"], languages=["fr"])
    verdict = triage()
    in_french = stored(lang=None, triage=replace(verdict, lang="fr"))
    network_says_english = stored(lang="en-GB", triage=replace(verdict, lang="fr"))
    unknown = stored(lang=None, triage=replace(verdict, lang=None))
    assert decide(in_french, [french]) == [french]
    assert decide(network_says_english, [french]) == []
    assert decide(unknown, [french]) == [french]


def test_routes_filter_on_categories() -> None:
    outages = Route("outages", "#ops", sentiments=["negative"], categories=["outage"])
    verdict = triage()
    assert decide(stored(triage=verdict), [outages]) == [outages]  # factory: ["outage"]
    assert decide(stored(triage=replace(verdict, categories=["praise"])), [outages]) == []


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ('languages = ["english"]', "'english' is not a language code"),
        ('categories = ["outages"]', "unknown category 'outages'"),
    ],
)
def test_route_filters_are_checked_at_start(tmp_path: Path, route: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f'[[alerts.routes]]\nname = "fr"\nchannel = "#fr"\n{route}\n')
    with pytest.raises(SettingsError, match=message):
        load(path)
    path.write_text('[[alerts.routes]]\nname = "fr"\nlanguages = ["FR"]\ncategories = ["outage"]\n')
    assert build_routes(load(path))[0].languages == ["fr"]
