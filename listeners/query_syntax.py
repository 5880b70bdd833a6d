"""A parsed query compiled to each network's search syntax, as a wide net.

Whatever a network cannot express is dropped, which only ever widens the search; every result
is re-checked exactly by `Query.accepts` (core/query). `widen` is where that happens, once for
every network: NEAR becomes AND, exact case any case, a field the network has no operator for
is dropped (`title:` and `domain:`/`links:` keep their words), an exclusion that would narrow
(`-{Apple}`, `-plug*`) is dropped. Compiled queries always spell groups out in parentheses, so
networks with other precedence (Google) read them the same way.

Adding a network's syntax is a `Syntax` value (how it writes words, phrases, negation, OR and
the field operators it has) plus a one-line function calling `render`; networks without OR use
`alternatives` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations, product
from math import prod

from core.query import (
    And,
    Atom,
    Author,
    Handle,
    Hashtag,
    Kind,
    Near,
    Network,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    Reach,
    Site,
    Title,
    Url,
    Wildcard,
    Word,
    show,
)


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'


def _bare(text: str) -> str:
    return text


def _minus(text: str) -> str:
    return "-" + text


FieldWriter = Callable[[Atom], str | None]


@dataclass(frozen=True)
class Syntax:
    """How one network writes a boolean query.

    Hashtags and handles default to the bare word: a network that tokenises '#acme' as 'acme'
    then still finds it, and the local check restores the distinction. `negate` None means the
    network has no exclusion, so exclusions are left to `Query.accepts`. `fields` maps an
    operator's name (title, author, site, links, domain, url, type) to how the network writes
    it; None from a writer, or no writer, drops the operator (a wider search).
    """

    word: Callable[[str], str] = _bare
    phrase: Callable[[tuple[str, ...]], str] = _quoted
    hashtag: Callable[[str], str] = _bare
    handle: Callable[[str], str] = _bare
    negate: Callable[[str], str] | None = _minus
    or_word: str = "OR"
    lang: Callable[[str], str] | None = None
    fields: Mapping[str, FieldWriter] = field(default_factory=dict)


# ---- widening: what a network can be asked ---------------------------------------------------


def _operator(atom: Atom) -> str | None:
    match atom:
        case Title():
            return "title"
        case Author():
            return "author"
        case Site(scope=scope):
            return scope
        case Url():
            return "url"
        case Kind():
            return "type"
        case Network():
            return "network"
        case Reach(followers=True):
            return "min_followers"
        case Reach():
            return "reach"
    return None


def widen(node: Node, s: Syntax, stems: bool = False) -> tuple[Node | None, bool]:
    """The node as this network can search it, and whether that is exact (not wider).

    None stands for "anything": nothing the network can ask for. With `stems`, a wildcard is
    searched as its leading letters (`plug*` as plug), the closest a network without
    wildcards gets; only used when nothing else is left to search for.
    """
    match node:
        case And(items):
            parts = [widen(i, s, stems) for i in items]
            kept = [x for n, _ in parts if n is not None for x in _flat(n, And)]
            exact = all(e for _, e in parts)
            if not kept:
                return None, False
            return (kept[0] if len(kept) == 1 else And(tuple(kept))), exact
        case Or(items):
            parts = [widen(i, s, stems) for i in items]
            if any(n is None for n, _ in parts):
                return None, False  # one branch matches anything, so the whole OR does
            nodes = [x for n, _ in parts if n is not None for x in _flat(n, Or)]
            return Or(tuple(nodes)), all(e for _, e in parts)
        case Not(item):
            inner, exact = widen(item, s, stems)
            # Excluding a wider term would drop posts the query keeps: leave it to the check.
            return (Not(inner), True) if inner is not None and exact else (None, False)
        case Near(left, right):
            both, _ = widen(And((left, right)), s, stems)
            return both, False
        case Word(text, exact=True):
            return Word(text), False
        case Phrase(words, exact=True):
            return Phrase(words), False
        case Wildcard(pattern):
            if not stems:
                return None, False
            stem = node.stem or max(pattern.replace("*", "?").split("?"), key=len)
            return Word(stem), False
        case Hashtag(tag):
            return node, s.hashtag(tag).startswith("#")  # a bare word finds more
        case Handle(name):
            return node, s.handle(name).startswith("@")
        case Word() | Phrase():
            return node, True
        case Title(term):
            writer = s.fields.get("title")
            if writer is not None and writer(node) is not None:
                return node, True
            return widen(term, s, stems)[0], False
        case Site(scope=scope) if scope != "site":
            label = Word(node.label)
            writer = s.fields.get(scope)
            if writer is not None and writer(node) is not None:
                return Or((node, label)), False
            return label, False
        case _:
            writer = s.fields.get(_operator(node) or "")
            if writer is not None and writer(node) is not None:
                return node, True
            return None, False


def _flat(node: Node, kind: type[And] | type[Or]) -> tuple[Node, ...]:
    """A group inside a group of its own kind is spelled as its items (NEAR became AND)."""
    return node.items if isinstance(node, kind) else (node,)


def searchable(query: Query, s: Syntax) -> Node:
    """The widest search this network can be sent for the query (never None: the parser made
    sure every alternative has something to search for, wildcards as their stems at worst)."""
    node, _ = widen(query.expr, s)
    if node is None:
        node, _ = widen(query.expr, s, stems=True)
    assert node is not None
    return node


def lost(query: Query, s: Syntax) -> list[str]:
    """The operators this network cannot be asked for: decided by the local check alone."""
    out: list[str] = []
    _lost(query.expr, s, out, negated=False)
    return list(dict.fromkeys(out))


def _lost(node: Node, s: Syntax, out: list[str], negated: bool) -> None:
    match node:
        case And(items) | Or(items):
            for item in items:
                _lost(item, s, out, negated)
        case Not(item):
            _, exact = widen(item, s)
            if not exact:
                out.append(show(node))
            else:
                _lost(item, s, out, negated=True)
        case _:
            if not widen(node, s)[1]:
                out.append(show(node))


# ---- rendering -------------------------------------------------------------------------------


def render(query: Query, syntax: Syntax) -> str:
    """The query in a network's syntax, never narrower than `query.accepts`."""
    body = render_node(searchable(query, syntax), syntax, inside=None) or ""
    if syntax.lang is not None and query.lang:
        body = f"{body} {syntax.lang(query.lang)}"
    return body


def render_atom(atom: Atom, s: Syntax) -> str:
    match atom:
        case Word(text):
            return s.word(text)
        case Phrase(words):
            return s.phrase(words)
        case Hashtag(tag):
            return s.hashtag(tag)
        case Handle(name):
            return s.handle(name)
        case Title() | Author() | Site() | Url() | Kind():
            writer = s.fields.get(_operator(atom) or "")
            written = writer(atom) if writer is not None else None
            if written is None:
                raise ValueError(f"{show(atom)} is not searchable here; widen() drops it")
            return written
    raise ValueError(f"{show(atom)} is not searchable here; widen() drops it")


def render_node(node: Node, s: Syntax, inside: type | None) -> str | None:
    """A widened node in the network's syntax, parenthesised as it must be `inside` an AND or
    an OR. None means "cannot be expressed here": the caller drops it, which widens the
    query."""
    match node:
        case And(items):
            # Positives first: some networks (Reddit) only accept NOT after a term.
            ordered = sorted(items, key=lambda i: isinstance(i, Not))
            rendered = (render_node(i, s, And) for i in ordered)
            parts = list(dict.fromkeys(p for p in rendered if p is not None))  # #acme, acme
            if not parts:
                return None
            joined = " ".join(parts)
            return f"({joined})" if inside is Or and len(parts) > 1 else joined
        case Or(items):
            parts = [render_node(i, s, Or) for i in items]
            if any(p is None for p in parts):
                return None  # one branch matches anything, so the whole OR does
            # #acme OR @acme OR acme renders as one term where tags and handles are bare words.
            unique = list(dict.fromkeys(p for p in parts if p is not None))
            joined = f" {s.or_word} ".join(unique)
            return f"({joined})" if inside is not None and len(unique) > 1 else joined
        case Not(item):
            return _render_not(item, s)
        case _:
            return render_atom(node, s)  # type: ignore[arg-type]  # widen() left atoms only


def _render_not(item: Node, s: Syntax) -> str | None:
    if s.negate is None:
        return None
    match item:
        case Or(items):  # -(a OR b) == -a -b, which every network with exclusions can write
            parts = [p for i in items if (p := _render_not(i, s)) is not None]
            return " ".join(parts) or None
        case And() | Not():
            return None  # -(a b) has no portable form; widen and let accepts() exclude
        case _:
            return s.negate(render_atom(item, s))  # type: ignore[arg-type]


# ---- networks without OR ---------------------------------------------------------------------

MAX_ALTERNATIVES = 16
_SUBSETS_UP_TO = 12  # alternatives this long are checked for smaller ones by their subsets


def alternatives(
    query: Query, syntax: Syntax | None = None, limit: int = MAX_ALTERNATIVES
) -> list[tuple[Atom, ...]]:
    """The query as a few plain AND-searches whose union covers every match.

    For networks without OR or exclusions (Algolia): exclusions are dropped, ORs are expanded.
    An AND of ORs multiplies, so when the expansion would pass `limit` the widest group is
    dropped (a wider search) rather than sending dozens of requests. Linear in the number of
    alternatives: a query of 4,000 OR'd words is 4,000 one-word searches, found in milliseconds.
    """
    node = searchable(query, syntax or Syntax())
    alts = _expand(node, limit)
    # "acme" already covers "acme cloud": keep only the minimal searches.
    unique = list(dict.fromkeys(alts))
    present = {frozenset(a) for a in unique}
    return [a for a in unique if not _has_smaller(a, present, unique)]


def _has_smaller(
    alt: tuple[Atom, ...], present: set[frozenset[Atom]], unique: list[tuple[Atom, ...]]
) -> bool:
    atoms = set(alt)
    if len(atoms) <= _SUBSETS_UP_TO:
        return any(
            frozenset(sub) in present
            for size in range(1, len(atoms))
            for sub in combinations(atoms, size)
        )
    return any(set(other) < atoms for other in unique)


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
            return [(node,)]  # type: ignore[list-item]  # widen() left atoms only


# ---- the networks compiled here --------------------------------------------------------------


def _title_in(prefix: str) -> FieldWriter:
    def write(atom: Atom) -> str | None:
        if not isinstance(atom, Title) or isinstance(atom.term, Wildcard):
            return None
        term = atom.term
        return prefix + (_quoted(term.words) if isinstance(term, Phrase) else term.text)

    return write


def _domain_as(prefix: str) -> FieldWriter:
    return lambda atom: f"{prefix}{atom.domain}" if isinstance(atom, Site) else None


def _url_as(prefix: str) -> FieldWriter:
    def write(atom: Atom) -> str | None:
        if not isinstance(atom, Url) or any(c.isspace() or c == '"' for c in atom.fragment):
            return None
        return prefix + atom.fragment

    return write


def _author_as(prefix: str) -> FieldWriter:
    def write(atom: Atom) -> str | None:
        if not isinstance(atom, Author) or atom.name.endswith("*") or " " in atom.name:
            return None
        return prefix + atom.name

    return write


ALGOLIA = Syntax()
REDDIT = Syntax(
    negate=lambda text: f"NOT {text}",
    fields={
        "title": _title_in("title:"),
        "author": _author_as("author:"),
        "site": _domain_as("site:"),
        "links": _domain_as("site:"),
        "domain": _domain_as("site:"),
        "url": _url_as("url:"),
    },
)
GOOGLE_NEWS = Syntax(
    fields={
        "title": _title_in("intitle:"),
        "site": _domain_as("site:"),
        "domain": _domain_as("site:"),
        "url": _url_as("inurl:"),
    }
)


def to_algolia(query: Query) -> list[str]:
    """Hacker News (Algolia): one search per alternative; no OR, and '-' only with
    advancedSyntax, which the HN API does not promise, so exclusions stay local."""
    return searches(query, ALGOLIA)


def searches(query: Query, s: Syntax) -> list[str]:
    """One search per alternative, each written once (#acme and acme may read the same)."""
    written = (
        " ".join(dict.fromkeys(render_atom(a, s) for a in alt)) for alt in alternatives(query, s)
    )
    return list(dict.fromkeys(written))


def to_reddit(query: Query) -> str:
    """Reddit search: AND/OR/NOT in capitals, parentheses, quoted phrases, and its fields
    title:, author:, site: (a link post's domain) and url:."""
    return render(query, REDDIT)


def to_google_news(query: Query) -> str:
    """Google News `q=`: OR, quoted phrases, -exclusions, intitle:, site: and inurl:."""
    return render(query, GOOGLE_NEWS)
