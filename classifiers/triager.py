"""Turns mentions into verdicts: the model says how they feel, the rules say how fast to act."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from classifiers.encoder import Encoder
from classifiers.sentiment import SentimentHead
from classifiers.triage import SENTIMENTS, Triage, TriageInput
from classifiers.urgency import assess


class Triager:
    """Loads the encoder and sentiment head once; `triage` is then safe to call per batch."""

    def __init__(
        self,
        model_dir: Path | None = None,
        head_path: Path | None = None,
        batch_size: int = 64,
        max_length: int = 128,
    ) -> None:
        self.head = SentimentHead.load(head_path)
        if sorted(self.head.labels) != sorted(SENTIMENTS):
            raise ValueError(f"sentiment head labels {self.head.labels} are not {SENTIMENTS}")
        self.encoder = Encoder(model_dir, batch_size=batch_size, max_length=max_length)
        if self.head.dims != self.encoder.dim:
            raise ValueError(
                f"sentiment head expects {self.head.dims}-dim embeddings but the model at "
                f"{self.encoder.model_dir} makes {self.encoder.dim}; retrain the head for it"
            )
        self.model_version: str = f"{self.encoder.name}+{self.head.version}"

    def triage(self, items: Sequence[TriageInput]) -> list[Triage]:
        """One verdict per item, in order."""
        if not items:
            return []
        probs = self.head.predict_proba(self.encoder.encode([i.text for i in items]))
        results: list[Triage] = []
        for item, row in zip(items, probs, strict=True):
            scores = {
                label: round(float(p), 4) for label, p in zip(self.head.labels, row, strict=True)
            }
            sentiment = self.head.labels[int(row.argmax())]
            verdict = assess(item, scores["negative"])
            results.append(
                Triage(
                    sentiment=sentiment,  # type: ignore[arg-type]
                    sentiment_scores=scores,
                    urgency=verdict.urgency,
                    reasons=verdict.reasons,
                    categories=verdict.categories,
                    model_version=self.model_version,
                )
            )
        return results
