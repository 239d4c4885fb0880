"""Per-sample losses, looked up by name. Every loss returns shape (n_samples,)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
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


PerSampleLoss = Callable[[Tensor, Tensor], Tensor]


def balanced_class_weight(labels: np.ndarray, n_classes: int) -> Tensor:
    """scikit-learn's "balanced" weights, ``n_samples / (n_present_classes * count_c)``; 0 for absent classes."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    n_present = int((counts > 0).sum())
    weight = np.divide(len(labels), n_present * counts, out=np.zeros(n_classes), where=counts > 0)
    return torch.as_tensor(weight, dtype=torch.float32)


def with_class_weight(loss_fn: PerSampleLoss, class_weight: Tensor) -> PerSampleLoss:
    """Multiply each sample's loss by its observed class's weight (composes with LiLAW's W)."""

    def weighted(logits: Tensor, targets: Tensor) -> Tensor:
        return loss_fn(logits, targets) * class_weight.to(logits.device)[targets.long()]

    return weighted
