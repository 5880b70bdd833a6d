"""`listenpost eval` and `retrain` reach into classifiers/training/ for scoring and the no-worse
guard; loading those must not pull in the heavy training libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "transformers", "sklearn")


def test_scoring_and_the_retrain_guard_import_without_training_libraries() -> None:
    script = (
        "import sys\n"
        "import classifiers.training.evaluate, classifiers.training.retrain\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.strip() == "[]"
