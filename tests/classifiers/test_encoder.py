from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from classifiers.encoder import Encoder, bundled_model_dir


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every attempt to open a connection or resolve a name is recorded and refused."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def test_local_model_loads_by_path_without_network(
    tiny_model_dir: Path, no_network: list[object]
) -> None:
    encoder = Encoder(tiny_model_dir)
    vectors = encoder.encode(["this is awful", "great love", "the blue table"])
    assert encoder.name == tiny_model_dir.name
    assert vectors.shape == (3, 32)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert no_network == []
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_a_hub_name_is_refused_instead_of_downloaded(no_network: list[object]) -> None:
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        Encoder(Path("sentence-transformers/all-MiniLM-L6-v2"))
    assert no_network == []


def test_length_sorted_batches_keep_each_text_its_own_vector(tiny_encoder: Encoder) -> None:
    texts = [
        "the meeting was so bad and i hate it and the chair was broken",
        "thanks",
        "",
        "great",
        "my table is blue and the window is green and that is amazing",
        "angry",
    ]
    together = tiny_encoder.encode(texts)
    alone = np.stack([tiny_encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert tiny_encoder.encode([]).shape == (0, 32)


def test_text_longer_than_the_model_allows_is_cut_not_crashed(tiny_model_dir: Path) -> None:
    encoder = Encoder(tiny_model_dir, max_length=512)  # the tiny model has 64 positions
    (vector,) = encoder.encode(["the meeting was bad " * 100])
    assert encoder.max_length == 64
    assert np.isfinite(vector).all()


def test_a_distilbert_style_model_loads_the_same_way(tmp_path: Path) -> None:
    import torch
    from transformers import DistilBertConfig, DistilBertModel

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "great", "awful"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(
        '{"tokenizer_class": "DistilBertTokenizer", "do_lower_case": true}', encoding="utf-8"
    )
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(vocab), dim=16, n_layers=1, n_heads=2, hidden_dim=32,
        max_position_embeddings=32,
    )
    DistilBertModel(config).save_pretrained(tmp_path)
    vectors = Encoder(tmp_path).encode(["great", "awful awful"])
    assert vectors.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_bundled_minilm_matches_sentence_transformers() -> None:
    st = pytest.importorskip("sentence_transformers")
    texts = ["love the new update, great job", "the app is down again", "ok"]
    ours = Encoder().encode(texts)
    reference = st.SentenceTransformer(str(bundled_model_dir()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    np.testing.assert_allclose(ours, reference, atol=1e-4)
