"""What the kind of target changes in training: the plain loss, the model's outputs as
predictions, the per-sample training dynamics, LiLAW's weights and the methods that apply.

:class:`Classification` (class ids, logits (n, C)) is the default; :class:`Regression`
(float targets, outputs (n,) or (n, 1)) uses LiLAW's regression variant from the paper's
appendix, with ``(q * f(x) - y) / R`` in the three terms, R the width of the target range.

Training dynamics per sample and epoch (see :mod:`~lilaw_health.core.dynamics`):

- classification: W_alpha, and the margin (observed-class logit minus the largest other);
  a presentation is correct when the prediction is the observed class;
- regression: W_alpha of the regression weights, and the margin ``-|f(x) - y| / R`` (so the
  area under it, AUM, is minus the mean relative residual over epochs, and the mislabel score
  :func:`~lilaw_health.core.dynamics.mislabel_score`, ``-AUM``, is the mean relative residual:
  a target the model keeps missing scores high, one corrupted by half the range about 0.5);
  a presentation is "correct"
  when the residual is within :data:`CORRECT_WITHIN` of the range, which is what forgetting
  events count.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, ConfigError, InputError
from lilaw_health.core.lilaw import LiLAW, LiLAWConfig
from lilaw_health.core.metrics import REGRESSION_MONITORS
from lilaw_health.core.weighting import agreement, lilaw_weights_regression

CORRECT_WITHIN = 0.1  # regression: |residual| <= 10 % of the target range counts as correct
REGRESSION_METHODS = ("erm", "lilaw")
CLASSIFICATION_ONLY = ("{what} {name!r} is for classification; a regression run takes {valid}. {fix}")


class SampleStats(NamedTuple):
    """Per-sample statistics of one mini-batch, each of shape (n,)."""

    w_alpha: Tensor
    margin: Tensor
    predicted: Tensor
    correct: Tensor


class Classification:
    """Class ids 0..C-1 and logits (n, C)."""

    name = "classification"
    target_dtype = torch.long

    def plain_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """Per-sample cross-entropy (n,), comparable across methods."""
        return F.cross_entropy(outputs, targets.long(), reduction="none")

    def predictions(self, outputs: Tensor) -> Tensor:
        """Class probabilities (n, C)."""
        return torch.softmax(outputs, dim=1)

    def sample_stats(self, outputs: Tensor, targets: Tensor, *, alpha: float | Tensor) -> SampleStats:
        p, m = agreement(outputs, targets)
        others = outputs.scatter(1, targets.long()[:, None], float("-inf"))
        margin = outputs.gather(1, targets.long()[:, None]).squeeze(1) - others.max(dim=1).values
        predicted = outputs.argmax(dim=1)
        return SampleStats(torch.sigmoid(alpha * p - m), margin, predicted, predicted == targets)

    def lilaw(self, config: LiLAWConfig) -> LiLAW:
        return LiLAW(config)

    def check_method(self, method: str) -> None:
        """Every registered method trains a classifier."""

    def check_monitor(self, monitor: str) -> None:
        if monitor in REGRESSION_MONITORS:
            raise ConfigError(f"monitor {monitor!r} is for regression; a classification run takes accuracy, "
                              "balanced_accuracy, macro_f1, auroc or loss.")


class Regression:
    """Float targets on a scale of range ``(low, high)``; outputs (n,) or (n, 1)."""

    name = "regression"
    target_dtype = torch.float32

    def __init__(self, target_range: tuple[float, float]) -> None:
        low, high = (float(v) for v in target_range)
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise InputError(BAD_VALUE.format(arg="target_range", expected="(low, high) with low < high, finite",
                                              received=repr(target_range),
                                              fix="Give the scale's range (e.g. (0, 16) for PSPI), or targets that "
                                                  "are not all equal."))
        self.target_range = (low, high)
        self.width = high - low

    def plain_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """Per-sample squared error (n,)."""
        return (_flat(outputs) - targets.to(outputs.dtype)) ** 2

    def predictions(self, outputs: Tensor) -> Tensor:
        """Predicted values (n,)."""
        return _flat(outputs)

    def sample_stats(self, outputs: Tensor, targets: Tensor, *, alpha: float | Tensor) -> SampleStats:
        predicted = _flat(outputs)
        targets = targets.to(predicted.dtype)
        weights = lilaw_weights_regression(predicted, targets, target_range=self.width, alpha=alpha,
                                           beta=LiLAWConfig.beta, delta=LiLAWConfig.delta, checked=False)
        relative = (predicted - targets).abs() / self.width
        return SampleStats(weights.w_alpha, -relative, predicted, relative <= CORRECT_WITHIN)

    def lilaw(self, config: LiLAWConfig) -> LiLAW:
        return LiLAW(config, task="regression", target_range=self.width)

    def check_method(self, method: str) -> None:
        if method not in REGRESSION_METHODS:
            raise ConfigError(CLASSIFICATION_ONLY.format(what="method", name=method, valid=", ".join(REGRESSION_METHODS),
                                                         fix="Use method=lilaw (regression variant) or erm."))

    def check_monitor(self, monitor: str) -> None:
        if monitor != "loss" and monitor not in REGRESSION_MONITORS:
            raise ConfigError(CLASSIFICATION_ONLY.format(what="monitor", name=monitor,
                                                         valid=", ".join(["loss", *sorted(REGRESSION_MONITORS)]),
                                                         fix="E.g. monitor=mae."))


Task = Classification | Regression
CLASSIFICATION = Classification()


def _flat(outputs: Tensor) -> Tensor:
    if outputs.dim() == 2 and outputs.shape[1] == 1:
        return outputs[:, 0]
    if outputs.dim() != 1:
        raise InputError(f"a regression model must output one value per sample, shape (n,) or (n, 1); received "
                         f"{tuple(outputs.shape)}. Give the model's last layer one output.")
    return outputs
