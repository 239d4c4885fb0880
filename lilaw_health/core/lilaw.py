"""The learnable LiLAW scalars and their meta step.

Per training mini-batch (Moturu et al., arXiv:2509.20786, Algorithm 1):

1. model step with alpha, beta, delta frozen: loss = mean(W * l), W not detached by
   default, so the model gradient also flows through W;
2. meta step on a random validation mini-batch (its labels are the observed, noisy ones):
   forward without gradients to the model, same weighted loss, ONE plain gradient step
   ``q <- q - lr * (dL/dq + weight_decay * q)`` on the three scalars;
3. clamp alpha >= 1 and delta >= beta.

There is no look-ahead or second-order term: the extra cost is one no-grad forward.

The scalars and the meta step stay in float32 under mixed precision: the meta step runs with
autocast switched off on float32 copies of the outputs (why: :mod:`~lilaw_health.core.device`).
``checked=False`` skips the input checks of :func:`~lilaw_health.core.weighting.lilaw_weights`
(finite logits, labels in range), each a read of the device: the trainer, whose labels were
checked when the dataset was built, passes it in its hot loop and stops on a non-finite loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from lilaw_health.core.errors import ConfigError
from lilaw_health.core.device import full_precision, without_autocast
from lilaw_health.core.weighting import (
    Agreement,
    LiLAWWeights,
    check_classification_inputs,
    classification_agreement,
    classification_weight_sum,
    lilaw_weights_from,
    meta_loss_and_gradients,
    multilabel_agreement,
    regression_agreement,
    weighted_mean,
)

TASKS = ("classification", "multilabel", "regression")


@dataclass(frozen=True)
class LiLAWConfig:
    """Hyperparameters of LiLAW; the paper's defaults need no tuning.

    Attributes
    ----------
    alpha, beta, delta : float
        Initial scalars (10, 2, 6). Must satisfy alpha >= 1 and delta >= beta.
    lr, weight_decay : float
        Plain gradient step on the scalars (0.005, 1e-4).
    warmup_epochs : int
        Epochs trained with the unweighted loss and no meta step (1).
    detach_weights : bool
        Stop the model gradient from flowing through W (an ablation; off in the paper).
    meta_every : int
        Take the meta step every k training steps (1 = every step, as in the paper).
    """

    alpha: float = 10.0
    beta: float = 2.0
    delta: float = 6.0
    lr: float = 0.005
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    detach_weights: bool = False
    meta_every: int = 1

    def __post_init__(self) -> None:
        problems = []
        if self.alpha < 1:
            problems.append(f"alpha must be >= 1 (received {self.alpha})")
        if self.delta < self.beta:
            problems.append(f"delta must be >= beta (received delta={self.delta}, beta={self.beta})")
        if not self.lr > 0:
            problems.append(f"lr must be > 0 (received {self.lr})")
        if self.weight_decay < 0:
            problems.append(f"weight_decay must be >= 0 (received {self.weight_decay})")
        if self.warmup_epochs < 0:
            problems.append(f"warmup_epochs must be >= 0 (received {self.warmup_epochs})")
        if self.meta_every < 1:
            problems.append(f"meta_every must be >= 1 (received {self.meta_every})")
        if problems:
            raise ConfigError("invalid lilaw settings: " + "; ".join(problems) + ". The paper's defaults are "
                              "alpha=10, beta=2, delta=6, lr=0.005, weight_decay=1e-4, warmup_epochs=1.")


class LiLAW(nn.Module):
    """The three learnable scalars with the weighted loss and the meta step.

    Use it inside any PyTorch loop: ``loss = lilaw.loss(logits, y, per_sample_loss)`` for the
    model step, then ``lilaw.meta_step(val_logits, val_y, val_per_sample_loss)`` after the
    model optimiser's step. Never give ``lilaw.parameters()`` to the model optimiser.

    Parameters
    ----------
    config : LiLAWConfig
    task : {"classification", "multilabel", "regression"}
    target_range : float, optional
        Width of the target range; required for regression.
    """

    def __init__(self, config: LiLAWConfig | None = None, *, task: str = "classification",
                 target_range: float | None = None) -> None:
        super().__init__()
        self.config = config or LiLAWConfig()
        if task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}; received {task!r}.")
        if task == "regression" and not (target_range and target_range > 0):
            raise ConfigError("regression needs target_range > 0 (e.g. 16 for PSPI 0..16); "
                              f"received {target_range!r}.")
        self.task = task
        self.target_range = target_range
        self.alpha = nn.Parameter(torch.tensor(float(self.config.alpha)))
        self.beta = nn.Parameter(torch.tensor(float(self.config.beta)))
        self.delta = nn.Parameter(torch.tensor(float(self.config.delta)))

    def weights(self, outputs: Tensor, targets: Tensor, *, learnable: bool = False,
                checked: bool = True) -> LiLAWWeights:
        """Per-sample weights at the current scalars (frozen unless ``learnable``); ``checked=False``
        skips the input checks (classification and regression)."""
        a, b, d = (self.alpha, self.beta, self.delta) if learnable else (
            self.alpha.detach(), self.beta.detach(), self.delta.detach())
        return lilaw_weights_from(self.agreement(outputs, targets, checked=checked), alpha=a, beta=b, delta=d)

    def agreement(self, outputs: Tensor, targets: Tensor, *, checked: bool = True) -> Agreement:
        """The task's ``u``, ``v`` and scale, which the weights are a function of."""
        if self.task == "classification":
            return classification_agreement(outputs, targets, checked=checked)
        if self.task == "multilabel":
            return multilabel_agreement(outputs, targets)
        assert self.target_range is not None
        if outputs.dim() == 2 and outputs.shape[1] == 1:  # a model's (n, 1) head
            outputs = outputs[:, 0]
        return regression_agreement(outputs, targets, target_range=self.target_range, checked=checked)

    def loss(self, outputs: Tensor, targets: Tensor, per_sample_loss: Tensor, *, checked: bool = True) -> Tensor:
        """Weighted training loss for the model step; the scalars receive no gradient. For
        classification, W is one autograd node (:func:`~lilaw_health.core.weighting.classification_weight_sum`)."""
        if self.task == "classification" and not self.config.detach_weights:
            if checked:
                check_classification_inputs(outputs, targets)
            w = classification_weight_sum(outputs, targets, alpha=self.alpha, beta=self.beta, delta=self.delta)
            return weighted_mean(per_sample_loss, w)
        w = self.weights(outputs, targets, checked=checked).w
        if self.config.detach_weights:
            w = w.detach()
        return weighted_mean(per_sample_loss, w)

    def meta_step(self, outputs: Tensor, targets: Tensor, per_sample_loss: Tensor, *, checked: bool = True) -> Tensor:
        """One plain gradient step on (alpha, beta, delta) from a validation batch.

        ``outputs`` and ``per_sample_loss`` are detached here, so computing them under
        ``torch.no_grad()`` is enough. Returns the meta loss (before the step).
        """
        meta_loss, grads = self.meta_gradients(outputs, targets, per_sample_loss, checked=checked)
        self.apply_meta_gradients(grads)
        return meta_loss

    def meta_gradients(self, outputs: Tensor, targets: Tensor, per_sample_loss: Tensor, *,
                       checked: bool = True) -> tuple[Tensor, list[Tensor]]:
        """The meta loss of a validation batch and its gradients (three 0-d tensors) with respect
        to (alpha, beta, delta); nothing changes. Data-parallel training averages the gradients
        over processes before :meth:`apply_meta_gradients`. float32 maths, also inside autocast.
        The gradient is computed in closed form (:func:`~lilaw_health.core.weighting.meta_loss_and_gradients`),
        equal to autograd's on the same weighted loss."""
        outputs, per_sample_loss = full_precision(outputs.detach()), full_precision(per_sample_loss.detach())
        with without_autocast(outputs.device):
            meta_loss, grads = meta_loss_and_gradients(self.agreement(outputs, targets, checked=checked),
                                                       per_sample_loss, alpha=self.alpha, beta=self.beta,
                                                       delta=self.delta)
        return meta_loss, list(grads.unbind())

    def apply_meta_gradients(self, grads: list[Tensor]) -> None:
        """The update rule: ``q <- q - lr * (g + weight_decay * q)``, then alpha >= 1, delta >= beta."""
        with torch.no_grad():  # on the three stacked: a handful of operations, it runs every step
            q = torch.stack([self.alpha, self.beta, self.delta])
            q = q - self.config.lr * (torch.stack(list(grads)) + self.config.weight_decay * q)
            self.alpha.copy_(q[0].clamp(min=1.0))
            self.beta.copy_(q[1])
            self.delta.copy_(torch.maximum(q[2], q[1]))

    def scalars(self) -> dict[str, float]:
        """Current values as plain floats (for logging)."""
        return {"alpha": self.alpha.item(), "beta": self.beta.item(), "delta": self.delta.item()}

    def scalar_tensors(self) -> dict[str, Tensor]:
        """Current values as 0-d tensors on the scalars' device: a copy, read on the host later
        (the trainer logs them without waiting for the device)."""
        values = torch.stack([self.alpha, self.beta, self.delta]).detach()
        return {"alpha": values[0], "beta": values[1], "delta": values[2]}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v:.4f}" for k, v in self.scalars().items())
