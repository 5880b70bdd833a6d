"""Make a mention storable on every backend before it reaches SQL.

Networks send what their users typed: lone UTF-16 surrogates (legal in JSON, refused by
SQLite's UTF-8 encoder), NUL characters (refused by PostgreSQL text), ids and names longer than
our columns. Refusing the post would stall its source on every poll; so the text is repaired
visibly (U+FFFD) and over-long keys are shortened deterministically.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from core.mention import Mention

KEY_LIMIT = 255  # mentions.native_id, author, in_reply_to: String(255)


def clean_text(text: str) -> str:
    if not isinstance(text, str):
        return text  # not ours to repair: the database's own check reports it
    repaired = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return repaired.replace("\x00", "")


def fit_key(value: str, limit: int = KEY_LIMIT) -> str:
    """Unchanged when it fits; else a prefix plus a hash, so distinct keys stay distinct."""
    value = clean_text(value)
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[: limit - 17]}~{digest}"


def storable(m: Mention) -> Mention:
    return replace(
        m,
        native_id=fit_key(m.native_id),
        author=fit_key(m.author),
        in_reply_to=fit_key(m.in_reply_to) if m.in_reply_to else m.in_reply_to,
        url=clean_text(m.url),
        text=clean_text(m.text),
        title=clean_text(m.title) if m.title else m.title,
    )
