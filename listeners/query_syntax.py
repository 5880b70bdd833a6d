"""A parsed query compiled to each network's search syntax, as a wide net.

Whatever a network cannot express is dropped, which only ever widens the search; every result
is re-checked exactly by `Query.matches` (core/query.py). Compiled queries always spell groups
out in parentheses, so networks with other precedence (Google) read them the same way.

Adding a network's syntax is a `Syntax` value (how it writes words, phrases, negation, OR) plus
a one-line function calling `render`; networks without OR use `alternatives` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from math import prod

from core.query import And, Atom, Handle, Hashtag, Node, Not, Or, Phrase, Query, Word


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'


def _bare(text: str) -> str:
    return text


def _minus(text: str) -> str:
    return "-" + text


@dataclass(frozen=True)
class Syntax:
    """How one network writes a boolean query.

    Hashtags and handles default to the bare word: a network that tokenises '#acme' as 'acme'
    then still finds it, and the local check restores the distinction. `negate` None means the
    network has no exclusion, so exclusions are left to `Query.matches`.
    """

    word: Callable[[str], str] = _bare
    phrase: Callable[[tuple[str, ...]], str] = _quoted
    hashtag: Callable[[str], str] = _bare
    handle: Callable[[str], str] = _bare
    negate: Callable[[str], str] | None = _minus
    or_word: str = "OR"
    lang: Callable[[str], str] | None = None


def render(query: Query, syntax: Syntax) -> str:
    """The query in a network's syntax, never narrower than `query.matches`."""
    body = _render(query.expr, syntax, inside=None) or ""
    if syntax.lang is not None and query.lang:
        body = f"{body} {syntax.lang(query.lang)}"
    return body


def _render_atom(atom: Atom, s: Syntax) -> str:
    match atom:
        case Word(text):
            return s.word(text)
        case Phrase(words):
            return s.phrase(words)
        case Hashtag(tag):
            return s.hashtag(tag)
        case Handle(name):
            return s.handle(name)


def _render(node: Node, s: Syntax, inside: type | None) -> str | None:
    """None means "cannot be expressed here": the caller drops it, which widens the query."""
    match node:
        case And(items):
            # Positives first: some networks (Reddit) only accept NOT after a term.
            ordered = sorted(items, key=lambda i: isinstance(i, Not))
            rendered = (_render(i, s, And) for i in ordered)
            parts = list(dict.fromkeys(p for p in rendered if p is not None))  # #acme, acme
            if not parts:
                return None
            joined = " ".join(parts)
            return f"({joined})" if inside is Or and len(parts) > 1 else joined
        case Or(items):
            parts = [_render(i, s, Or) for i in items]
            if any(p is None for p in parts):
                return None  # one branch matches anything, so the whole OR does
            # #acme OR @acme OR acme renders as one term where tags and handles are bare words.
            joined = f" {s.or_word} ".join(dict.fromkeys(p for p in parts if p is not None))
            return f"({joined})" if inside is not None else joined
        case Not(item):
            return _render_not(item, s)
        case _:
            return _render_atom(node, s)


def _render_not(item: Node, s: Syntax) -> str | None:
    if s.negate is None:
        return None
    match item:
        case Or(items):  # -(a OR b) == -a -b, which every network with exclusions can write
            parts = [p for i in items if (p := _render_not(i, s)) is not None]
            return " ".join(parts) or None
        case And() | Not():
            return None  # -(a b) has no portable form; widen and let matches() exclude
        case _:
            return s.negate(_render_atom(item, s))


MAX_ALTERNATIVES = 16


def alternatives(query: Query, limit: int = MAX_ALTERNATIVES) -> list[tuple[Atom, ...]]:
    """The query as a few plain AND-searches whose union covers every match.

    For networks without OR or exclusions (Algolia): exclusions are dropped, ORs are expanded.
    An AND of ORs multiplies, so when the expansion would pass `limit` the widest group is
    dropped (a wider search) rather than sending dozens of requests.
    """
    alts = _expand(query.expr, limit)
    # "acme" already covers "acme cloud": keep only the minimal searches.
    unique = list(dict.fromkeys(alts))
    return [a for a in unique if not any(set(b) < set(a) for b in unique)]


def _expand(node: Node, limit: int) -> list[tuple[Atom, ...]]:
    match node:
        case Not():
            return [()]
        case Or(items):
            out = [alt for i in items for alt in _expand(i, limit)]
            return [()] if () in out else out
        case And(items):
            groups = [_expand(i, limit) for i in items]
            groups = [g for g in groups if g != [()]]
            while len(groups) > 1 and prod(len(g) for g in groups) > limit:
                groups.remove(max(groups, key=len))
            return [
                tuple(dict.fromkeys(a for alt in combo for a in alt)) for combo in product(*groups)
            ]
        case _:
            return [(node,)]


ALGOLIA = Syntax()
REDDIT = Syntax(negate=lambda text: f"NOT {text}")
GOOGLE_NEWS = Syntax()


def to_algolia(query: Query) -> list[str]:
    """Hacker News (Algolia): one search per alternative; no OR, and '-' only with
    advancedSyntax, which the HN API does not promise, so exclusions stay local."""
    return [
        " ".join(dict.fromkeys(_render_atom(a, ALGOLIA) for a in alt))
        for alt in alternatives(query)
    ]


def to_reddit(query: Query) -> str:
    """Reddit search: AND/OR/NOT in capitals, parentheses, quoted phrases."""
    return render(query, REDDIT)


def to_google_news(query: Query) -> str:
    """Google News `q=`: OR, quoted phrases, -exclusions."""
    return render(query, GOOGLE_NEWS)
