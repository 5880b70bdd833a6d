"""Emoji reach the model as words, not as [UNK]."""

from __future__ import annotations

from classifiers.emoji_text import spell_out_emoji
from classifiers.lexical import tokens
from classifiers.model import TriageModel


def test_emoji_become_their_names_and_plain_text_is_untouched() -> None:
    assert spell_out_emoji("love the update 😡") == "love the update pouting face"
    assert spell_out_emoji("👍🏽 great ❤️") == "thumbs up sign great red heart"
    assert spell_out_emoji("go 🇺🇸 team") == "go team"  # flag letters alone say nothing
    assert spell_out_emoji("a ≤ b") == "a ≤ b"  # maths is not an emoji
    plain = "no emoji  here\tat all"
    assert spell_out_emoji(plain) is plain


def test_the_model_reads_the_emoji() -> None:
    model = TriageModel.load(cache_size=0)
    ids = model.tokenizer.encode(spell_out_emoji("the new update 😡")).ids
    assert model.tokenizer.token_to_id("[UNK]") not in ids
    plain, angry, loving = model.predict(
        ["the new update", "the new update 😡😡", "the new update 😍😍"]
    ).sentiment
    # The emoji alone move the call: hearts make a bland post positive, and pouting faces
    # multiply its negative score (the shipped model still calls that one neutral, by a
    # margin: docs/triage.md, weak spots).
    assert loving.argmax() == 2 and plain.argmax() == 1
    assert angry[0] > 4 * plain[0] and angry[0] > 3 * loving[0]
    assert "face" in tokens("🙄 ok")
