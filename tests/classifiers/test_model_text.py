"""Handles and links reach a model trained that way as one piece each; older models read the
post as they learned it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from classifiers.model import DEFAULT_MODEL, TriageModel
from classifiers.model_text import MASK_CARD_KEY, model_text


def test_handles_and_links_are_masked_and_emoji_spelled() -> None:
    text = "@MsSheLahY loved it 😍 http://t.co/NnBeUvSt cc @acme_help www.acme.com/x"
    masked = "@user loved it smiling face with heart-shaped eyes http cc @user http"
    assert model_text(text, mask=True) == masked
    assert model_text(text, mask=False).startswith("@MsSheLahY loved it smiling face")
    # An e-mail address is not a handle; a handle after punctuation is.
    assert model_text("mail ana@acme.com (@acme)", mask=True) == "mail ana@acme.com (@user)"
    plain = "nothing to mask here"
    assert model_text(plain, mask=True) == plain


def test_the_card_decides_what_the_model_reads(tmp_path: Path) -> None:
    shipped = TriageModel.load(cache_size=0)
    assert shipped.card[MASK_CARD_KEY] is True
    unmasked = tmp_path / "unmasked"
    shutil.copytree(DEFAULT_MODEL, unmasked)
    card = json.loads((unmasked / "model.json").read_text())
    del card[MASK_CARD_KEY]  # a card from before masking
    (unmasked / "model.json").write_text(json.dumps(card))
    old = TriageModel.load(unmasked, cache_size=0)
    assert old.masks is False
    texts = ["@MsSheLahY this is great", "@user this is great"]
    masked_out = shipped.predict(texts).sentiment
    assert np.allclose(masked_out[0], masked_out[1], atol=1e-6)  # same text once masked
    raw_out = old.predict(texts).sentiment
    assert not np.allclose(raw_out[0], raw_out[1], atol=1e-6)  # the raw handle is read
