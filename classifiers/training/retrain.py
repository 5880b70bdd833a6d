"""Learning from the team without ever getting worse: train a candidate with the labels people
gave, score old and new on the same held-out split, and swap only if the new one is no worse.

The training and scoring are passed in (classifiers.training.train provides the real ones), so
this guard is the one place that decides, and it can be checked with any trainer's figures.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What `train` gets from the team: one dict per labelled mention, with the fields people set:
# {"text": ..., "sentiment": "negative", "urgency": "high", "categories": ["outage"]}.
LabelRow = dict[str, object]
Train = Callable[[Sequence[LabelRow], Path], None]  # write a candidate model at the path
Evaluate = Callable[[Path], Mapping[str, float]]  # held-out macro recall per task, for a model


@dataclass(frozen=True, slots=True)
class RetrainResult:
    before: dict[str, float]  # task -> held-out macro recall of the model in use
    after: dict[str, float]  # the same for the candidate
    swapped: bool
    verdict: str  # one line for people: what happened and why
    rows: int  # labelled mentions the candidate learned from


# Training speed when the model card has no measured figure: the model shipped before cards
# recorded it (50,369 rows, 3 epochs, distilled from a six-layer teacher) took about 3.5 h on
# a busy 2-core machine.
RECORDED_SECONDS = 3.5 * 3600
RECORDED_ROWS = 50_369


def label_rows(labelled: Sequence[tuple[int, str, Mapping[str, object]]]) -> list[LabelRow]:
    """Training rows from `storage.labels.all_labels`; not-relevant mentions teach nothing about
    sentiment or urgency and are left out of them (they teach the relevance model instead,
    classifiers/relevance.py, as soon as they are given)."""
    rows: list[LabelRow] = []
    for _id, text, said in labelled:
        if said.get("relevant") is False:
            continue
        row: LabelRow = {"text": text}
        if "sentiment" in said:
            row["sentiment"] = said["sentiment"]
        if "urgency" in said:
            row["urgency"] = said["urgency"]
        if "category" in said:
            row["categories"] = list(said["category"])  # type: ignore[call-overload]
        if len(row) > 1:
            rows.append(row)
    return rows


def label_counts(
    labelled: Sequence[tuple[int, str, Mapping[str, object]]],
) -> dict[str, Counter[str]]:
    """What the team said, per field and value: {"sentiment": {"negative": 3}, "relevant":
    {"not relevant": 2}, ...}; categories count once per category."""
    counts: dict[str, Counter[str]] = {}
    for _id, _text, said in labelled:
        for field, value in said.items():
            if field == "relevant":
                values = ["relevant" if value else "not relevant"]
            elif field == "category":
                values = [str(v) for v in value] or ["none"]  # type: ignore[attr-defined]
            else:
                values = [str(value)]
            counts.setdefault(field, Counter()).update(values)
    return counts


def estimate_seconds(card: Mapping[str, Any], rows: int) -> tuple[float, str]:
    """How long training the candidate would take, and what the guess rests on: the seconds
    this model's own training took per row (its card), else RECORDED_SECONDS."""
    built = card.get("training") or {}
    trained_on = int(built.get("rows_train") or 0)
    seconds = built.get("seconds")
    if isinstance(seconds, int | float) and seconds > 0 and trained_on > 0:
        per_row = float(seconds) / trained_on
        basis = f"this model took {seconds:,.0f} s for {trained_on:,} rows when it was trained"
    else:
        per_row = RECORDED_SECONDS / RECORDED_ROWS
        basis = (
            f"recorded: {RECORDED_SECONDS:,.0f} s for {RECORDED_ROWS:,} rows on a busy "
            "2-core machine"
        )
    return per_row * ((trained_on or RECORDED_ROWS) + rows), basis


def no_worse(before: Mapping[str, float], after: Mapping[str, float]) -> tuple[bool, str]:
    """The guard: every task both models are scored on must keep at least its macro recall."""
    shared = [task for task in before if task in after]
    if not shared:
        return False, "the candidate was not scored on any task the current model is scored on"
    worse = [t for t in shared if after[t] < before[t]]
    if worse:
        detail = ", ".join(f"{t} {before[t]:.4f} -> {after[t]:.4f}" for t in worse)
        return False, f"kept the current model: the candidate is worse on {detail}"
    gains = ", ".join(f"{t} {before[t]:.4f} -> {after[t]:.4f}" for t in shared)
    return True, f"swapped in the new model (held-out macro recall {gains})"


def swap_in(candidate: Path, current: Path) -> Path:
    """Put the candidate where the current model is; the old one stays beside it as *.previous.

    Renames on one file system, so a crash leaves either model in place, never half of one.
    """
    previous = current.with_name(current.name + ".previous")
    if previous.is_dir():
        shutil.rmtree(previous)
    elif previous.exists():
        previous.unlink()
    if current.exists():
        os.replace(current, previous)
    os.replace(candidate, current)
    return previous


def retrain(
    rows: Sequence[LabelRow],
    current: Path,
    train: Train,
    evaluate: Evaluate,
) -> RetrainResult:
    """Train a candidate next to `current`, compare, and swap it in only if it is no worse."""
    if not current.exists():
        raise FileNotFoundError(f"no model at {current} to compare with; run `listenpost train`")
    candidate = current.with_name(current.name + ".candidate")
    if candidate.is_dir():
        shutil.rmtree(candidate)
    elif candidate.exists():
        candidate.unlink()
    try:
        before = dict(evaluate(current))
        train(rows, candidate)
        after = dict(evaluate(candidate))
        ok, verdict = no_worse(before, after)
        if ok:
            swap_in(candidate, current)
        return RetrainResult(before, after, ok, verdict, len(rows))
    finally:
        if candidate.is_dir():
            shutil.rmtree(candidate)
        elif candidate.exists():
            candidate.unlink()
