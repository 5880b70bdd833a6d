"""Retrain the sentiment head: `python -m classifiers.train [--data DIR] [--out PATH]`.

A fixed-seed, stratified 10 % of the rows is set aside before anything else and only ever
scored, so the macro recall printed at the end is an honest estimate; the regularisation
strength is chosen on a second split carved out of the training rows. Class weights make the
rare negative class count as much as the others: missing an angry customer is the costly error.
Embeddings are cached on disk, keyed by model and texts, so a rerun takes seconds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifiers.sentiment import DEFAULT_HEAD, SentimentHead
from classifiers.triage import SENTIMENTS

SENTIMENT_FILE = Path("sentiment") / "semeval_train.tsv"
DATA_ENV = "LISTENPOST_DATA"
CACHE_ENV = "LISTENPOST_CACHE"
SEED = 20240613
HELDOUT_FRACTION = 0.1
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


@dataclass(frozen=True)
class ClassScores:
    recall: float
    precision: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    per_class: dict[str, ClassScores]
    macro_recall: float
    macro_f1: float
    accuracy: float
    confusion: list[list[int]]  # rows: true label, columns: predicted, in label order


@dataclass(frozen=True)
class TrainReport:
    out_path: Path
    model_version: str
    data_sha256: str
    l2: float
    heldout: Scores
    train_rows: tuple[int, ...]
    heldout_rows: tuple[int, ...]
    embeddings_per_second: float | None  # None when every embedding came from the cache


def default_data_dir() -> Path:
    """`$LISTENPOST_DATA`, else the team's `../shared/data` next to the repository."""
    if env := os.environ.get(DATA_ENV):
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def default_cache_dir() -> Path:
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "listenpost" / "embeddings"


def read_sentiment(path: Path) -> tuple[list[str], list[str]]:
    """Texts and labels; refuses unknown labels rather than silently training on them."""
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or header[:2] != ["text", "label"]:
            raise ValueError(f"{path}: expected a header 'text<TAB>label', got {header!r}")
        for line, row in enumerate(reader, start=2):
            if len(row) < 2 or row[1] not in SENTIMENTS:
                raise ValueError(f"{path}:{line}: expected text and one of {SENTIMENTS}: {row!r}")
            texts.append(row[0])
            labels.append(row[1])
    if not texts:
        raise ValueError(f"{path}: no rows")
    return texts, labels


def stratified_split(
    y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kept, set aside) row indices, both sorted; each class loses the same share."""
    rng = np.random.default_rng(seed)
    aside: list[np.ndarray] = []
    for cls in np.unique(y):
        rows = np.flatnonzero(y == cls)
        rng.shuffle(rows)
        aside.append(rows[: round(len(rows) * fraction)])
    held = np.sort(np.concatenate(aside))
    kept = np.setdiff1d(np.arange(len(y)), held)
    return kept, held


def score(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> Scores:
    k = len(labels)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_class: dict[str, ClassScores] = {}
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        recall = tp / support if support else 0.0
        precision = tp / predicted if predicted else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassScores(float(recall), float(precision), float(f1), support)
    return Scores(
        per_class=per_class,
        macro_recall=float(np.mean([c.recall for c in per_class.values()])),
        macro_f1=float(np.mean([c.f1 for c in per_class.values()])),
        accuracy=float(np.trace(confusion) / max(len(y_true), 1)),
        confusion=confusion.tolist(),
    )


def fit_softmax(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Class-balanced, L2-regularised multinomial logistic regression by full-batch L-BFGS.

    Features are standardised on these rows for a well-conditioned problem, then the scaling is
    folded back into the weights so the saved head applies to raw embeddings. Float64 and a
    zero start make the result the same on every run.
    """
    import torch

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    xs = torch.from_numpy((x - mean) / scale).to(torch.float64)
    target = torch.from_numpy(y).long()
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    class_weight = torch.from_numpy(len(y) / (n_classes * np.maximum(counts, 1)))
    w = torch.zeros((n_classes, x.shape[1]), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w, b],
        lr=1,
        max_iter=500,
        history_size=20,
        tolerance_grad=1e-8,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xs @ w.T + b, target, weight=class_weight)
        loss = loss + 0.5 * l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    weight = w.detach().numpy() / scale
    bias = b.detach().numpy() - weight @ mean
    return weight, bias


def predict(weight: np.ndarray, bias: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.argmax(x @ weight.T + bias, axis=1)


def embed_cached(
    texts: Sequence[str],
    model_dir: Path | None,
    cache_dir: Path,
    batch_size: int,
    max_length: int,
    log: Callable[[str], None],
) -> tuple[np.ndarray, str, float | None]:
    """(embeddings, encoder name, embeddings/s or None when cached)."""
    from classifiers.encoder import Encoder, model_fingerprint

    encoder = Encoder(model_dir, batch_size=batch_size, max_length=max_length)
    key = hashlib.sha256()
    key.update(model_fingerprint(encoder.model_dir).encode())
    key.update(f"max_length={max_length}".encode())
    for text in texts:
        key.update(text.encode("utf-8") + b"\0")
    path = cache_dir / f"{encoder.name}-{key.hexdigest()[:16]}.npy"
    if path.is_file():
        cached = np.load(path, allow_pickle=False)
        if cached.shape == (len(texts), encoder.dim):
            log(f"embeddings from cache {path}")
            return cached, encoder.name, None
    start = time.perf_counter()
    emb = encoder.encode(texts, progress=True)
    rate = len(texts) / (time.perf_counter() - start)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, emb)
    tmp.replace(path)
    log(f"embedded {len(texts)} texts at {rate:.0f}/s; cached in {path}")
    return emb, encoder.name, rate


def train_sentiment(
    data_dir: Path,
    out_path: Path,
    *,
    model_dir: Path | None = None,
    cache_dir: Path | None = None,
    seed: int = SEED,
    heldout_fraction: float = HELDOUT_FRACTION,
    l2_grid: Sequence[float] = L2_GRID,
    batch_size: int = 64,
    max_length: int = 128,
    log: Callable[[str], None] = print,
) -> TrainReport:
    """Train, score on the held-out rows, write the head; the rows set aside are never fitted."""
    data_path = Path(data_dir) / SENTIMENT_FILE
    if not data_path.is_file():
        raise FileNotFoundError(f"training data not found: {data_path} (use --data DIR)")
    data_sha = hashlib.sha256(data_path.read_bytes()).hexdigest()
    texts, label_names = read_sentiment(data_path)
    labels = tuple(SENTIMENTS)
    y = np.array([labels.index(name) for name in label_names], dtype=np.int64)
    train_rows, held_rows = stratified_split(y, heldout_fraction, seed)
    log(f"{len(texts)} rows: {len(train_rows)} to train, {len(held_rows)} held out (seed {seed})")

    emb, encoder_name, rate = embed_cached(
        texts, model_dir, Path(cache_dir or default_cache_dir()), batch_size, max_length, log
    )
    x_train, y_train = emb[train_rows], y[train_rows]

    fit_idx, tune_idx = stratified_split(y_train, heldout_fraction, seed + 1)
    best_l2, best = l2_grid[0], -1.0
    for l2 in l2_grid:
        w, b = fit_softmax(x_train[fit_idx], y_train[fit_idx], len(labels), l2)
        tuned = score(y_train[tune_idx], predict(w, b, x_train[tune_idx]), labels).macro_recall
        log(f"  l2={l2:g}: tuning macro recall {tuned:.4f}")
        if tuned > best:
            best_l2, best = l2, tuned

    weight, bias = fit_softmax(x_train, y_train, len(labels), best_l2)
    heldout = score(y[held_rows], predict(weight, bias, emb[held_rows]), labels)
    head = SentimentHead(weight.astype(np.float32), bias.astype(np.float32), labels)
    model_version = f"{encoder_name}+{head.version}"
    meta = {
        "model_version": model_version,
        "encoder": encoder_name,
        "max_length": max_length,
        "training_data": str(SENTIMENT_FILE),
        "training_data_sha256": data_sha,
        "seed": seed,
        "heldout_fraction": heldout_fraction,
        "rows_train": len(train_rows),
        "rows_heldout": len(held_rows),
        "l2": best_l2,
        "class_weights": "balanced",
        "heldout_macro_recall": round(heldout.macro_recall, 4),
        "heldout_macro_f1": round(heldout.macro_f1, 4),
        "heldout_accuracy": round(heldout.accuracy, 4),
        "heldout_recall": {k: round(v.recall, 4) for k, v in heldout.per_class.items()},
        "heldout_f1": {k: round(v.f1, 4) for k, v in heldout.per_class.items()},
    }
    SentimentHead(head.weight, head.bias, labels, meta).save(Path(out_path))
    report = TrainReport(
        out_path=Path(out_path),
        model_version=model_version,
        data_sha256=data_sha,
        l2=best_l2,
        heldout=heldout,
        train_rows=tuple(int(i) for i in train_rows),
        heldout_rows=tuple(int(i) for i in held_rows),
        embeddings_per_second=rate,
    )
    log(format_report(report))
    return report


def format_report(report: TrainReport) -> str:
    s = report.heldout
    lines = [
        f"held-out ({len(report.heldout_rows)} rows, never trained on), l2={report.l2:g}:",
        f"  {'class':<10}{'recall':>8}{'precision':>11}{'f1':>8}{'support':>9}",
    ]
    for label, c in s.per_class.items():
        lines.append(
            f"  {label:<10}{c.recall:>8.4f}{c.precision:>11.4f}{c.f1:>8.4f}{c.support:>9}"
        )
    lines += [
        f"  macro recall {s.macro_recall:.4f}   macro F1 {s.macro_f1:.4f}"
        f"   accuracy {s.accuracy:.4f}",
        f"  confusion (rows true, columns predicted): {s.confusion}",
        f"wrote {report.out_path} ({report.model_version})",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifiers.train", description="Retrain the sentiment head."
    )
    parser.add_argument(
        "--data", type=Path, default=None,
        help=f"labelled data folder (default ${DATA_ENV} or ../shared/data)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_HEAD, help="where to write the head")
    parser.add_argument("--model-dir", type=Path, default=None, help="local encoder directory")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache folder")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    try:
        train_sentiment(
            args.data or default_data_dir(),
            args.out,
            model_dir=args.model_dir,
            cache_dir=args.cache_dir,
            seed=args.seed,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
