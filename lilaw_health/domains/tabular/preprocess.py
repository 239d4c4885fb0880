"""Feature typing, the scikit-learn preprocessing pipeline, and the sensitive-feature frame."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from lilaw_health.core.errors import InputError
from lilaw_health.domains.tabular.options import TabularOptions

MISSING_CATEGORY = "missing"
MISSING_GROUP = "(missing)"
MAX_UNBINNED_GROUPS = 20
LISTED_COLUMNS = 30

FEATURE_MISSING = ("{path}: {option} names column {column!r}, which the file does not have;{close} its columns are "
                   "{columns}. Fix the name in {option}.")
CLOSE_NAMES = " close names: {names};"
NOT_NUMERIC = ("{path}: column {column!r} is declared numeric (data.numeric) but data row {row} holds {value!r}. "
               "Move it to data.categorical or fix the value.")
NOT_FINITE_VALUE = ("{path}: column {column!r} holds {value!r} on data row {row}; numbers must be finite. Fix the "
                    "value, leave the cell empty (a missing value), or add its text to data.na_values.")
NO_FEATURES = "{path}: no feature column is left after removing the target and data.exclude. Check data.exclude."
TARGET_AS_FEATURE = ("{path}: {option} lists the target column {column!r}; the model would see its own label. "
                     "Remove it from {option}.")
TWO_TYPES = ("{path}: column {column!r} is in both data.categorical and data.numeric; a column has one type. "
             "Remove it from one of them.")
SENSITIVE_MISSING = ("{path}: data.sensitive names {column!r}, which the file does not have;{close} its columns are "
                     "{columns}. A numeric column c is audited in bands as c_band with data.bins.c=[edges].")
BAND_NOT_NUMERIC = ("{path}: sensitive feature {name!r} bins column {column!r} by data.bins.{column}, but data row "
                    "{row} holds {value!r}, not a number. Fix the value, or audit {column} itself (without bins).")
NEEDS_BINS = ("{path}: sensitive feature {column!r} is numeric with {count} distinct values; the audit compares "
              "groups, so bin it: data.bins.{column}=[24, 34, 44, 54, 64] and audit {column}_band instead.")


def column_missing(path: str | Path, option: str, column: str, columns: Iterable[object]) -> str:
    """FEATURE_MISSING, with the file's columns closest to ``column``."""
    names = [str(c) for c in columns]
    return FEATURE_MISSING.format(path=path, option=option, column=column, close=_close(column, names),
                                  columns=_columns(names))


def _close(name: str, columns: list[str]) -> str:
    folded = {c.lower(): c for c in columns}
    close = difflib.get_close_matches(name.lower(), list(folded), n=3, cutoff=0.6)
    return CLOSE_NAMES.format(names=[folded[c] for c in close]) if close else ""


def _columns(names: list[str]) -> str:
    shown = repr(names[:LISTED_COLUMNS])
    return shown if len(names) <= LISTED_COLUMNS else f"{shown} and {len(names) - LISTED_COLUMNS} more"


def feature_columns(frame: pd.DataFrame, *, target: str, options: TabularOptions,
                    source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categorical, numeric) feature columns: as declared, or typed from ``frame``'s dtypes.

    Refuses a named column the file lacks (data.exclude included: a typo there would keep,
    say, an identifier as a feature), the target as a declared feature, and a column
    declared both categorical and numeric.
    """
    for column in options.exclude:
        if column not in frame.columns:
            raise InputError(column_missing(source, "data.exclude", column, frame.columns))
    if options.categorical is None and options.numeric is None:
        columns = [str(c) for c in frame.columns if c != target and c not in options.exclude]
        numeric = tuple(c for c in columns if pd.api.types.is_numeric_dtype(frame[c])
                        and not pd.api.types.is_bool_dtype(frame[c]))
        categorical = tuple(c for c in columns if c not in numeric)
    else:
        categorical, numeric = tuple(options.categorical or ()), tuple(options.numeric or ())
        _check_declared(frame, target, categorical, numeric, source)
    if not categorical and not numeric:
        raise InputError(NO_FEATURES.format(path=source))
    return categorical, numeric


def _check_declared(frame: pd.DataFrame, target: str, categorical: tuple[str, ...], numeric: tuple[str, ...],
                    source: str) -> None:
    for option, names in (("data.categorical", categorical), ("data.numeric", numeric)):
        for column in names:
            if column not in frame.columns:
                raise InputError(column_missing(source, option, column, frame.columns))
            if column == target:
                raise InputError(TARGET_AS_FEATURE.format(path=source, option=option, column=column))
    for column in categorical:
        if column in numeric:
            raise InputError(TWO_TYPES.format(path=source, column=column))


def model_frame(frame: pd.DataFrame, categorical: Sequence[str], numeric: Sequence[str], *, source: str = "",
                rows: np.ndarray | None = None) -> pd.DataFrame:
    """The feature columns as the preprocessor expects them: numbers as float, categories as
    Python objects with NaN where missing (pandas 3 ``str`` and nullable dtypes use pd.NA,
    which scikit-learn's imputers do not all accept)."""
    out = {}
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & frame[column].notna().to_numpy())
        if bad.size:
            row = rows[bad[0]] if rows is not None else bad[0] + 1
            raise InputError(NOT_NUMERIC.format(path=source, column=column, row=row,
                                                value=frame[column].iloc[bad[0]]))
        numbers = values.astype(float).to_numpy()
        infinite = np.flatnonzero(np.isinf(numbers))
        if infinite.size:
            row = rows[infinite[0]] if rows is not None else infinite[0] + 1
            raise InputError(NOT_FINITE_VALUE.format(path=source, column=column, row=row,
                                                     value=frame[column].iloc[infinite[0]]))
        out[column] = numbers
    for column in categorical:
        values = frame[column]
        out[column] = np.array([np.nan if pd.isna(v) else str(v) for v in values], dtype=object)
    return pd.DataFrame(out, index=frame.index)


def build_preprocessor(categorical: Sequence[str], numeric: Sequence[str]) -> ColumnTransformer:
    """Median + indicator, then scaling, for numbers; "missing", then one-hot, for categories."""
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                                           ("scale", StandardScaler())]), list(numeric)))
    if categorical:
        parts.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]), list(categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def band_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the bands below, between and above upper ``edges``: [24, 34] -> <=24, 25-34, 35+."""
    if all(float(e).is_integer() for e in edges):
        ints = [int(e) for e in edges]
        return [f"<={ints[0]}", *(f"{a + 1}-{b}" for a, b in zip(ints, ints[1:])), f"{ints[-1] + 1}+"]
    return [f"<={edges[0]:g}", *(f"({a:g}, {b:g}]" for a, b in zip(edges, edges[1:])), f">{edges[-1]:g}"]


def sensitive_frame(frame: pd.DataFrame, names: Sequence[str], *, bins: Mapping[str, Sequence[float]],
                    source: str, rows: np.ndarray | None = None) -> pd.DataFrame:
    """One text column per sensitive feature; ``c_band`` bins column ``c`` by ``bins[c]``
    (``rows``: the data-row number of each row, for messages)."""
    out = {}
    for name in names:
        base = name[: -len("_band")] if name.endswith("_band") else None
        if name not in frame.columns and base is not None and base in bins and base in frame.columns:
            out[name] = _bands(frame, name, base, list(bins[base]), source, rows)
            continue
        if name not in frame.columns:
            columns = [str(c) for c in frame.columns]
            raise InputError(SENSITIVE_MISSING.format(path=source, column=name, close=_close(name, columns),
                                                      columns=_columns(columns)))
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > MAX_UNBINNED_GROUPS:
            raise InputError(NEEDS_BINS.format(path=source, column=name, count=values.nunique()))
        out[name] = np.array([MISSING_GROUP if pd.isna(v) else _group_text(v) for v in values], dtype=object)
    return pd.DataFrame(out)


def _bands(frame: pd.DataFrame, name: str, column: str, edges: list[float], source: str,
           rows: np.ndarray | None) -> np.ndarray:
    """Band labels of numeric ``column``; a text value there is refused, not made "(missing)"."""
    numbers = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & frame[column].notna().to_numpy())
    if bad.size:
        row = rows[bad[0]] if rows is not None else bad[0] + 1
        raise InputError(BAND_NOT_NUMERIC.format(path=source, name=name, column=column, row=row,
                                                 value=frame[column].iloc[bad[0]]))
    values = pd.cut(numbers, [-np.inf, *edges, np.inf], labels=band_labels(edges), right=True)
    return values.astype(object).where(values.notna(), MISSING_GROUP).astype(str).to_numpy()


def _group_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
