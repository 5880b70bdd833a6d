"""A post's text tokenised once, and the query's text atoms found in it by position.

Matching is linear in the post: the text is split once into words (runs of letters, digits and
`_`) and the gaps between them; an index maps each word to its positions. A phrase is then a
run of words whose gaps fit the phrase's own punctuation, a wildcard a scan of the post's
distinct words, NEAR a merge of two sorted position lists. No regular expression runs over the
post with a repeatable gap, which is what made `"AT & T"` against a page of ampersands take
seconds (backtracking, quadratic in the text).

Punctuation keeps the meaning the query gave it before: inside a word it must be there exactly
(`acme.com`, `at&t`), between the words of a phrase any run of spaces or punctuation joins them
(`"acme cloud"` finds "acme-cloud"), and a word made only of punctuation (`"AT & T"`) must
appear inside that run. A term never touches a letter on either side (`#acme` is not in
"x#acme" nor "#acmecloud").
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from core.query.nodes import Handle, Hashtag, Phrase, TextAtom, Wildcard, Word

FIELD_SEPARATOR = "\x1f"  # ASCII unit separator: never in posts, never bridged by a phrase
MAX_FIELDS = 16  # title, body, link, tags...: past this, separators are spaces
_SPLIT = re.compile(r"(\W+)")

# A gap pattern is a tuple of literal strings and ints: an int is a run of at least that many
# characters (any, since every character of a gap is a non-word one).
Gap = tuple[str | int, ...]
Span = tuple[int, int]  # first word, one past the last word


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def fits(gap: str, parts: Gap) -> bool:
    """Does all of `gap` fit `parts`? Greedy, leftmost, so linear in the gap."""
    if not parts:
        return gap == ""
    lo, hi, i, j = 0, len(gap), 0, len(parts)
    first, last = parts[0], parts[-1]
    if isinstance(first, str):
        if not gap.startswith(first):
            return False
        lo, i = len(first), 1
    if j > i and isinstance(last, str):
        if len(last) > hi - lo or not gap.endswith(last):
            return False
        hi, j = hi - len(last), j - 1
    if i == j:
        return lo == hi
    pos = lo
    for part in parts[i:j]:
        if isinstance(part, int):
            pos += part
        else:
            found = gap.find(part, pos, hi)
            if found < 0:
                return False
            pos = found + len(part)
    return pos <= hi


class PostText:
    """One post's text (fields joined by FIELD_SEPARATOR), split into words and gaps."""

    def __init__(self, text: str) -> None:
        self.words: list[str] = []  # as written (NFKC), for exact case
        self.before: list[str] = []  # the gap before each word, within its field
        self.after: list[str] = []
        self.first: list[bool] = []  # the first word of its field: nothing to touch before it
        self.last: list[bool] = []
        self.field: list[int] = []
        self._pieces: list[tuple[int, list[str], list[str]]] = []  # per field: base, words, gaps
        self.source = normalise(text)
        parts = self.source.split(FIELD_SEPARATOR, MAX_FIELDS - 1)
        parts[-1] = parts[-1].replace(FIELD_SEPARATOR, " ")  # a post full of separators
        for number, part in enumerate(parts):
            self._add_field(number, part)
        self.fold = "\x00".join(self.words).casefold().split("\x00") if self.words else []
        self._index: dict[str, list[int]] | None = None
        self._exact: dict[str, list[int]] | None = None
        self._vocab: list[str] | None = None
        self._scanned: dict[tuple[str, bool], list[int]] = {}
        self._found: dict[object, list[Span]] = {}

    def _add_field(self, number: int, text: str) -> None:
        pieces = _SPLIT.split(text)
        words, gaps = pieces[0::2], pieces[1::2]
        lo = 1 if words[0] == "" else 0
        hi = len(words) - 1 if words[-1] == "" and len(words) > 1 else len(words)
        self._pieces.append((len(self.words) - lo, words, gaps))
        if hi <= lo:
            return
        count = hi - lo
        self.words += words[lo:hi]
        self.before += ["", *gaps][lo:hi]
        self.after += [*gaps, ""][lo:hi]
        self.first += [True] + [False] * (count - 1)
        self.last += [False] * (count - 1) + [True]
        self.field += [number] * count

    def gaps(self) -> Iterator[tuple[str, bool, bool, int]]:
        """Every gap: its text, whether a word is before and after it, and that word's place."""
        for base, words, gaps in self._pieces:
            for k, gap in enumerate(gaps):
                yield gap, words[k] != "", words[k + 1] != "", base + k + 1

    def positions(self, word: str, exact: bool) -> list[int]:
        """Where a word stands (casefolded unless `exact`), ascending.

        A few words are found by scanning the list (C speed, no index to build: most queries
        look up a handful); past `_SCANS` lookups the post gets a full index.
        """
        words = self.words if exact else self.fold
        cache = self._exact if exact else self._index
        if cache is not None:
            return cache.get(word, [])
        found = self._scanned.get((word, exact))
        if found is None:
            if len(self._scanned) >= _SCANS:
                if exact:
                    self._exact = _index(words)
                else:
                    self._index = _index(words)
                return self.positions(word, exact)
            found = _scan(words, word)
            self._scanned[(word, exact)] = found
        return found

    def glob(self, matcher: _Glob) -> list[int]:
        """Positions of the words a wildcard accepts: a scan of the distinct words."""
        if self._vocab is None:
            self._vocab = sorted(set(self.fold))
        if matcher.exact:
            candidates: list[str] = sorted(set(self.words))
        elif matcher.prefix:
            at = bisect_left(self._vocab, matcher.prefix)
            candidates = []
            while at < len(self._vocab) and self._vocab[at].startswith(matcher.prefix):
                candidates.append(self._vocab[at])
                at += 1
        else:
            candidates = self._vocab
        accepted = [w for w in candidates if matcher.accepts(w)]
        out = [i for w in accepted for i in self.positions(w, matcher.exact)]
        return sorted(out) if len(accepted) > 1 else out

    def find(self, atom: TextAtom) -> list[Span]:
        """Every place the atom stands, in order; computed once per post and atom."""
        found = self._found.get(atom)
        if found is None:
            found = _pattern(atom).spans(self)
            self._found[atom] = found
        return found


_SCANS = 32


def _scan(words: list[str], word: str) -> list[int]:
    out: list[int] = []
    try:
        i = words.index(word)
        while True:
            out.append(i)
            i = words.index(word, i + 1)
    except ValueError:
        return out


def _index(words: list[str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        index.setdefault(word, []).append(i)
    return index


@dataclass(frozen=True, slots=True)
class _Glob:
    """One word with `?` (one letter or digit) and a final `*` (any ending)."""

    regex: re.Pattern[str]
    prefix: str  # the letters before the first wildcard (casefolded unless exact)
    exact: bool

    def accepts(self, word: str) -> bool:
        return self.regex.fullmatch(word) is not None


Token = str | _Glob


@dataclass(frozen=True, slots=True)
class Pattern:
    """A text atom as words and the gaps around and between them.

    `lead` must end the gap before the first word, `trail` start the gap after the last,
    `inner[k]` fill the gap between word k and k+1. Without words (`"&"`), `lead` is the whole
    pattern and must sit inside one gap.
    """

    tokens: tuple[Token, ...]
    lead: Gap
    inner: tuple[Gap, ...]
    trail: Gap
    exact: bool

    def spans(self, text: PostText) -> list[Span]:
        if not self.tokens:
            return self._in_gaps(text)
        head = self.tokens[0]
        starts = text.glob(head) if isinstance(head, _Glob) else text.positions(head, self.exact)
        size = len(self.tokens)
        if size == 1 and not self.lead and not self.trail:
            return [(i, i + 1) for i in starts]  # a plain word: where it stands is all
        return [(i, i + size) for i in starts if self._at(text, i)]

    def _at(self, text: PostText, i: int) -> bool:
        end = i + len(self.tokens) - 1
        if end >= len(text.words) or text.field[end] != text.field[i]:
            return False
        words = text.words if self.exact else text.fold
        for k in range(1, len(self.tokens)):
            token = self.tokens[k]
            word = words[i + k]
            if (token.accepts(word) if isinstance(token, _Glob) else word != token) or not fits(
                text.before[i + k], self.inner[k - 1]
            ):
                return False
        if self.lead and not fits(text.before[i], _loose(self.lead, not text.first[i], True)):
            return False
        trail = self.trail
        return not trail or fits(text.after[end], _loose(trail, not text.last[end], False))

    def _in_gaps(self, text: PostText) -> list[Span]:
        """A term of punctuation only lies inside one gap: an empty span before the next word."""
        literals = [p for p in self.lead if isinstance(p, str)]
        if any(lit not in text.source for lit in literals):
            return []
        out = []
        for gap, word_before, word_after, at in text.gaps():
            if fits(gap, (1 if word_before else 0, *self.lead, 1 if word_after else 0)):
                out.append((at, at))
        return out


def _loose(parts: Gap, touches: bool, before: bool) -> Gap:
    """A lead or trail pattern with the rest of the gap free, at least one character of it
    when a word is on that side (a term never touches a letter)."""
    return ((1 if touches else 0), *parts) if before else (*parts, 1 if touches else 0)


SEP = 1  # between the words of a phrase: one or more spaces or punctuation


@lru_cache(maxsize=4096)
def _pattern(atom: TextAtom) -> Pattern:
    exact = getattr(atom, "exact", False)
    match atom:
        case Word(text):
            stream = _stream(text, exact)
        case Phrase(words):
            stream = []
            for n, word in enumerate(words):
                stream += ([SEP] if n else []) + _stream(word, exact)
        case Hashtag(tag):
            stream = ["#", *_stream(tag, False)]
        case Handle(name):
            stream = ["@", *_stream(name, False)]
        case Wildcard(pattern):
            stream = [_glob(normalise(pattern), exact)]
    return _assemble(stream, exact)


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str


_Piece = str | int | _Tok | _Glob  # a literal, a run (SEP), or a word to match


def _stream(word: str, exact: bool) -> list[_Piece]:
    """A query word as its words and the punctuation around and between them."""
    out: list[_Piece] = []
    for k, piece in enumerate(_SPLIT.split(normalise(word))):
        if piece:
            out.append(piece if k % 2 else _Tok(piece if exact else piece.casefold()))
    return out


def _glob(pattern: str, exact: bool) -> _Glob:
    text = pattern if exact else pattern.casefold()
    regex = "".join(r"\w" if c == "?" else r"\w*" if c == "*" else re.escape(c) for c in text)
    prefix = re.split(r"[*?]", text, maxsplit=1)[0]
    return _Glob(re.compile(regex), prefix, exact)


def _assemble(stream: list[_Piece], exact: bool) -> Pattern:
    tokens: list[Token] = []
    gaps: list[list[str | int]] = [[]]
    for piece in stream:
        if isinstance(piece, _Tok | _Glob):
            tokens.append(piece.text if isinstance(piece, _Tok) else piece)
            gaps.append([])
        elif isinstance(piece, str) and gaps[-1] and isinstance(gaps[-1][-1], str):
            gaps[-1][-1] += piece
        else:
            gaps[-1].append(piece)
    return Pattern(
        tokens=tuple(tokens),
        lead=tuple(gaps[0]),
        inner=tuple(tuple(g) for g in gaps[1:-1]),
        trail=tuple(gaps[-1]) if tokens else (),
        exact=exact,
    )


def near(left: list[Span], right: list[Span], text: PostText, distance: int, ordered: bool) -> bool:
    """Some span of `left` ends at most `distance` words before some span of `right` starts
    (or, unordered, the other way round), in the same field. Linear in the two lists."""
    if _before(left, right, text, distance):
        return True
    return not ordered and _before(right, left, text, distance)


def _before(left: list[Span], right: list[Span], text: PostText, distance: int) -> bool:
    if not left or not right:
        return False
    ends = sorted(left, key=lambda s: s[1])
    k, best = 0, None
    for start, _ in sorted(right):
        while k < len(ends) and ends[k][1] <= start:
            best = ends[k]
            k += 1
        if best is not None and start - best[1] <= distance and _same_field(text, best, start):
            return True
    return False


def _same_field(text: PostText, span: Span, start: int) -> bool:
    if start >= len(text.field) or span[1] == span[0]:
        return False
    return text.field[span[1] - 1] == text.field[start]


Finder = Callable[[TextAtom], list[Span]]
