"""From a trained torch network to the shipped folder: ONNX graph, fused, int8-quantised.

Attention, GELU and layer norms are fused by ONNX Runtime's transformer optimiser before the
weights are quantised: the fused graph is what makes a short tweet cost a fraction of a
millisecond per layer on a laptop CPU, and int8 weights make the file a quarter of the size.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from classifiers.model import CARD_FILE, MODEL_FILE, OUTPUTS, TOKENIZER_FILE


def export(net: Any, tokenizer_file: Path, out_dir: Path, card: dict[str, Any]) -> Path:
    """Write model.onnx, tokenizer.json and model.json into `out_dir` (replaced as a whole)."""
    import torch

    hidden = net.encoder.config.hidden_size
    heads = net.encoder.config.num_attention_heads
    with tempfile.TemporaryDirectory(prefix="triage-export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        ids = torch.ones((2, 8), dtype=torch.long)
        mask = torch.ones((2, 8), dtype=torch.long)
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
        axes.update({name: {0: "batch"} for name in OUTPUTS})
        net.eval()
        with warnings.catch_warnings():
            # The tracer's notes on shape-dependent Python branches: the axes are declared
            # dynamic above and the exported graph is scored on the held-out rows afterwards.
            warnings.simplefilter("ignore")
            _export_graph(net, ids, mask, raw, axes)
        return ship(raw, heads, hidden, tokenizer_file, card, out_dir)


def ship(
    raw: Path, heads: int, hidden: int, tokenizer_file: Path, card: dict[str, Any], out_dir: Path
) -> Path:
    """Fuse and int8-quantise the raw ONNX graph of a BERT-shaped network, then put it into
    `out_dir` with its tokenizer and card, replacing the folder as a whole (a half-written
    model is never left where the monitor loads it)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="onnx-ship-") as tmp:
        fused = optimizer.optimize_model(
            str(raw), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
        )
        fused_path = Path(tmp) / "fused.onnx"
        fused.save_model_to_file(str(fused_path))
        staged = Path(tmp) / "model"
        staged.mkdir()
        quantize_dynamic(
            str(fused_path),
            str(staged / MODEL_FILE),
            weight_type=QuantType.QInt8,
            # Fused ops hide some tensor types from shape inference; they are all float.
            extra_options={"DefaultTensorType": 1},
        )
        shutil.copyfile(tokenizer_file, staged / TOKENIZER_FILE)
        (staged / CARD_FILE).write_text(
            json.dumps(card, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out_dir)
    return out_dir


def _export_graph(net: Any, ids: Any, mask: Any, path: Path, axes: dict[str, Any]) -> None:
    import torch

    torch.onnx.export(
        net.probabilities(),
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=list(OUTPUTS),
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
