"""Training methods, chosen by name: how a mini-batch's loss is formed, what follows the
model step, and what happens at the end of an epoch. The trainer owns the loop; a method
owns only these hooks.

Add a method with ``METHODS.add("name", factory)``, the factory taking a ``MethodContext``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lilaw_health.core.data import LabeledView
from lilaw_health.core.dynamics import TrainingDynamics
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.lilaw import LiLAW, LiLAWConfig
from lilaw_health.core.losses import PerSampleLoss
from lilaw_health.core.registry import Registry

Batch = tuple[Tensor, Tensor]
CLEAN_ACTIONS = ("drop", "relabel")


@dataclass(frozen=True)
class CleanConfig:
    """Filter-and-retrain (method ``clean``).

    Attributes
    ----------
    detect_epochs : int
        Epochs of plain training whose dynamics score the samples; then the model is
        re-initialised and trained for the remaining epochs on the cleaned labels.
    fraction : float
        Share of the training samples with the highest mislabel score to act on.
    threshold : float or None
        If set, act on every sample whose mislabel score exceeds it (``fraction`` unused).
    action : {"drop", "relabel"}
        Drop the suspects, or give them the label the model predicted at their last presentation.
    """

    detect_epochs: int = 10
    fraction: float = 0.2
    threshold: float | None = None
    action: str = "drop"

    def __post_init__(self) -> None:
        if self.detect_epochs < 1 or not 0 <= self.fraction < 1 or self.action not in CLEAN_ACTIONS:
            raise ConfigError(f"invalid clean settings: need detect_epochs >= 1 (received {self.detect_epochs}), "
                              f"fraction in [0, 1) (received {self.fraction}) and action in "
                              f"{', '.join(CLEAN_ACTIONS)} (received {self.action!r}).")


@dataclass(frozen=True)
class MethodContext:
    """What a method factory may use to build itself."""

    loss_fn: PerSampleLoss
    n_classes: int
    lilaw: LiLAWConfig = LiLAWConfig()
    clean: CleanConfig = CleanConfig()
    sample_weight: Tensor | None = None  # (n_train,) by training-set position, e.g. from scikit-learn's fit


class Method:
    """Plain empirical risk minimisation: the mean per-sample loss. Base of every method."""

    name = "erm"

    def __init__(self, context: MethodContext) -> None:
        self.loss_fn = context.loss_fn
        self.sample_weight = context.sample_weight

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        """The objective of one mini-batch; ``positions`` (n,) index the training set."""
        return self.per_sample_loss(outputs, targets, positions).mean()

    def per_sample_loss(self, outputs: Tensor, targets: Tensor, positions: Tensor) -> Tensor:
        """The per-sample training loss (n,), times the user's ``sample_weight`` when given."""
        loss = self.loss_fn(outputs, targets)
        if self.sample_weight is None:
            return loss
        return loss * self.sample_weight.to(loss.device)[positions.to(loss.device)]

    def after_model_step(self, model: nn.Module, *, epoch: int, step: int,
                         next_val_batch: Callable[[], Batch]) -> dict[str, float] | None:
        """Work after the optimiser step; returns logged scalars when it did any."""
        return None

    def on_epoch_start(self, epoch: int, *, model: nn.Module, train: LabeledView,
                       predict_logits: Callable[[LabeledView], Tensor], seed: int) -> np.ndarray | None:
        """Called before each epoch; may return the training positions to use this epoch
        (None = all). ``predict_logits(train)`` runs an eval-mode pass (a cost only methods that
        need it pay); randomness must come from ``seed`` for runs to resume exactly."""
        return None

    def on_epoch_end(self, epoch: int, *, dynamics: TrainingDynamics) -> bool:
        """Called after each epoch; return True to have the trainer re-initialise the model."""
        return False

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

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        per_sample = self.per_sample_loss(outputs, targets, positions)
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


class FilterAndRetrain(Method):
    """The usual filter-and-retrain workflow, inside one run: train ``detect_epochs`` epochs,
    score every sample with its training dynamics (:func:`~lilaw_health.core.dynamics.mislabel_score`),
    drop or relabel the suspects, re-initialise the model and train on the rest."""

    name = "clean"

    def __init__(self, context: MethodContext) -> None:
        super().__init__(context)
        self.config = context.clean
        self.keep: Tensor | None = None  # (n_train,) 1.0 kept, 0.0 dropped
        self.labels: Tensor | None = None  # (n_train,) the labels trained on after cleaning

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        if self.keep is None or self.labels is None:
            return self.per_sample_loss(outputs, targets, positions).mean()
        index = positions.to(self.keep.device)
        keep = self.keep[index].to(outputs.device)
        per_sample = self.per_sample_loss(outputs, self.labels[index].to(targets.device), positions)
        return (per_sample * keep).sum() / keep.sum().clamp(min=1.0)

    def on_epoch_start(self, epoch: int, *, model: nn.Module, train: LabeledView,
                       predict_logits: Callable[[LabeledView], Tensor], seed: int) -> np.ndarray | None:
        """Called before each epoch; may return the training positions to use this epoch
        (None = all). ``predict_logits(train)`` runs an eval-mode pass (a cost only methods that
        need it pay); randomness must come from ``seed`` for runs to resume exactly."""
        return None

    def on_epoch_end(self, epoch: int, *, dynamics: TrainingDynamics) -> bool:
        if epoch + 1 != self.config.detect_epochs:
            return False
        scores = dynamics.scores(early_epochs=(1, self.config.detect_epochs))
        suspect = self._suspects(scores["mislabel_score"].to_numpy())
        observed = torch.as_tensor(dynamics.observed_labels)
        if self.config.action == "relabel":
            predicted = torch.as_tensor(scores["last_predicted"].to_numpy(copy=True))
            self.labels = torch.where(torch.as_tensor(suspect), predicted, observed)
            self.keep = torch.ones(len(observed))
        else:
            self.labels = observed
            self.keep = torch.as_tensor(~suspect, dtype=torch.float32)
        return True

    def _suspects(self, score: np.ndarray) -> np.ndarray:
        score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
        if self.config.threshold is not None:
            return score > self.config.threshold
        suspect = np.zeros(len(score), dtype=bool)
        suspect[np.argsort(-score, kind="stable")[: int(round(self.config.fraction * len(score)))]] = True
        return suspect

    def state_dict(self) -> dict[str, Any]:
        return {"keep": self.keep, "labels": self.labels}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.keep, self.labels = state["keep"], state["labels"]


METHODS: Registry[Callable[[MethodContext], Method]] = Registry("method")
METHODS.add("erm", Method)
METHODS.add("lilaw", LiLAWMethod)
METHODS.add("clean", FilterAndRetrain)
