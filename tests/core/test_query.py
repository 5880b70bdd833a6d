from __future__ import annotations

import re

import pytest

from core.query import QueryError, fields, parse, words


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


def test_words_are_what_the_query_searches_for_each_once() -> None:
    q = parse('(acme OR "acme cloud") #acmedown @acmehq -jobs NOT "job offer" -(a b)')
    assert q.words() == ("acme", "cloud", "acmedown", "acmehq")


def test_words_cover_every_alternative_however_many() -> None:
    q = parse("(a OR b OR c OR d OR e) (f OR g OR h OR i OR j)")
    assert q.words() == tuple("abcdefghij")


def test_words_of_some_atoms_keep_their_order() -> None:
    atoms = parse('"acme cloud" cloud #acme').expr.items  # type: ignore[union-attr]
    assert words(atoms) == ("acme", "cloud")
