"""`listenpost label`, `eval` and `retrain`: the team corrects triage, measures it on its own
mentions, and teaches the model without ever making it worse."""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from classifiers.training import recipe
from listenpost.cli import common

if TYPE_CHECKING:
    from classifiers.training.evaluate import Evaluation
    from classifiers.training.retrain import Evaluate, LabelRow, RetrainResult, Train
    from classifiers.triager import Triager
    from listenpost.config import Settings
    from storage import Store


def _who(by: str | None) -> str:
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (containers): still say it came from the CLI
        return "cli"


def label(
    mention_id: Annotated[int, typer.Argument(help="Mention id (shown in alerts and `mentions`).")],
    sentiment: Annotated[str | None, typer.Option(help="negative, neutral or positive.")] = None,
    urgency: Annotated[str | None, typer.Option(help="low, medium, high or critical.")] = None,
    category: Annotated[
        str | None,
        typer.Option(help="Comma-separated categories, e.g. complaint,outage ('' for none)."),
    ] = None,
    not_relevant: Annotated[
        bool, typer.Option("--not-relevant", help="Never alert on it; left out of reports.")
    ] = False,
    relevant: Annotated[
        bool, typer.Option("--relevant", help="Undo an earlier --not-relevant or a rule mute.")
    ] = False,
    by: Annotated[str | None, typer.Option(help="Who says so (default: your login).")] = None,
) -> None:
    """Correct triage for one mention; the label beats the model from now on and joins retrain."""
    from storage.labels import add_label

    said: list[tuple[str, object]] = []
    if not_relevant and relevant:
        raise common.error("choose --relevant or --not-relevant, not both")
    if not_relevant or relevant:
        said.append(("relevant", relevant))
    if sentiment is not None:
        said.append(("sentiment", sentiment.strip().lower()))
    if urgency is not None:
        said.append(("urgency", urgency.strip().lower()))
    if category is not None:
        said.append(("category", [c.strip() for c in category.split(",") if c.strip()]))
    if not said:
        raise common.error(
            "say what is wrong: --sentiment, --urgency, --category, --not-relevant or --relevant"
        )
    store = common.open_store(common.load_settings())
    try:
        actor = _who(by)
        for field, value in said:  # validated one by one: a bad value stores nothing after it
            try:
                add_label(store, mention_id, field, value, actor)
            except ValueError as exc:
                raise common.error(str(exc)) from None
    finally:
        store.close()
    text = ", ".join(_said(field, value) for field, value in said)
    common.console.print(f"mention #{mention_id}: {escape(text)} (by {escape(actor)})")


def _said(field: str, value: object) -> str:
    if field == "relevant":
        return "relevant" if value else "not relevant"
    if field == "category":
        return "categories " + (", ".join(value) or "none")  # type: ignore[call-overload]
    return f"{field} {value}"


# ---- eval -----------------------------------------------------------------------------------


def evaluate_file(path: Path, task: str, triager: Triager) -> tuple[Evaluation, float]:
    """Triage every text in a labelled file; (scores, mentions per second of triage alone)."""
    from classifiers.training.evaluate import TASKS, read_eval_file, score_multi, score_single
    from core.triage import TriageInput

    texts, truth = read_eval_file(path, task)
    # Warm up on a text not in the file (the model caches texts): the rate is the steady state.
    triager.triage([TriageInput(text="warming up before the timed run")])
    start = time.perf_counter()
    verdicts = triager.triage([TriageInput(text=t) for t in texts])
    rate = len(texts) / max(time.perf_counter() - start, 1e-9)
    labels = TASKS[task]
    if task == "category":
        return score_multi(task, truth, [v.categories for v in verdicts], labels), rate
    predicted = [v.sentiment if task == "sentiment" else v.urgency for v in verdicts]
    return score_single(task, [t[0] for t in truth], predicted, labels), rate


def evaluation_json(result: Evaluation, rate: float, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task": result.task,
        "n": result.n,
        "macro_recall": round(result.macro_recall, 4),
        "macro_f1": round(result.macro_f1, 4),
        "accuracy": round(result.accuracy, 4),
        "mentions_per_s": round(rate, 1),
        "per_class": {
            label: {
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "support": s.support,
                "predicted": s.predicted,
            }
            for label, s in result.per_class.items()
        },
        **(
            {"confusion": result.confusion, "labels": list(result.labels)}
            if result.confusion
            else {}
        ),
        **extra,
    }


def print_evaluation(console: Console, result: Evaluation, rate: float, version: str) -> None:
    if result.confusion:
        matrix = Table(
            title=f"{result.task} confusion matrix", caption="rows: true · columns: predicted"
        )
        matrix.add_column("true \\ predicted")
        for label in result.labels:
            matrix.add_column(label, justify="right")
        for label, row in zip(result.labels, result.confusion, strict=True):
            matrix.add_row(label, *(str(v) for v in row))
        console.print(matrix)
    per = Table(title=f"{result.task}: per class")
    for name in ("class", "precision", "recall", "F1", "support", "predicted"):
        per.add_column(name, justify="left" if name == "class" else "right")
    for label, s in result.per_class.items():
        per.add_row(
            label,
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            f"{s.f1:.3f}",
            str(s.support),
            str(s.predicted),
        )
    console.print(per)
    exact = "exact-set accuracy" if result.task == "category" else "accuracy"
    console.print(
        f"macro recall [bold]{result.macro_recall:.4f}[/]  macro F1 [bold]{result.macro_f1:.4f}"
        f"[/]  {exact} {result.accuracy:.4f}  n {result.n}  "
        f"{rate:,.0f} mentions/s  model {escape(version)}",
        highlight=False,
    )


def eval_command(
    file: Annotated[Path, typer.Argument(help="TSV with a header row: text<TAB>label.")],
    task: Annotated[str, typer.Option(help="sentiment, urgency or category.")] = "sentiment",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score triage on a labelled file: confusion matrix, per-class figures and throughput."""
    from classifiers.training.evaluate import TASKS, EvalFileError, read_eval_file

    if task not in TASKS:
        raise common.error(f"unknown task {task!r}; use {', '.join(TASKS)}")
    try:
        read_eval_file(file, task)  # a bad file fails before the model spends seconds loading
    except EvalFileError as exc:
        raise common.error(str(exc)) from None
    start = time.perf_counter()
    triager = _triager(common.load_settings())
    load_s = time.perf_counter() - start
    result, rate = evaluate_file(file, task, triager)
    if as_json:
        extra = {"model_version": triager.model_version, "load_s": round(load_s, 2)}
        common.write_utf8(json.dumps(evaluation_json(result, rate, extra)) + "\n")
        return
    print_evaluation(common.console, result, rate, triager.model_version)


def _triager(settings: Settings) -> Triager:
    """The triager production would use: the settings' own rules and sentiment model."""
    from classifiers.hub_model import HubModelError
    from classifiers.settings import build_rules
    from classifiers.triager import Triager

    classifier = settings.classifier
    try:
        return Triager(
            batch_size=classifier.batch_size,
            sentiment_model=classifier.sentiment_model,
            rules=build_rules(classifier.rules),
        )
    except (HubModelError, FileNotFoundError, ValueError) as exc:
        raise common.fail("cannot load the model", exc) from None


# ---- retrain --------------------------------------------------------------------------------


def run_retrain(
    store: Store,
    current: Path,
    train: Train,
    evaluate: Evaluate,
    console: Console,
    dry_run: bool = False,
    card: Mapping[str, Any] | None = None,
) -> RetrainResult:
    """Retrain with the team's labels and print before/after; the guard lives in
    classifiers.training.retrain. A dry run trains nothing: it says what would join and how
    long training would take (from `card`, the current model's card), in a second or two."""
    from classifiers.training.retrain import RetrainResult, label_rows, retrain
    from storage.labels import all_labels

    labelled = all_labels(store)
    rows = label_rows(labelled)
    console.print(f"{len(rows)} labelled mention(s) join the training data")
    _print_joining(store, labelled, console)
    if dry_run:
        from classifiers.training.retrain import estimate_seconds

        seconds, basis = estimate_seconds(card or {}, len(rows))
        console.print(
            f"training would take about {seconds:,.0f} s ({seconds / 3600:.1f} h; {basis}); "
            "dry run: nothing was trained, the current model stays",
            highlight=False,
            markup=False,
        )
        return RetrainResult({}, {}, False, "dry run: nothing trained", len(rows))
    result = retrain(rows, current, train, evaluate)
    table = Table(title="held-out macro recall (same split, never trained on)")
    for name in ("task", "before", "after", "change"):
        table.add_column(name, justify="left" if name == "task" else "right")
    for task in sorted(set(result.before) | set(result.after)):
        before, after = result.before.get(task), result.after.get(task)
        change = f"{after - before:+.4f}" if before is not None and after is not None else "-"
        table.add_row(
            task,
            f"{before:.4f}" if before is not None else "-",
            f"{after:.4f}" if after is not None else "-",
            change,
        )
    console.print(table)
    style = "green" if result.swapped else "yellow"
    console.print(f"[{style}]{escape(result.verdict)}[/]")
    return result


def _print_joining(
    store: Store, labelled: Sequence[tuple[int, str, Mapping[str, object]]], console: Console
) -> None:
    """Per field and value, what the team said; and what the relevance model knows per brand
    (not-relevant labels teach it at once, without training)."""
    from classifiers.training.retrain import label_counts
    from storage.labels import relevance_examples

    table = Table(title="labels the team gave")
    for name in ("field", "label", "mentions", "goes to"):
        table.add_column(name, justify="right" if name == "mentions" else "left")
    for field, counts in sorted(label_counts(labelled).items()):
        goes = "relevance model (in use at once)" if field == "relevant" else "training"
        for value, n in sorted(counts.items()):
            table.add_row(field, value, f"{n:,}", goes)
    console.print(table)
    brands: dict[str, list[int]] = {}
    for _id, brand, _text, relevant in relevance_examples(store):
        brands.setdefault(brand, [0, 0])[0 if relevant is False else 1] += 1
    for brand, (noise, kept) in sorted(brands.items()):
        console.print(
            f"relevance model, {brand}: {noise} not relevant, {kept} relevant: posts much like "
            "a not-relevant one are marked noise and not alerted",
            highlight=False,
            markup=False,
        )


def retrain_command(
    data: Annotated[
        Path | None, typer.Option(help="Labelled data folder (default ../shared/data).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Say what would join and how long training would take; train nothing.",
        ),
    ] = False,
) -> None:
    """Retrain with the team's labels; swap the model in only if held-out recall is no worse."""
    if not dry_run:  # a dry run trains nothing: it works without the train extra
        _need_training_libraries()
    from classifiers.model import DEFAULT_MODEL, read_card

    store = common.open_store(common.load_settings())
    try:

        def train(rows: Sequence[LabelRow], out: Path) -> None:
            from classifiers.training import train as training

            training.train_like(DEFAULT_MODEL, data, out, extra_rows=rows)

        def evaluate(model: Path) -> dict[str, float]:
            from classifiers.training import train as training

            return training.evaluate_holdout(model, data).headline()

        try:
            card = read_card(DEFAULT_MODEL) if dry_run else None
            run_retrain(
                store, DEFAULT_MODEL, train, evaluate, common.console, dry_run=dry_run, card=card
            )
        except (FileNotFoundError, ValueError) as exc:
            raise common.fail("retrain failed", exc) from None
    finally:
        store.close()


def train(
    data: Annotated[
        Path | None, typer.Option(help="Labelled data folder (default ../shared/data).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Model folder to write (default: the shipped model).")
    ] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training rows.")] = recipe.EPOCHS,
    layers: Annotated[int, typer.Option(help="MiniLM layers kept: fewer is faster.")] = (
        recipe.LAYERS
    ),
    ffn: Annotated[
        int, typer.Option(help="Feed-forward units kept per layer, of 1,536 (0: all).")
    ] = recipe.FFN,
    teacher: Annotated[
        Path | None, typer.Option(help="A trained model folder to learn from as well.")
    ] = None,
    distill: Annotated[
        bool,
        typer.Option(
            "--distill/--no-distill",
            help="Learn from a six-layer teacher kept as OUT.teacher (built once, ~30 min).",
        ),
    ] = True,
    transfer_rows: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Unlabelled texts from the other data files that the teacher labels (0: none).",
        ),
    ] = recipe.TRANSFER_ROWS,
) -> None:
    """Fine-tune and export the triage model (reproducible; held-out figures reported)."""
    _need_training_libraries()
    from classifiers.training.train import main as train_main

    argv: list[str] = ["--epochs", str(epochs), "--layers", str(layers), "--ffn", str(ffn)]
    argv += ["--transfer-rows", str(transfer_rows)]
    if data:
        argv += ["--data", str(data)]
    if out:
        argv += ["--out", str(out)]
    if teacher:
        argv += ["--teacher", str(teacher)]
    argv += ["--distill" if distill else "--no-distill"]
    raise typer.Exit(train_main(argv))


def _need_training_libraries() -> None:
    """The lean install has no torch: say in one line how to get it, before any work starts."""
    from classifiers import extras

    if absent := extras.missing(extras.TRAINING):
        raise common.fail("training needs the train extra", extras.install_hint(absent), 1)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command("label")(label)
    app.command("eval")(eval_command)
    app.command("retrain")(retrain_command)
