"""The near-duplicate key: a copy is the same post reaching us twice, grouped under the first.

What makes two mentions one post:
- the same author writing the same words (a cross-post, maybe on several networks: handles are
  compared without case, "@", "u/", an instance or a domain suffix);
- an explicit repost without added words ("RT @bob: ...", or a repost the network marks, passed
  as `repost_of`): it is keyed as the words of the author it repeats;
- the same article syndicated under the same link (feeds and crawled pages, whose author is the
  feed or site, not a person).

Different people writing the same sentence are different mentions: fifty customers asking
"Is Acme down?" are fifty voices the volume, the radar and the reports must count.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_URL = re.compile(r"https?://\S+|www\.\S+")
# "RT @bob: ..." / "repost @bob ..." / "via @bob: ..."; Mastodon handles carry "@instance".
_RETWEET = re.compile(
    r"^\s*(?:rt|repost|via)\s+@([\w.-]+(?:@[\w.-]+)?)\s*:?\s*", re.IGNORECASE
)
_HANDLE = re.compile(r"@\w+")
_PUNCT = re.compile(r"[^\w\s@#]", re.UNICODE)
_SPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
# Below this many characters texts like "thanks!" or "+1" would group unrelated posts.
MIN_KEY_CHARS = 12
# Networks whose posts are articles: the author is the feed or site that carried them, and
# the same story syndicated through several feeds arrives under one link.
ARTICLE_NETWORKS = frozenset({"rss", "web"})
# Query parameters that only say where a click came from, never which page it opens.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|igshid|ref|ref_src|cmpid)$")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", html.unescape(text)).casefold()
    text = _RETWEET.sub("", text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub("@user", text)
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def handle(author: str) -> str:
    """One person's handle as networks spell it: "@Bob_S", "u/bob_s", "bob_s@mastodon.social",
    "bob-s.bsky.social" all give "bobs"."""
    name = unicodedata.normalize("NFKC", author).casefold().strip()
    name = re.sub(r"^/?u/", "", name).lstrip("@")
    name = name.split("@", 1)[0].split(".", 1)[0]
    return _NOT_ALNUM.sub("", name)


def reposted(text: str) -> tuple[str, str] | None:
    """(author repeated, their words) for a "RT @author: words" repost, else None."""
    found = _RETWEET.match(text)
    return (found.group(1), text[found.end() :]) if found else None


def canonical_url(url: str) -> str:
    """The link as the article's address: no scheme or "www." difference, no fragment, no
    tracking parameters, no trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").casefold().removeprefix("www.")
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)))
    path = parts.path.rstrip("/")
    return urlunsplit(("", host, path, query, ""))


def dup_key(
    author: str,
    text: str,
    title: str | None = None,
    *,
    network: str | None = None,
    url: str | None = None,
    repost_of: str | None = None,
) -> str | None:
    """Hash of who said what (or of an article's link); None when there is too little to say
    two posts are one."""
    if network in ARTICLE_NETWORKS and url:
        # The title (or the words, without one) keeps apart items that only share a fallback
        # link, such as a feed's home page.
        words = normalise(title or text)
        link = canonical_url(url)
        if not link or not words:
            return None
        return _hash(f"link\n{link}\n{words}")
    who = repost_of
    repeat = reposted(text) if text else None
    if repeat is not None:
        who, text = who or repeat[0], repeat[1]
    name = handle(who or author)
    body = normalise(" ".join(t for t in (title, text) if t))
    if not name or len(body) < MIN_KEY_CHARS:
        return None
    return _hash(f"{name}\n{body}")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]
