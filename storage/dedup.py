"""The near-duplicate key: reposts, quote-copies and cross-posts share it, so they are grouped
under the first copy and alerted once."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+")
_RETWEET = re.compile(r"^\s*(rt|repost|via)\s+@\w+\s*:?\s*", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_PUNCT = re.compile(r"[^\w\s@#]", re.UNICODE)
_SPACE = re.compile(r"\s+")
# Below this many characters texts like "thanks!" or "+1" would group unrelated posts.
MIN_KEY_CHARS = 12


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", html.unescape(text)).casefold()
    text = _RETWEET.sub("", text)
    text = _URL.sub(" ", text)
    text = _HANDLE.sub("@user", text)
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def dup_key(text: str, title: str | None = None) -> str | None:
    """Hash of the normalised text; None when too short to say two posts are copies."""
    body = normalise(" ".join(t for t in (title, text) if t))
    if len(body) < MIN_KEY_CHARS:
        return None
    return hashlib.sha256(body.encode()).hexdigest()[:32]
