"""The word model blended into sentiment: stable features, a file that round-trips, a blend that
`listenpost train` tunes and the runtime applies, and a clear error when its file is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifiers import lexical
from classifiers.model import TriageModel
from classifiers.training import train
from tests.classifiers.test_train import QUICK, write_data

ROOT = Path(__file__).resolve().parents[2]


def test_features_are_the_same_in_every_process() -> None:
    text = "Not bad at all @acme https://t.co/x #win"
    # Python's own str hash changes per process; the buckets must not, or a saved model breaks.
    script = f"from classifiers.lexical import features; print(features({text!r}))"
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1] == f"{lexical.features(text)}\n"


def test_handles_and_links_become_placeholders() -> None:
    assert lexical.tokens("@Acme your app is DOWN!! https://status.acme.io/x") == [
        "@",
        "user",
        "your",
        "app",
        "is",
        "down",
        "!",
        "!",
        "httpurl",
    ]
    assert lexical.features("@bob hi") == lexical.features("@alice hi")


def _fitted() -> lexical.LexicalSentiment:
    texts = ["love it great", "great love", "awful hate it", "hate awful", "the table", "a chair"]
    return lexical.fit(texts, [2, 2, 0, 0, 1, 1], 3)


def test_fit_learns_words_and_survives_a_save(tmp_path: Path) -> None:
    model = _fitted()
    logp = model.log_proba(["love great", "awful hate", "table chair", ""])
    assert logp.argmax(axis=1)[:3].tolist() == [2, 0, 1]
    assert np.allclose(np.exp(logp).sum(axis=1), 1.0)
    model.save(tmp_path / "lexical.npz")
    loaded = lexical.LexicalSentiment.load(tmp_path / "lexical.npz")
    assert (loaded.log_proba(["love great", "awful hate"]).argmax(axis=1) == [2, 0]).all()


def test_a_table_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", idf=np.ones(10), weights=np.ones((10, 3)), bias=np.ones(3))
    with pytest.raises(ValueError, match="not a lexical sentiment table"):
        lexical.LexicalSentiment.load(tmp_path / "bad.npz")


def test_fit_needs_every_class() -> None:
    with pytest.raises(ValueError, match="all 3 classes"):
        lexical.fit(["good", "bad"], [2, 0], 3)


def test_blend_weights_the_two_models() -> None:
    network = np.array([[0.7, 0.2, 0.1]])
    words = np.log(np.array([[0.1, 0.2, 0.7]]))
    zero = np.zeros(3)
    assert lexical.blend(network, words, 0.0, zero).argmax() == 0  # the network alone
    assert lexical.blend(network, words, 1.0, zero).argmax() == 2  # the words alone
    even = lexical.blend(network, words, 0.5, zero)[0]
    assert even[0] == pytest.approx(even[2]) and even.sum() == pytest.approx(1.0)
    assert lexical.blend(network, words, 0.5, np.array([0.0, 0.0, 0.1])).argmax() == 2


@pytest.fixture(scope="module")
def blended(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> train.TrainResult:
    # Enough rows that the tuning slice holds 30 of each class, the least the blend is tuned on.
    root = tmp_path_factory.mktemp("blend")
    data = write_data(root / "data", per_class=700)
    return train.train_model(data, root / "model", base_model=tiny_model_dir, **QUICK)


def test_training_tunes_and_saves_the_blend(blended: train.TrainResult) -> None:
    card = json.loads((blended.out_dir / "model.json").read_text())
    assert card["lexical"]["file"] == "lexical.npz"
    assert 0.0 <= card["lexical"]["weight"] <= 1.0
    assert (blended.out_dir / "lexical.npz").is_file()
    model = TriageModel.load(blended.out_dir)
    assert model.lexical is not None
    out = model.predict(["awful terrible worst hate", "great love best wonderful", "blue chair"])
    assert out.sentiment.argmax(axis=1).tolist() == [0, 2, 1]
    assert blended.heldout.sentiment is not None and blended.heldout.sentiment.macro_recall > 0.9


def test_the_blend_is_part_of_the_model_version(blended: train.TrainResult, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(blended.out_dir, copy)
    saved = lexical.LexicalSentiment.load(copy / "lexical.npz")
    lexical.LexicalSentiment(saved.idf, saved.weights * 2, saved.bias).save(copy / "lexical.npz")
    assert TriageModel.load(copy).version != TriageModel.load(blended.out_dir).version


def test_a_card_naming_a_missing_word_model_is_refused(
    blended: train.TrainResult, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(blended.out_dir, broken)
    (broken / "lexical.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lexical\.npz, which is missing"):
        TriageModel.load(broken)


def test_no_lexical_trains_the_network_alone(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_data(tmp_path / "data", per_class=700)
    result = train.train_model(
        data, tmp_path / "model", base_model=tiny_model_dir, lexical=False, **QUICK
    )
    assert "lexical" not in json.loads((result.out_dir / "model.json").read_text())
    assert not (result.out_dir / "lexical.npz").exists()
    assert TriageModel.load(result.out_dir).lexical is None
