"""Every brand's query against every post of a stream, at stream speed.

A firehose brings hundreds of posts a second and a team may watch a hundred brands: checking
each post against each query would cost a hundred regex passes per post. Instead, each query
is reduced to *anchors*, literal strings of which at least one must occur in any text it
matches (a necessary, not sufficient, condition). One Aho-Corasick pass over the post finds
every anchor of every query at once; only the queries whose anchors occurred get the exact
check, `Query.matches`. So a hundred brands cost little more than one.

A query where no anchor set is necessary (an OR whose branch is only an exclusion, which the
parser rejects today, or anything a future grammar adds) is simply checked on every post:
the prefilter may only ever skip queries that could not have matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import ahocorasick

from core.query import And, Handle, Hashtag, Near, Node, Or, Phrase, Post, Query, Wildcard, Word


def normalise(text: str) -> str:
    """At least as loose as the exact check's folding (NFKC, then casefold), so a word the
    check finds in a post is always found here too."""
    return unicodedata.normalize("NFKC", text).casefold()


def anchors(node: Node) -> frozenset[str] | None:
    """Literals of which any match of `node` contains at least one; None when no such set is
    known (the node can match without any particular word, e.g. an exclusion)."""
    match node:
        case Word(text):
            return frozenset({normalise(text)})
        case Phrase(words):
            # Every word of a phrase is in the text; the longest is the rarest, as a rule.
            return frozenset({max((normalise(w) for w in words), key=len)})
        case Hashtag(tag):
            return frozenset({"#" + normalise(tag)})
        case Handle(name):
            return frozenset({"@" + normalise(name)})
        case Wildcard(pattern):
            # The longest literal run between wildcards is in every word the pattern matches.
            literal = max(re.split(r"[*?]", pattern), key=len)
            return frozenset({normalise(literal)}) if literal else None
        case Near(left, right):
            return _cheapest([anchors(left), anchors(right)])
        case And(items):
            return _cheapest([anchors(item) for item in items])
        case Or(items):
            branches = [anchors(item) for item in items]
            if any(b is None for b in branches):
                return None
            return frozenset().union(*branches)  # type: ignore[arg-type]
    return None  # an exclusion, or a field (title, author, site...) that need not be in the text


def _cheapest(options: list[frozenset[str] | None]) -> frozenset[str] | None:
    """Each option is necessary for the whole: take the most selective one known."""
    known = [a for a in options if a]
    return min(known, key=_cost) if known else None


def _cost(option: frozenset[str]) -> tuple[int, int]:
    """Fewer anchors, then longer ones: a short word ('ai') occurs in many posts."""
    return (len(option), -min(len(a) for a in option))


@dataclass(frozen=True)
class Matcher:
    """`match` returns the names of the queries that match one post, exactly as checking each
    `Query.matches` in turn would, in the order the queries were given."""

    names: tuple[str, ...]
    queries: tuple[Query, ...]
    always: tuple[int, ...]  # queries without anchors: checked on every post
    automaton: ahocorasick.Automaton | None

    @classmethod
    def build(cls, queries: Mapping[str, Query]) -> Matcher:
        names = tuple(queries)
        parsed = tuple(queries.values())
        owners: dict[str, set[int]] = {}
        always: list[int] = []
        for i, query in enumerate(parsed):
            found = anchors(query.expr)
            if not found:
                always.append(i)
                continue
            for anchor in found:
                owners.setdefault(anchor, set()).add(i)
        automaton = None
        if owners:
            automaton = ahocorasick.Automaton()
            for anchor, indexes in owners.items():
                automaton.add_word(anchor, tuple(sorted(indexes)))
            automaton.make_automaton()
        return cls(names, parsed, tuple(always), automaton)

    def candidates(self, folded: str) -> set[int]:
        """Queries whose anchors occur in `folded` (a `normalise`d text), plus those without."""
        found = set(self.always)
        if self.automaton is not None:
            for _end, indexes in self.automaton.iter(folded):
                found.update(indexes)
        return found

    def match(self, post: Post, langs: Iterable[str | None] = (None,)) -> list[str]:
        """Queries accepting `post`; a post in several languages passes `lang:` on any of them."""
        hits = self.candidates(normalise(post.text))
        if not hits:
            return []
        posts = [replace(post, lang=lang) if lang else post for lang in langs] or [post]
        return [self.names[i] for i in sorted(hits) if any(map(self.queries[i].accepts, posts))]
