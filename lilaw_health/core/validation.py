"""Input checks shared by the public functions of core (validate at the boundary)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, LABELS_DTYPE, LABELS_RANGE, LENGTH_MISMATCH, NOT_FINITE, InputError


def check_class_targets(targets: Tensor, *, n_classes: int, n_samples: int, arg: str = "targets") -> None:
    """Raise if ``targets`` is not (n_samples,) integer class ids in [0, n_classes)."""
    if targets.dtype.is_floating_point or targets.dtype == torch.bool or targets.is_complex():
        raise InputError(LABELS_DTYPE.format(arg=arg, dtype=targets.dtype))
    if targets.dim() != 1 or targets.shape[0] != n_samples:
        raise InputError(
            LENGTH_MISMATCH.format(arg_a="logits", arg_b=arg, len_a=n_samples, len_b=tuple(targets.shape))
        )
    if n_samples and (int(targets.min()) < 0 or int(targets.max()) >= n_classes):
        raise InputError(
            LABELS_RANGE.format(arg=arg, n_classes=n_classes, low=int(targets.min()), high=int(targets.max()))
        )


def check_label_array(labels: np.ndarray, *, n_classes: int | None = None, arg: str = "labels") -> int:
    """Raise if ``labels`` is not a 1-D integer array of class ids; return n_classes."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise InputError(LABELS_DTYPE.format(arg=arg, dtype=labels.dtype))
    if labels.ndim != 1:
        raise InputError(f"{arg} must be 1-D (n_samples,); received shape {labels.shape}. Flatten the labels.")
    n_classes = int(labels.max()) + 1 if n_classes is None and labels.size else (n_classes or 0)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise InputError(
            LABELS_RANGE.format(arg=arg, n_classes=n_classes, low=int(labels.min()), high=int(labels.max()))
        )
    return n_classes


def check_finite_array(values: np.ndarray, *, arg: str) -> None:
    """Raise if a numeric array holds NaN or inf, naming the first bad position."""
    values = np.asarray(values)
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    if bad.any():
        index = np.unravel_index(int(np.argmax(bad)), values.shape)
        where = index[0] if len(index) == 1 else index
        raise InputError(NOT_FINITE.format(arg=arg, count=int(bad.sum()), index=where))


PROBA_TOLERANCE = 1e-3  # float32 softmax rows miss 1 by rounding


def check_probabilities(proba: np.ndarray, *, arg: str = "proba") -> None:
    """Raise if a row of ``proba`` (n_samples, n_classes) has a negative entry or does not sum to 1."""
    bad = np.flatnonzero((proba.min(axis=1) < 0) | (np.abs(proba.sum(axis=1) - 1.0) > PROBA_TOLERANCE))
    if bad.size:
        row = int(bad[0])
        raise InputError(BAD_VALUE.format(
            arg=arg, expected=f"class probabilities (rows >= 0 summing to 1 within {PROBA_TOLERANCE:g})",
            received=f"{bad.size} bad rows, first row {row} = {np.round(proba[row], 4).tolist()}",
            fix="Pass softmax probabilities, not logits (e.g. torch.softmax(logits, dim=1))."))
