"""The parsed form of a query: a tree of atoms under AND, OR, NOT and NEAR.

Every atom has `words`: what a search engine indexes it as (a hashtag or handle without its
sign, a wildcard as its stem, a field operator as nothing unless it searches text). `show`
writes any node back in the query language, canonically: `explain` and `test` print it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class QueryError(ValueError):
    """The query text cannot be parsed; `position` is the 0-based offending character."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# ---- text atoms ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    exact: bool = False  # {Apple}: the case as written

    @property
    def words(self) -> tuple[str, ...]:
        return (self.text,)


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]
    exact: bool = False


@dataclass(frozen=True, slots=True)
class Hashtag:
    tag: str  # without the '#'

    @property
    def words(self) -> tuple[str, ...]:
        return (self.tag,)


@dataclass(frozen=True, slots=True)
class Handle:
    name: str  # without the '@'

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """`plug*` (any ending, the word itself included) or `colo?r` (one letter or digit)."""

    pattern: str
    exact: bool = False

    @property
    def stem(self) -> str:
        """The letters before the first wildcard: what a network without wildcards can look for."""
        return re.split(r"[*?]", self.pattern, maxsplit=1)[0]

    @property
    def words(self) -> tuple[str, ...]:
        return (self.stem,) if len(self.stem) >= 2 else ()


TextAtom = Word | Phrase | Hashtag | Handle | Wildcard


# ---- field operators -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Title:
    """`title:acme`, `title:"acme cloud"`: the term in the post's title only."""

    term: Word | Phrase | Wildcard

    @property
    def words(self) -> tuple[str, ...]:
        return self.term.words


@dataclass(frozen=True, slots=True)
class Author:
    """`author:acmehq` or `author:@acmehq`: who posted (a fediverse `acme@host` counts too)."""

    name: str

    @property
    def words(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Site:
    """`site:d` is where the post is (its own address or link); `links:d` a domain it links to;
    `domain:d` either, or `d` written in its text, obfuscations (`d[.]com`, `d dot com`) too."""

    domain: str
    scope: str  # "site" | "links" | "domain"

    @property
    def label(self) -> str:
        """The distinctive word of the domain (acme for www.acme.co.uk): what text search finds."""
        labels = [x for x in self.domain.split(".") if x and x != "www"]
        body = labels[:-1] or labels
        return max(body, key=len)

    @property
    def words(self) -> tuple[str, ...]:
        return () if self.scope == "site" else (self.label,)


@dataclass(frozen=True, slots=True)
class Url:
    """`url:acme.com/blog`: the text inside the post's own address or link (any case)."""

    fragment: str

    @property
    def words(self) -> tuple[str, ...]:
        return ()


KINDS = ("post", "comment", "reply")


@dataclass(frozen=True, slots=True)
class Kind:
    """`type:post|comment|reply`: a top-level post, a comment under one, a reply in a thread."""

    kinds: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Network:
    """`network:reddit|hackernews`: which network heard the post."""

    names: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Reach:
    """`min_followers:N` (the author's followers >= N) or `reach:>N` (`Metrics.reach()`)."""

    op: str  # ">", ">=", "<", "<="
    number: int
    followers: bool = False  # min_followers: counts followers only, unknown never passes

    def holds(self, value: int) -> bool:
        match self.op:
            case ">":
                return value > self.number
            case ">=":
                return value >= self.number
            case "<":
                return value < self.number
            case _:
                return value <= self.number

    @property
    def words(self) -> tuple[str, ...]:
        return ()


FieldAtom = Title | Author | Site | Url | Kind | Network | Reach
Atom = TextAtom | FieldAtom


# ---- structure -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


NearOperand = TextAtom | Or  # an Or of text atoms only, as the parser guarantees


@dataclass(frozen=True, slots=True)
class Near:
    """`a NEAR/n b`: at most n words between them (NEAR/0: side by side), in either order;
    `ONEAR/n` in the order written. Never across the title and the body."""

    left: NearOperand
    right: NearOperand
    distance: int
    ordered: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return words(_atoms_of(self.left)) + words(_atoms_of(self.right))


Node = Atom | And | Or | Not | Near


@dataclass(frozen=True, slots=True)
class About:
    """`about:"the technology company"~0.35`: the post's meaning is close to the description
    (cosine similarity of sentence embeddings at least `threshold`). Decided by the pipeline,
    which has the embedding model; `Query.matches` leaves it out."""

    description: str
    threshold: float


ABOUT_THRESHOLD = 0.1  # the best F1 on tests/wiring/about_set.py: see docs/queries.md


def _atoms_of(node: Node) -> Iterator[Atom]:
    match node:
        case Or(items) | And(items):
            for item in items:
                yield from _atoms_of(item)
        case Not():
            return
        case Near(left, right):
            yield from _atoms_of(left)
            yield from _atoms_of(right)
        case _:
            yield node


def searched(node: Node) -> Iterator[Atom]:
    """The atoms a post is searched for: everything but exclusions."""
    return _atoms_of(node)


def words(atoms: Iterable[Atom]) -> tuple[str, ...]:
    """The atoms' words, each once, in order (one search of a network without OR or phrases)."""
    return tuple(dict.fromkeys(w for atom in atoms for w in atom.words))


# ---- writing a node back ---------------------------------------------------------------------

_BARE = re.compile(r"[^\s()\"{}]+")


def _quoted(text: str) -> str:
    return text if _BARE.fullmatch(text) and ":" not in text else f'"{text}"'


def show(node: Node) -> str:
    """The node in the query language, with parentheses wherever they matter."""
    match node:
        case Word(text, exact):
            return f"{{{text}}}" if exact else _word(text)
        case Phrase(ws, exact):
            return "{" + " ".join(ws) + "}" if exact else '"' + " ".join(ws) + '"'
        case Wildcard(pattern, exact):
            return f"{{{pattern}}}" if exact else pattern
        case Hashtag(tag):
            return f"#{tag}"
        case Handle(name):
            return f"@{name}"
        case Title(term):
            return f"title:{show(term)}"
        case Author(name):
            return f"author:{_quoted(name)}"
        case Site(domain, scope):
            return f"{scope}:{domain}"
        case Url(fragment):
            return f"url:{_quoted(fragment)}"
        case Kind(kinds):
            return "type:" + "|".join(kinds)
        case Network(names):
            return "network:" + "|".join(names)
        case Reach(op, number, followers):
            return f"min_followers:{number}" if followers else f"reach:{op}{number}"
        case Near(left, right, distance, ordered):
            op = "ONEAR" if ordered else "NEAR"
            return f"{_group(left)} {op}/{distance} {_group(right)}"
        case And(items):
            return " ".join(_group(i, inside=And) for i in items)
        case Or(items):
            return " OR ".join(_group(i, inside=Or) for i in items)
        case Not(item):
            return "-" + _group(item)


def _word(text: str) -> str:
    """A word that would read as an operator or field is quoted to stay a word."""
    if text in ("OR", "AND", "NOT") or re.fullmatch(r"O?NEAR(/.*)?", text) or ":" in text:
        return f'"{text}"'
    if text.startswith(("-", "#", "@")) or any(c in text for c in '*?{}()"'):
        return f'"{text}"'
    return text


def _group(node: Node, inside: type | None = None) -> str:
    text = show(node)
    if isinstance(node, Or) or (isinstance(node, And | Near) and inside is not And):
        return f"({text})"
    return text


def tree(node: Node, indent: str = "") -> list[str]:
    """The parse tree, one node per line, children indented: what `query explain` prints."""
    match node:
        case And(items) | Or(items):
            head = "AND" if isinstance(node, And) else "OR"
            return [f"{indent}{head}"] + [ln for i in items for ln in tree(i, indent + "  ")]
        case Not(item):
            return [f"{indent}NOT", *tree(item, indent + "  ")]
        case Near(left, right, distance, ordered):
            head = f"{'ONEAR' if ordered else 'NEAR'}/{distance}"
            return [f"{indent}{head}", *tree(left, indent + "  "), *tree(right, indent + "  ")]
        case _:
            return [f"{indent}{_kind(node)} {show(node)}"]


def _kind(atom: Atom) -> str:
    match atom:
        case Word(exact=True) | Phrase(exact=True) | Wildcard(exact=True):
            return "exact case"
        case Word():
            return "word"
        case Phrase():
            return "phrase"
        case Wildcard():
            return "wildcard"
        case Hashtag():
            return "hashtag"
        case Handle():
            return "handle"
        case _:
            return "field"
