"""What a query can look at in one post: its text, and the fields the operators read.

Listeners build it from the `Mention` they made (`Post.of`), passing the text the network
searched (title, body, link, tags joined with `fields`), so the local check sees what the
search saw. `Query.matches(text)` is the text-only form: field operators find no field there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from core.mention import Metrics, kind_of
from core.query.text import FIELD_SEPARATOR

# Where a mention's raw fields say which page it is on or is (besides its own url).
_SITE_KEYS = ("url", "link", "feed", "page", "media_permalink", "permalink_url")
# Keys whose values are addresses a post links to, and subtrees that hold other things'
# addresses (avatars, thumbnails, the author's profile), walked past.
_LINK_KEYS = frozenset({"url", "uri", "expanded_url", "href", "link"})
_NOT_LINKS = frozenset(
    {
        "author", "account", "user", "owner", "thumbnails", "thumbnail", "preview", "media",
        "secure_media", "media_metadata", "media_attachments", "images", "avatar", "emojis",
        "source", "feed", "page",
    }
)  # fmt: skip
_MAX_WALK = 500  # raw values looked at per post: a pathological raw stays cheap


def fields(*parts: str | None) -> str:
    """A post's fields (title, body, link) as one text for `matches`, where a phrase may not
    start in the title and end in the body."""
    return FIELD_SEPARATOR.join(p.replace(FIELD_SEPARATOR, " ") for p in parts if p)


class MentionLike(Protocol):
    """A `Mention`, or a stored one: what `Post.of` reads (`raw` when it has one)."""

    @property
    def network(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def in_reply_to(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Post:
    """`sites`: addresses the post is at (its link, its feed or site); `links`: addresses it
    links to, from the network's own fields (those written in the text are found there)."""

    text: str
    lang: str | None = None
    title: str | None = None
    author: str | None = None
    url: str | None = None
    network: str | None = None
    kind: str | None = None
    followers: int | None = None
    reach: int | None = None
    sites: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    @classmethod
    def of(cls, mention: MentionLike, text: str | None = None, lang: str | None = None) -> Post:
        """`text` is what the network searched (default: title and body); `lang` overrides
        the mention's (a Bluesky post in several languages is checked in each)."""
        raw: dict[str, Any] = getattr(mention, "raw", None) or {}
        own = mention.url
        sites = tuple(dict.fromkeys(u for u in _site_urls(raw) if u != own))
        return cls(
            text=fields(mention.title, mention.text) if text is None else text,
            lang=lang or mention.lang,
            title=mention.title,
            author=mention.author,
            url=own,
            network=mention.network,
            kind=kind_of(mention.network, mention.in_reply_to, raw),
            followers=mention.metrics.followers,
            reach=mention.metrics.reach(),
            sites=sites,
            links=tuple(dict.fromkeys(u for u in _link_urls(raw) if u != own)),
        )

    def site_hosts(self) -> list[str]:
        return [h for u in (self.url, *self.sites) if u and (h := host(u))]

    def link_hosts(self) -> list[str]:
        return [h for u in self.links if (h := host(u))]


def host(url: str) -> str | None:
    """The host of an address, lower case, without `www.`; None when it is not one."""
    if "//" not in url:
        url = "//" + url
    try:
        name = urlsplit(url).hostname
    except ValueError:
        return None
    return name.removeprefix("www.") if name else None


def on_domain(hostname: str, domain: str) -> bool:
    return hostname == domain or hostname.endswith("." + domain)


def _site_urls(raw: dict[str, Any]) -> Iterator[str]:
    for key in _SITE_KEYS:
        if isinstance(value := raw.get(key), str) and value.startswith(("http://", "https://")):
            yield value
    source = raw.get("source")
    if isinstance(source, dict) and isinstance(href := source.get("href"), str):
        yield href  # Google News: the publisher's site


def _link_urls(raw: dict[str, Any]) -> Iterator[str]:
    stack: list[Any] = [raw]
    seen = 0
    while stack and seen < _MAX_WALK:
        value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _NOT_LINKS:
                    continue
                if key in _LINK_KEYS and isinstance(item, str):
                    if item.startswith(("http://", "https://")):
                        yield item
                elif isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
