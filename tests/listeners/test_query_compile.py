"""What each network's search is sent for every operator: the widest search it can express.

A row per operator, a column per network. Whatever a network cannot express is dropped (the
search only widens) and `Query.accepts` decides it locally: tests/core/test_query_operators.py
has the same operators on posts kept and dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.query import Query, parse
from listeners.bluesky import compile_bluesky
from listeners.mastodon import compile_mastodon
from listeners.query_syntax import to_algolia, to_google_news, to_reddit
from listeners.stackexchange import compile_stackexchange
from listeners.x import compile_x
from listeners.youtube import compile_youtube

NETWORKS: dict[str, Callable[[Query], list[str]]] = {
    "x": compile_x,
    "reddit": lambda q: [to_reddit(q)],
    "google_news": lambda q: [to_google_news(q)],
    "hackernews": to_algolia,
    "bluesky": compile_bluesky,
    "mastodon": compile_mastodon,
    "youtube": lambda q: [compile_youtube(q)],
    "stackexchange": compile_stackexchange,
}
ORDER = list(NETWORKS)


def row(*sent: str | list[str]) -> dict[str, list[str]]:
    """One string per network in ORDER; a string alone stands for every network at once."""
    values = list(sent) * len(ORDER) if len(sent) == 1 else list(sent)
    return {n: v if isinstance(v, list) else [v] for n, v in zip(ORDER, values, strict=True)}


TABLE: list[tuple[str, dict[str, list[str]]]] = [
    ("acme plug*", row("acme")),
    ("plug*", row("plug")),  # nothing else to search for: the stem, the closest a search gets
    ("acme colo?r", row("acme")),
    ("acme NEAR/3 outage", row("acme outage")),
    ("acme ONEAR/3 outage", row("acme outage")),
    ("{Apple} -{Pie}", row("Apple")),  # an exclusion in any case would drop "pie"
    (
        "acme title:outage",
        row(
            "acme outage",
            "acme title:outage",
            "acme intitle:outage",
            "acme outage",
            "acme outage",
            "acme outage",
            "acme outage",
            "acme outage",
        ),
    ),
    (
        "acme author:acmehq",
        row(
            "acme from:acmehq",
            "acme author:acmehq",
            "acme",
            "acme",
            "acme from:acmehq",
            "acme from:acmehq",
            "acme",
            "acme",
        ),
    ),
    (
        "acme site:acme.com",
        row(
            "acme",
            "acme site:acme.com",
            "acme site:acme.com",
            "acme",
            "acme",
            "acme",
            "acme",
            "acme",
        ),
    ),
    (
        "acme domain:acme.com",
        row(
            'acme (url:"acme.com" OR acme)',
            "acme (site:acme.com OR acme)",
            "acme (site:acme.com OR acme)",
            "acme",
            "acme",
            "acme",
            "acme",
            "acme",
        ),
    ),
    (
        "globex links:acme.com",
        row(
            'globex (url:"acme.com" OR acme)',
            "globex (site:acme.com OR acme)",
            "globex acme",
            ["globex acme"],
            ["globex domain:acme.com", "globex acme"],
            "globex acme",
            "globex acme",
            "globex acme",
        ),
    ),
    (
        "acme url:acme.com/blog",
        row(
            'acme url:"acme.com/blog"',
            "acme url:acme.com/blog",
            "acme inurl:acme.com/blog",
            "acme",
            "acme",
            "acme",
            "acme",
            "acme",
        ),
    ),
    ("acme type:reply", row("acme is:reply", *["acme"] * 7)),
    ("acme type:post", row("acme -is:reply", *["acme"] * 7)),
    ("acme type:comment", row("acme")),
    ("acme network:reddit", row("acme")),  # the pipeline does not poll the others at all
    ("acme lang:en", row("acme lang:en", *["acme"] * 7)),
    ("acme min_followers:1000", row("acme")),
    ("acme reach:>100", row("acme")),
    ('acme about:"the technology company"', row("acme")),
    ("acme -plug*", row("acme")),
    (
        "acme -site:acme.com",
        row("acme", "acme NOT site:acme.com", "acme -site:acme.com", *["acme"] * 5),
    ),
    # hashtags and handles are bare words where the network reads them so: excluding the bare
    # word would drop posts that only say "acmehq", so only X keeps that exclusion.
    ("(acme OR #acme) -@acmehq", row("(acme OR #acme) -@acmehq", *["acme"] * 7)),
]


@pytest.mark.parametrize(("query", "sent"), TABLE, ids=[q for q, _ in TABLE])
def test_each_network_is_sent_the_widest_search_it_can_express(
    query: str, sent: dict[str, list[str]]
) -> None:
    q = parse(query)
    assert {name: compile(q) for name, compile in NETWORKS.items()} == sent


def test_compilers_are_linear_in_the_number_of_ored_words() -> None:
    import time

    q = parse(" OR ".join(f"word{i}" for i in range(4000)))
    started = time.perf_counter()
    assert len(to_algolia(q)) == 4000
    assert len(compile_x(q)) > 1
    assert to_reddit(q).count(" OR ") == 3999
    anded = parse(" ".join(f"word{i}" for i in range(4000)))
    assert len(compile_x(anded)) == 1  # widened to the terms that fit, in one search
    assert time.perf_counter() - started < 5
