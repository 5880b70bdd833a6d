"""`about:"…"` end to end: the bundled embedding model on a labelled set (its precision and
recall), the cycle keeping only posts about the described subject with the score among the
triage reasons, and the model loading only for queries that use it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from classifiers.embedder import Embedder
from classifiers.triager import Triager
from core.query import ABOUT_THRESHOLD, parse
from fakes.hackernews import FakeHackerNews, story
from fakes.slack import FakeSlack
from listeners.http import HttpClient
from listenpost import config
from listenpost.about import scores
from listenpost.pipeline import poll_source, process
from listenpost.runtime import build
from tests.wiring.about_set import POSTS, QUERY
from tests.wiring.conftest import settings_text

NOW = int(time.time())


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def precision_recall(embedder: Embedder, threshold: float) -> tuple[float, float]:
    q = parse(QUERY)
    said = scores(embedder, q, [text for text, _ in POSTS])
    kept = [s >= threshold for s in said]
    hits = sum(k and about for k, (_, about) in zip(kept, POSTS, strict=True))
    return hits / max(sum(kept), 1), hits / sum(about for _, about in POSTS)


def test_about_separates_the_company_from_the_fruit(embedder: Embedder) -> None:
    precision, recall = precision_recall(embedder, ABOUT_THRESHOLD)
    # Measured: 0.83 and 0.80 at the default 0.1 on these 50 posts (docs/queries.md).
    assert precision >= 0.8 and recall >= 0.75, (precision, recall)
    stricter, fewer = precision_recall(embedder, 0.2)
    assert stricter >= 0.95 and fewer < recall  # a higher threshold trades recall for precision


def test_the_cycle_keeps_posts_about_the_subject_and_says_why(
    tmp_path: Path, hn: FakeHackerNews, slack: FakeSlack, triager: Triager
) -> None:
    hn.items += [
        story(1, NOW - 300, "Apple stock jumped after the quarterly earnings call"),
        story(2, NOW - 200, "Apple picking season at the orchard starts next weekend"),
        story(3, NOW - 100, "The Apple Store replaced my cracked iPhone screen"),
    ]
    path = tmp_path / "settings.toml"
    text = settings_text(
        tmp_path / "lp.db", {"hackernews": {"base_url": hn.base_url}}, slack.base_url
    )
    path.write_text(
        text.replace(
            """query = '(acme OR "acme cloud" OR #acmecloud) -hiring'""", f"query = '{QUERY}'"
        )
    )
    rt = build(config.load(path), {"SLACK_BOT_TOKEN": slack.token}, http=HttpClient("t", timeout=2))
    rt.__dict__["triager"] = triager
    try:
        poll_source(rt, "Acme", "hackernews")
        process(rt)
        stored = {m.native_id: m for m in rt.store.mentions()}
    finally:
        rt.close()
    assert sorted(stored) == ["1", "3"]  # the orchard is about the fruit
    first = stored["1"].triage
    assert first is not None and first.reasons[0].startswith("about 0.")
    assert "the technology company" in first.reasons[0]
    assert stored["1"].raw["about"]["Acme"]["threshold"] == ABOUT_THRESHOLD


def test_the_model_loads_only_for_queries_that_use_about() -> None:
    code = (
        "import sys\n"
        "from core.query import parse\n"
        "from listenpost.cli import app\n"
        "parse('acme plug* NEAR/3 outage').matches('acme plugin outage')\n"
        "assert 'classifiers.embedder' not in sys.modules\n"
        "assert 'onnxruntime' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
