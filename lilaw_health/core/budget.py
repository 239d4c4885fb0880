"""How long a run trains and which epoch it keeps, from its settings and the size of its splits.

A recipe tuned on a 5,000-series set trains a 40-series set for a handful of optimiser steps;
``min_steps`` raises the epochs so that every set gets at least that many steps (the cosine
schedule spans the raised epochs). A validation split of a few samples cannot choose an epoch;
such a run keeps the last epoch's model instead (``keep=last``) and stops no run early.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

from lilaw_health.core.trainer import TrainConfig, TrainResult

logger = logging.getLogger(__name__)

MIN_VAL_SAMPLES = 10  # fewer validation samples (or fewer than 2 per class) cannot choose an epoch
BUDGET_RAISED = ("Training budget: min_steps={min_steps} at {steps} optimiser step(s) per epoch ({n_train} training "
                 "samples, batch_size {batch_size}) raises the epochs from {epochs} to {budgeted}; the learning-rate "
                 "schedule follows the {budgeted} epochs. Set min_steps=0 to train exactly `epochs`.")
TINY_VALIDATION = ("The validation split holds {n_val} sample(s), fewer than {minimum} ({rule}): a score on so few "
                   "samples cannot choose an epoch, so the run keeps the LAST epoch's model{patience} instead of the "
                   "best validation epoch. Raise val_fraction to select the epoch on validation.")


@dataclass(frozen=True)
class Budget:
    """``config``: the run's settings with epochs = max(epochs, ceil(min_steps / steps_per_epoch))
    and, when the validation split is too small to choose an epoch, ``keep="last"`` with early
    stopping off. The notes say what changed, for the log and the report."""

    config: TrainConfig
    steps_per_epoch: int
    epochs_note: str = ""
    selection_note: str = ""

    @property
    def notes(self) -> list[str]:
        return [note for note in (self.epochs_note, self.selection_note) if note]

    def log(self) -> None:
        if self.epochs_note:
            logger.info(self.epochs_note)
        if self.selection_note:
            logger.warning(self.selection_note)

    def record(self, result: TrainResult) -> dict[str, Any]:
        """``metrics.json`` entries: the budget and which epoch the evaluated model is."""
        last = result.kept == "last"
        return {"epochs_budgeted": self.config.epochs, "steps_per_epoch": self.steps_per_epoch,
                "model_selection": "last_epoch" if last else "best_validation_epoch",
                "kept_epoch": result.epochs_run - 1 if last else result.best_epoch}


def plan_budget(config: TrainConfig, *, min_steps: int, n_train: int, n_val: int, n_classes: int = 0) -> Budget:
    """The :class:`Budget` of ``config`` on ``n_train`` training and ``n_val`` validation samples
    (``n_classes`` 0 for a regression: then only :data:`MIN_VAL_SAMPLES` counts)."""
    steps = steps_per_epoch(n_train, config.batch_size)
    epochs = max(config.epochs, math.ceil(min_steps / steps))
    epochs_note = selection_note = ""
    if epochs > config.epochs:
        epochs_note = BUDGET_RAISED.format(min_steps=min_steps, steps=steps, n_train=n_train,
                                           batch_size=config.batch_size, epochs=config.epochs, budgeted=epochs)
    minimum = max(MIN_VAL_SAMPLES, 2 * n_classes)
    budgeted = dataclasses.replace(config, epochs=epochs)
    if n_val < minimum and config.keep == "best":
        rule = f"at least {MIN_VAL_SAMPLES}" + (f" and 2 per class of {n_classes}" if n_classes else "")
        patience = f" (early stopping off: patience {config.patience} -> 0)" if config.patience else ""
        selection_note = TINY_VALIDATION.format(n_val=n_val, minimum=minimum, rule=rule, patience=patience)
        budgeted = dataclasses.replace(budgeted, patience=0, keep="last")
    return Budget(budgeted, steps, epochs_note, selection_note)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Optimiser steps in one epoch over ``n_train`` samples (the trainer drops a last batch of one)."""
    full, rest = divmod(n_train, batch_size)
    return max(1, full + (rest > 1))
