"""How close a post's meaning is to a short description: the `about:"…"` operator.

The shipped all-MiniLM-L6-v2, int8 ONNX (built by `python -m
classifiers.training.export_embedder`), turns texts into unit vectors; the similarity of a post
and a description is their dot product (the cosine), from about 0 (unrelated) to 1. Only
onnxruntime, tokenizers and numpy run here, and only when a query uses `about:`: nothing loads
it at import, at `--help`, or for queries without it.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# The same folder layout as the triage model's: graph, tokenizer, card.
from classifiers.model import CARD_FILE, MODEL_FILE, MODELS_DIR, TOKENIZER_FILE, length_batches

DEFAULT_EMBEDDER = MODELS_DIR / "embedder"


class Embedder:
    """Load once, then `similarity`, from any thread (polls of several sources may score at
    once; one runs at a time, each batch using the session's threads)."""

    def __init__(self, path: Path = DEFAULT_EMBEDDER, threads: int = 2, batch_size: int = 32):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        for name in (MODEL_FILE, TOKENIZER_FILE, CARD_FILE):
            if not (path / name).is_file():
                raise FileNotFoundError(
                    f"no embedding model at {path}: {name} is missing (build it with "
                    "`python -m classifiers.training.export_embedder`)"
                )
        self.card = json.loads((path / CARD_FILE).read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(path / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(int(self.card["max_length"]))
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self.batch_size = batch_size
        self._descriptions: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text, in the caller's order."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        out = np.zeros((len(texts), int(self.card["dimensions"])), dtype=np.float32)
        for batch, inputs in length_batches(ids, self.batch_size):
            (vectors,) = self.session.run(["embedding"], inputs)
            out[batch] = vectors
        return out

    def similarity(self, texts: Sequence[str], description: str) -> list[float]:
        """Each text's cosine similarity to the description (kept: a brand's is reused)."""
        if not texts:
            return []
        with self._lock:
            target = self._descriptions.get(description)
            if target is None:
                target = self.embed([description])[0]
                self._descriptions[description] = target
                if len(self._descriptions) > 256:
                    self._descriptions.popitem(last=False)
            return [round(float(v), 4) for v in self.embed(texts) @ target]
