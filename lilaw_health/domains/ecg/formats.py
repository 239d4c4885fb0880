"""Readers for the UCR/UEA archive file formats: one file in, its cases out, as written.

Every reader returns a :class:`RawSplit`: the label tokens, each case's channels as float64
(NaN where a value is missing or padded) and the 1-based file line of each case, so that
the checks and length policies in :mod:`lilaw_health.domains.ecg.data` can name the line.

Formats (``FORMATS`` is also the order of auto-detection):

- ``tsv``: UCR 2018 ``NAME_TRAIN.tsv``; tab-separated, no header, label first.
- ``ts``: sktime/aeon ``NAME_TRAIN.ts``; ``@`` header lines, then one case per line,
  dimensions separated by ``:``, values by ``,``, the label last; ``?`` is missing.
- ``arff``: Weka ``NAME_TRAIN.arff``; numeric attributes then the target, read by scipy.
- ``txt``: ``NAME_TRAIN.txt``; whitespace-separated, label first, scientific notation.
- ``csv2015``: UCR 2015 ``NAME_TRAIN`` (no extension); comma-separated, label first.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lilaw_health.core.errors import FILE_EMPTY, FILE_NOT_NUMBER, FILE_RAGGED, InputError

FORMATS = ("tsv", "ts", "arff", "txt", "csv2015")
SUFFIXES = {"tsv": ".tsv", "ts": ".ts", "arff": ".arff", "txt": ".txt", "csv2015": ""}
_SEPARATORS = {"tsv": "\t", "csv2015": ",", "txt": None}
_SEPARATOR_NAMES = {"\t": "tabs", ",": "commas", None: "whitespace"}

NOT_NUMBER_FIX = "Series values must be numbers; write missing values as NaN (or ? in .ts files)."
RAGGED_FIX = ("Every line needs the label and the same number of values; pad shorter series with "
              "trailing NaN (the UCR convention for variable lengths).")
TOO_FEW_VALUES = ("{path}, line {line}: found {count} value(s) separated by {separator}; expected the label "
                  "and the series values. Check data.format (tsv: tabs, csv2015: commas, txt: whitespace).")
LABEL_NOT_FIRST = ("{path}: the label must be the first column; the last column looks like labels: set "
                   "data.label_column=last (or data.label_column=first to keep the first column).")
ARFF_UNREADABLE = "{path}: scipy.io.arff cannot read it ({error}). Fix the file or convert it to .ts or .tsv."
ARFF_RELATIONAL = ("{path} is a multivariate (relational) ARFF file, which this loader does not read. "
                   "Use the dataset's .ts file instead (data.format=ts).")
ARFF_NOT_NUMERIC = ("{path}: attribute(s) {names} are not numeric; expected numeric att1..attN and the class "
                    "target last. Drop the extra attributes.")
TS_HEADER = ("{path}, line {line}: expected a header line starting with @ (e.g. @problemName, @classLabel) "
             "before @data; received {text!r}.")
TS_NO_CLASSES = ("{path} declares no class labels (@classLabel {value}); only classification .ts files are "
                 "read. Add `@classLabel true <labels>` before @data.")
TS_NO_LABEL = "{path}, line {line}: no ':' before the class label; expected `v1,v2,...:label`."
TS_UNDECLARED = "{path}, line {line}: label {label!r} is not declared in @classLabel ({declared})."
TS_DIMENSIONS = ("{path}, line {line}: {count} dimension(s), expected {expected} as on line {first} "
                 "(@univariate {univariate}). Every case needs the same number of ':'-separated dimensions.")

_TS_SPLIT = re.compile(r":(?![^()]*\))")  # a ':' outside "(timestamp,value)" pairs
_TS_STAMPED_VALUE = re.compile(r"\([^()]*,([^(),]*)\)")


@dataclass(frozen=True)
class RawSplit:
    """One file's cases before any NaN or length policy.

    ``series[i][c]`` is channel ``c`` of case ``i`` (float64, any length, NaN kept);
    ``labels[i]`` the label token as written; ``lines[i]`` its 1-based line in ``path``.
    """

    path: Path
    labels: list[str]
    series: list[list[np.ndarray]]
    lines: list[int]


def read_split(path: Path, *, fmt: str, label_column: str | None = None) -> RawSplit:
    """Read one UCR/UEA file in format ``fmt`` (one of ``FORMATS``).

    ``label_column`` (``first``/``last``) applies to tsv, csv2015 and txt; ``None`` means
    first, refusing a file whose last column looks like the labels. ``.ts`` and ``.arff``
    keep the label last, as their formats define.
    """
    text = Path(path).read_text(encoding="utf-8-sig")
    if not text.strip():
        raise InputError(FILE_EMPTY.format(path=path, expected="one series per line with its label"))
    if fmt == "arff":
        return _read_arff(path, text)
    if fmt == "ts":
        return _read_ts(path, text)
    return _read_delimited(path, text, separator=_SEPARATORS[fmt], label_column=label_column)


def label_name(token: str) -> str:
    """A label's class name: whole numbers as integers (``"1.0"`` -> ``"1"``), else as written."""
    number = _number(token)
    if number is None:
        return token.strip()
    return str(int(number)) if number.is_integer() else repr(number)


def _number(token: str) -> float | None:
    try:
        number = float(token)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _read_delimited(path: Path, text: str, *, separator: str | None, label_column: str | None) -> RawSplit:
    lines, rows = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            lines.append(number)
            rows.append(line.strip().split(separator))
    width = len(rows[0])
    if width < 2:
        raise InputError(TOO_FEW_VALUES.format(path=path, line=lines[0], count=width,
                                               separator=_SEPARATOR_NAMES[separator]))
    for number, row in zip(lines, rows):
        if len(row) != width:
            raise InputError(FILE_RAGGED.format(path=path, line=number, count=len(row), expected=width,
                                                first=lines[0], fix=RAGGED_FIX))
    if label_column is None and _looks_like_labels([r[-1] for r in rows]) \
            and not _looks_like_labels([r[0] for r in rows]):
        raise InputError(LABEL_NOT_FIRST.format(path=path))
    first = label_column != "last"
    cells = [row[1:] if first else row[:-1] for row in rows]
    values = _to_float(cells, path=path, lines=lines, column_offset=2 if first else 1)
    labels = [(row[0] if first else row[-1]).strip() for row in rows]
    return RawSplit(path, labels, [[series] for series in values], lines)


def _looks_like_labels(tokens: list[str]) -> bool:
    """Few distinct values, each a string or a whole number (not NaN, not a fraction)."""
    names = set()
    for token in tokens:
        number = _number(token)
        if (number is not None and not number.is_integer()) or token.strip().lower() in ("nan", "?", ""):
            return False
        names.add(label_name(token))
    return len(names) <= max(50, len(tokens) / 2)


def _to_float(cells: list[list[str]], *, path: Path, lines: list[int], column_offset: int) -> np.ndarray:
    """Parse a rectangle of tokens exactly (float64); name the first bad token's line and column."""
    values = _parse(cells)
    if values is not None:
        return values
    row, column = _first_bad(cells)
    raise InputError(FILE_NOT_NUMBER.format(path=path, line=lines[row], position=f"column {column + column_offset}",
                                            value=cells[row][column], fix=NOT_NUMBER_FIX))


def _parse(tokens: list[str] | list[list[str]]) -> np.ndarray | None:
    """float64 values (NaN allowed), or None if a token is not a number or is infinite."""
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        return None
    return None if np.isinf(values).any() else values


def _first_bad(rows: list[list[str]]) -> tuple[int, int]:
    """(row, column) of the first token that is neither a finite number nor NaN; call after _parse failed."""
    return next((r, c) for r, row in enumerate(rows) for c, token in enumerate(row)
                if _number(token) is None and token.strip().lower() != "nan")


def _read_arff(path: Path, text: str) -> RawSplit:
    from scipy.io import arff  # scipy comes with scikit-learn; only ARFF files need it

    try:
        data, meta = arff.loadarff(io.StringIO(text))
    except (arff.ArffError, ValueError, NotImplementedError) as error:
        raise InputError(ARFF_UNREADABLE.format(path=path, error=error)) from None
    names, types = meta.names(), meta.types()
    if "relational" in types:
        raise InputError(ARFF_RELATIONAL.format(path=path))
    not_numeric = [name for name, kind in zip(names[:-1], types[:-1]) if kind != "numeric"]
    if not_numeric or len(names) < 2:
        raise InputError(ARFF_NOT_NUMERIC.format(path=path, names=not_numeric or names))
    if len(data) == 0:
        raise InputError(FILE_EMPTY.format(path=path, expected="cases after @data"))
    values = np.column_stack([data[name] for name in names[:-1]]).astype(np.float64)
    labels = [v.decode().strip() if isinstance(v, bytes) else str(v) for v in data[names[-1]]]
    return RawSplit(path, labels, [[series] for series in values], _arff_data_lines(text))


def _arff_data_lines(text: str) -> list[int]:
    """1-based lines of the cases: after @data, skipping blank and % comment lines (as scipy does)."""
    lines, in_data = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if in_data and line.strip() and not line.startswith("%"):
            lines.append(number)
        in_data = in_data or line.strip().lower().startswith("@data")
    return lines


def _read_ts(path: Path, text: str) -> RawSplit:
    header: dict[str, str] = {}
    labels: list[str] = []
    series: list[list[np.ndarray]] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "data" not in header:
            if not line.startswith("@"):
                raise InputError(TS_HEADER.format(path=path, line=number, text=line[:40]))
            key, *value = line.split(maxsplit=1)
            header[key[1:].lower()] = value[0] if value else ""
            continue
        *dimensions, label = _TS_SPLIT.split(line)
        if not dimensions:
            raise InputError(TS_NO_LABEL.format(path=path, line=number))
        series.append([_ts_values(d, path=path, line=number, dimension=i + 1) for i, d in enumerate(dimensions)])
        labels.append(label.strip())
        lines.append(number)
    if not series:
        raise InputError(FILE_EMPTY.format(path=path, expected="cases after @data"))
    _check_ts(path, header, labels, series, lines)
    return RawSplit(path, labels, series, lines)


def _ts_values(text: str, *, path: Path, line: int, dimension: int) -> np.ndarray:
    tokens = _TS_STAMPED_VALUE.findall(text) if "(" in text else text.split(",")
    tokens = ["nan" if token.strip() == "?" else token for token in tokens]
    values = _parse(tokens)
    if values is None:
        _, bad = _first_bad([tokens])
        raise InputError(FILE_NOT_NUMBER.format(path=path, line=line, value=tokens[bad], fix=NOT_NUMBER_FIX,
                                                position=f"dimension {dimension}, value {bad + 1}"))
    return values


def _check_ts(path: Path, header: dict[str, str], labels: list[str], series: list[list[np.ndarray]],
              lines: list[int]) -> None:
    flag, *declared = header.get("classlabel", "false").split()
    if flag.lower() != "true":
        raise InputError(TS_NO_CLASSES.format(path=path, value=header.get("classlabel", "missing")))
    for line, label in zip(lines, labels):
        if label not in declared:
            raise InputError(TS_UNDECLARED.format(path=path, line=line, label=label, declared=" ".join(declared)))
    univariate = header.get("univariate", "true").lower()
    expected = 1 if univariate == "true" else len(series[0])
    for line, case in zip(lines, series):
        if len(case) != expected:
            raise InputError(TS_DIMENSIONS.format(path=path, line=line, count=len(case), expected=expected,
                                                  first=lines[0], univariate=univariate))
