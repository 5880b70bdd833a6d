"""From query text to a tree: a tokenizer and a recursive-descent parser.

Every error names the character and the fix (`NEAR/ needs a number: NEAR/3`), because the
person reading it is writing a brand's query in settings.toml or at `listenpost query test`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from core.query.nodes import (
    ABOUT_THRESHOLD,
    KINDS,
    About,
    And,
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
    QueryError,
    Reach,
    Site,
    TextAtom,
    Title,
    Url,
    Wildcard,
    Word,
)

_SMART_QUOTES = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'}
)
_OPERATORS = {"OR", "AND", "NOT"}
_HASHTAG = re.compile(r"#(\w+)")
_HANDLE = re.compile(r"@(\w[\w.\-]*\w|\w)")
_LANG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*")
_NEAR = re.compile(r"(O?NEAR)(?:/(.*))?")
_FIELD = re.compile(r"([A-Za-z_]+):")
_DOMAIN = re.compile(r"(?:[\w-]+\.)+[\w-]+")
_NETWORK = re.compile(r"[a-z][a-z0-9_]*")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)([km]?)")
_REACH = re.compile(r"(>=|<=|>|<)?(.+)")
_WILDCARD_WORD = re.compile(r"[\w?]+\*?")
FIELDS = frozenset(
    {
        "title", "author", "site", "domain", "links", "url", "type", "network", "lang",
        "min_followers", "reach", "about",
    }
)  # fmt: skip
MAX_DEPTH = 50  # nesting of parentheses and negations; far beyond any real brand query
MAX_NEAR = 1000
_TOO_DEEP = "the query nests too deeply"


@dataclass(frozen=True, slots=True)
class _Token:
    # "(", ")", "-", "OR", "AND", "NOT", "NEAR", "PHRASE", "EXACT", "FIELD", "WORD"
    kind: str
    text: str
    pos: int
    name: str = ""  # FIELD: the field's name, lower case
    quoted: bool = False  # FIELD: the value was in quotes (or braces, with `exact`)
    exact: bool = False
    suffix: str = ""  # FIELD: what follows a quoted value (about:"..."~0.4)


@dataclass(frozen=True, slots=True)
class _Lang:
    """Only lives during parsing: `lang:xx` is lifted out of the tree into `Query.lang`."""

    code: str
    position: int


@dataclass(frozen=True, slots=True)
class _About:
    """Only lives during parsing: lifted into `Query.about`."""

    about: About
    position: int


_Lifted = _Lang | _About
_Parsed = Node | _Lifted


def _at(pos: int) -> str:
    return f"at character {pos + 1}"


def _closing(text: str, i: int, char: str, what: str) -> int:
    end = text.find(char, i + 1)
    if end < 0:
        raise QueryError(f"unclosed {what} {_at(i)}", i)
    return end


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
            end = _closing(text, i, '"', "quote")
            yield _Token("PHRASE", text[i + 1 : end], i)
            i = end + 1
        elif c == "{":
            end = _closing(text, i, "}", "'{' (exact case is written {Apple})")
            yield _Token("EXACT", text[i + 1 : end], i)
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace():
            yield _Token("-", c, i)
            i += 1
        elif (m := _FIELD.match(text, i)) and m.group(1).lower() in FIELDS:
            token, i = _field(text, i, m)
            yield token
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] not in '()"':
                end += 1
            word = text[i:end]
            kind = word if word in _OPERATORS else "NEAR" if _NEAR.fullmatch(word) else "WORD"
            yield _Token(kind, word, i)
            i = end


def _field(text: str, i: int, m: re.Match[str]) -> tuple[_Token, int]:
    """`name:value`, `name:"quoted value"` (then an optional suffix), or `name:{Exact}`."""
    name, j, n = m.group(1).lower(), m.end(), len(text)
    quoted = exact = False
    if j < n and text[j] in '"{':
        exact = text[j] == "{"
        close = "}" if exact else '"'
        end = _closing(text, j, close, "'{'" if exact else "quote")
        value, quoted, j = text[j + 1 : end], True, end + 1
    else:
        end = j
        while end < n and not text[end].isspace() and text[end] not in '()"':
            end += 1
        value, j = text[j:end], end
    start = j
    while j < n and not text[j].isspace() and text[j] not in "()":
        j += 1
    token = _Token("FIELD", value, i, name, quoted, exact, text[start:j])
    return token, j


class _Parser:
    """Recursive descent: or := and ('OR' and)*; and := near ('AND'? near)*;
    near := unary (('NEAR/n' | 'ONEAR/n') unary)?; unary := ('-' | 'NOT') unary | primary;
    primary := '(' or ')' | phrase | {exact} | field:value | word."""

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

    def parse(self) -> _Parsed:
        node = self.or_()
        tok = self.peek()
        if tok is not None:  # only a stray ')' can stop the grammar early
            raise QueryError(f"unexpected ')' {_at(tok.pos)}", tok.pos)
        return node

    def need_term(self, after: _Token) -> None:
        tok = self.peek()
        if tok is None or tok.kind in (")", "OR", "AND", "NEAR"):
            raise QueryError(f"expected a term after '{after.text}' {_at(after.pos)}", after.pos)

    def or_(self) -> _Parsed:
        items = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            self.need_term(tok)
            items.append(self.and_())
        return _group(Or, items)

    def and_(self) -> _Parsed:
        items = [self.near()]
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.take()
                self.need_term(tok)
            items.append(self.near())
        return _group(And, items)

    def near(self) -> _Parsed:
        left = self.unary()
        tok = self.peek()
        if tok is None or tok.kind != "NEAR":
            return left
        self.take()
        distance, ordered = _distance(tok)
        self.need_term(tok)
        right = self.unary()
        if (nxt := self.peek()) is not None and nxt.kind == "NEAR":
            raise QueryError(
                f"'{nxt.text}' {_at(nxt.pos)} follows another NEAR: a NEAR joins two terms; "
                "group alternatives instead, as in (a OR b) NEAR/3 c",
                nxt.pos,
            )
        return Near(_near_operand(left, tok), _near_operand(right, tok), distance, ordered)

    def unary(self) -> _Parsed:
        tok = self.peek()
        if tok is not None and tok.kind in ("-", "NOT"):
            self.take()
            self.need_term(tok)
            self.descend(tok)
            inner = self.unary()
            self.depth -= 1
            if isinstance(inner, _Lang | _About):
                raise _misplaced(inner)
            return inner.item if isinstance(inner, Not) else Not(inner)
        return self.primary()

    def primary(self) -> _Parsed:
        if self.peek() is None:
            raise QueryError(
                f"the query ends where a term was expected (character {self.length})", self.length
            )
        tok = self.take()
        match tok.kind:
            case "(":
                if (nxt := self.peek()) is not None and nxt.kind == ")":
                    raise QueryError(f"empty parentheses {_at(tok.pos)}", tok.pos)
                self.descend(tok)
                node = self.or_()
                self.depth -= 1
                if (close := self.peek()) is None or close.kind != ")":
                    raise QueryError(f"unclosed '(' {_at(tok.pos)}", tok.pos)
                self.take()
                return node
            case "PHRASE":
                return _phrase(tok, exact=False)
            case "EXACT":
                return _exact(tok)
            case "FIELD":
                return _field_node(tok)
            case "WORD":
                return _word(tok)
            case ")":
                raise QueryError(f"unexpected ')' {_at(tok.pos)}", tok.pos)
            case "NEAR":
                raise QueryError(
                    f"'{tok.text}' {_at(tok.pos)} needs a term on each side, as in "
                    "acme NEAR/3 outage",
                    tok.pos,
                )
        raise QueryError(f"'{tok.text}' {_at(tok.pos)} needs a term on each side", tok.pos)


def _distance(tok: _Token) -> tuple[int, bool]:
    m = _NEAR.fullmatch(tok.text)
    assert m is not None  # the tokenizer only makes NEAR tokens of such text
    op, number = m.group(1), m.group(2)
    if number is None or not number.isdigit() or not 0 <= int(number) <= MAX_NEAR:
        raise QueryError(
            f"{op}/ {_at(tok.pos)} needs a number of words from 0 to {MAX_NEAR}: {op}/3 "
            f'(to search for the word itself, write "{op}")',
            tok.pos,
        )
    return int(number), op == "ONEAR"


def _near_operand(node: _Parsed, tok: _Token) -> TextAtom | Or:
    text_atoms = (Word, Phrase, Hashtag, Handle, Wildcard)
    if isinstance(node, text_atoms):
        return node
    if isinstance(node, Or) and all(isinstance(i, text_atoms) for i in node.items):
        return node
    raise QueryError(
        f"{tok.text} {_at(tok.pos)} joins two words, phrases, #hashtags, @handles or "
        "(a OR b) groups of them, as in (acme OR globex) NEAR/3 outage",
        tok.pos,
    )


def _phrase(tok: _Token, exact: bool) -> Word | Phrase:
    words = tuple(tok.text.split())
    if not words:
        raise QueryError(f"empty {'braces' if exact else 'quotes'} {_at(tok.pos)}", tok.pos)
    return Phrase(words, exact) if len(words) > 1 else Word(words[0], exact)


def _exact(tok: _Token) -> Word | Phrase | Wildcard:
    inner = tok.text.strip()
    if len(inner) > 1 and inner[0] == inner[-1] == '"':  # {"Apple Music"} reads as {Apple Music}
        tok = _Token(tok.kind, inner[1:-1], tok.pos)
    words = tok.text.split()
    if len(words) == 1 and any(c in words[0] for c in "*?"):
        return _wildcard(words[0], tok.pos, exact=True)
    return _phrase(tok, exact=True)


def _wildcard(text: str, pos: int, exact: bool = False) -> Wildcard:
    if "*" in text[:-1]:
        raise QueryError(
            f"{text!r} {_at(pos)}: '*' ends a word, as in plug*; use ? for one letter inside "
            "a word, as in colo?r",
            pos,
        )
    if not _WILDCARD_WORD.fullmatch(text):
        raise QueryError(
            f"{text!r} {_at(pos)}: wildcards work within one word of letters and digits, as in "
            'plug* or colo?r (quote it to search for the characters: "{text}")',
            pos,
        )
    if not re.search(r"\w", text.replace("_", "a")):
        raise QueryError(f"{text!r} {_at(pos)} needs letters beside the wildcard: plug*", pos)
    return Wildcard(text, exact)


def _word(tok: _Token) -> Node | _Lang:
    text, at = tok.text, _at(tok.pos)
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
    if "*" in text or "?" in text:
        return _wildcard(text, tok.pos)
    return Word(text)


# ---- field operators -------------------------------------------------------------------------


def _field_node(tok: _Token) -> Node | _Lifted:
    name, value, at = tok.name, tok.text, _at(tok.pos)
    if tok.suffix and name != "about":
        raise QueryError(
            f"{name}:{value!r} {at} is followed by {tok.suffix!r}; leave a space after it",
            tok.pos,
        )
    if not value.strip():
        raise QueryError(f"{name}: {at} needs a value, as in {_EXAMPLES[name]}", tok.pos)
    match name:
        case "title":
            return Title(_title_term(tok))
        case "author":
            return Author(value.strip().lstrip("@").casefold())
        case "site" | "domain" | "links":
            return Site(_domain(tok), name)
        case "url":
            return Url(value.strip().casefold())
        case "type":
            return Kind(_choices(tok, KINDS))
        case "network":
            return Network(_choices(tok, None))
        case "lang":
            if tok.quoted or not (m := _LANG.fullmatch(value)):
                said = "lang:" + value
                raise QueryError(f"{said!r} {at} is not a language like lang:en", tok.pos)
            return _Lang(m.group(1).lower(), tok.pos)
        case "min_followers":
            return Reach(">=", _count(tok, value), followers=True)
        case "reach":
            m = _REACH.fullmatch(value)
            assert m is not None  # a non-empty value always matches
            return Reach(m.group(1) or ">=", _count(tok, m.group(2)))
        case _:
            return _about(tok)


_EXAMPLES = {
    "title": "title:acme",
    "author": "author:acmehq",
    "site": "site:acme.com",
    "domain": "domain:acme.com",
    "links": "links:acme.com",
    "url": "url:acme.com/blog",
    "type": "type:post|comment",
    "network": "network:reddit",
    "lang": "lang:en",
    "min_followers": "min_followers:1000",
    "reach": "reach:>1000",
    "about": 'about:"the technology company"',
}


def _title_term(tok: _Token) -> Word | Phrase | Wildcard:
    if tok.exact:
        return _exact(tok)
    if tok.quoted:
        return _phrase(tok, exact=False)
    if any(c in tok.text for c in "*?"):
        return _wildcard(tok.text, tok.pos)
    return Word(tok.text)


def _domain(tok: _Token) -> str:
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", tok.text.strip().casefold())
    value = value.split("/", 1)[0].removeprefix("www.").rstrip(".")
    if not _DOMAIN.fullmatch(value):
        raise QueryError(
            f"{tok.name + ':' + tok.text!r} {_at(tok.pos)} needs a domain, as in "
            f"{tok.name}:acme.com",
            tok.pos,
        )
    return value


def _choices(tok: _Token, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v.strip().lower() for v in re.split(r"[|,]", tok.text)))
    for value in chosen:
        ok = value in allowed if allowed is not None else bool(_NETWORK.fullmatch(value))
        if not ok:
            hint = (
                "type:post, type:comment or type:reply (several: type:post|comment)"
                if allowed
                else "network:reddit (several: network:reddit|hackernews)"
            )
            raise QueryError(
                f"{tok.name}:{value or '|'} {_at(tok.pos)} is not one of them; write {hint}",
                tok.pos,
            )
    return chosen


def _count(tok: _Token, text: str) -> int:
    m = _NUMBER.fullmatch(text.strip().lower())
    if not m:
        raise QueryError(
            f"{tok.name + ':' + tok.text!r} {_at(tok.pos)} needs a number, as in "
            f"{_EXAMPLES[tok.name]} (10k and 2m work too)",
            tok.pos,
        )
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)]
    return int(float(m.group(1)) * scale)


def _about(tok: _Token) -> _About:
    at = _at(tok.pos)
    if not tok.quoted or tok.exact:
        raise QueryError(
            f"about: {at} needs its description in quotes, as in {_EXAMPLES['about']}", tok.pos
        )
    threshold = ABOUT_THRESHOLD
    if tok.suffix:
        try:
            if not tok.suffix.startswith("~"):
                raise ValueError
            threshold = float(tok.suffix[1:])
        except ValueError:
            threshold = -1.0
        if not 0 < threshold < 1:
            raise QueryError(
                f"about:\"…\"{tok.suffix} {at} needs a similarity between 0 and 1 after '~', "
                f'as in about:"…"~{ABOUT_THRESHOLD}',
                tok.pos,
            )
    return _About(About(" ".join(tok.text.split()), threshold), tok.pos)


# ---- structure -------------------------------------------------------------------------------


def _group(kind: type[And] | type[Or], items: list[_Parsed]) -> _Parsed:
    """One item stays itself; nested groups of the same kind are flattened (a (b c) = a b c)."""
    if len(items) == 1:
        return items[0]
    flat: list[_Parsed] = []
    for item in items:
        if isinstance(item, kind):
            flat.extend(item.items)
        elif kind is Or and isinstance(item, _Lang | _About):
            raise _misplaced(item)
        else:
            flat.append(item)
    return kind(tuple(flat))  # type: ignore[arg-type]  # lifted by _lift


def _misplaced(item: _Lifted) -> QueryError:
    what = f"lang:{item.code}" if isinstance(item, _Lang) else 'about:"…"'
    return QueryError(
        f"{what} {_at(item.position)} applies to the whole query; "
        "it cannot sit inside OR, NOT or parentheses",
        item.position,
    )


def lift(root: _Parsed, source: str) -> tuple[Node, str | None, About | None]:
    """The tree without its whole-query filters, and those filters (`lang:`, `about:`)."""
    if isinstance(root, _Lang | _About):
        raise QueryError(f"{source!r} has only a filter; add words to search for", 0)
    if not isinstance(root, And):
        _reject_nested(root)
        return root, None, None
    langs = [i for i in root.items if isinstance(i, _Lang)]
    abouts = [i for i in root.items if isinstance(i, _About)]
    rest = [i for i in root.items if not isinstance(i, _Lang | _About)]
    for lang in langs[1:]:
        if lang.code != langs[0].code:
            raise QueryError(
                f"lang:{lang.code} {_at(lang.position)} conflicts with lang:{langs[0].code}",
                lang.position,
            )
    if len(abouts) > 1:
        raise QueryError(
            f'a second about:"…" {_at(abouts[1].position)}; describe the subject in one',
            abouts[1].position,
        )
    for item in rest:
        _reject_nested(item)
    if not rest:
        raise QueryError(f"{source!r} has only filters; add words to search for", 0)
    expr = rest[0] if len(rest) == 1 else And(tuple(rest))  # type: ignore[arg-type]
    return (
        expr,  # type: ignore[return-value]
        langs[0].code if langs else None,
        abouts[0].about if abouts else None,
    )


def _reject_nested(node: _Parsed) -> None:
    match node:
        case _Lang() | _About():
            raise _misplaced(node)
        case And(items) | Or(items):
            for item in items:
                _reject_nested(item)
        case Not(item):
            _reject_nested(item)


def searchable(node: Node) -> bool:
    """True when every way of matching needs something to search for: a pure exclusion or a
    lone filter (author:, type:, site: ...) matches the world as far as a search can tell."""
    match node:
        case And(items):
            return any(searchable(i) for i in items)
        case Or(items):
            return all(searchable(i) for i in items)
        case Not():
            return False
        case Author() | Url() | Kind() | Network() | Reach():
            return False
        case Site(scope=scope):
            return scope != "site"
        case _:
            return True


def parse_tree(text: str) -> tuple[Node, str | None, About | None]:
    """The tree and the whole-query filters; `QueryError` names what is wrong and where."""
    cleaned = text.translate(_SMART_QUOTES)
    tokens = list(_tokens(cleaned))
    if not tokens:
        raise QueryError("the query is empty", 0)
    try:
        root = _Parser(tokens, len(cleaned)).parse()
        expr, lang, about = lift(root, text)
        ok = searchable(expr)
    except RecursionError:  # belt and braces: the depth cap should make this unreachable
        raise QueryError(_TOO_DEEP) from None
    if not ok:
        raise QueryError(
            f'{text!r} only excludes or filters: every alternative needs a word, "phrase", '
            "#hashtag, @handle, title:, domain: or links: to search for next to its "
            "-exclusions and filters"
        )
    return expr, lang, about
