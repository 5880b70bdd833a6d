"""`listenpost eval`, `label` and `retrain` as a team uses them."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from classifiers.triager import Triager
from listenpost.cli import app
from listenpost.cli.triage import evaluate_file, evaluation_json, run_retrain
from storage import Store
from storage.labels import add_label, labels_for
from tests.storage.factories import mention

runner = CliRunner()

SENTIMENT_TSV = (
    "text\tlabel\n"
    "this is the worst service ever, I want a refund\tnegative\n"
    "terrible update, everything is broken and I hate it\tnegative\n"
    "love the new update, great job\tpositive\n"
    "absolutely wonderful support, thank you so much\tpositive\n"
    "the meeting is at 3pm in room 4\tneutral\n"
)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "lp.db"}"\n')
    return path


def test_eval_prints_confusion_per_class_and_throughput(tmp_path: Path, settings: Path) -> None:
    data = tmp_path / "sentiment.tsv"
    data.write_text(SENTIMENT_TSV, encoding="utf-8")

    code, out = invoke("--settings", str(settings), "eval", "--task", "sentiment", str(data))
    assert code == 0, out
    assert "sentiment confusion matrix" in out and "rows: true · columns: predicted" in out
    for label in ("negative", "neutral", "positive", "precision", "recall", "F1"):
        assert label in out
    assert "macro recall" in out and "mentions/s" in out and "n 5" in out

    code, out = invoke(
        "--settings", str(settings), "eval", "--task", "sentiment", str(data), "--json"
    )
    assert code == 0, out
    result = json.loads(out)
    assert result["n"] == 5 and result["task"] == "sentiment"
    assert result["mentions_per_s"] > 0
    assert result["per_class"]["negative"]["support"] == 2
    assert result["per_class"]["negative"]["recall"] == 1.0  # the two obvious complaints
    assert 0.6 <= result["macro_recall"] <= 1.0 and 0 < result["macro_f1"] <= 1.0
    assert sum(map(sum, result["confusion"])) == 5


def test_eval_categories_accepts_multi_labels(tmp_path: Path, triager: Triager) -> None:
    data = tmp_path / "categories.tsv"
    data.write_text(
        "text\tlabel\n"
        "Acme charged me twice and the app is down\tbilling,outage\n"
        "We're hiring engineers, apply now\tjob_post\n"
        "the meeting is at 3pm in room 4\tnone\n",
        encoding="utf-8",
    )
    result, rate = evaluate_file(data, "category", triager)  # what `eval --task category` runs
    figures = evaluation_json(result, rate, {})
    assert figures["n"] == 3 and figures["mentions_per_s"] > 0
    assert figures["per_class"]["billing"]["recall"] == 1.0
    assert figures["per_class"]["job_post"]["recall"] == 1.0
    assert figures["per_class"]["spam"]["support"] == 0
    assert "confusion" not in figures


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sentence\tsentiment\nhello\tpositive\n", ":1: expected the header 'text<TAB>label'"),
        ("text\tlabel\nfine\tpositive\nmeh\tangry\n", ":3: unknown sentiment label 'angry'"),
        ("text\tlabel\nno tab here\n", ":2: expected text<TAB>label"),
        ("text\tlabel\n", "no rows after the header"),
    ],
)
def test_eval_names_the_bad_line(
    tmp_path: Path, settings: Path, content: str, message: str
) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text(content, encoding="utf-8")
    code, out = invoke("--settings", str(settings), "eval", str(data))
    assert code == 2
    assert message in " ".join(out.split())


def test_eval_unknown_task(tmp_path: Path, settings: Path) -> None:
    code, out = invoke("--settings", str(settings), "eval", "--task", "mood", str(tmp_path))
    assert code == 2 and "unknown task 'mood'; use sentiment, urgency, category" in out


def test_label_command_stores_the_teams_word(tmp_path: Path, settings: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lp.db'}")
    [mid] = store.save_page("Acme", "reddit", [mention(1, "love it")], None)

    code, out = invoke(
        "--settings",
        str(settings),
        "label",
        str(mid),
        "--sentiment",
        "negative",
        "--category",
        "complaint,outage",
        "--not-relevant",
        "--by",
        "ana",
    )
    assert code == 0, out
    assert f"mention #{mid}: not relevant, sentiment negative, categories complaint, outage" in out
    assert "(by ana)" in out
    assert labels_for(store, [mid]) == {
        mid: {"relevant": False, "sentiment": "negative", "category": ["complaint", "outage"]}
    }

    code, out = invoke("--settings", str(settings), "label", str(mid), "--urgency", "asap")
    assert code == 2 and "'asap' is not one of low, medium, high, critical" in out
    code, out = invoke("--settings", str(settings), "label", str(mid))
    assert code == 2 and "say what is wrong" in out
    code, out = invoke("--settings", str(settings), "label", "999", "--sentiment", "negative")
    assert code == 2 and "no mention with id 999" in out
    assert "urgency" not in labels_for(store, [mid])[mid]
    store.close()


class Trainer:
    """A deterministic trainer: writes a model file and remembers what it learned from."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []

    def __call__(self, rows: Sequence[dict[str, object]], out: Path) -> None:
        self.rows = list(rows)
        out.write_text("new model", encoding="utf-8")


def scores(old: Mapping[str, float], new: Mapping[str, float]):  # type: ignore[no-untyped-def]
    """Held-out figures by model content: the real file decides which numbers apply."""

    def evaluate(model: Path) -> Mapping[str, float]:
        return new if model.read_text(encoding="utf-8") == "new model" else old

    return evaluate


@pytest.fixture
def labelled_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'retrain.db'}")
    a, b, c = (
        store.save_page("Acme", "reddit", [mention(n, text)], None)[0]
        for n, text in ((1, "sick update lol"), (2, "buy followers now"), (3, "app down"))
    )
    add_label(store, a, "sentiment", "positive", "ana")
    add_label(store, b, "relevant", False, "ana")
    add_label(store, c, "urgency", "high", "ana")
    add_label(store, c, "category", ["outage"], "ana")
    return store


def test_retrain_keeps_the_old_model_when_the_new_one_is_worse(
    tmp_path: Path, labelled_store: Store
) -> None:
    current = tmp_path / "triage.npz"
    current.write_text("old model", encoding="utf-8")
    trainer = Trainer()
    console = Console(record=True, width=120)

    result = run_retrain(
        labelled_store,
        current,
        trainer,
        scores({"sentiment": 0.72, "urgency": 0.60}, {"sentiment": 0.74, "urgency": 0.58}),
        console,
    )
    assert not result.swapped
    assert current.read_text(encoding="utf-8") == "old model"
    assert not (tmp_path / "triage.npz.candidate").exists()
    out = console.export_text()
    assert "kept the current model: the candidate is worse on urgency 0.6000 -> 0.5800" in out
    assert "0.7200" in out and "0.7400" in out and "+0.0200" in out
    assert trainer.rows == [
        {"text": "sick update lol", "sentiment": "positive"},
        {"text": "app down", "urgency": "high", "categories": ["outage"]},
    ]


def test_retrain_swaps_in_a_model_that_is_no_worse(tmp_path: Path, labelled_store: Store) -> None:
    current = tmp_path / "triage.npz"
    current.write_text("old model", encoding="utf-8")
    console = Console(record=True, width=120)
    figures = {"sentiment": 0.72, "urgency": 0.60}

    dry = run_retrain(
        labelled_store, current, Trainer(), scores(figures, figures), console, dry_run=True
    )
    assert not dry.swapped and current.read_text(encoding="utf-8") == "old model"

    result = run_retrain(labelled_store, current, Trainer(), scores(figures, figures), console)
    assert result.swapped
    assert current.read_text(encoding="utf-8") == "new model"
    assert (tmp_path / "triage.npz.previous").read_text(encoding="utf-8") == "old model"
    assert "swapped in the new model" in console.export_text()


def test_a_dry_run_says_what_would_join_and_how_long_training_takes_without_training(
    tmp_path: Path, labelled_store: Store
) -> None:
    current = tmp_path / "triage.npz"
    current.write_text("old model", encoding="utf-8")
    trainer = Trainer()
    console = Console(record=True, width=160)
    card = {"training": {"rows_train": 1000, "seconds": 500}}

    def never(model: Path) -> Mapping[str, float]:
        raise AssertionError("a dry run scores nothing")

    result = run_retrain(labelled_store, current, trainer, never, console, dry_run=True, card=card)
    assert not result.swapped and trainer.rows == []  # nothing trained
    assert current.read_text(encoding="utf-8") == "old model"
    out = console.export_text()
    assert "2 labelled mention(s) join the training data" in out
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "sentiment positive 1 training" in lines
    assert "urgency high 1 training" in lines and "category outage 1 training" in lines
    assert "relevant not relevant 1 relevance model (in use at once)" in lines
    # 0.5 s per row measured when the model was trained, for 1,000 + 2 rows.
    assert "training would take about 501 s (0.1 h; this model took 500 s for 1,000 rows" in out
    assert "relevance model, Acme: 1 not relevant, 2 relevant" in out


def test_retrain_dry_run_from_the_cli_returns_in_seconds(tmp_path: Path) -> None:
    """The estimate rests on how long the shipped model's own training took (its card)."""
    db = tmp_path / "lp.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[storage]\nurl = "sqlite:///{db}"\n')
    store = Store(f"sqlite:///{db}")
    (mid,) = store.save_page("Acme", "reddit", [mention(1, "app down again")], None)
    add_label(store, mid, "urgency", "high", "ana")
    store.close()
    start = time.monotonic()
    result = CliRunner().invoke(
        app, ["--settings", str(settings), "retrain", "--dry-run"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 30
    assert "1 labelled mention(s) join the training data" in result.output
    assert re.search(
        r"training would take about [\d,]+ s \(\d+\.\d h; this model took [\d,]+ s for",
        result.output,
    )
    assert "nothing was trained" in result.output


def test_a_card_without_a_measured_time_falls_back_to_the_recorded_figure() -> None:
    from classifiers.training.retrain import RECORDED_ROWS, RECORDED_SECONDS, estimate_seconds

    seconds, basis = estimate_seconds({"training": {"rows_train": RECORDED_ROWS}}, 0)
    assert basis.startswith("recorded:") and seconds == RECORDED_SECONDS


def test_retrain_needs_a_model_to_compare_with(tmp_path: Path, labelled_store: Store) -> None:
    trainer = Trainer()
    expected = r"no model at .*missing to compare with; run `listenpost train`"
    with pytest.raises(FileNotFoundError, match=expected):
        run_retrain(
            labelled_store, tmp_path / "missing", trainer, scores({}, {}), Console(width=120)
        )
    assert trainer.rows == []  # nothing trained, nothing written
