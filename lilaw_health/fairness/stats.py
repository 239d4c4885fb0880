"""Small statistics shared by the binary audit and the per-group metrics: safe ratios,
confusion-count rates, the shared bootstrap resamples and percentile intervals, and JSON-ready
values."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def confusion_rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Rates from confusion counts (..., 4) ordered TN, FP, FN, TP."""
    tn, fp, fn, tp = np.moveaxis(counts, -1, 0)
    n = tn + fp + fn + tp
    return {"selection_rate": safe_ratio(tp + fp, n), "tpr": safe_ratio(tp, tp + fn), "fpr": safe_ratio(fp, fp + tn),
            "ppv": safe_ratio(tp, tp + fp), "accuracy": safe_ratio(tp + tn, n)}


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bounds over resamples (axis 0), ignoring resamples where a value is undefined."""
    tail = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN bounds
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=0)
    return low, high


def natural_key(name: str) -> tuple:
    """Bands in numeric order ("<=24" before "25-34" before "65+"); other names alphabetically."""
    match = re.match(r"^(<=|<)?\s*(\d+(?:\.\d+)?)", name)
    if match is None:
        return (2, 0.0, name)
    return (0 if match.group(1) else 1, float(match.group(2)), name)


def json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [json_clean(row) for row in frame.to_dict("records")]


def resample_indices(n: int, n_boot: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=n) for _ in range(n_boot)]
