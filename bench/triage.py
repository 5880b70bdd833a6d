"""Triage benchmark: load time, full-triage throughput, peak memory and held-out quality.

    python bench/triage.py [--mentions 4000] [--threads 2] [--model DIR] [--data DIR]
                           [--candidate DIR ...] [--compare-only]

Throughput and memory are measured in fresh subprocesses that never import torch, as the
service runs: `Triager` end to end (team rules, language, model, word rules, urgency) on
distinct tweet texts in batches of 256, so the text cache does not flatter the number; a second
pass over the same texts shows what the cache gives on repeats (retweets, syndicated news).
Texts come from the held-out sentiment rows when ../shared/data exists, else from a small
synthetic sample generated here. Held-out figures need ../shared/data and are skipped without
it; the per-category, sentiment and urgency figures on hand-labelled brand mentions
(bench/data/brand_mentions_*.tsv, the `listenpost eval` format) are always printed.

First comes one row per model (the one under test and each `--candidate`): sentiment macro recall /
macro F1 on every set in DATA/sentiment_dev/ (tweets from other sources and years, never
trained on: the yardstick recipes are chosen by, since the held-out split shares the training
data's years and annotators) and on the held-out split, scored through `listenpost eval`'s own
path, beside each model's speed, load time and memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, usable_cores  # noqa: E402

BATCH = 256  # what the pipeline hands the triager per round (store.untriaged limit)

WORKER = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from classifiers.model import TriageModel
from classifiers.triager import Triager
from core.triage import TriageInput
model_dir, texts_file, threads, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
path = None if model_dir == "-" else model_dir
if mode == "load-model":
    TriageModel.load(path, threads=threads)
    print(json.dumps({"load_s": time.perf_counter() - t0}))
    sys.exit()
def peak_rss_mb():
    # VmHWM belongs to this program's memory map; ru_maxrss also keeps the high-water mark of
    # the process it was forked from (the bench itself, holding models and data sets).
    try:
        for line in open("/proc/self/status", encoding="ascii"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
triager = Triager(model=TriageModel.load(path, threads=threads))
load_s = time.perf_counter() - t0
texts = open(texts_file, encoding="utf-8").read().split("\n")
items = [TriageInput(t, reach=(i * 7919) % 200_000, brand_terms=("acme",))
         for i, t in enumerate(texts)]
triager.triage(items[:64])  # first call: allocations, thread pools
def timed():
    start = time.perf_counter()
    for i in range(0, len(items), 256):
        triager.triage(items[i : i + 256])
    return time.perf_counter() - start
cold = timed() if mode == "triage" else None
warm = timed()
print(json.dumps({
    "load_s": load_s, "cold_s": cold, "warm_s": warm, "n": len(items),
    "torch": "torch" in sys.modules,
    "peak_rss_mb": peak_rss_mb(),
}))
"""

SUBJECTS = ("the app", "my order", "the website", "checkout", "support", "the update", "login",
            "the new phone", "delivery", "my account", "the subscription", "your api")
COMPLAINTS = ("has been down for two hours and nobody answers", "keeps crashing every time I open"
              " it", "charged me twice this month, I want a refund", "is so slow today it's "
              "unusable", "lost my data again, this is ridiculous")
PRAISE = ("is honestly the best thing I've bought this year", "works perfectly, thanks team",
          "got fixed super fast, great support", "looks amazing after the redesign")
NEUTRAL = ("will be updated on Tuesday according to the blog", "is mentioned in today's "
           "newsletter", "moved to a new address last week", "was discussed at the meetup")
QUESTIONS = ("does anyone know if {s} supports dark mode?", "@acme is {s} available in Canada?",
             "how do I cancel {s} without calling?")


def synthetic_texts(n: int, seed: int = 7) -> list[str]:
    """Tweet-like mentions of a brand (complaints, praise, news, questions), all distinct."""
    rnd = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        subject = rnd.choice(SUBJECTS)
        kind = rnd.random()
        if kind < 0.15:
            text = rnd.choice(QUESTIONS).format(s=subject)
        else:
            pool = COMPLAINTS if kind < 0.5 else PRAISE if kind < 0.75 else NEUTRAL
            text = f"{subject.capitalize()} {rnd.choice(pool)}"
        tail = rnd.choice(("", " #acme", " @acme", " https://t.co/x", " :(", " !!", " lol"))
        out.append(f"{text}{tail} ({len(out)})")
    return out


def bench_texts(data_dir: Path | None, n: int) -> tuple[list[str], str]:
    from classifiers.training.datasets import SENTIMENT_FILE, default_data_dir, load_tasks

    data = Path(data_dir) if data_dir else default_data_dir()
    if (data / SENTIMENT_FILE).is_file():
        seen: set[str] = set()
        texts = []
        for e in load_tasks(data).heldout:
            if e.sentiment >= 0 and e.text not in seen:
                seen.add(e.text)
                texts.append(" ".join(e.text.split()))
        return texts[:n], "held-out SemEval tweets"
    return synthetic_texts(n), "synthetic brand mentions (no ../shared/data)"


def worker(model: Path | None, texts: list[str], threads: int, mode: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(texts))
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(model or "-"), f.name, str(threads), mode],
            capture_output=True, text=True, env=env, check=True, cwd=ROOT,
        )
    finally:
        os.unlink(f.name)
    return json.loads(done.stdout.strip().splitlines()[-1])


def quality_rows(model: Path | None, data_dir: Path | None) -> list[str]:
    from classifiers.training.datasets import SENTIMENT_FILE, default_data_dir
    from classifiers.training.train import evaluate_holdout

    data = Path(data_dir) if data_dir else default_data_dir()
    if not (data / SENTIMENT_FILE).is_file():
        return ["| held-out quality | skipped: no ../shared/data |"]
    m = evaluate_holdout(model, data)
    rows = []
    if s := m.sentiment:
        per = ", ".join(f"{k} {v.recall:.3f}" for k, v in s.per_class.items())
        rows += [
            f"| sentiment macro recall (SemEval held-out, n={s.n}) | **{s.macro_recall:.4f}** |",
            f"| sentiment macro F1 / accuracy | {s.macro_f1:.4f} / {s.accuracy:.4f} |",
            f"| sentiment recall per class | {per} |",
        ]
    if u := m.urgency:
        rows.append(
            f"| urgency macro F1 / macro recall (proxy: CrisisLex T26 + brand anchors, n={u.n}) | "
            f"{u.macro_f1:.4f} / {u.macro_recall:.4f} |"
        )
    for name, ev in m.categories.items():
        source = "complaints set" if name == "complaint" else "CrisisLex T26 infrastructure"
        rows.append(
            f"| category {name} F1 ({source}, n={ev.n}) | {ev.per_class[name].f1:.4f} "
            f"(precision {ev.per_class[name].precision:.3f}, recall "
            f"{ev.per_class[name].recall:.3f}) |"
        )
    return rows


BRAND_SET = ROOT / "bench" / "data"
BRAND_FILES = {task: BRAND_SET / f"brand_mentions_{task}.tsv" for task in (
    "sentiment", "urgency", "category")}


def brand_rows(model: Path | None) -> list[str]:
    """Full triage (word rules + model) on the hand-labelled brand mentions in bench/data,
    written blind to the rules: the only labels for categories the public sets lack."""
    from classifiers.model import TriageModel
    from classifiers.triager import Triager
    from listenpost.cli.triage import evaluate_file

    triager = Triager(model=TriageModel.load(model))
    rows = []
    for task, path in BRAND_FILES.items():
        result, _rate = evaluate_file(path, task, triager)
        where = f"brand mentions, n={result.n}"
        if task == "category":
            rows.append(f"| categories macro F1 ({where}) | {result.macro_f1:.4f} |")
            for name, score in result.per_class.items():
                rows.append(
                    f"| category {name} F1 ({where}, {score.support} with it) | "
                    f"{score.f1:.4f} (precision {score.precision:.3f}, recall "
                    f"{score.recall:.3f}) |"
                )
        else:
            rows.append(
                f"| {task} macro recall / macro F1 ({where}) | "
                f"{result.macro_recall:.4f} / {result.macro_f1:.4f} |"
            )
    return rows


DEV_FOLDER = "sentiment_dev"


def dev_sets(data_dir: Path | None) -> list[Path]:
    from classifiers.training.datasets import default_data_dir

    folder = (Path(data_dir) if data_dir else default_data_dir()) / DEV_FOLDER
    return sorted(folder.glob("*.tsv")) if folder.is_dir() else []


def heldout_file(data_dir: Path | None, folder: Path) -> Path | None:
    """The held-out sentiment rows written as an eval file, so every column is scored alike."""
    from classifiers.training.datasets import (
        MISSING,
        SENTIMENT_FILE,
        default_data_dir,
        load_tasks,
    )
    from core.triage import SENTIMENTS

    data = Path(data_dir) if data_dir else default_data_dir()
    if not (data / SENTIMENT_FILE).is_file():
        return None
    rows = [e for e in load_tasks(data).heldout if e.sentiment != MISSING]
    path = folder / "heldout.tsv"
    lines = [f"{' '.join(e.text.split())}\t{SENTIMENTS[e.sentiment]}" for e in rows]
    path.write_text("\n".join(["text\tlabel", *lines]) + "\n", encoding="utf-8")
    return path


def compare(models: list[Path | None], data_dir: Path | None, texts: list[str], threads: int
            ) -> list[str]:
    """One row per model: sentiment on each dev set and the held-out split, speed, memory."""
    from classifiers.model import TriageModel
    from classifiers.triager import Triager
    from listenpost.cli.triage import evaluate_file

    sets = dev_sets(data_dir)
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        held = heldout_file(data_dir, Path(tmp))
        files = [*sets, *([held] if held else [])]
        names = [p.stem for p in sets] + (["held-out split"] if held else [])
        head = ["model", *(f"{n} MR / MF1" for n in names), "mentions/s", "load", "peak RSS"]
        out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        # The calls behind the macro figures: how many negatives are found and how often a
        # negative call is right (what alerts see), and the neutral class calibration moves.
        classes = ["| model | " + " | ".join(f"{n} neg R / P, neu F1" for n in names) + " |",
                   "|" + " --- |" * (len(names) + 1)]
        for model in models:
            loaded = TriageModel.load(model)
            triager = Triager(model=loaded)
            name = f"{loaded.version} ({loaded.card['layers']} layers, ffn {loaded.card['ffn']})"
            cells, per_class = [name], [name]
            for path in files:
                result, _ = evaluate_file(path, "sentiment", triager)
                cells.append(f"{result.macro_recall:.3f} / {result.macro_f1:.3f}")
                neg, neu = result.per_class["negative"], result.per_class["neutral"]
                per_class.append(f"{neg.recall:.2f} / {neg.precision:.2f}, {neu.f1:.2f}")
            run = worker(model, texts, threads, "triage")
            load = min(worker(model, texts[:1], threads, "load-model")["load_s"] for _ in range(3))
            cells += [f"{run['n'] / run['cold_s']:.0f}", f"{load:.2f} s",
                      f"{run['peak_rss_mb']:.0f} MB"]
            out.append("| " + " | ".join(cells) + " |")
            classes.append("| " + " | ".join(per_class) + " |")
    if not sets:
        out.append(f"(no {DEV_FOLDER}/ under the data folder: dev-set columns skipped)")
    return [*out, "", *classes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None, help="model folder (default shipped)")
    parser.add_argument("--data", type=Path, default=None, help="labelled data folder")
    parser.add_argument("--candidate", type=Path, action="append", default=[],
                        help="another model folder to compare (repeatable)")
    parser.add_argument("--compare-only", action="store_true",
                        help="only the table of models side by side")
    args = parser.parse_args()

    from classifiers.model import TriageModel

    model = TriageModel.load(args.model)
    texts, source = bench_texts(args.data, args.mentions)
    models: list[Path | None] = [args.model, *args.candidate]
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores, {args.threads} threads, "
          f"load average {os.getloadavg()[0]:.1f}; speed: full triage of {len(texts)} "
          f"{source}; MR / MF1: sentiment macro recall / macro F1")
    print("\n".join(compare(models, args.data, texts, args.threads)))
    if args.compare_only:
        return
    print()
    load = min(
        worker(args.model, texts[:1], args.threads, "load-model")["load_s"] for _ in range(3)
    )
    run = worker(args.model, texts, args.threads, "triage")
    n = run["n"]
    rows = [
        f"| model | {model.version} ({model.card['layers']} layers, int8 ONNX, max "
        f"{model.max_length} tokens) |",
        f"| machine | {cpu_model()}, {usable_cores()} usable cores, {args.threads} threads, "
        f"load average {os.getloadavg()[0]:.1f} at start |",
        f"| texts | {n} {source} |",
        f"| model load, fresh process (best of 3) | {load:.2f} s |",
        f"| Triager load, fresh process (model + language detector) | {run['load_s']:.2f} s |",
        f"| full triage, distinct texts | **{n / run['cold_s']:.0f} mentions/s** |",
        f"| full triage, repeated texts (cache) | {n / run['warm_s']:.0f} mentions/s |",
        f"| peak RSS, load + triage | {run['peak_rss_mb']:.0f} MB |",
        f"| torch imported at run time | {'yes' if run['torch'] else 'no'} |",
    ]
    started = time.perf_counter()
    rows += quality_rows(args.model, args.data)
    rows += brand_rows(args.model)
    rows.append(f"| scoring time | {time.perf_counter() - started:.1f} s |")
    table = "\n".join(["| what | value |", "| --- | --- |", *rows])
    print(table)


if __name__ == "__main__":
    main()
