"""The sentiment head: a softmax layer over sentence embeddings, stored as a tiny `.npz`.

A linear head keeps the learned part a few kilobytes that can be committed, diffed by hash and
retrained in minutes on a laptop. The file holds plain arrays and a JSON string only, so it is
loaded with `allow_pickle=False` and can never execute code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_HEAD = Path(__file__).resolve().parent / "heads" / "sentiment.npz"


@dataclass(frozen=True)
class SentimentHead:
    """Weights (classes x dims), bias and labels, plus how and on what the head was trained."""

    weight: np.ndarray
    bias: np.ndarray
    labels: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.weight.shape[0] != len(self.labels):
            raise ValueError(
                f"head weight shape {self.weight.shape} does not match {len(self.labels)} labels"
            )
        if self.bias.shape != (len(self.labels),):
            raise ValueError(f"head bias shape {self.bias.shape} != ({len(self.labels)},)")

    @property
    def dims(self) -> int:
        return int(self.weight.shape[1])

    @property
    def digest(self) -> str:
        """Names the exact weights, so a stored verdict can be traced to the head that made it."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.weight, dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(self.bias, dtype=np.float32).tobytes())
        h.update("\0".join(self.labels).encode())
        return h.hexdigest()

    @property
    def version(self) -> str:
        return f"sentiment-{self.digest[:8]}"

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per embedding, columns in `labels` order."""
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dims:
            raise ValueError(
                f"embeddings of shape {embeddings.shape} do not fit a head over {self.dims} dims"
            )
        logits = embeddings.astype(np.float64) @ self.weight.T.astype(np.float64) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.meta, "labels": list(self.labels), "dims": self.dims}
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            np.savez(
                f,
                weight=self.weight.astype(np.float32),
                bias=self.bias.astype(np.float32),
                labels=np.array(self.labels, dtype=np.str_),
                meta=np.array(json.dumps(meta, sort_keys=True), dtype=np.str_),
            )
        # Replace in one step: a crash mid-write must not leave a broken committed head.
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path | None = None) -> SentimentHead:
        path = Path(path) if path is not None else DEFAULT_HEAD
        if not path.is_file():
            raise FileNotFoundError(
                f"no sentiment head at {path}; train one with `python -m classifiers.train`"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    weight=data["weight"].astype(np.float32),
                    bias=data["bias"].astype(np.float32),
                    labels=tuple(str(x) for x in data["labels"]),
                    meta=json.loads(str(data["meta"])),
                )
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path} is not a valid sentiment head: {exc}") from exc
