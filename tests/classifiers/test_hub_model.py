"""Bring your own sentiment model: a tiny classifier built here, loaded by path, labels mapped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers import hub_model
from classifiers.hub_model import HubModelError, HubSentiment, map_labels
from classifiers.triager import Triager
from core.triage import TriageInput
from fakes.hfhub import FakeHub
from fakes.server import FakeServer
from tests.classifiers.conftest import TINY_WORDS
from tests.classifiers.test_triage_rules import FixedModel


def tiny_classifier(path: Path, labels: list[str], winner: int) -> Path:
    """A 2-layer BERT sequence classifier whose answer is always label `winner`, saved as a
    local model folder (config with id2label, weights, WordPiece vocab)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    path.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    (path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True}), encoding="utf-8"
    )
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(0.0)
        model.classifier.bias[winner] = 6.0
    model.save_pretrained(path)
    return path


@pytest.mark.parametrize(
    ("labels", "winner", "expected"),
    [
        (["positive", "negative", "neutral"], 1, "negative"),  # names, in any order
        (["LABEL_0", "LABEL_1", "LABEL_2"], 0, "negative"),  # cardiffnlp convention
        (["LABEL_0", "LABEL_1"], 1, "positive"),  # SST-2 convention: no neutral
        (["1 star", "2 stars", "3 stars", "4 stars", "5 stars"], 3, "positive"),
        (["NEG", "NEU", "POS"], 1, "neutral"),
    ],
)
def test_a_local_model_is_loaded_and_its_labels_mapped(
    tmp_path: Path, labels: list[str], winner: int, expected: str
) -> None:
    path = tiny_classifier(tmp_path / "model", labels, winner)
    tri = Triager(model=FixedModel(sentiment=(0.1, 0.1, 0.8)), sentiment_model=str(path))
    first, second = tri.triage([TriageInput("this is awful"), TriageInput("great table")])
    assert first.sentiment == second.sentiment == expected
    assert first.sentiment_scores[expected] > 0.9
    assert abs(sum(first.sentiment_scores.values()) - 1) < 1e-3
    assert tri.model_version == f"fixed-1+hf:{path}"


def test_labels_that_are_not_sentiment_are_refused_at_load(tmp_path: Path) -> None:
    path = tiny_classifier(tmp_path / "emotions", ["joy", "anger", "fear"], 0)
    with pytest.raises(HubModelError, match=r"cannot map its labels \['joy', 'anger', 'fear'\]"):
        HubSentiment(str(path))
    with pytest.raises(HubModelError, match="cannot map"):
        map_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3"}, "four")


def test_offline_with_the_model_absent_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub_model, "USER_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-cache"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with pytest.raises(HubModelError) as caught:
        HubSentiment("nobody-here/no-such-sentiment-model")
    message = str(caught.value)
    assert "not in the Hugging Face cache and HF_HUB_OFFLINE is set" in message
    assert "huggingface-cli download nobody-here/no-such-sentiment-model" in message
    assert "\n" not in message


def test_a_folder_that_is_not_a_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(HubModelError, match=r"no config\.json in that folder"):
        HubSentiment(str(tmp_path / "empty"))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A local Hub holding a tiny sentiment model; the HF cache is this test's own."""
    folder = tiny_classifier(tmp_path / "published", ["negative", "neutral", "positive"], 2)
    monkeypatch.setattr(hub_model, "USER_HUB_OFFLINE", "")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    with FakeServer() as server:
        fake = FakeHub(server, "acme/tiny-sentiment", folder)
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake


def test_a_hub_model_is_downloaded_once_then_used_offline(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # as for the bundled
    model = HubSentiment("acme/tiny-sentiment")
    assert model.predict_proba(["great table"]).argmax() == 2
    assert "config.json" in hub.downloaded and "model.safetensors" in hub.downloaded
    assert huggingface_hub.constants.HF_HUB_OFFLINE  # only that download went online

    monkeypatch.setattr(hub_model, "USER_HUB_OFFLINE", "1")  # now offline: the cache serves
    before = len(hub.server.requests)
    assert HubSentiment("acme/tiny-sentiment").version == "hf:acme/tiny-sentiment"
    assert len(hub.server.requests) == before


def test_an_unknown_hub_model_is_one_clear_error(hub: FakeHub) -> None:
    with pytest.raises(HubModelError) as caught:
        HubSentiment("nobody/missing")
    message = str(caught.value)
    assert message.startswith("sentiment_model 'nobody/missing': could not get it from the")
    assert "check the name" in message and "\n" not in message
