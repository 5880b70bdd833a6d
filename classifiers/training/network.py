"""The network trained by `listenpost train`: MiniLM's first layers, mean pooling, three heads.

Keeping the first N layers of all-MiniLM-L6-v2 (and fine-tuning them) trades a little accuracy
for speed in a straight line: each layer is about the same share of the CPU time. One shared
encoder serves sentiment, the learned categories and urgency, so the extra outputs are nearly
free at run time.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.triage import SENTIMENTS, URGENCIES


def load_encoder(base_dir: Path, layers: int, ffn: int | None = None) -> nn.Module:
    """The base model from a local folder (never the hub), cut to its first `layers` layers
    and, with `ffn`, to that many feed-forward units per layer (see `prune_ffn`)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime fuses into Attention.
    encoder = AutoModel.from_pretrained(
        str(base_dir), local_files_only=True, attn_implementation="eager"
    )
    total = encoder.config.num_hidden_layers
    if not 1 <= layers <= total:
        raise ValueError(f"layers must be between 1 and {total} for {base_dir}, got {layers}")
    encoder.encoder.layer = encoder.encoder.layer[:layers]
    encoder.config.num_hidden_layers = layers
    if ffn is not None:
        prune_ffn(encoder, ffn)
    return encoder


def prune_ffn(encoder: nn.Module, keep: int) -> None:
    """Keep the `keep` feed-forward units per layer that carry the most weight.

    The feed-forward block is two thirds of a layer's arithmetic; a unit whose input and output
    weights are both small contributes little, and fine-tuning recovers most of the rest. A unit's
    weight is the product of the norms of its input row and output column.
    """
    width = int(encoder.config.intermediate_size)
    if not 1 <= keep <= width:
        raise ValueError(f"ffn must be between 1 and {width}, got {keep}")
    with torch.no_grad():
        for layer in encoder.encoder.layer:
            up, down = layer.intermediate.dense, layer.output.dense
            weight = up.weight.norm(dim=1) * down.weight.norm(dim=0)
            kept = torch.sort(torch.topk(weight, keep).indices).values
            new_up = nn.Linear(up.in_features, keep)
            new_up.weight.copy_(up.weight[kept])
            new_up.bias.copy_(up.bias[kept])
            new_down = nn.Linear(keep, down.out_features)
            new_down.weight.copy_(down.weight[:, kept])
            new_down.bias.copy_(down.bias)
            layer.intermediate.dense, layer.output.dense = new_up, new_down
    encoder.config.intermediate_size = keep


class TriageNet(nn.Module):
    """Logits for sentiment, the learned categories and urgency from one pooled vector."""

    def __init__(self, encoder: nn.Module, n_categories: int) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(0.1)
        self.sentiment = nn.Linear(hidden, len(SENTIMENTS))
        self.categories = nn.Linear(hidden, n_categories)
        self.urgency = nn.Linear(hidden, len(URGENCIES))
        # Added to the sentiment logits after training, tuned for macro recall (see train.py).
        self.register_buffer("sentiment_offset", torch.zeros(len(SENTIMENTS)))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        pooled = self.dropout(pooled)
        return self.sentiment(pooled), self.categories(pooled), self.urgency(pooled)

    def probabilities(self) -> nn.Module:
        """The exported form: probabilities, with the tuned sentiment offset applied."""
        return _Probabilities(self)


class _Probabilities(nn.Module):
    def __init__(self, net: TriageNet) -> None:
        super().__init__()
        self.net = net

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sentiment, categories, urgency = self.net(input_ids, attention_mask)
        return (
            torch.softmax(sentiment + self.net.sentiment_offset, dim=-1),
            torch.sigmoid(categories),
            torch.softmax(urgency, dim=-1),
        )
