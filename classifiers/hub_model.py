"""Bring your own sentiment model: any Hugging Face text-classification model, by hub name or
local folder, in place of the bundled sentiment call.

    [classifier]
    sentiment_model = "cardiffnlp/twitter-roberta-base-sentiment-latest"

Hub access is the user's choice: a name is downloaded once into the usual Hugging Face cache
unless HF_HUB_OFFLINE is set, in which case it must already be there (one clear error says how
to get it). The bundled model stays strictly offline either way. Labels are mapped onto
negative/neutral/positive by name ("negative", "NEG", "Neutral"...), by the LABEL_0/1/2
convention (0 negative, 1 neutral, 2 positive; with two labels 0 negative, 1 positive), or by
star ratings (1-2 negative, 3 neutral, 4-5 positive); anything else is refused at start-up
rather than guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from classifiers.extras import HUB_MODEL, install_hint, missing
from core.triage import SENTIMENTS

# The user's own HF_HUB_OFFLINE, read once as this module loads: a bring-your-own model may
# come from the hub unless the user said not to.
USER_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE", os.environ.get("TRANSFORMERS_OFFLINE", ""))

# Files a text-classification model needs: config, tokenizer, and one copy of the PyTorch
# weights (safetensors when published, else pytorch_model.bin), never TF/Flax/ONNX copies.
_CONFIG = ["*.json", "*.txt", "*.model", "vocab.*"]
_WEIGHTS = (["*.safetensors"], ["pytorch_model*.bin"])
_BY_NAME = {"neg": "negative", "neu": "neutral", "pos": "positive"}
_STARS = re.compile(r"^([1-5]) stars?$")


class HubModelError(Exception):
    """The configured sentiment_model cannot be used; the message says why and what to do."""


def map_labels(id2label: Mapping[int, str], model: str) -> list[int]:
    """For each output index, the index in SENTIMENTS it counts towards."""
    names = {int(i): str(label).strip().lower() for i, label in id2label.items()}
    generic = [f"label_{i}" for i in range(len(names))]
    if sorted(names.values()) == generic:
        if len(names) == 3:
            return [0, 1, 2]
        if len(names) == 2:
            return [0, 2]
    mapped: list[int] = []
    for i in range(len(names)):
        name = names.get(i, "")
        if match := _STARS.match(name):
            stars = int(match.group(1))
            mapped.append(0 if stars <= 2 else 1 if stars == 3 else 2)
            continue
        sentiment = next((s for p, s in _BY_NAME.items() if name.startswith(p)), None)
        if sentiment is None:
            raise HubModelError(
                f"sentiment_model {model!r}: cannot map its labels "
                f"{[names[k] for k in sorted(names)]} to {'/'.join(SENTIMENTS)}; use a sentiment "
                "model whose labels name negative/neutral/positive (or LABEL_0..2 in that order)"
            )
        mapped.append(SENTIMENTS.index(sentiment))  # type: ignore[arg-type]
    return mapped


def _hub_offline() -> bool:
    return USER_HUB_OFFLINE.strip().lower() in {"1", "true", "yes", "on"}


@contextmanager
def _hub_allowed() -> Iterator[None]:
    """Let huggingface_hub reach the hub for this download only.

    Training from the bundled all-MiniLM-L6-v2 (classifiers.training.train) switches the whole
    process offline so it never phones home; a model the user named is the exception they asked for.
    """
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def resolve(model: str) -> Path:
    """A local folder holding the model: the path itself, or the hub snapshot in the HF cache."""
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise HubModelError(f"sentiment_model {model!r}: no config.json in that folder")
        return local
    from huggingface_hub.utils import HfHubHTTPError, LocalEntryNotFoundError

    if _hub_offline():
        try:
            return _download(model, offline=True)
        except (LocalEntryNotFoundError, FileNotFoundError, ValueError):
            raise HubModelError(
                f"sentiment_model {model!r} is not in the Hugging Face cache and HF_HUB_OFFLINE "
                "is set: download it once with `huggingface-cli download "
                f"{model}` where the hub is reachable, or set sentiment_model to a local folder"
            ) from None
    try:
        with _hub_allowed():
            return _download(model, offline=False)
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise HubModelError(
            f"sentiment_model {model!r}: could not get it from the Hugging Face hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); check the "
            "name, your network, or set it to a local folder"
        ) from None


def _download(model: str, offline: bool) -> Path:
    from huggingface_hub import snapshot_download

    # A mirror or private hub (HF_ENDPOINT), read now rather than when huggingface_hub loaded.
    endpoint = os.environ.get("HF_ENDPOINT") or None
    path = Path("")
    for weights in _WEIGHTS:
        path = Path(
            snapshot_download(
                model,
                allow_patterns=_CONFIG + weights,
                local_files_only=offline,
                endpoint=endpoint,
            )
        )
        if any(path.glob(weights[0])):
            return path
    return path  # no weights found: loading names the problem


class HubSentiment:
    """A sequence-classification model whose outputs are folded into SENTIMENTS order."""

    def __init__(self, model: str, batch_size: int = 32, max_length: int = 128) -> None:
        if absent := missing(HUB_MODEL):  # the lean install has no torch
            raise HubModelError(f"sentiment_model {model!r} needs {install_hint(absent)}")
        path = resolve(model)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(path), local_files_only=True
            )
        except (OSError, ValueError, KeyError) as exc:
            raise HubModelError(
                f"sentiment_model {model!r}: not a loadable text-classification model "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            ) from None
        self.model.eval()
        self.columns = map_labels(self.model.config.id2label, model)
        self.batch_size = batch_size
        positions = getattr(self.model.config, "max_position_embeddings", max_length)
        self.max_length = min(max_length, positions)
        self.version = f"hf:{model}"

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of (negative, neutral, positive) probabilities, in the order of `texts`."""
        import torch

        out = np.zeros((len(texts), len(SENTIMENTS)), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                encoded = self.tokenizer(
                    [texts[i] for i in batch],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                probs = torch.softmax(self.model(**encoded).logits, dim=-1).numpy()
                folded = np.zeros((len(batch), len(SENTIMENTS)), dtype=np.float32)
                for column, sentiment in enumerate(self.columns):
                    folded[:, sentiment] += probs[:, column]
                out[batch] = folded
        return out
