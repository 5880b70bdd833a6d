"""A brand's boolean query, parsed once, then used twice.

Networks search fuzzily: stemming, typo tolerance, operators they ignore. So the query is
compiled to each network's syntax as a *wide* net (listeners/query_syntax.py) and every result is
re-checked locally with `Query.matches`, which is exact. Precision comes from the local check;
recall from never compiling a narrower query.

Grammar (operators in capitals; implicit AND between terms)::

    acme "acme cloud" #acme @acmehq (outage OR down) -job NOT hiring lang:en

AND binds tighter than OR, as on X and in Lucene: `a OR b c` is `a OR (b c)`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache


class QueryError(ValueError):
    """The query text cannot be parsed; `position` is the 0-based offending character."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# ---- the parsed form -------------------------------------------------------------------------


# Every atom has `words`: what a search engine indexes it as (a hashtag or handle without its sign).


@dataclass(frozen=True, slots=True)
class Word:
    text: str

    @property
    def words(self) -> tuple[str, ...]:
        return (self.text,)


@dataclass(frozen=True, slots=True)
class Phrase:
    words: tuple[str, ...]


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
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


Atom = Word | Phrase | Hashtag | Handle
Node = Atom | And | Or | Not


@dataclass(frozen=True, slots=True)
class _Lang:
    """Only lives during parsing: `lang:xx` is lifted out of the tree into `Query.lang`."""

    code: str
    position: int


@dataclass(frozen=True)
class Query:
    """`source` is the text as the user wrote it; `expr` its tree; `lang` from `lang:xx`."""

    source: str
    expr: Node
    lang: str | None = None

    def matches(self, text: str, lang: str | None = None) -> bool:
        """The exact, local verdict on one post (title and body joined by the caller).

        The language filter applies only when the post's language is known: dropping posts of
        unknown language would silently lose mentions on networks that do not report it.
        """
        if self.lang and lang and _primary_lang(lang) != self.lang:
            return False
        return _holds(self.expr, _normalise(text))

    def words(self) -> tuple[str, ...]:
        """Every word the query searches for, each once, in order: a phrase as its words, a
        hashtag or handle without its sign, excluded words left out.

        What a post about the brand is expected to say: the radar does not report these as what
        drives a spike, and triage reads them as the brand being named.
        """
        return words(_searched(self.expr))

    def __str__(self) -> str:
        return self.source


def words(atoms: Iterable[Atom]) -> tuple[str, ...]:
    """The atoms' words, each once, in order (one search of a network without OR or phrases)."""
    return tuple(dict.fromkeys(w for atom in atoms for w in atom.words))


def _searched(node: Node) -> Iterator[Atom]:
    match node:
        case And(items) | Or(items):
            for item in items:
                yield from _searched(item)
        case Not():
            return
        case _:
            yield node


FIELD_SEPARATOR = "\x1f"  # ASCII unit separator: never in posts, never bridged by a phrase


def fields(*parts: str | None) -> str:
    """A post's fields (title, body, link) as one text for `matches`, where a phrase may not
    start in the title and end in the body."""
    return FIELD_SEPARATOR.join(p for p in parts if p)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _primary_lang(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()


@lru_cache(maxsize=4096)
def _pattern(atom: Atom) -> re.Pattern[str]:
    match atom:
        case Word(text):
            core = re.escape(_normalise(text))
        case Phrase(words):
            # Contiguous words; any run of spaces or punctuation between them ("acme-cloud").
            core = rf"[^\w{FIELD_SEPARATOR}]+".join(re.escape(_normalise(w)) for w in words)
        case Hashtag(tag):
            core = "#" + re.escape(_normalise(tag))
        case Handle(name):
            core = "@" + re.escape(_normalise(name))
    return re.compile(rf"(?<!\w){core}(?!\w)")


def _holds(node: Node, text: str) -> bool:
    match node:
        case And(items):
            return all(_holds(i, text) for i in items)
        case Or(items):
            return any(_holds(i, text) for i in items)
        case Not(item):
            return not _holds(item, text)
        case _:
            return _pattern(node).search(text) is not None


# ---- parsing ---------------------------------------------------------------------------------

_SMART_QUOTES = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'}
)
_OPERATORS = {"OR", "AND", "NOT"}
_HASHTAG = re.compile(r"#(\w+)")
_HANDLE = re.compile(r"@(\w[\w.\-]*\w|\w)")
_LANG = re.compile(r"lang:([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "-", "OR", "AND", "NOT", "PHRASE", "WORD"
    text: str
    pos: int


def _tokens(text: str) -> Iterator[_Token]:
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            yield _Token(c, c, i)
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError(f"unclosed quote at character {i + 1}", i)
            yield _Token("PHRASE", text[i + 1 : end], i)
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            yield _Token("-", c, i)
            i += 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] not in '()"':
                end += 1
            word = text[i:end]
            yield _Token(word if word in _OPERATORS else "WORD", word, i)
            i = end


MAX_DEPTH = 50  # nesting of parentheses and negations; far beyond any real brand query
_TOO_DEEP = "the query nests too deeply"


class _Parser:
    """Recursive descent: or := and ('OR' and)*; and := unary ('AND'? unary)*;
    unary := ('-' | 'NOT') unary | primary; primary := '(' or ')' | phrase | word."""

    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens = tokens
        self.length = length
        self.i = 0
        self.depth = 0

    def descend(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(_TOO_DEEP, tok.pos)

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node | _Lang:
        node = self.or_()
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop the grammar early
            raise QueryError(f"unexpected ')' at character {tok.pos + 1}", tok.pos)
        return node

    def need_term(self, after: _Token) -> None:
        tok = self.peek()
        if tok is None or tok.kind in (")", "OR", "AND"):
            raise QueryError(
                f"expected a term after '{after.text}' at character {after.pos + 1}", after.pos
            )

    def or_(self) -> Node | _Lang:
        items = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            self.need_term(tok)
            items.append(self.and_())
        return _group(Or, items)

    def and_(self) -> Node | _Lang:
        items = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.take()
                self.need_term(tok)
            items.append(self.unary())
        return _group(And, items)

    def unary(self) -> Node | _Lang:
        tok = self.peek()
        if tok is not None and tok.kind in ("-", "NOT"):
            self.take()
            self.need_term(tok)
            self.descend(tok)
            inner = self.unary()
            self.depth -= 1
            if isinstance(inner, _Lang):
                raise _lang_misplaced(inner)
            return inner.item if isinstance(inner, Not) else Not(inner)
        return self.primary()

    def primary(self) -> Node | _Lang:
        if self.peek() is None:
            raise QueryError(
                f"the query ends where a term was expected (character {self.length})", self.length
            )
        tok = self.take()
        if tok.kind == "(":
            if (nxt := self.peek()) is not None and nxt.kind == ")":
                raise QueryError(f"empty parentheses at character {tok.pos + 1}", tok.pos)
            self.descend(tok)
            node = self.or_()
            self.depth -= 1
            if (close := self.peek()) is None or close.kind != ")":
                raise QueryError(f"unclosed '(' at character {tok.pos + 1}", tok.pos)
            self.take()
            return node
        if tok.kind == "PHRASE":
            words = tuple(tok.text.split())
            if not words:
                raise QueryError(f"empty quotes at character {tok.pos + 1}", tok.pos)
            return Phrase(words) if len(words) > 1 else Word(words[0])
        if tok.kind == "WORD":
            return _word(tok)
        if tok.kind == ")":
            raise QueryError(f"unexpected ')' at character {tok.pos + 1}", tok.pos)
        raise QueryError(
            f"'{tok.text}' at character {tok.pos + 1} needs a term on each side", tok.pos
        )


def _word(tok: _Token) -> Node | _Lang:
    text, at = tok.text, f"at character {tok.pos + 1}"
    if text == "-":
        raise QueryError(f"'-' {at} must touch the term it excludes, as in -jobs", tok.pos)
    if text.startswith("#"):
        if not (m := _HASHTAG.fullmatch(text)):
            raise QueryError(f"{text!r} {at} is not a hashtag (letters, digits, _)", tok.pos)
        return Hashtag(m.group(1))
    if text.startswith("@"):
        if not (m := _HANDLE.fullmatch(text)):
            raise QueryError(f"{text!r} {at} is not a handle (letters, digits, _ . -)", tok.pos)
        return Handle(m.group(1))
    if text.lower().startswith("lang:"):
        if not (m := _LANG.fullmatch(text)):
            raise QueryError(f"{text!r} {at} is not a language like lang:en", tok.pos)
        return _Lang(m.group(1).lower(), tok.pos)
    return Word(text)


def _group(kind: type[And] | type[Or], items: list[Node | _Lang]) -> Node | _Lang:
    """One item stays itself; nested groups of the same kind are flattened (a (b c) = a b c)."""
    if len(items) == 1:
        return items[0]
    flat: list[Node | _Lang] = []
    for item in items:
        if isinstance(item, kind):
            flat.extend(item.items)
        elif kind is Or and isinstance(item, _Lang):
            raise _lang_misplaced(item)
        else:
            flat.append(item)
    return kind(tuple(flat))  # type: ignore[arg-type]  # _Lang is lifted out by _lift_lang


def _lang_misplaced(lang: _Lang) -> QueryError:
    return QueryError(
        f"lang:{lang.code} at character {lang.position + 1} applies to the whole query; "
        "it cannot sit inside OR, NOT or parentheses",
        lang.position,
    )


def _lift_lang(root: Node | _Lang, source: str) -> tuple[Node, str | None]:
    if isinstance(root, _Lang):
        raise QueryError(f"{source!r} has only a language; add words to search for", 0)
    if not isinstance(root, And):
        _reject_nested_lang(root)
        return root, None
    langs = [i for i in root.items if isinstance(i, _Lang)]
    rest = [i for i in root.items if not isinstance(i, _Lang)]
    for lang in langs[1:]:
        if lang.code != langs[0].code:
            raise QueryError(
                f"lang:{lang.code} at character {lang.position + 1} conflicts with "
                f"lang:{langs[0].code}",
                lang.position,
            )
    for item in rest:
        _reject_nested_lang(item)
    expr = rest[0] if len(rest) == 1 else And(tuple(rest))
    return expr, (langs[0].code if langs else None)


def _reject_nested_lang(node: Node | _Lang) -> None:
    match node:
        case _Lang():
            raise _lang_misplaced(node)
        case And(items) | Or(items):
            for item in items:
                _reject_nested_lang(item)
        case Not(item):
            _reject_nested_lang(item)


def _searchable(node: Node) -> bool:
    """True when every way of matching needs some word: a pure exclusion matches the world."""
    match node:
        case And(items):
            return any(_searchable(i) for i in items)
        case Or(items):
            return all(_searchable(i) for i in items)
        case Not():
            return False
        case _:
            return True


def parse(text: str) -> Query:
    """Parse a brand's query; `QueryError` names what is wrong and at which character."""
    cleaned = text.translate(_SMART_QUOTES)
    tokens = list(_tokens(cleaned))
    if not tokens:
        raise QueryError("the query is empty", 0)
    try:
        root = _Parser(tokens, len(cleaned)).parse()
        expr, lang = _lift_lang(root, text)
        searchable = _searchable(expr)
    except RecursionError:  # belt and braces: the depth cap should make this unreachable
        raise QueryError(_TOO_DEEP) from None
    if not searchable:
        raise QueryError(
            f'{text!r} only excludes: every alternative needs a word, "phrase", #hashtag or '
            "@handle to search for next to its -exclusions"
        )
    return Query(source=text, expr=expr, lang=lang)
