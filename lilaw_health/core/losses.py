"""Per-sample losses and class weights, looked up by name. Every loss returns shape (n_samples,).

Classification losses (:data:`PER_SAMPLE_LOSSES`) take logits (n, c) and integer targets (n,);
regression losses (:data:`REGRESSION_LOSSES`, a separate registry so that a task cannot pick a
loss of the other kind) take predictions (n,) or (n, 1) and real targets (n,).

The robust losses are the cheap baselines every label-noise comparison reports:
generalized cross-entropy (Zhang & Sabuncu, NeurIPS 2018), symmetric cross-entropy
(Wang et al., ICCV 2019), focal loss (Lin et al., ICCV 2017) and label smoothing (Szegedy et
al., CVPR 2016). Class weights multiply each sample's loss by a weight of its observed class:
scikit-learn's "balanced" weights, or the effective-number weights of class-balanced loss
(Cui et al., CVPR 2019).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.registry import Registry

PerSampleLoss = Callable[[Tensor, Tensor], Tensor]
ClassWeight = Callable[[np.ndarray, int], Tensor]  # (observed labels (n,), n_classes) -> (n_classes,)

PER_SAMPLE_LOSSES: Registry[PerSampleLoss] = Registry("loss")
CLASS_WEIGHTS: Registry[ClassWeight] = Registry("class weight", fix="Or pass class_weight=none.")
REGRESSION_LOSSES: Registry[PerSampleLoss] = Registry(
    "regression loss",
    fix="Classification losses (cross_entropy and the rest of PER_SAMPLE_LOSSES) need class logits; "
        "a regression task takes one of these.",
)


@PER_SAMPLE_LOSSES.register("cross_entropy")
def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Cross-entropy per sample; logits (n, c), integer targets (n,)."""
    return F.cross_entropy(logits, targets.long(), reduction="none")


@PER_SAMPLE_LOSSES.register("focal")
def focal(logits: Tensor, targets: Tensor, *, gamma: float = 2.0) -> Tensor:
    """Focal loss per sample (Lin et al. 2017): ``-(1 - p) ** gamma * log p``."""
    log_p = _log_p_target(logits, targets)
    return -((1 - log_p.exp()) ** gamma) * log_p


@PER_SAMPLE_LOSSES.register("gce")
def generalized_cross_entropy(logits: Tensor, targets: Tensor, *, q: float = 0.7) -> Tensor:
    """Generalized cross-entropy per sample (Zhang & Sabuncu 2018): ``(1 - p ** q) / q``.

    ``q -> 0`` gives cross-entropy, ``q = 1`` the (noise-robust) mean absolute error.
    """
    return (1 - torch.exp(q * _log_p_target(logits, targets))) / q


@PER_SAMPLE_LOSSES.register("sce")
def symmetric_cross_entropy(logits: Tensor, targets: Tensor, *, alpha: float = 0.1, beta: float = 1.0,
                            log_zero: float = -4.0) -> Tensor:
    """Symmetric cross-entropy per sample (Wang et al. 2019): ``alpha * CE + beta * RCE``.

    The reverse cross-entropy ``-sum_k p_k log y_k`` with ``log 0`` taken as ``log_zero`` (the
    paper's A = -4) is ``-log_zero * (1 - p)`` for a one-hot label.
    """
    log_p = _log_p_target(logits, targets)
    return -alpha * log_p - beta * log_zero * (1 - log_p.exp())


@PER_SAMPLE_LOSSES.register("label_smoothing")
def label_smoothing(logits: Tensor, targets: Tensor, *, smoothing: float = 0.1) -> Tensor:
    """Cross-entropy against ``(1 - smoothing) * onehot + smoothing / n_classes`` per sample."""
    return F.cross_entropy(logits, targets.long(), reduction="none", label_smoothing=smoothing)


def soft_cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Cross-entropy per sample against soft targets; logits and target (n, c), rows of target sum to 1."""
    return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1)


def _log_p_target(logits: Tensor, targets: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=1).gather(1, targets.long()[:, None]).squeeze(1)


@REGRESSION_LOSSES.register("mse")
def mse(predictions: Tensor, targets: Tensor) -> Tensor:
    """Squared error per sample, ``(f(x) - y) ** 2``.

    Parameters
    ----------
    predictions : Tensor of shape (n_samples,) or (n_samples, 1)
        Model outputs, one value per sample.
    targets : Tensor of shape (n_samples,)
        Observed (possibly noisy) targets; any real or integer dtype (cast to the outputs').

    Returns
    -------
    Tensor of shape (n_samples,)

    Examples
    --------
    >>> mse(torch.tensor([[1.0], [4.0]]), torch.tensor([0, 2])).tolist()
    [1.0, 4.0]
    """
    f, y = _regression_pair(predictions, targets)
    return F.mse_loss(f, y, reduction="none")


@REGRESSION_LOSSES.register("huber")
def huber(predictions: Tensor, targets: Tensor, *, delta: float = 1.0) -> Tensor:
    """Huber loss per sample (Huber 1964): ``r ** 2 / 2`` for ``|r| <= delta``, else
    ``delta * (|r| - delta / 2)``, with ``r = f(x) - y``.

    Quadratic near 0 and linear in the tails, so a target far off (a noisy label) pulls with
    a bounded gradient. Smooth-L1 with ``beta = delta`` is this divided by ``delta`` (the two
    agree at the default ``delta = 1``). Shapes as :func:`mse`; ``delta > 0``.
    """
    if isinstance(delta, bool) or not delta > 0:
        raise InputError(BAD_VALUE.format(arg="delta", expected="a number > 0", received=repr(delta),
                                          fix="delta is where the loss turns from quadratic to linear, in target "
                                              "units; 1.0 is the default."))
    f, y = _regression_pair(predictions, targets)
    return F.huber_loss(f, y, reduction="none", delta=float(delta))


def _regression_pair(predictions: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Flatten (n, 1) outputs to (n,) and refuse any shape that would broadcast to (n, n)."""
    f = predictions.squeeze(1) if predictions.dim() == 2 and predictions.shape[1] == 1 else predictions
    if f.dim() != 1 or targets.shape != f.shape:
        raise InputError(SHAPE.format(arg="predictions and targets", expected="(n_samples,) or (n_samples, 1) and "
                                      "(n_samples,)", received=f"{tuple(predictions.shape)} and "
                                      f"{tuple(targets.shape)}",
                                      fix="Give the model one output per sample and pass one target per sample."))
    return f, targets.to(f.dtype)


@CLASS_WEIGHTS.register("balanced")
def balanced_class_weight(labels: np.ndarray, n_classes: int) -> Tensor:
    """scikit-learn's "balanced" weights, ``n_samples / (n_present_classes * count_c)``; 0 for absent classes."""
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    n_present = int((counts > 0).sum())
    weight = np.divide(len(labels), n_present * counts, out=np.zeros(n_classes), where=counts > 0)
    return torch.as_tensor(weight, dtype=torch.float32)


@CLASS_WEIGHTS.register("effective_number")
def effective_number_class_weight(labels: np.ndarray, n_classes: int, *, beta: float = 0.999) -> Tensor:
    """Class-balanced weights of Cui et al. (2019): ``(1 - beta) / (1 - beta ** count_c)``, the inverse
    effective number of samples, scaled to sum to the number of present classes; 0 for absent ones.

    ``beta = 0`` gives equal weights; ``beta -> 1`` approaches inverse class frequency.

    Examples
    --------
    >>> weight = effective_number_class_weight(np.array([0, 0, 0, 1]), 2, beta=0.5)
    >>> [round(w, 4) for w in weight.tolist()]  # inverse effective numbers 4/7 and 1, scaled to sum to 2
    [0.7273, 1.2727]
    """
    if not 0 <= beta < 1:
        raise InputError(BAD_VALUE.format(arg="beta", expected="in [0, 1)", received=beta,
                                          fix="Cui et al. use 0.9, 0.99, 0.999 or 0.9999."))
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    inverse = np.zeros(n_classes)
    inverse[present] = (1 - beta) / (1 - beta ** counts[present])
    weight = inverse * present.sum() / inverse.sum()
    return torch.as_tensor(weight, dtype=torch.float32)


def with_class_weight(loss_fn: PerSampleLoss, class_weight: Tensor) -> PerSampleLoss:
    """Multiply each sample's loss by its observed class's weight (composes with LiLAW's W)."""

    def weighted(logits: Tensor, targets: Tensor) -> Tensor:
        return loss_fn(logits, targets) * class_weight.to(logits.device)[targets.long()]

    return weighted
