"""The exact, local verdict: a query's tree evaluated over one post's words and fields.

`holds` is the hot path (every post every listener hears); `verdict` does the same work and
says which operator decided, for `listenpost query test`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.query.nodes import (
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
    Reach,
    Site,
    TextAtom,
    Title,
    Url,
    Wildcard,
    Word,
    show,
)
from core.query.post import Post, on_domain
from core.query.text import PostText, Span, near

_OBFUSCATED_DOTS = frozenset({".", "[.]", "(.)", "{.}"})


class Context:
    """One post, with its text tokenised on first use and each answer kept."""

    def __init__(self, post: Post) -> None:
        self.post = post
        self._text: PostText | None = None
        self._title: PostText | None = None
        self._sites: list[str] | None = None
        self._links: list[str] | None = None

    @property
    def text(self) -> PostText:
        if self._text is None:
            self._text = PostText(self.post.text)
        return self._text

    @property
    def title(self) -> PostText:
        if self._title is None:
            self._title = PostText(self.post.title or "")
        return self._title

    def sites(self) -> list[str]:
        if self._sites is None:
            self._sites = self.post.site_hosts()
        return self._sites

    def links(self) -> list[str]:
        if self._links is None:
            self._links = self.post.link_hosts()
        return self._links


def holds(node: Node, ctx: Context) -> bool:
    match node:
        case And(items):
            return all(holds(i, ctx) for i in items)
        case Or(items):
            return any(holds(i, ctx) for i in items)
        case Not(item):
            return not holds(item, ctx)
        case Near(left, right, distance, ordered):
            text = ctx.text
            return near(_spans(left, text), _spans(right, text), text, distance, ordered)
        case _:
            return _atom(node, ctx)


def _spans(node: TextAtom | Or, text: PostText) -> list[Span]:
    if isinstance(node, Or):
        return sorted(s for item in node.items for s in text.find(item))  # type: ignore[arg-type]
    return text.find(node)


def _atom(atom: Atom, ctx: Context) -> bool:
    post = ctx.post
    match atom:
        case Word() | Phrase() | Hashtag() | Handle() | Wildcard():
            return bool(ctx.text.find(atom))
        case Title(term):
            return bool(ctx.title.find(term))
        case Author(name):
            return _author(post.author, name)
        case Site(domain, scope):
            return _site(ctx, domain, scope)
        case Url(fragment):
            return any(fragment in u.casefold() for u in (post.url, *post.sites) if u)
        case Kind(kinds):
            return post.kind in kinds
        case Network(names):
            return post.network in names
        case Reach(followers=True):
            return post.followers is not None and atom.holds(post.followers)
        case Reach():
            return atom.holds(post.reach or 0)
    raise TypeError(f"not a query atom: {atom!r}")


def _author(author: str | None, name: str) -> bool:
    """Handles with or without '@', any case; a fediverse account by its local part too
    (author:acme hears acme@mastodon.social); `author:acme*` any handle starting so."""
    if not author:
        return False
    who = author.casefold().lstrip("@")
    candidates = (who, who.split("@", 1)[0])
    if name.endswith("*"):
        return any(c.startswith(name[:-1]) for c in candidates)
    return name in candidates


def _site(ctx: Context, domain: str, scope: str) -> bool:
    if scope != "links" and any(on_domain(h, domain) for h in ctx.sites()):
        return True
    if scope == "site":
        return False
    if any(on_domain(h, domain) for h in ctx.links()):
        return True
    return domain_in_text(ctx.text, domain, obfuscated=scope == "domain")


def domain_in_text(text: PostText, domain: str, obfuscated: bool) -> bool:
    """`acme.com` written in the text (a link or a bare domain); with `obfuscated`, also
    `acme[.]com`, `acme(.)com`, `acme dot com` and `acme [dot] com`."""
    labels = domain.split(".")
    for i in text.positions(labels[0], exact=False):
        if not text.first[i] and text.before[i] == "-":
            continue  # acme-corp.com is not corp.com
        j: int | None = i
        for label in labels[1:]:
            j = _next_label(text, j, obfuscated)
            if j is None or text.fold[j] != label:
                break
        else:
            if j is not None and (text.last[j] or text.after[j] != "."):
                return True
    return False


def _next_label(text: PostText, j: int | None, obfuscated: bool) -> int | None:
    if j is None or text.last[j]:
        return None
    gap = text.after[j]
    if gap == ".":
        return j + 1
    if not obfuscated:
        return None
    if gap.replace(" ", "") in _OBFUSCATED_DOTS:
        return j + 1
    spelled = gap.strip(" [({") == "" and text.fold[j + 1] == "dot" and not text.last[j + 1]
    if spelled and text.after[j + 1].strip(" ])}") == "":
        return j + 2
    return None


def allows(node: Node, network: str) -> bool | None:
    """The verdict as far as `network:` operators decide it: False when they rule the network
    out whatever a post says, None when the rest of the query decides (three-valued logic)."""
    match node:
        case Network(names):
            return network in names
        case And(items):
            said = [allows(i, network) for i in items]
            return False if False in said else (True if all(said) else None)
        case Or(items):
            said = [allows(i, network) for i in items]
            return True if True in said else (False if all(s is False for s in said) else None)
        case Not(item):
            inner = allows(item, network)
            return None if inner is None else not inner
    return None


# ---- saying why ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """`decided_by`: the operator whose answer settled it; `why`: one sentence for people."""

    matched: bool
    decided_by: str
    why: str


def verdict(node: Node, ctx: Context) -> Verdict:
    match node:
        case And(items):
            reasons = []
            for item in items:
                inner = verdict(item, ctx)
                if not inner.matched:
                    return inner
                reasons.append(inner.why)
            return Verdict(True, show(node), "; ".join(reasons))
        case Or(items):
            for item in items:
                inner = verdict(item, ctx)
                if inner.matched:
                    return inner
            return Verdict(False, show(node), f"none of {show(node)} holds")
        case Not(item):
            inner = verdict(item, ctx)
            said = show(item)
            if inner.matched:
                return Verdict(False, show(node), f"{said} holds, and the query excludes it")
            return Verdict(True, show(node), f"{said} does not hold, as the query asks")
        case _:
            held = holds(node, ctx)
            return Verdict(held, show(node), f"{show(node)} {'holds' if held else 'does not hold'}")
