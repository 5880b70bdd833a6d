"""Scoring triage against a labelled file, so a team can check the model on its own mentions
before trusting it at 2 a.m. (`listenpost eval`).

Sentiment and urgency are one label per text: a confusion matrix, per-class precision, recall
and F1, macro recall (the standard tweet-sentiment figure) and macro F1. Categories are
multi-label: each category is its own yes/no call, scored the same way, macro-averaged over the
categories the file actually contains (a category with no examples says nothing either way).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.triage import CATEGORIES, SENTIMENTS, URGENCIES

TASKS: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "urgency": URGENCIES,
    "category": CATEGORIES,
}
NO_CATEGORY = ("", "none")  # a category file row may say "no category applies"


class EvalFileError(ValueError):
    """The file cannot be scored; the message names the line and what is wrong."""


@dataclass(frozen=True, slots=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    support: int  # how many texts truly have this label
    predicted: int  # how many the triage gave this label


@dataclass(frozen=True, slots=True)
class Evaluation:
    task: str
    labels: tuple[str, ...]
    per_class: dict[str, ClassScore]
    macro_recall: float
    macro_f1: float
    accuracy: float  # single-label: share right; category: share with exactly the right set
    n: int
    # Single-label: rows = true label, columns = predicted, in `labels` order. Empty for category.
    confusion: list[list[int]] = field(default_factory=list)


def read_eval_file(path: Path, task: str) -> tuple[list[str], list[list[str]]]:
    """Texts and their labels (a list per text: one entry, or several for categories)."""
    if task not in TASKS:
        raise EvalFileError(f"unknown task {task!r}; use {', '.join(TASKS)}")
    known = TASKS[task]
    texts: list[str] = []
    labels: list[list[str]] = []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:2]] != ["text", "label"]:
                raise EvalFileError(
                    f"{path}:1: expected the header 'text<TAB>label', got {header!r}"
                )
            for line, row in enumerate(reader, start=2):
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line (often the last one)
                if len(row) < 2:
                    raise EvalFileError(f"{path}:{line}: expected text<TAB>label, got {row!r}")
                text, raw = row[0], row[1].strip()
                if task == "category":
                    names = [] if raw.lower() in NO_CATEGORY else [
                        c.strip() for c in raw.split(",") if c.strip()
                    ]
                else:
                    names = [raw]
                unknown = [n for n in names if n not in known]
                if unknown:
                    raise EvalFileError(
                        f"{path}:{line}: unknown {task} label {unknown[0]!r}; "
                        f"use {', '.join(known)}"
                    )
                texts.append(text)
                labels.append(names)
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read it ({exc})") from None
    if not texts:
        raise EvalFileError(f"{path}: no rows after the header")
    return texts, labels


def _class_score(tp: int, fp: int, fn: int) -> ClassScore:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassScore(precision, recall, f1, tp + fn, tp + fp)


def score_single(
    task: str, truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> Evaluation:
    """Scores for one label per text. Macro figures average the classes present in the truth."""
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, predicted, strict=True):
        confusion[index[t]][index[p]] += 1
    per_class: dict[str, ClassScore] = {}
    for i, label in enumerate(labels):
        tp = confusion[i][i]
        fn = sum(confusion[i]) - tp
        fp = sum(row[i] for row in confusion) - tp
        per_class[label] = _class_score(tp, fp, fn)
    present = [s for s in per_class.values() if s.support]
    n = len(truth)
    return Evaluation(
        task=task,
        labels=tuple(labels),
        per_class=per_class,
        macro_recall=sum(s.recall for s in present) / len(present) if present else 0.0,
        macro_f1=sum(s.f1 for s in present) / len(present) if present else 0.0,
        accuracy=sum(confusion[i][i] for i in range(len(labels))) / n if n else 0.0,
        n=n,
        confusion=confusion,
    )


def score_multi(
    task: str,
    truth: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    labels: Sequence[str],
) -> Evaluation:
    """Scores for multi-label texts: each label a yes/no call of its own."""
    per_class: dict[str, ClassScore] = {}
    for label in labels:
        tp = fp = fn = 0
        for t, p in zip(truth, predicted, strict=True):
            inside, said = label in t, label in p
            tp += inside and said
            fp += said and not inside
            fn += inside and not said
        per_class[label] = _class_score(tp, fp, fn)
    present = [s for s in per_class.values() if s.support]
    n = len(truth)
    exact = sum(set(t) == set(p) for t, p in zip(truth, predicted, strict=True))
    return Evaluation(
        task=task,
        labels=tuple(labels),
        per_class=per_class,
        macro_recall=sum(s.recall for s in present) / len(present) if present else 0.0,
        macro_f1=sum(s.f1 for s in present) / len(present) if present else 0.0,
        accuracy=exact / n if n else 0.0,
        n=n,
    )
