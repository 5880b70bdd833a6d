"""A parsed query in each network's syntax: a wide net, never narrower than `Query.matches`."""

from __future__ import annotations

from core.query import parse
from listeners.query_syntax import (
    Syntax,
    alternatives,
    render,
    to_algolia,
    to_google_news,
    to_reddit,
)


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
