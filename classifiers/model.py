"""The shipped triage model: a fine-tuned, int8-quantised MiniLM run by ONNX Runtime.

Only onnxruntime, tokenizers and numpy are imported, never torch or transformers: that is what
keeps start-up well under a second and the process small. Speed on two cores comes from
1) a model cut to its first three layers, each with half of its feed-forward units, and
quantised to int8, 2) handles and links read as one word piece each (classifiers/model_text.py),
3) sorting texts by length so a batch is padded only to its own longest text, and 4) a cache of
recent texts, because retweets and syndicated headlines arrive many times. Sentiment is
blended with a hashed bag-of-words model (classifiers/lexical.py) when the card names one: it
costs a few percent of the time and wins about a point of macro recall. Results come back in
the caller's order whatever the sorting; int8 activations are scaled per batch, so a text's
scores can move in the third decimal with its batch companions, and a cached text always gets
exactly its first answer.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.lexical import LEXICAL_FILE, LexicalSentiment, blend
from classifiers.model_text import MASK_CARD_KEY, model_text
from core.triage import CATEGORIES, SENTIMENTS, URGENCIES

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS_DIR / "triage"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CARD_FILE = "model.json"
OUTPUTS = ("sentiment", "categories", "urgency")


def length_batches(
    ids: Sequence[Sequence[int]], batch_size: int
) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Texts' word-piece ids in batches of like length, each padded to its longest with its
    attention mask: a short tweet never pays for a long post's padding. Yields the batch's
    positions in `ids` and the model's inputs."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        width = max(len(ids[i]) for i in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for j, i in enumerate(batch):
            input_ids[j, : len(ids[i])] = ids[i]
            mask[j, : len(ids[i])] = 1
        yield batch, {"input_ids": input_ids, "attention_mask": mask}


@dataclass(frozen=True)
class ModelOutput:
    """Probabilities per text: `sentiment` n x 3 (SENTIMENTS order), `categories` n x 10
    (CATEGORIES order, NaN for categories the model does not learn), `urgency` n x 4 or None."""

    sentiment: np.ndarray
    categories: np.ndarray
    urgency: np.ndarray | None


def read_card(path: Path) -> dict[str, Any]:
    """The model's card (labels, version, figures); refuses a folder that is not a model."""
    card_path = Path(path) / CARD_FILE
    for name in (MODEL_FILE, TOKENIZER_FILE, CARD_FILE):
        if not (Path(path) / name).is_file():
            raise FileNotFoundError(
                f"no triage model at {path}: {name} is missing "
                "(build one with `listenpost train`; models are never downloaded)"
            )
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if tuple(card.get("sentiments", ())) != SENTIMENTS:
        raise ValueError(f"{card_path}: sentiment labels {card.get('sentiments')} != {SENTIMENTS}")
    if card.get("lexical") and not (Path(path) / LEXICAL_FILE).is_file():
        raise FileNotFoundError(
            f"no triage model at {path}: its card blends in {LEXICAL_FILE}, which is missing"
        )
    unknown = set(card.get("categories", ())) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"{card_path}: unknown categories {sorted(unknown)}")
    return card


class TriageModel:
    """Load once, then `predict` batches of any size; safe to call from one thread at a time."""

    def __init__(
        self,
        path: Path,
        threads: int = 2,
        batch_size: int = 32,
        cache_size: int = 20_000,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.card = read_card(self.path)
        digest_of = hashlib.sha256((self.path / MODEL_FILE).read_bytes())
        blended = self.card.get("lexical")
        self.lexical: LexicalSentiment | None = None
        if blended:
            self.lexical = LexicalSentiment.load(self.path / LEXICAL_FILE)
            self._blend_weight = float(blended["weight"])
            self._blend_offset = np.asarray(blended["offset"], dtype=np.float64)
            digest_of.update((self.path / LEXICAL_FILE).read_bytes())
        digest = digest_of.hexdigest()
        self.version: str = f"{self.card['name']}-{digest[:8]}"
        self.max_length = int(self.card["max_length"])
        self.batch_size = batch_size
        self.learned = tuple(self.card.get("categories", ()))
        self._columns = [CATEGORIES.index(c) for c in self.learned]
        self.has_urgency = bool(self.card.get("urgency", False))
        self.masks = bool(self.card.get(MASK_CARD_KEY, False))

        self.tokenizer = Tokenizer.from_file(str(self.path / TOKENIZER_FILE))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(self.path / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._width = len(SENTIMENTS) + len(CATEGORIES) + len(URGENCIES)

    @classmethod
    def load(cls, path: Path | None = None, **options: Any) -> TriageModel:
        """The committed model by default; `path` for a retrained or candidate one."""
        return cls(Path(path) if path is not None else DEFAULT_MODEL, **options)

    def predict(self, texts: Sequence[str]) -> ModelOutput:
        rows = np.full((len(texts), self._width), np.nan, dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                rows[i] = hit
            else:
                todo.setdefault(text, []).append(i)
        if todo:
            fresh = list(todo)
            computed = self._run(fresh)
            for text, row in zip(fresh, computed, strict=True):
                rows[todo[text]] = row
                self._remember(text, row)
        s, c = len(SENTIMENTS), len(CATEGORIES)
        return ModelOutput(
            sentiment=rows[:, :s],
            categories=rows[:, s : s + c],
            urgency=rows[:, s + c :] if self.has_urgency else None,
        )

    def _remember(self, text: str, row: np.ndarray) -> None:
        if self._cache_size <= 0:
            return
        self._cache[text] = row
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _run(self, texts: list[str]) -> np.ndarray:
        """Rows of [sentiment | categories | urgency] for distinct texts, in their order."""
        read = [model_text(t, self.masks) for t in texts]
        ids = [e.ids for e in self.tokenizer.encode_batch(read)]
        out = np.full((len(texts), self._width), np.nan, dtype=np.float32)
        s, c = len(SENTIMENTS), len(CATEGORIES)
        for batch, inputs in length_batches(ids, self.batch_size):
            sentiment, categories, urgency = self.session.run(list(OUTPUTS), inputs)
            out[batch, :s] = sentiment
            if self._columns:
                out[np.ix_(batch, [s + k for k in self._columns])] = categories
            if self.has_urgency:
                out[batch, s + c :] = urgency
        if self.lexical is not None:
            out[:, :s] = blend(
                out[:, :s], self.lexical.log_proba(texts), self._blend_weight, self._blend_offset
            )
        return out
