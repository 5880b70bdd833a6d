"""HTML fragments (HN comments, feed summaries) as the plain text that is matched and stored.

Matching must see what a reader sees: `AT&amp;T` is `AT&T`, and `acme<p>cloud` is two words on
two lines, not `acmecloud`.
"""

from __future__ import annotations

import html
import re

_BREAKS = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?blockquote|/?pre)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_to_text(fragment: str | None) -> str:
    if not fragment:
        return ""
    text = _BREAKS.sub("\n", fragment)
    text = _TAGS.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()
