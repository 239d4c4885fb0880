"""Feature typing, the scikit-learn preprocessing pipeline, and the sensitive-feature frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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

FEATURE_MISSING = "{path}: {option} names column {column!r}, which the file does not have; its columns are {columns}."
NOT_NUMERIC = ("{path}: column {column!r} is declared numeric (data.numeric) but data row {row} holds {value!r}. "
               "Move it to data.categorical or fix the value.")
NO_FEATURES = "{path}: no feature column is left after removing the target and data.exclude. Check data.exclude."
SENSITIVE_MISSING = ("{path}: data.sensitive names {column!r}, which the file does not have; its columns are "
                     "{columns}. A numeric column c is audited in bands as c_band with data.bins.c=[edges].")
NEEDS_BINS = ("{path}: sensitive feature {column!r} is numeric with {count} distinct values; the audit compares "
              "groups, so bin it: data.bins.{column}=[24, 34, 44, 54, 64] and audit {column}_band instead.")


def feature_columns(frame: pd.DataFrame, *, target: str, options: TabularOptions,
                    source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categorical, numeric) feature columns: as declared, or typed from ``frame``'s dtypes."""
    if options.categorical is None and options.numeric is None:
        columns = [str(c) for c in frame.columns if c != target and c not in options.exclude]
        numeric = tuple(c for c in columns if pd.api.types.is_numeric_dtype(frame[c])
                        and not pd.api.types.is_bool_dtype(frame[c]))
        categorical = tuple(c for c in columns if c not in numeric)
    else:
        categorical, numeric = tuple(options.categorical or ()), tuple(options.numeric or ())
        for option, names in (("data.categorical", categorical), ("data.numeric", numeric)):
            for column in names:
                if column not in frame.columns:
                    raise InputError(FEATURE_MISSING.format(path=source, option=option, column=column,
                                                            columns=[str(c) for c in frame.columns]))
    if not categorical and not numeric:
        raise InputError(NO_FEATURES.format(path=source))
    return categorical, numeric


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
        out[column] = values.astype(float).to_numpy()
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
                    source: str) -> pd.DataFrame:
    """One text column per sensitive feature; ``c_band`` bins column ``c`` by ``bins[c]``."""
    out = {}
    for name in names:
        base = name[: -len("_band")] if name.endswith("_band") else None
        if name not in frame.columns and base is not None and base in bins and base in frame.columns:
            edges = list(bins[base])
            values = pd.cut(pd.to_numeric(frame[base], errors="coerce"), [-np.inf, *edges, np.inf],
                            labels=band_labels(edges), right=True)
            out[name] = values.astype(object).where(values.notna(), MISSING_GROUP).astype(str).to_numpy()
            continue
        if name not in frame.columns:
            raise InputError(SENSITIVE_MISSING.format(path=source, column=name,
                                                      columns=[str(c) for c in frame.columns]))
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > MAX_UNBINNED_GROUPS:
            raise InputError(NEEDS_BINS.format(path=source, column=name, count=values.nunique()))
        out[name] = np.array([MISSING_GROUP if pd.isna(v) else _group_text(v) for v in values], dtype=object)
    return pd.DataFrame(out)


def _group_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
