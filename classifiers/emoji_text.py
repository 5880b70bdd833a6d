"""Emoji spelled out as words before the model reads a post.

MiniLM's WordPiece vocabulary has no emoji, so "love the update 😡" reaches the network as
"love the update [UNK]" and the one word that carries the tone is lost. Unicode's own character
names ("pouting face", "thumbs down sign") are words the model knows; a few whose official
names mislead are replaced by their everyday names. Skin tones, variation selectors and
zero-width joiners are dropped: they change how an emoji looks, not what it says.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Symbols and pictographs: arrows to misc symbols/dingbats, and the emoji planes.
_CANDIDATES = re.compile("[\u2190-\u2bff\U0001f000-\U0001faff]")
_MODIFIERS = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_EVERYDAY = {
    "\u2764": "red heart",  # HEAVY BLACK HEART
    "\u2665": "heart",  # BLACK HEART SUIT
    "\U0001f64f": "folded hands",  # PERSON WITH FOLDED HANDS
    "\U0001f624": "angry huffing face",  # FACE WITH LOOK OF TRIUMPH
    "\U0001f92c": "cursing face",  # SERIOUS FACE WITH SYMBOLS COVERING MOUTH
    "\U0001f4af": "hundred points",  # HUNDRED POINTS SYMBOL
}


@functools.lru_cache(maxsize=4096)
def _word(symbol: str) -> str:
    if symbol in _EVERYDAY:
        return f" {_EVERYDAY[symbol]} "
    if "\U0001f1e6" <= symbol <= "\U0001f1ff":
        return ""  # a flag's letters say nothing alone
    if unicodedata.category(symbol) != "So":
        return symbol  # maths and arrows keep their character
    name = unicodedata.name(symbol, "")
    return f" {name.lower()} " if name else " "


def spell_out_emoji(text: str) -> str:
    """`text` with each emoji replaced by its name; text without emoji comes back unchanged."""
    if not _CANDIDATES.search(text):
        return text
    text = _MODIFIERS.sub("", text)
    return " ".join(_CANDIDATES.sub(lambda m: _word(m.group()), text).split())
