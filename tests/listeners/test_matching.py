"""The stream matcher agrees with checking every query in turn, at a fraction of the cost."""

from __future__ import annotations

import random

import pytest

from core.query import Not, Or, Post, Query, Word, parse
from listeners.matching import Matcher, anchors

VOCAB = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "cloud",
    "outage",
    "down",
    "billing",
    "refund",
    "hiring",
    "job",
    "love",
    "hate",
    "ai",
    "api",
    "dashboard",
    "support",
    "éclair",
    "straße",
    "naïve",
    "sso",
    "status",
    "price",
    "login",
]
BRANDS = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "wonka", "stark"]


def random_query(rng: random.Random, i: int) -> str:
    brand = f"{rng.choice(BRANDS)}{i % 13 or ''}"
    shapes = [
        lambda: brand,
        lambda: f'"{brand} {rng.choice(VOCAB)}"',
        lambda: f"{brand} -{rng.choice(VOCAB)}",
        lambda: f"({brand} OR #{brand} OR @{brand}) -{rng.choice(VOCAB)}",
        lambda: f"{brand} ({rng.choice(VOCAB)} OR {rng.choice(VOCAB)})",
        lambda: f'{rng.choice(VOCAB)} "{brand} {rng.choice(VOCAB)}" lang:en',
        lambda: f"{brand} NOT ({rng.choice(VOCAB)} {rng.choice(VOCAB)})",
        lambda: f"{rng.choice(VOCAB)} OR {brand}",
    ]
    return rng.choice(shapes)()


def random_post(rng: random.Random, queries: list[str]) -> str:
    words = [rng.choice(VOCAB) for _ in range(rng.randint(3, 25))]
    if rng.random() < 0.5:  # lift words from queries, so matches are common enough to test
        source = rng.choice(queries).replace('"', "").replace("(", "").replace(")", "")
        words += [w.lstrip("-") for w in source.split() if w not in ("OR", "NOT")]
    rng.shuffle(words)
    joiners = [" ", ", ", "-", " #", " @", ". ", "\n"]
    text = words[0]
    for w in words[1:]:
        text += rng.choice(joiners) + (w.upper() if rng.random() < 0.1 else w)
    return text


def brute(queries: dict[str, Query], text: str, lang: str | None) -> list[str]:
    return [name for name, q in queries.items() if q.matches(text, lang)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_hundred_queries_match_exactly_as_checking_each(seed: int) -> None:
    rng = random.Random(seed)
    texts = [random_query(rng, i) for i in range(100)]
    queries = {f"brand{i}": parse(t) for i, t in enumerate(texts)}
    matcher = Matcher.build(queries)
    matched = 0
    for _ in range(2000):
        post = random_post(rng, texts)
        lang = rng.choice([None, "en", "de"])
        expected = brute(queries, post, lang)
        assert matcher.match(Post(post), (lang,)) == expected, post
        matched += bool(expected)
    assert matched > 200, "the random posts should match often enough to test anything"


def test_the_prefilter_skips_most_queries_for_most_posts() -> None:
    rng = random.Random(5)
    queries = {f"b{i}": parse(random_query(rng, i)) for i in range(100)}
    matcher = Matcher.build(queries)
    assert matcher.candidates("we had lunch and talked about the weather") == set()
    assert len(matcher.candidates("acme had an outage")) < 20


def test_a_query_without_required_words_is_always_checked() -> None:
    # The parser refuses pure exclusions, but an OR with one is a real query: no word is needed.
    odd = Query(source="acme OR -spam", expr=Or((Word("acme"), Not(Word("spam")))))
    assert anchors(odd.expr) is None
    matcher = Matcher.build({"odd": odd, "plain": parse("globex")})
    assert matcher.match(Post("nothing to see here")) == ["odd"]
    assert matcher.match(Post("spam globex")) == ["plain"]
    assert matcher.match(Post("acme spam")) == ["odd"]


def test_anchor_picks_the_most_selective_required_word() -> None:
    # One anchor beats two; a long word beats "ai", which is in half the posts of the world.
    assert anchors(parse('ai "acme cloud" -job').expr) == {"cloud"}
    assert anchors(parse("(acme OR #globex OR @initech) -job").expr) == {
        "acme",
        "#globex",
        "@initech",
    }
    assert anchors(parse("Straße").expr) == {"strasse"}  # folded as Query.matches folds


def test_a_post_in_several_languages_passes_lang_on_any() -> None:
    matcher = Matcher.build({"fr": parse("acme lang:fr")})
    assert matcher.match(Post("acme est en panne"), ("en", "fr")) == ["fr"]
    assert matcher.match(Post("acme is down"), ("en",)) == []
    assert matcher.match(Post("acme is down"), (None,)) == ["fr"]  # unknown language is kept


def test_wildcards_proximity_and_fields_are_prefiltered_without_losing_a_match() -> None:
    queries = {
        "plug": parse("plug* outage"),
        "near": parse("acme NEAR/2 down"),
        "colour": parse("colo?r printer"),
        "by": parse("title:globex author:acmehq"),
    }
    matcher = Matcher.build(queries)
    assert matcher.match(Post("the plugin outage again")) == ["plug"]
    assert matcher.match(Post("acme is totally down")) == ["near"]
    assert matcher.match(Post("acme was, after a long wait, down")) == []
    assert matcher.match(Post("the colour printer jammed")) == ["colour"]
    assert matcher.match(Post("x", title="Globex news", author="acmehq")) == ["by"]
    assert matcher.match(Post("x", title="Globex news", author="someone")) == []
    assert "by" in [matcher.names[i] for i in matcher.candidates("anything")]  # a title: query
