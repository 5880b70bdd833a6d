"""A bag of words and word pairs for sentiment, blended with the network's answer.

The one-layer network and a linear model over hashed words make different mistakes: the
network reads a little context, the word model remembers rare words and pairs ("not bad",
"can't wait") that one layer sees only faintly. Blending their log-probabilities gains about a
point of macro recall on the held-out tweets for a few percent more CPU time (bench/triage.py).

Words are hashed with crc32 into a fixed table, so no vocabulary ships and every machine and
process computes the same features; the few collisions cost less than a vocabulary file would.
Run time needs numpy only; `fit` imports scikit-learn, which only `listenpost train` loads.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.emoji_text import spell_out_emoji

BUCKETS = 2**18
LEXICAL_FILE = "lexical.npz"
# URLs and handles carry no sentiment of their own; placeholders keep where they were.
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    text = _HANDLE.sub(" @user ", _URL.sub(" httpurl ", spell_out_emoji(text).lower()))
    return _TOKEN.findall(text)


def features(text: str) -> list[int]:
    """Hashed buckets of every word and every pair of neighbouring words."""
    words = tokens(text)
    grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return [zlib.crc32(g.encode("utf-8")) % BUCKETS for g in grams]


def _counts(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, bucket, count) triples of the distinct buckets of each text."""
    rows: list[int] = []
    buckets: list[int] = []
    for i, text in enumerate(texts):
        found = features(text)
        rows += [i] * len(found)
        buckets += found
    if not buckets:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    key = np.asarray(rows, dtype=np.int64) * BUCKETS + np.asarray(buckets, dtype=np.int64)
    unique, counts = np.unique(key, return_counts=True)
    return unique // BUCKETS, unique % BUCKETS, counts.astype(np.float64)


def _weighted(texts: Sequence[str], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sublinear tf-idf, L2-normalised per text, as (row, bucket, value)."""
    row, bucket, count = _counts(texts)
    value = (1.0 + np.log(count)) * idf[bucket]
    norm = np.sqrt(np.bincount(row, weights=value**2, minlength=len(texts)))
    value = value / np.where(norm > 0, norm, 1.0)[row]
    return row, bucket, value


@dataclass(frozen=True)
class LexicalSentiment:
    """Linear sentiment over hashed tf-idf words; `log_proba` in SENTIMENTS order."""

    idf: np.ndarray  # (BUCKETS,)
    weights: np.ndarray  # (BUCKETS, classes)
    bias: np.ndarray  # (classes,)

    def log_proba(self, texts: Sequence[str]) -> np.ndarray:
        row, bucket, value = _weighted(texts, self.idf)
        classes = self.weights.shape[1]
        logits = np.tile(self.bias.astype(np.float64), (len(texts), 1))
        contribution = self.weights[bucket].astype(np.float64) * value[:, None]
        for k in range(classes):
            logits[:, k] += np.bincount(row, weights=contribution[:, k], minlength=len(texts))
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    def save(self, path: Path) -> None:
        # float16 halves the file; the weights' third decimal does not change a decision.
        np.savez_compressed(
            path,
            idf=self.idf.astype(np.float16),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> LexicalSentiment:
        with np.load(path) as saved:
            weights = saved["weights"].astype(np.float32)
            idf = saved["idf"].astype(np.float32)
            bias = saved["bias"].astype(np.float32)
        if (
            idf.shape != (BUCKETS,)
            or weights.shape[0] != BUCKETS
            or bias.shape != weights.shape[1:]
        ):
            raise ValueError(f"{path}: not a lexical sentiment table of {BUCKETS} buckets")
        return cls(idf=idf, weights=weights, bias=bias)


def fit(
    texts: Sequence[str], labels: Sequence[int], classes: int, c: float = 1.0
) -> LexicalSentiment:
    """Class-balanced logistic regression on the texts (training time only: scikit-learn)."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels)
    if len(np.unique(y)) != classes:
        raise ValueError(f"lexical sentiment needs examples of all {classes} classes")
    row, bucket, _ = _counts(texts)
    document_frequency = np.bincount(bucket, minlength=BUCKETS)
    # Smoothed idf, as in scikit-learn's TfidfTransformer: unseen buckets get the top weight.
    idf = np.log((1.0 + len(texts)) / (1.0 + document_frequency)) + 1.0
    row, bucket, value = _weighted(texts, idf)
    x = csr_matrix((value, (row, bucket)), shape=(len(texts), BUCKETS))
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y)
    return LexicalSentiment(
        idf=idf.astype(np.float32),
        weights=model.coef_.T.astype(np.float32),
        bias=model.intercept_.astype(np.float32),
    )


def blend(
    network_proba: np.ndarray, lexical_logp: np.ndarray, weight: float, offset: np.ndarray
) -> np.ndarray:
    """Probabilities from a weighted sum of the two models' log-probabilities plus offsets."""
    score = (1.0 - weight) * np.log(np.clip(network_proba, 1e-9, 1.0)) + weight * lexical_logp
    score = score + offset
    score -= score.max(axis=1, keepdims=True)
    proba = np.exp(score)
    return (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)
