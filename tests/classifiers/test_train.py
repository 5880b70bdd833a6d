from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from classifiers import train
from classifiers.sentiment import SentimentHead
from classifiers.triage import TriageInput
from classifiers.triager import Triager

WORDS = {
    "negative": ["awful", "terrible", "bad", "hate", "worst", "broken", "angry"],
    "neutral": ["table", "chair", "window", "paper", "blue", "green", "meeting"],
    "positive": ["great", "love", "best", "happy", "wonderful", "amazing", "thanks"],
}
FILLER = ["the", "a", "is", "i", "my", "it", "this", "that", "so", "and"]
GRID = (1e-3, 1e-1)


def write_tsv(data_dir: Path, rows: list[tuple[str, str]]) -> Path:
    path = data_dir / "sentiment" / "semeval_train.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["text\tlabel", *(f"{text}\t{label}" for text, label in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def synthetic_rows(per_class: int = 30) -> list[tuple[str, str]]:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(per_class):
        for label, words in WORDS.items():
            picked = [*rng.choice(words, 2), *rng.choice(FILLER, 3)]
            rng.shuffle(picked)
            rows.append((f"{' '.join(picked)} {i}", label))
    return rows


def run(tmp_path: Path, model_dir: Path, rows: list[tuple[str, str]], name: str):
    data = tmp_path / name
    write_tsv(data, rows)
    return train.train_sentiment(
        data, tmp_path / f"{name}.npz", model_dir=model_dir, cache_dir=tmp_path / "cache",
        l2_grid=GRID, log=lambda _: None,
    )


def test_training_writes_a_loadable_head_scored_on_unseen_rows(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    rows = synthetic_rows()
    report = run(tmp_path, tiny_model_dir, rows, "data")

    train_rows, held = set(report.train_rows), set(report.heldout_rows)
    assert train_rows.isdisjoint(held)
    assert train_rows | held == set(range(len(rows)))
    assert len(held) == 9  # 10 % of each class
    assert {rows[i][1] for i in held} == set(WORDS)

    head = SentimentHead.load(report.out_path)
    data_file = tmp_path / "data" / "sentiment" / "semeval_train.tsv"
    assert head.meta["training_data_sha256"] == hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert head.meta["heldout_macro_recall"] == round(report.heldout.macro_recall, 4)
    assert head.meta["rows_heldout"] == 9
    assert report.heldout.macro_recall > 0.5  # chance is 0.33
    assert report.model_version == f"{tiny_model_dir.name}+{head.version}"

    triager = Triager(model_dir=tiny_model_dir, head_path=report.out_path)
    (verdict,) = triager.triage([TriageInput("awful terrible worst hate")])
    assert verdict.sentiment == "negative"


def test_held_out_rows_never_influence_the_weights(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = synthetic_rows()
    first = run(tmp_path, tiny_model_dir, rows, "original")
    held = set(first.heldout_rows)

    scrambled = [("great love best" if i in held else text, label)
                 for i, (text, label) in enumerate(rows)]
    second = run(tmp_path, tiny_model_dir, scrambled, "heldout-changed")
    assert second.heldout_rows == first.heldout_rows
    a, b = SentimentHead.load(first.out_path), SentimentHead.load(second.out_path)
    np.testing.assert_allclose(a.weight, b.weight, atol=1e-4)
    np.testing.assert_allclose(a.bias, b.bias, atol=1e-4)

    # Control: the same edit to training rows does move the weights.
    some_train = set(first.train_rows[:9])
    control = [("great love best" if i in some_train else text, label)
               for i, (text, label) in enumerate(rows)]
    c = SentimentHead.load(run(tmp_path, tiny_model_dir, control, "train-changed").out_path)
    assert np.abs(a.weight - c.weight).max() > 1e-2


def test_rerun_is_reproducible_and_uses_the_embedding_cache(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    rows = synthetic_rows(10)
    first = run(tmp_path, tiny_model_dir, rows, "data")
    again = run(tmp_path, tiny_model_dir, rows, "data")
    assert first.embeddings_per_second is not None
    assert again.embeddings_per_second is None
    assert list((tmp_path / "cache").glob("*.npy"))
    assert first.model_version == again.model_version


def test_cli_trains_from_data_dir_and_reports_macro_recall(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tsv(tmp_path / "data", synthetic_rows(10))
    out = tmp_path / "heads" / "sentiment.npz"
    code = train.main(["--data", str(tmp_path / "data"), "--out", str(out),
                       "--model-dir", str(tiny_model_dir), "--cache-dir", str(tmp_path / "c")])
    assert code == 0
    assert out.is_file()
    printed = capsys.readouterr().out
    assert "macro recall" in printed
    assert "negative" in printed and "never trained on" in printed


def test_cli_explains_missing_or_bad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "h.npz")]) == 1
    assert "training data not found" in capsys.readouterr().err
    write_tsv(tmp_path / "bad", [("fine text", "positive"), ("odd", "sarcastic")])
    assert train.main(["--data", str(tmp_path / "bad"), "--out", str(tmp_path / "h.npz")]) == 1
    assert ":3:" in capsys.readouterr().err  # names the line with the unknown label
    assert not (tmp_path / "h.npz").exists()


def test_default_data_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LISTENPOST_DATA", str(tmp_path))
    assert train.default_data_dir() == tmp_path
    monkeypatch.delenv("LISTENPOST_DATA")
    assert train.default_data_dir().parts[-2:] == ("shared", "data")
