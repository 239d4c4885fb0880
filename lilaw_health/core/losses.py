"""Per-sample losses, looked up by name. Every loss returns shape (n_samples,)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from lilaw_health.core.registry import Registry

PER_SAMPLE_LOSSES: Registry = Registry("loss")


@PER_SAMPLE_LOSSES.register("cross_entropy")
def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy per sample; logits (n, c), integer targets (n,)."""
    return F.cross_entropy(logits, targets.long(), reduction="none")


@PER_SAMPLE_LOSSES.register("focal")
def focal(logits: Tensor, targets: Tensor, *, gamma: float = 2.0) -> Tensor:
    """Focal loss per sample (Lin et al. 2017): ``-(1 - p) ** gamma * log p``."""
    log_p = torch.log_softmax(logits, dim=1).gather(1, targets.long()[:, None]).squeeze(1)
    return -((1 - log_p.exp()) ** gamma) * log_p
