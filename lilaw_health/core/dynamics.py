"""Training dynamics: per-sample statistics gathered from forward passes training already does.

For every training sample and epoch we keep the mean over its presentations of

- ``W_alpha`` (LiLAW's easy weight; low = the model disagrees with the observed label),
- the margin (logit of the observed label minus the largest other logit; its mean over
  epochs is the area under the margin, AUM, Pleiss et al. 2020),

and, per presentation, whether it was classified correctly, to count forgetting events
(correct then wrong at the next presentation; Toneva et al. 2019). Validation samples are
described from the per-epoch validation pass (held out: they are never trained on).
Nothing here runs a forward pass of its own, and nothing reads the device while an epoch runs:
the per-sample sums stay on the device, and each batch's predictions and correctness are kept
there until :meth:`TrainingDynamics.end_epoch` copies them to the host in one transfer and
replays the bookkeeping batch by batch, in the order the batches came (the result is the same
as updating after every batch).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lilaw_health.core import distributed
from lilaw_health.core.task import CLASSIFICATION, SampleStats, Task


class TrainingDynamics:
    """Accumulates per-sample statistics epoch by epoch.

    Parameters
    ----------
    n_samples : int
        Size of the dataset whose positions ``record`` receives.
    """

    def __init__(self, n_samples: int, *, task: Task = CLASSIFICATION) -> None:
        self.n_samples = n_samples
        self.task = task
        self.w_alpha: list[np.ndarray] = []  # one (n_samples,) array per epoch, NaN where unseen
        self.margin: list[np.ndarray] = []
        self.forgetting = np.zeros(n_samples, dtype=np.int64)
        self.ever_correct = np.zeros(n_samples, dtype=bool)
        self._last_correct = np.zeros(n_samples, dtype=bool)
        # class ids (-1: never presented), or predicted / observed values (NaN) for regression
        dtype, unseen = (np.int64, -1) if task.name == "classification" else (np.float64, np.nan)
        self.last_predicted = np.full(n_samples, unseen, dtype=dtype)
        self.observed_labels = np.full(n_samples, unseen, dtype=dtype)
        self._reset_epoch()

    def _reset_epoch(self) -> None:
        self._sums: dict[str, Tensor] = {}
        # per batch, until end_epoch: positions (host), then correct, predicted, targets (device)
        self._pending: list[tuple[Tensor, Tensor, Tensor, Tensor]] = []

    def record(self, positions: Tensor, outputs: Tensor, targets: Tensor, *, alpha: float | Tensor) -> None:
        """Add one mini-batch: ``positions`` (n,) index the dataset, ``outputs`` (logits (n, c), or
        regression outputs) are detached; ``alpha`` (a float or a 0-d tensor on the outputs'
        device) is the one W_alpha is computed with."""
        with torch.no_grad():
            stats = self.task.sample_stats(outputs, targets, alpha=alpha)
        self.add_stats(positions, stats, targets)

    def add_stats(self, positions: Tensor, stats: SampleStats, targets: Tensor) -> None:
        """Add one mini-batch's per-sample statistics (each (n,)) at ``positions`` (n,)."""
        sums = {"w_alpha": stats.w_alpha, "margin": stats.margin, "count": torch.ones_like(stats.margin)}
        index = positions.to(stats.margin.device, non_blocking=True).long()
        for key, value in sums.items():
            total = self._sums.setdefault(key, torch.zeros(self.n_samples, device=stats.margin.device))
            total.index_add_(0, index, value.float())
        self._pending.append((positions, stats.correct, stats.predicted, targets))

    def _replay_pending(self) -> None:
        """The kept batches' bookkeeping, in the order they came: one transfer per kind of value."""
        if not self._pending:
            return
        positions, correct, predicted, targets = zip(*self._pending)
        sizes = np.cumsum([len(p) for p in positions])[:-1]
        read = [np.split(torch.cat(part).cpu().numpy(), sizes) for part in (positions, correct, predicted, targets)]
        self._pending = []
        for where, batch_correct, batch_predicted, batch_targets in zip(*read):
            self._update_forgetting(where, batch_correct)
            self.last_predicted[where] = batch_predicted
            self.observed_labels[where] = batch_targets

    def _update_forgetting(self, positions: np.ndarray, correct: np.ndarray) -> None:
        self.forgetting[positions] += self._last_correct[positions] & ~correct
        self._last_correct[positions] = correct
        self.ever_correct[positions] |= correct

    def end_epoch(self) -> None:
        """Close the epoch: store its per-sample means (NaN for samples not presented)."""
        self._replay_pending()
        if not self._sums:
            nan = np.full(self.n_samples, np.nan)
            self.w_alpha.append(nan)
            self.margin.append(nan.copy())
            return
        count = self._sums["count"].cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            for key, history in (("w_alpha", self.w_alpha), ("margin", self.margin)):
                history.append(np.where(count > 0, self._sums[key].cpu().numpy() / count, np.nan))
        self._reset_epoch()

    def scores(self, *, early_epochs: tuple[int, int] = (1, 10)) -> pd.DataFrame:
        """One row per sample: aum, w_alpha_mean, w_alpha_early, forgetting_events, ever_correct,
        last_predicted (the class predicted at the sample's last presentation) and mislabel_score.

        ``w_alpha_early`` averages W_alpha over epochs ``[early_epochs[0], early_epochs[1])``
        (the window the LiLAW paper found separates flipped labels best, before memorisation);
        a run with fewer epochs uses the ones it has, and a sample not presented in the window
        (a method held it out, as ``dynamic_loss`` holds out its metadata) all its epochs.
        """
        w_alpha, margin = self._matrix(self.w_alpha), self._matrix(self.margin)
        start, stop = early_epochs
        early = w_alpha[start:stop] if len(w_alpha) > start else w_alpha
        with warnings.catch_warnings():  # a sample never presented has an all-NaN column: its mean is NaN
            warnings.simplefilter("ignore", category=RuntimeWarning)
            w_alpha_mean, w_alpha_early = np.nanmean(w_alpha, axis=0), np.nanmean(early, axis=0)
            table = pd.DataFrame({
                "aum": np.nanmean(margin, axis=0),
                "w_alpha_mean": w_alpha_mean,
                "w_alpha_early": np.where(np.isnan(w_alpha_early), w_alpha_mean, w_alpha_early),
                "forgetting_events": self.forgetting,
                "ever_correct": self.ever_correct,
                "last_predicted": self.last_predicted,
            })
        table["mislabel_score"] = mislabel_score(table)
        return table

    def _matrix(self, history: list[np.ndarray]) -> np.ndarray:
        return np.vstack(history) if history else np.full((1, self.n_samples), np.nan)

    def state_dict(self) -> dict[str, Any]:
        return {"w_alpha": self.w_alpha, "margin": self.margin, "forgetting": self.forgetting,
                "ever_correct": self.ever_correct, "last_correct": self._last_correct,
                "last_predicted": self.last_predicted, "observed_labels": self.observed_labels}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.w_alpha, self.margin = list(state["w_alpha"]), list(state["margin"])
        self.forgetting, self.ever_correct = state["forgetting"].copy(), state["ever_correct"].copy()
        self._last_correct = state["last_correct"].copy()
        self.last_predicted = state["last_predicted"].copy()
        self.observed_labels = state["observed_labels"].copy()
        self._reset_epoch()


class SharedDynamics:
    """The training dynamics of a data-parallel run, which every process holds whole.

    Each process records the statistics of its share of every batch; at the end of the epoch
    the shares of all processes are gathered and added to ``dynamics`` batch by batch, each
    batch's shares in rank order: the order a single process would have presented the same
    global batches in (forgetting counts presentations in order; sums add in order).
    """

    def __init__(self, dynamics: TrainingDynamics) -> None:
        self.dynamics = dynamics
        # per batch: (n, 2) step, position on the host; (n, 5) w_alpha, margin, correct, predicted, target
        # on the device, read at the end of the epoch
        self._where: list[Tensor] = []
        self._stats: list[Tensor] = []

    def record(self, step: int, positions: Tensor, outputs: Tensor, targets: Tensor, *, alpha: float | Tensor) -> None:
        """Keep one batch share's statistics; ``outputs`` are detached."""
        with torch.no_grad():
            task = self.dynamics.task
            stats = task.sample_stats(outputs, targets, alpha=alpha)
            columns = [stats.w_alpha, stats.margin, stats.correct, stats.predicted, targets]
            self._stats.append(torch.stack([column.to(torch.float64) for column in columns], dim=1))
        self._where.append(torch.stack([torch.full_like(positions, step), positions], dim=1).to(torch.float64))

    def end_epoch(self) -> None:
        """Gather every process's statistics of the epoch into ``dynamics`` and close its epoch."""
        local = np.empty((0, 7))
        if self._stats:
            local = np.concatenate([torch.cat(self._where).numpy(), torch.cat(self._stats).cpu().numpy()], axis=1)
        self._where, self._stats = [], []
        rows = np.concatenate(distributed.all_gather_array(local))  # float64 holds each value exactly
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        for batch in np.split(rows, np.flatnonzero(np.diff(rows[:, 0])) + 1):
            if len(batch):
                stats = SampleStats(w_alpha=torch.as_tensor(batch[:, 2], dtype=torch.float32),
                                    margin=torch.as_tensor(batch[:, 3], dtype=torch.float32),
                                    predicted=torch.as_tensor(batch[:, 5]), correct=torch.as_tensor(batch[:, 4] != 0))
                self.dynamics.add_stats(torch.as_tensor(batch[:, 1]).long(), stats, torch.as_tensor(batch[:, 6]))
        self.dynamics.end_epoch()


def mislabel_score(scores: pd.DataFrame) -> np.ndarray:
    """The documented mislabel score (higher = more likely wrong): minus the area under the margin.

    Chosen by measurement (``benchmarks/mislabel_detection.py`` on the real ECG5000, LiLAW
    runs, 3 seeds; table in ``pipelines/README.md``): -AUM had the best mean detection AUROC
    over symmetric 20/40/60 % and asymmetric 40 % noise (0.990 / 0.978 / 0.974 / 0.961),
    W_alpha averaged over epochs was within the seed spread of it (0.990 / 0.978 / 0.973 /
    0.952), and both beat cleanlab on 5-fold cross-validated logistic regression
    (0.981 / 0.968 / 0.933 / 0.921) and the final W_alpha (0.986 / 0.967 / 0.935 / 0.953).
    """
    return -scores["aum"].to_numpy(dtype=float)
