"""Per-sample difficulty: the LiLAW components of every training sample, as a table.

Low ``W_alpha`` (the "easy" weight) flags samples whose observed label the model does not
agree with: the paper's mislabel detector (Moturu et al., arXiv:2509.20786, Sec. 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from lilaw_health.core.checkpoint import atomic_write, atomic_write_text
from lilaw_health.core.errors import LENGTH_MISMATCH, InputError
from lilaw_health.core.losses import cross_entropy
from lilaw_health.core.weighting import agreement, lilaw_weights, lilaw_weights_regression

BUCKETS = np.array(["easy", "hard", "moderate"])  # order of (W_alpha, W_beta, W_delta)
COLUMNS = ["sample_id", "split", "label", "predicted", "p", "m", "W_alpha", "W_beta", "W_delta", "W", "loss",
           "bucket", "mislabel_score"]


def difficulty_table(logits: Tensor, labels: np.ndarray, *, sample_ids: Sequence[Any],
                     scalars: dict[str, float], split: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per sample with its LiLAW difficulty description.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
    labels : array of shape (n_samples,)
        Observed (possibly noisy) labels.
    sample_ids : sequence of length n_samples
    scalars : dict with alpha, beta, delta
        The scalars to weigh with (a LiLAW run's final values, or the defaults).
    split : sequence of str, optional
        Which split each sample belongs to ("train" or "val").

    Returns
    -------
    DataFrame
        Columns ``COLUMNS``: ``bucket`` names the largest component (W_alpha easy, W_delta
        moderate, W_beta hard); ``mislabel_score = 1 - W_alpha`` (higher = more suspect).
    """
    if not (len(logits) == len(labels) == len(sample_ids)):
        raise InputError(LENGTH_MISMATCH.format(arg_a="logits", arg_b="labels and sample_ids", len_a=len(logits),
                                                len_b=f"{len(labels)} and {len(sample_ids)}"))
    targets = torch.as_tensor(labels, dtype=torch.long)
    with torch.no_grad():
        weights = lilaw_weights(logits, targets, alpha=scalars["alpha"], beta=scalars["beta"], delta=scalars["delta"])
        p, m = agreement(logits, targets)
        loss = cross_entropy(logits, targets)
    components = torch.stack([weights.w_alpha, weights.w_beta, weights.w_delta], dim=1)
    return pd.DataFrame({
        "sample_id": list(sample_ids),
        "split": list(split) if split is not None else ["train"] * len(labels),
        "label": np.asarray(labels, dtype=np.int64),
        "predicted": logits.argmax(dim=1).numpy(),
        "p": p.numpy(), "m": m.numpy(),
        "W_alpha": weights.w_alpha.numpy(), "W_beta": weights.w_beta.numpy(),
        "W_delta": weights.w_delta.numpy(), "W": weights.w.numpy(), "loss": loss.numpy(),
        "bucket": BUCKETS[components.argmax(dim=1).numpy()],
        "mislabel_score": 1.0 - weights.w_alpha.numpy(),
    })


REGRESSION_COLUMNS = ["sample_id", "split", "label", "predicted", "residual", "W_alpha", "W_beta", "W_delta", "W",
                      "loss", "bucket", "mislabel_score"]


def regression_difficulty_table(predictions: Tensor, targets: np.ndarray, *, sample_ids: Sequence[Any],
                                scalars: dict[str, float], target_range: float,
                                split: Sequence[str] | None = None) -> pd.DataFrame:
    """The regression counterpart of :func:`difficulty_table`: one row per sample.

    Parameters
    ----------
    predictions : Tensor of shape (n_samples,)
    targets : array of shape (n_samples,)
        Observed (possibly noisy) targets, in column ``label``.
    target_range : float
        Width R of the target range in LiLAW's regression weights.

    Returns
    -------
    DataFrame
        Columns ``REGRESSION_COLUMNS``: ``residual = predicted - label``, ``loss`` its square,
        ``mislabel_score = |residual| / R`` at this epoch (the run replaces it with the
        dynamics' mean over epochs).
    """
    if not (len(predictions) == len(targets) == len(sample_ids)):
        raise InputError(LENGTH_MISMATCH.format(arg_a="predictions", arg_b="targets and sample_ids",
                                                len_a=len(predictions), len_b=f"{len(targets)} and {len(sample_ids)}"))
    observed = torch.as_tensor(np.asarray(targets), dtype=predictions.dtype)
    with torch.no_grad():
        weights = lilaw_weights_regression(predictions, observed, target_range=target_range, alpha=scalars["alpha"],
                                           beta=scalars["beta"], delta=scalars["delta"])
    components = torch.stack([weights.w_alpha, weights.w_beta, weights.w_delta], dim=1)
    residual = (predictions - observed).numpy()
    return pd.DataFrame({
        "sample_id": list(sample_ids),
        "split": list(split) if split is not None else ["train"] * len(targets),
        "label": np.asarray(targets, dtype=float), "predicted": predictions.numpy(), "residual": residual,
        "W_alpha": weights.w_alpha.numpy(), "W_beta": weights.w_beta.numpy(),
        "W_delta": weights.w_delta.numpy(), "W": weights.w.numpy(), "loss": residual**2,
        "bucket": BUCKETS[components.argmax(dim=1).numpy()],
        "mislabel_score": np.abs(residual) / target_range,
    })


def write_difficulty(table: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write ``difficulty.csv`` (and ``difficulty.parquet`` when pyarrow is installed)."""
    out_dir = Path(out_dir)
    written = [atomic_write_text(out_dir / "difficulty.csv", table.to_csv(index=False))]
    try:
        import pyarrow  # noqa: F401  (optional: only decides whether Parquet is written)
    except ImportError:
        return written
    written.append(atomic_write(out_dir / "difficulty.parquet", lambda handle: table.to_parquet(handle)))
    return written
