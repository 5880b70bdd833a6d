"""A brand's query, parsed once, then used twice.

Networks search fuzzily: stemming, typo tolerance, operators they ignore. So the query is
compiled to each network's syntax as a *wide* net (listeners/query_syntax.py) and every result is
re-checked locally with `Query.accepts`, which is exact and linear in the post's length.
Precision comes from the local check; recall from never compiling a narrower query.

Grammar (docs/queries.md has every operator; implicit AND between terms)::

    acme "acme cloud" #acme @acmehq (outage OR down) -job NOT hiring lang:en
    plug* colo?r {Apple} acme NEAR/3 outage title:acme author:acmehq site:acme.com
    links:acme.com domain:acme.com url:acme.com/blog type:post|comment network:reddit
    min_followers:1000 reach:>500 about:"the technology company"~0.35

AND binds tighter than OR, as on X and in Lucene: `a OR b c` is `a OR (b c)`; NEAR binds
tighter than AND. The package: `nodes` (the tree), `parser`, `text` (a post tokenised, atoms
found by position), `post` (the fields a query reads), `match` (the verdict).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.query.match import Context, Verdict, allows, holds, verdict
from core.query.nodes import (
    ABOUT_THRESHOLD,
    KINDS,
    About,
    And,
    Atom,
    Author,
    FieldAtom,
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
    searched,
    show,
    tree,
    words,
)
from core.query.parser import parse_tree
from core.query.post import Post, fields
from core.query.text import FIELD_SEPARATOR

__all__ = [
    "ABOUT_THRESHOLD",
    "FIELD_SEPARATOR",
    "KINDS",
    "About",
    "And",
    "Atom",
    "Author",
    "FieldAtom",
    "Handle",
    "Hashtag",
    "Kind",
    "Near",
    "Network",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Post",
    "Query",
    "QueryError",
    "Reach",
    "Site",
    "TextAtom",
    "Title",
    "Url",
    "Verdict",
    "Wildcard",
    "Word",
    "fields",
    "parse",
    "show",
    "tree",
    "words",
]


@dataclass(frozen=True)
class Query:
    """`source` is the text as the user wrote it; `expr` its tree; `lang` from `lang:xx`;
    `about` from `about:"…"`, which only the pipeline (with the embedding model) decides."""

    source: str
    expr: Node
    lang: str | None = None
    about: About | None = None

    def matches(self, text: str, lang: str | None = None) -> bool:
        """The verdict on a text alone (title and body joined by `fields`): field operators
        find no field here, so `title:acme` never holds; listeners use `accepts`."""
        return self.accepts(Post(text, lang))

    def accepts(self, post: Post) -> bool:
        """The exact, local verdict on one post, `about:` aside.

        The language filter applies only when the post's language is known: dropping posts of
        unknown language would silently lose mentions on networks that do not report it.
        """
        if not self._lang_ok(post.lang):
            return False
        return holds(self.expr, Context(post))

    def explain(self, post: Post) -> Verdict:
        """`accepts`, saying which operator decided (for `listenpost query test`)."""
        if not self._lang_ok(post.lang):
            return Verdict(False, f"lang:{self.lang}", f"the post's language is {post.lang}")
        return verdict(self.expr, Context(post))

    def hears(self, network: str) -> bool:
        """False when `network:` rules this network out: its listener need not search at all."""
        return allows(self.expr, network) is not False

    def _lang_ok(self, lang: str | None) -> bool:
        return not (self.lang and lang and _primary_lang(lang) != self.lang)

    def words(self) -> tuple[str, ...]:
        """Every word the query searches for, each once, in order: a phrase as its words, a
        hashtag or handle without its sign, excluded words left out.

        What a post about the brand is expected to say: the radar does not report these as what
        drives a spike, and triage reads them as the brand being named.
        """
        return words(searched(self.expr))

    def __str__(self) -> str:
        return self.source


def _primary_lang(code: str) -> str:
    return code.replace("_", "-").split("-")[0].lower()


def parse(text: str) -> Query:
    """Parse a brand's query; `QueryError` names what is wrong and at which character."""
    expr, lang, about = parse_tree(text)
    return Query(source=text, expr=expr, lang=lang, about=about)
