"""Learning from the team without ever getting worse: train a candidate with the labels people
gave, score old and new on the same held-out split, and swap only if the new one is no worse.

The training and scoring are passed in (classifiers.training.train provides the real ones), so
this guard is the one place that decides, and it can be checked with any trainer's figures.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def label_rows(labelled: Sequence[tuple[int, str, Mapping[str, object]]]) -> list[LabelRow]:
    """Training rows from `storage.labels.all_labels`; not-relevant mentions teach nothing about
    sentiment or urgency and are left out."""
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
    *,
    dry_run: bool = False,
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
        if ok and dry_run:
            verdict = verdict.replace("swapped in", "would swap in") + " (dry run: nothing changed)"
        elif ok:
            swap_in(candidate, current)
        return RetrainResult(before, after, ok and not dry_run, verdict, len(rows))
    finally:
        if candidate.is_dir():
            shutil.rmtree(candidate)
        elif candidate.exists():
            candidate.unlink()
