"""The shipped triage model as the service uses it: offline, torch-free, order-safe, cached."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers.model import DEFAULT_MODEL, TriageModel
from core.triage import CATEGORIES, SENTIMENTS

TEXTS = [
    "I love it",
    "this is broken and support ignores me",
    "The store opens at 9am on Saturday according to the website, see the link for details",
    "ok",
    "worst. update. ever. the app crashes every time I open my cart and nobody replies #fail",
    "thanks @acme, the new dashboard is great",
]


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return TriageModel.load()


def test_shipped_model_is_small_and_runs_without_torch_or_network() -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL.iterdir())
    assert size < 50 * 1024 * 1024  # committed to git
    script = (
        "import sys, socket\n"
        "socket.socket.connect = lambda *a, **k: (_ for _ in ()).throw(OSError('network'))\n"
        "from classifiers.model import TriageModel\n"
        "m = TriageModel.load()\n"
        "print(m.predict(['I love it']).sentiment.argmax(), 'torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.split() == ["2", "False"]


def test_obvious_sentiment(model: TriageModel) -> None:
    out = model.predict(["I love it", "this is broken and support ignores me"])
    assert [SENTIMENTS[i] for i in out.sentiment.argmax(axis=1)] == ["positive", "negative"]
    assert np.allclose(out.sentiment.sum(axis=1), 1.0, atol=1e-4)


def test_outputs_follow_the_shared_label_orders(model: TriageModel) -> None:
    out = model.predict(TEXTS)
    assert out.sentiment.shape == (len(TEXTS), len(SENTIMENTS))
    assert out.categories.shape == (len(TEXTS), len(CATEGORIES))
    for k, name in enumerate(CATEGORIES):
        column = out.categories[:, k]
        if name in model.learned:
            assert ((column >= 0) & (column <= 1)).all()
        else:
            assert np.isnan(column).all()  # not learned: no opinion, never a fake 0
    assert out.urgency is not None and np.allclose(out.urgency.sum(axis=1), 1.0, atol=1e-4)


def test_batching_and_length_sorting_keep_each_text_its_own_answer() -> None:
    small_batches = TriageModel.load(batch_size=2, cache_size=0)
    together = small_batches.predict(TEXTS)
    reversed_out = small_batches.predict(TEXTS[::-1])
    alone = np.vstack([small_batches.predict([t]).sentiment for t in TEXTS])
    # int8 activations are scaled per batch, so companions move scores by rounding only.
    assert np.allclose(together.sentiment, alone, atol=0.05)
    assert np.allclose(reversed_out.sentiment[::-1], together.sentiment, atol=0.05)
    assert (together.sentiment.argmax(axis=1) == alone.argmax(axis=1)).all()


def test_cache_returns_the_same_answer_for_repeats(model: TriageModel) -> None:
    first = model.predict(TEXTS)
    again = model.predict([*TEXTS[::-1], TEXTS[0]])
    assert np.array_equal(again.sentiment[: len(TEXTS)][::-1], first.sentiment)
    assert np.array_equal(again.sentiment[-1], first.sentiment[0])
    assert again.urgency is not None and first.urgency is not None
    assert np.array_equal(again.urgency[: len(TEXTS)][::-1], first.urgency)


def test_version_names_the_weights_and_is_stable(model: TriageModel, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_MODEL, copy)
    assert TriageModel.load(copy).version == model.version == TriageModel.load().version
    assert model.version.startswith(model.card["name"] + "-")
    assert model.card["heldout"]["sentiment"]["macro_recall"] > 0.6


def test_a_folder_that_is_not_a_model_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no triage model at .*model.onnx is missing"):
        TriageModel.load(tmp_path)
    bad = tmp_path / "bad"
    shutil.copytree(DEFAULT_MODEL, bad)
    card = json.loads((bad / "model.json").read_text())
    card["sentiments"] = ["positive", "negative", "neutral"]
    (bad / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="sentiment labels"):
        TriageModel.load(bad)
