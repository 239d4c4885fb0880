"""Regression targets of the tabular loaders (``data.task: regression``, dataset ``diabetes``).

The target column must hold a finite number on every row (float32 range: the dtype of the
task's targets), inside ``data.target_range`` when one is given, and vary over the training
rows. Each error names the file, the column and the data rows at fault. Text, booleans
(True/False read by pandas), ``inf`` and empty cells are refused rather than dropped, so no
row silently leaves the study.

The test split of a regression (one file, no ``data.test_path``; diabetes) is a seeded plain
shuffle, :func:`shuffle_split`: a continuous target has no classes to stratify by, and
binning it into strata would make the split depend on arbitrary bin edges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lilaw_health.core.errors import InputError
from lilaw_health.domains.tabular.labels import listing

TARGET_NOT_NUMBER = ("{path}: data.task=regression needs a finite number in target column {column!r} on every row; "
                     "{count} row(s) hold something else, e.g. {value!r} on data row {row} (data rows {rows}). Fix "
                     "those values, or set data.task=classification if the column holds labels.")
TARGET_EMPTY = ("{path}: target column {column!r} is empty on {count} row(s): data rows {rows}. Remove those rows "
                "or fill in their value.")
TARGET_OUTSIDE_RANGE = ("{path}: target column {column!r} has {count} value(s) outside data.target_range [{low:g}, "
                        "{high:g}], e.g. {value:g} on data row {row} (data rows {rows}). Fix those values, or widen "
                        "data.target_range.")
SPLIT_TOO_SMALL = ("{path}: {count} rows are too few for a test split with data.test_size={test_size}: each side of "
                   "the split needs at least 2 rows. Add rows, change data.test_size, or give a separate test file "
                   "with data.test_path.")
TARGET_CONSTANT = ("{path}: the training rows hold one value only, {value:g}, in target column {column!r} ({count} "
                   "rows); a regression needs targets that vary. Check that data.target names the outcome column.")


def target_values(values: pd.Series, *, column: str, source: str, rows: Sequence[int] | np.ndarray,
                  target_range: tuple[float, float] | None = None) -> np.ndarray:
    """The target column as float64 (n_rows,), checked; ``rows`` are the data-row numbers of
    ``values`` (for messages).

    Raises
    ------
    InputError
        If a cell is empty, not a finite number in float32, or outside ``target_range``.
    """
    rows = np.asarray(rows)
    empty = np.flatnonzero(values.isna().to_numpy())
    if empty.size:
        raise InputError(TARGET_EMPTY.format(path=source, column=column, count=empty.size,
                                             rows=listing(rows[empty].tolist())))
    numbers = _numbers(values)
    bad = np.flatnonzero(~_finite32(numbers))
    if bad.size:
        raise InputError(TARGET_NOT_NUMBER.format(path=source, column=column, count=bad.size, value=values.iloc[bad[0]],
                                                  row=rows[bad[0]], rows=listing(rows[bad].tolist())))
    if target_range is not None:
        low, high = target_range
        outside = np.flatnonzero((numbers < low) | (numbers > high))
        if outside.size:
            raise InputError(TARGET_OUTSIDE_RANGE.format(path=source, column=column, count=outside.size, low=low,
                                                         high=high, value=numbers[outside[0]], row=rows[outside[0]],
                                                         rows=listing(rows[outside].tolist())))
    return numbers


def check_targets_vary(numbers: np.ndarray, *, column: str, source: str) -> None:
    """Refuse training targets that are all equal (no scale to learn, a zero-width range)."""
    if len(numbers) and np.ptp(numbers) == 0:
        raise InputError(TARGET_CONSTANT.format(path=source, value=float(numbers[0]), column=column,
                                                count=len(numbers)))


def shuffle_split(n: int, *, test_size: float, seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row positions of a seeded shuffle split of ``n`` rows; the test side
    has ``ceil(test_size * n)`` rows (scikit-learn's ``train_test_split``).

    Raises
    ------
    InputError
        If either side would have fewer than 2 rows.
    """
    n_test = int(np.ceil(test_size * n))
    if min(n_test, n - n_test) < 2:
        raise InputError(SPLIT_TOO_SMALL.format(path=source, count=n, test_size=test_size))
    train, test = train_test_split(np.arange(n), test_size=test_size, shuffle=True, random_state=seed)
    return np.sort(train), np.sort(test)


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers of a column, NaN where a cell is not one; booleans are labels, not numbers."""
    if pd.api.types.is_bool_dtype(values):
        return np.full(len(values), np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _finite32(numbers: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.isfinite(numbers.astype(np.float32))
