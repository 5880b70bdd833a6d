from __future__ import annotations

import re

import pytest

from listeners.query import (
    QueryError,
    Syntax,
    alternatives,
    fields,
    parse,
    render,
    to_algolia,
    to_google_news,
    to_reddit,
)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("acme", "Acme is down again", True),
        ("acme", "ACME's status page", True),
        ("acme", "acmeology is a word", False),
        ("acme", "see https://acme.com/status", True),
        ('"acme cloud"', "the Acme Cloud console", True),
        ('"acme cloud"', "acme-cloud outage", True),
        ('"acme cloud"', "acme has a cloud", False),
        ("acme -jobs", "acme is hiring, see jobs", False),
        ("acme NOT jobs", "acme is hiring, see jobs", False),
        ("acme -jobs", "acme is down", True),
        ('acme -"acme jobs"', "acme jobs board", False),
        ('acme -"acme jobs"', "jobs at acme", True),
        ("acme (outage OR down)", "acme is down", True),
        ("acme (outage OR down)", "acme is great", False),
        ("acme OR globex", "globex merger", True),
        ("acme -(jobs OR hiring)", "acme hiring now", False),
        ("#acme", "loving #Acme today", True),
        ("#acme", "loving acme today", False),
        ("#acme", "loving #acmecloud today", False),
        ("@acmehq", "hey @AcmeHQ help", True),
        ("@acmehq", "mail me@acmehq.com", False),
        ("@acmehq", "cc @acmehq_support", False),
        ("acme", "loving #acme today", True),
        ("café", "CAFÉ opening", True),
        ("acme AND cloud", "cloud by acme", True),
    ],
)
def test_matches_is_the_exact_local_check(query: str, text: str, expected: bool) -> None:
    assert parse(query).matches(text) is expected


def test_lang_filters_only_when_the_post_language_is_known() -> None:
    q = parse("acme lang:en")
    assert q.lang == "en"
    assert q.matches("acme", "en")
    assert q.matches("acme", "en-GB")
    assert not q.matches("acme", "fr")
    assert q.matches("acme", None)


def test_source_is_kept_and_curly_quotes_work() -> None:
    q = parse("\u201cacme cloud\u201d -jobs")
    assert q.source == "\u201cacme cloud\u201d -jobs"
    assert q.matches("the acme cloud")
    assert not q.matches("acme and the cloud")


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty", 0),
        ('acme "cloud', "unclosed quote at character 6", 5),
        ("acme)", "unexpected ')' at character 5", 4),
        ("(acme", "unclosed '(' at character 1", 0),
        ("acme OR", "after 'OR' at character 6", 5),
        ("OR acme", "'OR' at character 1", 0),
        ("acme ()", "empty parentheses at character 6", 5),
        ('acme ""', "empty quotes at character 6", 5),
        ("acme - jobs", "'-' at character 6", 5),
        ("acme #", "not a hashtag", 5),
        ("acme lang:english", "not a language", 5),
        ("acme OR lang:en", "lang:en at character 9", 8),
        ("acme lang:en lang:fr", "conflicts", 13),
    ],
)
def test_errors_name_the_problem_and_its_position(query: str, message: str, position: int) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        parse(query)
    assert info.value.position == position


@pytest.mark.parametrize("query", ["-jobs", "NOT jobs", "acme OR -jobs", "lang:en"])
def test_a_query_must_search_for_something(query: str) -> None:
    with pytest.raises(QueryError):
        parse(query)


def test_reddit_syntax_keeps_structure_and_puts_not_after_terms() -> None:
    q = parse('-jobs "acme cloud" (outage OR down) NOT hiring')
    assert to_reddit(q) == '"acme cloud" (outage OR down) NOT jobs NOT hiring'


def test_google_news_syntax() -> None:
    q = parse('(acme OR "acme cloud") -(jobs OR "job offer")')
    assert to_google_news(q) == '(acme OR "acme cloud") -jobs -"job offer"'


def test_inexpressible_parts_widen_never_narrow() -> None:
    q = parse("acme -(jobs board) #acme @acmehq")
    # -(a b) has no portable form: dropped, and matches() enforces it.
    assert to_google_news(q) == "acme acmehq"
    assert not q.matches("acme #acme @acmehq jobs board")
    assert q.matches("acme #acme @acmehq jobs")


def test_algolia_gets_one_search_per_alternative_without_exclusions() -> None:
    q = parse('(acme OR "acme cloud") (outage OR down) -jobs')
    assert to_algolia(q) == [
        "acme outage",
        "acme down",
        '"acme cloud" outage',
        '"acme cloud" down',
    ]


def test_algolia_drops_redundant_alternatives() -> None:
    assert to_algolia(parse("acme OR (acme cloud)")) == ["acme"]


def test_alternatives_are_capped_by_widening() -> None:
    q = parse("(a OR b OR c OR d OR e) (f OR g OR h OR i OR j)")
    alts = alternatives(q, limit=16)
    assert len(alts) == 5
    # every true match is still covered by some alternative
    for text in ["a f", "c j", "e h"]:
        assert q.matches(text)
        assert any(all(parse(atom.text).matches(text) for atom in alt) for alt in alts)


def test_a_new_network_adds_its_syntax_in_one_value() -> None:
    x = Syntax(hashtag=lambda t: f"#{t}", handle=lambda h: f"@{h}", lang=lambda c: f"lang:{c}")
    q = parse("(#acme OR @acmehq) -jobs lang:en")
    assert render(q, x) == "(#acme OR @acmehq) -jobs lang:en"


def test_a_phrase_never_spans_two_fields() -> None:
    q = parse('"acme cloud"')
    assert not q.matches(fields("Pricing at Acme", "Cloud costs explained"))
    assert q.matches(fields("Pricing", "The Acme Cloud bill"))


@pytest.mark.parametrize(
    "query",
    [
        "(" * 5000 + "acme" + ")" * 5000,
        "(" * 51 + "acme" + ")" * 51,
        "-(" * 3000 + "acme" + ")" * 3000,
        "NOT " * 200 + "acme",
        "(" * 5000 + "acme",
    ],
)
def test_deep_nesting_is_a_query_error_not_a_recursion_error(query: str) -> None:
    with pytest.raises(QueryError, match="nests too deeply"):
        parse(query)


def test_moderate_nesting_still_parses() -> None:
    q = parse("(" * 40 + "acme" + ")" * 40)
    assert q.matches("acme is up")
