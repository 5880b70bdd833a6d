"""The labelled sets in ../shared/data as training tasks, each with a fixed held-out part.

Every task sets its held-out rows aside by a fixed-seed stratified split before anything else,
so training never sees them and a score printed by `listenpost train`, `retrain` or the bench is
an honest estimate that stays comparable from run to run. No torch here: the bench and the
retrain guard read the held-out rows without loading a training stack.

How the public sets map onto triage (a choice, documented in the notes):
  sentiment   SemEval tweets, negative/neutral/positive as labelled.
  complaint   the complaints set: label complaint -> category "complaint".
  urgency     CrisisLex T26 informativeness as a proxy: not related / not applicable -> low,
              related but not informative -> medium, informative -> high, and informative about
              affected people, damaged infrastructure or warnings -> critical (someone must act).
              Anchored in brand talk by the other sets: a complaint -> medium (someone waits
              for an answer), a non-complaint reply -> low, a neutral or positive SemEval tweet
              -> low (everyday chatter); negative tweets say nothing about urgency. Without the
              anchors, any announcement-like post ("opens at 9am Saturday") looks like a crisis
              warning to a model that has only seen crises.
  outage      CrisisLex T26 "Infrastructure and utilities" (power, water, roads, networks down)
              -> category "outage"; every other labelled T26 row is a negative example.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.triage import SENTIMENTS, URGENCIES

DATA_ENV = "LISTENPOST_DATA"
SEED = 20240613  # the seed of the first sentiment head, so held-out figures stay comparable
SENTIMENT_FILE = Path("sentiment") / "semeval_train.tsv"
COMPLAINTS_FILE = Path("complaints") / "complaints_train.tsv"
CRISIS_FILE = Path("crisislex_t26") / "crisislex_t26_train.tsv"
HELDOUT = {"sentiment": 0.1, "complaint": 0.2, "crisis": 0.1}
# Sets for choosing recipes on data from other sources and years: never trained on, not even as
# unlabelled transfer texts, or they would stop measuring how the model generalises.
NEVER_TRAIN = frozenset({"sentiment_dev"})
# Categories the model learns from data; the others come from rules only (NaN in the output).
LEARNED_CATEGORIES: tuple[str, ...] = ("complaint", "outage")
_CRITICAL_TYPES = {"Affected individuals", "Infrastructure and utilities", "Caution and advice"}
_UNLABELLED_TYPES = {"Not labeled", "Not applicable"}

# No class: the row says nothing for that task (a sentiment tweet has no urgency label).
MISSING = -1


@dataclass(frozen=True)
class Example:
    """One text and whatever it is labelled with; MISSING / NaN where it says nothing."""

    text: str
    source: str  # the task file it came from, or "label" for people's labels
    sentiment: int = MISSING
    urgency: int = MISSING
    categories: tuple[float, ...] = (float("nan"),) * len(LEARNED_CATEGORIES)


@dataclass(frozen=True)
class Split:
    train: list[Example]
    heldout: list[Example]
    sources: dict[str, str]  # file -> sha256, recorded with the model


def default_data_dir() -> Path:
    """`$LISTENPOST_DATA`, else the team's `../shared/data` next to the repository."""
    if env := os.environ.get(DATA_ENV):
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


def read_tsv(path: Path, columns: Sequence[str]) -> list[list[str]]:
    """Rows of the named columns; a missing column or short row is an error, never skipped."""
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or any(c not in header for c in columns):
            raise ValueError(f"{path}: expected columns {list(columns)}, got header {header!r}")
        where = [header.index(c) for c in columns]
        rows = []
        for line, row in enumerate(reader, start=2):
            if len(row) < len(header):
                raise ValueError(f"{path}:{line}: expected {len(header)} fields, got {len(row)}")
            rows.append([row[i] for i in where])
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
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


def _categories(**known: float) -> tuple[float, ...]:
    return tuple(known.get(c, float("nan")) for c in LEARNED_CATEGORIES)


def sentiment_examples(path: Path) -> list[Example]:
    examples = []
    for line, (text, label) in enumerate(read_tsv(path, ["text", "label"]), start=2):
        if label not in SENTIMENTS:
            raise ValueError(f"{path}:{line}: label {label!r} is not one of {SENTIMENTS}")
        chatter = URGENCIES.index("low") if label != "negative" else MISSING
        examples.append(
            Example(text, "sentiment", sentiment=SENTIMENTS.index(label), urgency=chatter)
        )
    return examples


def complaint_examples(path: Path) -> list[Example]:
    examples = []
    for line, (text, label) in enumerate(read_tsv(path, ["text", "label"]), start=2):
        if label not in ("complaint", "not_complaint"):
            raise ValueError(f"{path}:{line}: label {label!r} is not complaint/not_complaint")
        is_complaint = label == "complaint"
        examples.append(
            Example(
                text,
                "complaint",
                urgency=URGENCIES.index("medium" if is_complaint else "low"),
                categories=_categories(complaint=float(is_complaint)),
            )
        )
    return examples


def crisis_urgency(informativeness: str, information_type: str) -> int:
    """The urgency proxy for one CrisisLex T26 row (see the module docstring)."""
    if informativeness == "Related and informative":
        return URGENCIES.index("critical" if information_type in _CRITICAL_TYPES else "high")
    if informativeness == "Related - but not informative":
        return URGENCIES.index("medium")
    return URGENCIES.index("low")


def crisis_examples(path: Path) -> list[Example]:
    examples = []
    for text, informativeness, info_type in read_tsv(
        path, ["text", "informativeness", "information_type"]
    ):
        outage = (
            float("nan")
            if info_type in _UNLABELLED_TYPES
            else float(info_type == "Infrastructure and utilities")
        )
        examples.append(
            Example(
                text,
                "crisis",
                urgency=crisis_urgency(informativeness, info_type),
                categories=_categories(outage=outage),
            )
        )
    return examples


def _strata(examples: Sequence[Example], task: str) -> np.ndarray:
    if task == "sentiment":
        return np.array([e.sentiment for e in examples])
    if task == "complaint":
        return np.array([int(e.categories[0]) for e in examples])
    return np.array([e.urgency for e in examples])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tasks(data_dir: Path, seed: int = SEED, require_sentiment: bool = True) -> Split:
    """Every task whose file exists under `data_dir`, split into training and held-out rows."""
    data_dir = Path(data_dir)
    readers = (
        ("sentiment", SENTIMENT_FILE, sentiment_examples),
        ("complaint", COMPLAINTS_FILE, complaint_examples),
        ("crisis", CRISIS_FILE, crisis_examples),
    )
    train: list[Example] = []
    heldout: list[Example] = []
    sources: dict[str, str] = {}
    for task, rel, reader in readers:
        path = data_dir / rel
        if not path.is_file():
            if task == "sentiment" and require_sentiment:
                raise FileNotFoundError(f"training data not found: {path} (use --data DIR)")
            continue
        examples = reader(path)
        kept, held = stratified_split(_strata(examples, task), HELDOUT[task], seed)
        train += [examples[i] for i in kept]
        heldout += [examples[i] for i in held]
        sources[str(rel)] = _sha256(path)
    return Split(train, heldout, sources)


def _same(text: str) -> str:
    """The form two copies of one tweet share: case and spacing differ between the sets."""
    return " ".join(text.lower().split())


def transfer_examples(
    data_dir: Path, split: Split, limit: int | None, seed: int = SEED
) -> tuple[list[Example], dict[str, str]]:
    """Unlabelled rows for the teacher to label: the `text` of every TSV under `data_dir`
    (whatever else its columns say) that is neither a training row already nor a held-out row
    of any task, at most `limit` of them drawn by seed, with the files' sha256.

    A student matches its teacher only where it has seen the teacher answer; the labelled
    sentiment tweets are a narrow slice of what a brand hears, so every other text we have
    (crisis reports, complaints, news-like posts) widens what it learns to imitate. Folders in
    NEVER_TRAIN are skipped, and held-out texts are kept out so held-out figures stay honest.
    """
    data_dir = Path(data_dir)
    taken = {_same(e.text) for e in split.train} | {_same(e.text) for e in split.heldout}
    found: list[str] = []
    sources: dict[str, str] = {}
    for path in sorted(data_dir.rglob("*.tsv")):
        if NEVER_TRAIN & set(path.relative_to(data_dir).parts):
            continue
        for (text,) in read_tsv(path, ["text"]):
            key = _same(text)
            if key and key not in taken:
                taken.add(key)
                found.append(text)
        sources[str(path.relative_to(data_dir))] = _sha256(path)
    if limit is not None and len(found) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(len(found), limit, replace=False))
        found = [found[i] for i in rows]
    return [Example(text, "transfer") for text in found], sources


def label_examples(rows: Iterable[Mapping[str, object] | tuple[str, str, object]]) -> list[Example]:
    """Examples from people's labels: dicts {"text", "sentiment", "urgency", "categories"} as
    `classifiers.training.retrain.label_rows` makes them, or (text, field, value) triples. A
    label for a category the model does not learn teaches nothing about the others, so it is
    left out."""
    merged: dict[str, dict[str, object]] = {}
    for row in rows:
        if isinstance(row, Mapping):
            said = dict(row)
            text = str(said.pop("text"))
        else:
            text, field, value = row
            said = {"categories" if field == "category" else field: value}
        merged.setdefault(text, {}).update(said)
    examples = []
    for text, said in merged.items():
        sentiment = said.get("sentiment")
        urgency = said.get("urgency")
        cats = said.get("categories")
        named = set(cats) if isinstance(cats, list | tuple | set) else None
        categories = tuple(
            float("nan") if named is None else float(c in named) for c in LEARNED_CATEGORIES
        )
        example = Example(
            text,
            "label",
            sentiment=SENTIMENTS.index(sentiment) if sentiment in SENTIMENTS else MISSING,
            urgency=URGENCIES.index(urgency) if urgency in URGENCIES else MISSING,
            categories=categories,
        )
        if example.sentiment != MISSING or example.urgency != MISSING or named is not None:
            examples.append(example)
    return examples

