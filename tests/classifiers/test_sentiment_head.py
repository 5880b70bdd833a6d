from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from classifiers.sentiment import DEFAULT_HEAD, SentimentHead
from classifiers.triage import SENTIMENTS, URGENCIES, TriageInput
from classifiers.triager import Triager


def test_head_round_trips_and_gives_probabilities(tiny_head_path: Path) -> None:
    head = SentimentHead.load(tiny_head_path)
    assert head.labels == SENTIMENTS
    assert head.dims == 32
    probs = head.predict_proba(np.random.default_rng(1).normal(size=(5, 32)))
    assert probs.shape == (5, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs >= 0).all()
    assert head.version.startswith("sentiment-") and len(head.version) == len("sentiment-") + 8


def test_a_head_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, weight=np.zeros((3, 4)), bias=np.zeros(3),
             labels=np.array(["a", "b", "c"]), meta=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a valid sentiment head"):
        SentimentHead.load(path)


def test_a_corrupt_head_file_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match="not a valid sentiment head"):
        SentimentHead.load(path)


def test_missing_head_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"python -m classifiers\.train"):
        SentimentHead.load(tmp_path / "nope.npz")


def test_triager_on_a_local_model_and_head(tiny_model_dir: Path, tiny_head_path: Path) -> None:
    triager = Triager(model_dir=tiny_model_dir, head_path=tiny_head_path, batch_size=2)
    items = [TriageInput("this is awful"), TriageInput("great"), TriageInput("the table")]
    results = triager.triage(items)
    assert len(results) == 3
    for result in results:
        assert result.sentiment in SENTIMENTS
        assert result.urgency in URGENCIES
        assert set(result.sentiment_scores) == set(SENTIMENTS)
        assert sum(result.sentiment_scores.values()) == pytest.approx(1.0, abs=1e-3)
        assert result.sentiment == max(result.sentiment_scores, key=result.sentiment_scores.get)
        assert result.model_version == triager.model_version
    head = SentimentHead.load(tiny_head_path)
    assert triager.model_version == f"{tiny_model_dir.name}+{head.version}"
    assert triager.triage([]) == []


def test_head_for_another_model_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="384-dim"):
        Triager(model_dir=tiny_model_dir, head_path=DEFAULT_HEAD)
