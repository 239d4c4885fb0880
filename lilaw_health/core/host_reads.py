"""Values of the training loop read on the host every few steps instead of every step.

Reading a number the device computed (``loss.item()``) makes the host wait until the device
has run everything queued before it; done every step, it stalls the device between steps. The
trainer keeps each step's objective (its finiteness check and its epoch mean) and a method's
logged scalars (LiLAW's alpha, beta, delta after each meta step) on the device, and
:class:`DeferredReads` copies them to the host in one transfer every :data:`READ_EVERY` steps
and at the end of the epoch.

What this changes: a non-finite training loss stops the run with the same error, naming the
epoch and step where it first appeared, at most ``READ_EVERY - 1`` steps after that step (the
model has trained on those steps, but no checkpoint is written before the check, so nothing
of them is kept). What it does not change: every value is the same float, added in the same
order, so the epoch means and the trajectory are bit-identical to reading them step by step.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from lilaw_health.core.errors import NOT_FINITE, InputError

READ_EVERY = 32  # steps between host reads: one small transfer, rare enough to stay out of the device's way
LOSS_NOT_FINITE = "training loss (epoch {epoch}, step {step})"


class DeferredReads:
    """One epoch's objectives and logged scalars, kept on the device until :meth:`flush`.

    Parameters
    ----------
    epoch : int
        The epoch, for the error naming a non-finite loss.
    trajectory : list of dict
        Where the logged rows go, in step order, once read.
    """

    def __init__(self, *, epoch: int, trajectory: list[dict[str, Any]]) -> None:
        self.epoch = epoch
        self.trajectory = trajectory
        self.objective_sum = 0.0  # sum over steps of objective * batch size, in float64 as read
        self._objectives: list[tuple[int, Tensor, int]] = []  # (step, 0-d objective, batch size)
        self._rows: list[dict[str, Any]] = []  # logged rows, values floats or 0-d tensors

    def add(self, step: int, objective: Tensor, batch_size: int, row: dict[str, Any] | None = None) -> None:
        """Keep one step's objective (and logged row); read everything kept every :data:`READ_EVERY` steps."""
        self._objectives.append((step, objective.detach(), batch_size))
        if row is not None:
            self._rows.append(row)
        if len(self._objectives) >= READ_EVERY:
            self.flush()

    def flush(self) -> None:
        """Read what is kept in one transfer; raise on the first non-finite objective.

        Raises
        ------
        InputError
            Naming the epoch and step of the first non-finite training loss.
        """
        tensors = [objective for _, objective, _ in self._objectives]
        tensors += [value for row in self._rows for value in row.values() if isinstance(value, Tensor)]
        values = iter(torch.stack([t.reshape(()).double() for t in tensors]).tolist() if tensors else [])
        for step, _, batch_size in self._objectives:
            value = next(values)
            if not math.isfinite(value):
                raise InputError(NOT_FINITE.format(arg=LOSS_NOT_FINITE.format(epoch=self.epoch, step=step),
                                                   count=1, index=0))
            self.objective_sum += value * batch_size
        for row in self._rows:
            self.trajectory.append({key: next(values) if isinstance(value, Tensor) else value
                                    for key, value in row.items()})
        self._objectives, self._rows = [], []
