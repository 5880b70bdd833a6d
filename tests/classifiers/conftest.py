from __future__ import annotations

import json
from pathlib import Path

import pytest

TINY_WORDS = (
    *("the", "a", "is", "i", "my", "it", "this", "that", "so", "and", "was", "to", "of"),
    *("awful", "terrible", "bad", "hate", "worst", "broken", "angry"),
    *("table", "chair", "window", "paper", "blue", "green", "meeting"),
    *("great", "love", "best", "happy", "wonderful", "amazing", "thanks"),
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a WordPiece vocab of ~40 words, saved like any local model
    (with the fast tokenizer.json that training needs)."""
    import torch
    from transformers import BertConfig, BertModel

    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    from tokenizers import BertWordPieceTokenizer

    # The fast tokenizer file `listenpost train` and the ONNX runtime read.
    BertWordPieceTokenizer(str(path / "vocab.txt"), lowercase=True).save(
        str(path / "tokenizer.json")
    )
    (path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True}),
        encoding="utf-8",
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    return path
