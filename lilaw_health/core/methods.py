"""Training methods, chosen by name: how a mini-batch's loss is formed and what follows
the model step. The trainer owns the loop; a method owns only these two hooks.

Add a method with ``@METHODS.register("name")`` on a factory taking ``MethodContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from lilaw_health.core.lilaw import LiLAW, LiLAWConfig
from lilaw_health.core.losses import PerSampleLoss
from lilaw_health.core.registry import Registry

Batch = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class MethodContext:
    """What a method factory may use to build itself."""

    loss_fn: PerSampleLoss
    n_classes: int
    lilaw: LiLAWConfig


class Method:
    """Plain empirical risk minimisation: the mean per-sample loss. Base of every method."""

    name = "erm"

    def __init__(self, context: MethodContext) -> None:
        self.loss_fn = context.loss_fn

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int) -> Tensor:
        return self.loss_fn(outputs, targets).mean()

    def after_model_step(self, model: nn.Module, *, epoch: int, step: int,
                         next_val_batch: Callable[[], Batch]) -> dict[str, float] | None:
        """Work after the optimiser step; returns logged scalars when it did any."""
        return None

    def scalars(self) -> dict[str, float] | None:
        return None

    def to(self, device: torch.device) -> Method:
        return self

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state


class LiLAWMethod(Method):
    """LiLAW (Moturu et al., arXiv:2509.20786): weighted loss, then a meta step on a
    random validation batch every ``meta_every`` steps after the warm-up epochs."""

    name = "lilaw"

    def __init__(self, context: MethodContext) -> None:
        super().__init__(context)
        self.lilaw = LiLAW(context.lilaw)

    def _warming_up(self, epoch: int) -> bool:
        return epoch < self.lilaw.config.warmup_epochs

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int) -> Tensor:
        per_sample = self.loss_fn(outputs, targets)
        if self._warming_up(epoch):
            return per_sample.mean()
        return self.lilaw.loss(outputs, targets, per_sample)

    def after_model_step(self, model: nn.Module, *, epoch: int, step: int,
                         next_val_batch: Callable[[], Batch]) -> dict[str, float] | None:
        if self._warming_up(epoch) or step % self.lilaw.config.meta_every:
            return None
        inputs, targets = next_val_batch()
        was_training = model.training
        model.eval()
        with torch.no_grad():
            outputs = model(inputs)
            per_sample = self.loss_fn(outputs, targets)
        model.train(was_training)
        self.lilaw.meta_step(outputs, targets, per_sample)
        return self.lilaw.scalars()

    def scalars(self) -> dict[str, float]:
        return self.lilaw.scalars()

    def to(self, device: torch.device) -> LiLAWMethod:
        self.lilaw.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        return self.lilaw.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lilaw.load_state_dict(state)


METHODS: Registry[Callable[[MethodContext], Method]] = Registry("method")
METHODS.add("erm", Method)
METHODS.add("lilaw", LiLAWMethod)
