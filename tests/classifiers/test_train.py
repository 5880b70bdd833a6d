"""`listenpost train` end to end on a tiny BERT and data the test writes: seconds, not hours."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from classifiers.model import TriageModel
from classifiers.training import train
from classifiers.training.datasets import MISSING, label_examples, load_tasks, transfer_examples

WORDS = {
    "negative": ["awful", "terrible", "bad", "hate", "worst", "broken", "angry"],
    "neutral": ["table", "chair", "window", "paper", "blue", "green", "meeting"],
    "positive": ["great", "love", "best", "happy", "wonderful", "amazing", "thanks"],
}
FILLER = ["the", "a", "is", "i", "my", "it", "this", "that", "so", "and"]
FAST = {"layers": 1, "epochs": 10, "batch_size": 32, "learning_rate": 5e-3, "progress": False}
QUICK = {**FAST, "epochs": 1}  # enough to tell two models apart, not to learn much


def _tsv(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def write_data(root: Path, per_class: int = 30) -> Path:
    rnd = random.Random(7)
    rows = []
    for i in range(per_class):
        for label, words in WORDS.items():
            picked = [*rnd.sample(words, 3), *rnd.sample(FILLER, 2)]
            rnd.shuffle(picked)
            rows.append(f"{' '.join(picked)} {i}\t{label}")
    _tsv(root / "sentiment" / "semeval_train.tsv", "text\tlabel", rows)
    complaints = [
        f"{' '.join(rnd.sample(WORDS['negative'], 2))} my {i}\tcomplaint\tretail" for i in range(20)
    ]
    complaints += [
        f"{' '.join(rnd.sample(WORDS['neutral'], 2))} {i}\tnot_complaint\tother" for i in range(20)
    ]
    _tsv(root / "complaints" / "complaints_train.tsv", "text\tlabel\tdomain", complaints)
    crisis = []
    for i in range(40):
        kind = ["Related and informative", "Not related"][i % 2]
        info = "Infrastructure and utilities" if i % 4 == 0 else "Not labeled"
        crisis.append(f"broken window {i}\t{kind}\t{info}\tMedia\tevent")
    _tsv(
        root / "crisislex_t26" / "crisislex_t26_train.tsv",
        "text\tinformativeness\tinformation_type\tinformation_source\tevent",
        crisis,
    )
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> train.TrainResult:
    root = tmp_path_factory.mktemp("train")
    data = write_data(root / "data")
    return train.train_model(data, root / "model", base_model=tiny_model_dir, **FAST)


def test_training_writes_a_model_that_loads_and_learned_sentiment(
    trained: train.TrainResult,
) -> None:
    model = TriageModel.load(trained.out_dir)
    assert model.version == trained.version
    out = model.predict(["awful terrible worst hate", "great love best wonderful"])
    assert out.sentiment.argmax(axis=1).tolist() == [0, 2]
    assert out.urgency is not None and out.urgency.shape == (2, 4)
    assert model.learned == ("complaint", "outage")
    assert trained.heldout.sentiment is not None
    assert trained.heldout.sentiment.macro_recall > 0.6  # chance is 0.33


def test_card_records_data_and_held_out_figures(trained: train.TrainResult) -> None:
    card = json.loads((trained.out_dir / "model.json").read_text())
    assert card["heldout"]["sentiment"]["n"] == 9  # 10 % of each class, never trained on
    assert card["heldout"]["sentiment"]["macro_recall"] == round(
        trained.heldout.sentiment.macro_recall,
        4,  # type: ignore[union-attr]
    )
    assert set(card["training"]["sources_sha256"]) == {
        "sentiment/semeval_train.tsv",
        "complaints/complaints_train.tsv",
        "crisislex_t26/crisislex_t26_train.tsv",
    }
    assert set(trained.heldout.headline()) == {"sentiment", "urgency", "complaint", "outage"}


def test_held_out_rows_are_fixed_and_disjoint_from_training(tmp_path: Path) -> None:
    data = write_data(tmp_path / "data")
    first, again = load_tasks(data), load_tasks(data)
    assert [e.text for e in first.heldout] == [e.text for e in again.heldout]
    assert {e.text for e in first.train}.isdisjoint({e.text for e in first.heldout})
    assert len(first.train) + len(first.heldout) == 90 + 40 + 40


def test_same_data_same_model_and_human_labels_change_it(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    data = write_data(tmp_path / "data")
    first = train.train_model(data, tmp_path / "first", base_model=tiny_model_dir, **QUICK)
    again = train.train_model(data, tmp_path / "again", base_model=tiny_model_dir, **QUICK)
    assert again.version == first.version  # reproducible: same seed, data, settings
    labels = [
        {"text": "blue chair meeting", "sentiment": "negative"},
        ("blue table paper", "sentiment", "negative"),
        ("window green", "category", ["complaint"]),
    ]
    taught = train.train_model(
        data, tmp_path / "taught", extra_rows=labels, base_model=tiny_model_dir, **QUICK
    )
    assert taught.version != first.version
    card = json.loads((taught.out_dir / "model.json").read_text())
    assert card["training"]["human_labels"] == 3
    assert card["training"]["seconds"] >= 0  # what `retrain --dry-run` estimates from


def test_evaluate_holdout_scores_any_model_folder(
    trained: train.TrainResult, tmp_path: Path
) -> None:
    data = write_data(tmp_path / "data")
    metrics = train.evaluate_holdout(trained.out_dir, data)
    assert metrics.headline() == trained.heldout.headline()


def test_label_rows_become_examples_for_the_tasks_they_name() -> None:
    examples = label_examples(
        [
            {"text": "down again", "urgency": "critical", "categories": ["outage", "billing"]},
            ("so slow", "sentiment", "negative"),
            ("so slow", "category", []),
            ("ignored", "relevant", False),
        ]
    )
    by_text = {e.text: e for e in examples}
    assert set(by_text) == {"down again", "so slow"}
    assert by_text["down again"].urgency == 3 and by_text["down again"].categories == (0.0, 1.0)
    assert by_text["so slow"].sentiment == 0 and by_text["so slow"].categories == (0.0, 0.0)
    assert by_text["down again"].sentiment == -1  # said nothing about sentiment


def _one_quick_layer(data: Path, out: Path, base: Path) -> list[str]:
    """`train` options for a one-layer, 32-unit model of the tiny BERT in one epoch."""
    return [
        *("--data", str(data), "--out", str(out), "--base-model", str(base)),
        *("--epochs", "1", "--layers", "1", "--ffn", "32", "--quiet"),
    ]


def test_cli_trains_and_reports_or_explains_missing_data(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_data(tmp_path / "data")
    argv = [*_one_quick_layer(data, tmp_path / "m", tiny_model_dir), "--no-distill"]
    assert train.main(argv) == 0
    printed = capsys.readouterr().out
    assert "sentiment" in printed and "macro recall" in printed
    card = TriageModel.load(tmp_path / "m").card
    assert (card["layers"], card["ffn"], card["name"]) == (1, 32, "minilm-l1-ffn32-triage")
    assert "distilled" not in card["training"]  # labels only, as asked
    assert not (tmp_path / "m.teacher").exists()
    like = train.train_like(
        tmp_path / "m", data, tmp_path / "like", progress=False, base_model=tiny_model_dir
    )
    assert (like.out_dir / "model.json").is_file()
    assert TriageModel.load(like.out_dir).card["ffn"] == 32  # retrain keeps the pruned width
    card_file = tmp_path / "m" / "model.json"
    older = json.loads(card_file.read_text())
    del older["ffn"]  # a card from before pruning: the model kept every unit
    card_file.write_text(json.dumps(older))
    wide = train.train_like(
        tmp_path / "m", data, tmp_path / "wide", progress=False, base_model=tiny_model_dir
    )
    assert TriageModel.load(wide.out_dir).card["ffn"] == 64
    assert not (tmp_path / "m.teacher").exists()

    assert train.main(["--data", str(tmp_path / "nowhere"), "--quiet"]) == 1
    assert "training data not found" in capsys.readouterr().err
    assert train.main([*argv, "--teacher", str(tmp_path / "none")]) == 1
    assert "no trained model to learn from" in capsys.readouterr().err


def test_distill_builds_a_teacher_once_beside_the_model(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    data = write_data(tmp_path / "data")
    # Learning from the teacher is the default recipe: no option asks for it.
    argv = _one_quick_layer(data, tmp_path / "m", tiny_model_dir)
    assert train.main(argv) == 0
    # The teacher is every layer of the base model, kept beside OUT...
    teacher = TriageModel.load(tmp_path / "m.teacher")
    assert teacher.card["layers"] == 2 and teacher.card["name"] == "minilm-l2-teacher"
    assert teacher.card["ffn"] == 64  # every unit: the student's pruning is not the teacher's
    card = TriageModel.load(tmp_path / "m").card
    assert card["training"]["distilled"]["teacher"] == teacher.version
    assert not (tmp_path / "m.teacher.partial").exists()
    # ...and reused while the data and recipe are the same: for real it takes half an hour.
    built = (tmp_path / "m.teacher" / "model.onnx").stat().st_mtime_ns
    assert train.main(argv) == 0
    assert (tmp_path / "m.teacher" / "model.onnx").stat().st_mtime_ns == built
    # `retrain` makes its candidate the same way, from the same teacher, plus people's labels.
    people = [{"text": "wonderful", "sentiment": "positive"}]
    candidate = train.train_like(
        tmp_path / "m", data, tmp_path / "candidate", people, False, base_model=tiny_model_dir
    )
    again = TriageModel.load(candidate.out_dir).card
    assert (tmp_path / "m.teacher" / "model.onnx").stat().st_mtime_ns == built
    assert again["training"]["distilled"] == card["training"]["distilled"]
    assert again["training"]["human_labels"] == 1
    same = ("name", "layers", "ffn", "max_length", "mask_handles_links")
    assert {k: again[k] for k in same} == {k: card[k] for k in same}


def test_a_student_learns_its_teachers_sentiment(tmp_path: Path, tiny_model_dir: Path) -> None:
    # A teacher taught the opposite of the data: with the whole weight on the teacher, the
    # student follows it, which shows the teacher's answers are what it learns from.
    flipped = write_data(tmp_path / "flipped")
    semeval = flipped / "sentiment" / "semeval_train.tsv"
    swap = {"negative": "positive", "positive": "negative", "neutral": "neutral"}
    lines = semeval.read_text().splitlines()
    semeval.write_text(
        "\n".join([lines[0], *(f"{t}\t{swap[y]}" for t, y in (r.split("\t") for r in lines[1:]))])
        + "\n"
    )
    teacher = train.train_model(flipped, tmp_path / "teacher", base_model=tiny_model_dir, **FAST)
    data = write_data(tmp_path / "data")
    student = train.train_model(
        data,
        tmp_path / "student",
        base_model=tiny_model_dir,
        teacher=teacher.out_dir,
        distill_weight=1.0,
        lexical=False,
        **FAST,
    )
    model = TriageModel.load(student.out_dir)
    out = model.predict(["awful terrible worst hate", "great love best"])
    assert out.sentiment.argmax(axis=1).tolist() == [2, 0]
    card = json.loads((student.out_dir / "model.json").read_text())
    assert card["training"]["distilled"] == {
        "teacher": teacher.version,
        "weight": 1.0,
        "temperature": 2.0,
    }


def test_the_teacher_never_outweighs_a_persons_label() -> None:
    import torch

    logits = torch.tensor([[2.0, 0.0, -2.0], [0.0, 0.0, 3.0]])
    labels = torch.tensor([2, 2])
    weight = torch.ones(3)
    teacher_says_negative = torch.tensor([[0.98, 0.01, 0.01], [0.98, 0.01, 0.01]])
    plain = train._single_label_loss(logits, labels, weight, None, torch.ones(2, dtype=bool), 1, 2)
    people = train._single_label_loss(
        logits, labels, weight, teacher_says_negative, torch.zeros(2, dtype=bool), 1.0, 2.0
    )
    data = train._single_label_loss(
        logits, labels, weight, teacher_says_negative, torch.ones(2, dtype=bool), 1.0, 2.0
    )
    assert float(people) == pytest.approx(float(plain))  # the label alone, at full weight
    assert float(data) != pytest.approx(float(plain))  # data rows follow the teacher


def test_distillation_settings_are_checked(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_data(tmp_path / "data")
    with pytest.raises(ValueError, match="distill_weight"):
        train.train_model(data, tmp_path / "m", base_model=tiny_model_dir, distill_weight=1.5)


def test_a_teacher_is_rebuilt_when_its_data_changed(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_data(tmp_path / "data")
    folder = tmp_path / "m.teacher"
    train.ensure_teacher(data, folder, base_model=tiny_model_dir, progress=False)
    first = TriageModel.load(folder).card["training"]["sources_sha256"]
    with (data / "sentiment" / "semeval_train.tsv").open("a", encoding="utf-8") as f:
        f.write("a brand new tweet\tneutral\n")
    train.ensure_teacher(data, folder, base_model=tiny_model_dir, progress=False)
    again = TriageModel.load(folder).card["training"]["sources_sha256"]
    assert again["sentiment/semeval_train.tsv"] != first["sentiment/semeval_train.tsv"]


def test_texts_the_teacher_labels_teach_the_student_what_its_labels_never_showed(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    # The student's own labels are all neutral; the opinions are only in an unlabelled file
    # (any TSV with a `text` column), which the teacher reads for it.
    teacher = train.train_model(
        write_data(tmp_path / "teacher-data"), tmp_path / "teacher", base_model=tiny_model_dir,
        **FAST,
    )
    rnd = random.Random(3)
    data = tmp_path / "data"
    neutral = [f"{' '.join(rnd.sample(WORDS['neutral'], 3))} {i}\tneutral" for i in range(60)]
    _tsv(data / "sentiment" / "semeval_train.tsv", "text\tlabel", neutral)
    opinions = [
        " ".join(rnd.sample(WORDS[label], 3)) + f" {i}"
        for i in range(60)
        for label in ("negative", "positive")
    ]
    _tsv(data / "other" / "unlabelled.tsv", "text\tevent", [f"{t}\tsomething" for t in opinions])
    taught = {"teacher": teacher.out_dir, "distill_weight": 1.0, "lexical": False, **FAST}
    plain = train.train_model(data, tmp_path / "plain", base_model=tiny_model_dir, **taught)
    wide = train.train_model(
        data, tmp_path / "wide", base_model=tiny_model_dir, transfer_rows=1000, **taught
    )
    probe = ["awful terrible worst hate", "great love best happy"]
    assert TriageModel.load(plain.out_dir).predict(probe).sentiment.argmax(1).tolist() == [1, 1]
    assert TriageModel.load(wide.out_dir).predict(probe).sentiment.argmax(1).tolist() == [0, 2]
    transfer = TriageModel.load(wide.out_dir).card["training"]["transfer"]
    assert transfer["rows"] == len(opinions) and transfer["limit"] == 1000
    assert set(transfer["sources_sha256"]) == {
        "other/unlabelled.tsv",
        "sentiment/semeval_train.tsv",
    }


def test_transfer_texts_leave_out_dev_sets_held_out_rows_and_training_rows(
    tmp_path: Path,
) -> None:
    data = write_data(tmp_path / "data")
    split = load_tasks(data)
    held = split.heldout[0].text
    _tsv(data / "sentiment_dev" / "brand.tsv", "text\tlabel", ["a dev tweet\tneutral"])
    _tsv(
        data / "more" / "extra.tsv",
        "text",
        ["a new text", "A  NEW text", held.upper(), split.train[0].text, "another new text"],
    )
    found, sources = transfer_examples(data, split, None)
    texts = [e.text for e in found]
    assert "a new text" in texts and "another new text" in texts
    assert "a dev tweet" not in texts and "sentiment_dev/brand.tsv" not in sources
    assert held.upper() not in texts and split.train[0].text not in texts
    assert len([t for t in texts if t.lower().split() == ["a", "new", "text"]]) == 1
    assert all(e.sentiment == MISSING and e.source == "transfer" for e in found)
    # A limit draws the same rows every time: the model is rebuilt byte for byte.
    first = [e.text for e in transfer_examples(data, split, 2)[0]]
    assert first == [e.text for e in transfer_examples(data, split, 2)[0]] and len(first) == 2


def test_transfer_rows_need_a_teacher(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = write_data(tmp_path / "data")
    with pytest.raises(ValueError, match="transfer rows need a teacher"):
        train.train_model(data, tmp_path / "m", base_model=tiny_model_dir, transfer_rows=10)


def test_calibrating_for_recall_and_f1_stops_starving_the_neutral_class() -> None:
    # Mostly neutral posts, as brand talk is: tuning for macro recall alone buys the rare
    # classes with many neutral posts called negative or positive; adding macro F1 prices that.
    import numpy as np

    rng = np.random.default_rng(0)
    y = np.array([1] * 800 + [0] * 100 + [2] * 100)
    logits = np.eye(3)[y] * 1.2 + rng.normal(0, 1, (len(y), 3))
    recall_offset, _ = train._tune_offsets(logits, y, "recall")
    both_offset, _ = train._tune_offsets(logits, y, "recall+f1")
    by_recall = np.argmax(logits + recall_offset, axis=1)
    by_both = np.argmax(logits + both_offset, axis=1)
    assert train._macro_f1(by_both, y) > train._macro_f1(by_recall, y) + 0.05
    assert (by_both == 1).sum() > (by_recall == 1).sum()
    with pytest.raises(ValueError, match="calibrate must be one of"):
        train.train_model(Path("."), Path("m"), calibrate="accuracy")


def test_train_with_no_options_is_the_recipe_of_the_shipped_model() -> None:
    # `listenpost train` must rebuild what ships: its defaults and the shipped card agree.
    import inspect

    from classifiers.model import DEFAULT_MODEL, read_card
    from classifiers.training import recipe
    from listenpost.cli.triage import train as train_command

    card = read_card(DEFAULT_MODEL)
    built = card["training"]
    assert (card["layers"], card["ffn"]) == (recipe.LAYERS, recipe.FFN)
    assert (built["epochs"], built["learning_rate"]) == (recipe.EPOCHS, recipe.LEARNING_RATE)
    assert built["distilled"]["weight"] == recipe.DISTILL_WEIGHT
    assert built["distilled"]["temperature"] == recipe.TEMPERATURE
    assert built["transfer"]["limit"] == recipe.TRANSFER_ROWS
    assert built["calibrate"] == recipe.CALIBRATE
    defaults = {
        name: p.default for name, p in inspect.signature(train_command).parameters.items()
    }
    assert (defaults["layers"], defaults["ffn"], defaults["epochs"]) == (
        recipe.LAYERS,
        recipe.FFN,
        recipe.EPOCHS,
    )
    assert defaults["transfer_rows"] == recipe.TRANSFER_ROWS
