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

Every file is decoded as UTF-8 first (a binary or wrongly encoded file is refused with its
line), and every series value must be finite in float32, the dtype of the returned arrays
(``inf`` and values beyond about 3.4e38 are refused with their line and position).
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lilaw_health.core.errors import FILE_EMPTY, FILE_NOT_NUMBER, FILE_RAGGED, InputError

FORMATS = ("tsv", "ts", "arff", "txt", "csv2015")
SUFFIXES = {"tsv": ".tsv", "ts": ".ts", "arff": ".arff", "txt": ".txt", "csv2015": ""}
LAYOUTS = {"tsv": "UTF-8 text, one case per line: the label, then the values separated by tabs",
           "ts": "UTF-8 text: @ header lines, @data, then one case per line (`v1,v2,...:label`)",
           "arff": "UTF-8 text: @relation and @attribute lines, @data, then one comma-separated case per line",
           "txt": "UTF-8 text, one case per line: the label, then the values separated by whitespace",
           "csv2015": "UTF-8 text, one case per line: the label, then the values separated by commas"}
_SEPARATORS = {"tsv": "\t", "csv2015": ",", "txt": None}
_SEPARATOR_NAMES = {"\t": "tabs", ",": "commas", None: "whitespace"}
_NOT_A_NUMBER = "not a number"

NOT_TEXT = ("{path}, line {line}: {problem}, so the file is not text in the {fmt} format ({layout}). Pass the "
            "uncompressed UCR/UEA text file (extract .zip or .gz archives first) or re-save it as UTF-8; if it is in "
            "another format, set data.format.")
NOT_FLOAT32 = ("{path}, line {line}, {position}: {value!r} is {problem}; series values are stored as float32, which "
               "holds finite numbers up to 3.4e38 in magnitude. Fix or remove the value (write a missing value as NaN, "
               "or ? in .ts files), or rescale the series.")
MISSING_LABEL = ("{path}, line {line}: the class label is missing ({token!r}). Every case needs a label: fill it in "
                 "or remove the line.")
NOT_NUMBER_FIX = "Series values must be numbers; write missing values as NaN (or ? in .ts files)."
RAGGED_FIX = ("Every line needs the label and the same number of values; pad shorter series with "
              "trailing NaN (the UCR convention for variable lengths).")
TOO_FEW_VALUES = ("{path}, line {line}: found {count} value(s) separated by {separator}; expected the label "
                  "and the series values. Check data.format (tsv: tabs, csv2015: commas, txt: whitespace).")
LABEL_NOT_FIRST = ("{path}: the label must be the first column; the last column looks like labels: set "
                   "data.label_column=last (or data.label_column=first to keep the first column).")
ARFF_UNREADABLE = "{path}: scipy.io.arff cannot read it ({error}). Fix the file or convert it to .ts or .tsv."
ARFF_NO_DATA = ("{path}: no @data line; expected @relation and @attribute lines, then @data and one case per line. "
                "Add the missing lines, or set data.format if the file is in another format.")
ARFF_FEW_ATTRIBUTES = ("{path}: {count} @attribute line(s) before @data; expected numeric att1..attN and the class "
                       "target last. Add the @attribute lines.")
ARFF_WIDTH = ("{path}, line {line}: {count} values, expected {expected} (one per @attribute: {values} series "
              "value(s), then the class). Fix the line, or the @attribute lines.")
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
TS_NO_DATA = ("{path}: no @data line after the header lines; expected @ header lines (e.g. @problemName, "
              "@classLabel), then @data and one case per line. Add the @data line.")
TS_NO_VALUES = ("{path}, line {line}, dimension {dimension}: cannot read the values {text!r}; expected `v1,v2,...` "
                "or, with @timeStamps true, `(timestamp,v1),(timestamp,v2),...`.")
TS_LENGTH = ("{path}, line {line}, dimension {dimension}: {count} value(s), but the header declares @equalLength "
             "true and @seriesLength {expected}. Fix the line, or the header (@equalLength false).")
TS_DIMENSIONS = ("{path}, line {line}: {count} dimension(s), expected {expected} as on line {first} "
                 "(@univariate {univariate}). Every case needs the same number of ':'-separated dimensions.")

_TS_SPLIT = re.compile(r":(?![^()]*\))")  # a ':' outside "(timestamp,value)" pairs
_TS_STAMPED_VALUE = re.compile(r"\([^()]*,([^(),]*)\)")
_ARFF_DATA = re.compile(r"@data", re.IGNORECASE)  # as scipy.io.arff: at the start of the line
_ARFF_ATTRIBUTE = re.compile(r"\s*@attribute\s*.", re.IGNORECASE)


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
    text = decode_text(path, fmt=fmt)
    if not text.strip():
        raise InputError(FILE_EMPTY.format(path=path, expected="one series per line with its label"))
    if fmt == "arff":
        return _read_arff(path, text)
    if fmt == "ts":
        return _read_ts(path, text)
    return _read_delimited(path, text, separator=_SEPARATORS[fmt], label_column=label_column)


def decode_text(path: Path, *, fmt: str) -> str:
    """The UTF-8 text of ``path`` without a byte-order mark, line ends written as ``\\n``.

    Raises
    ------
    InputError
        Naming the file and line when it holds a NUL byte (binary data) or bytes that are not
        UTF-8, so that a zip, an image or a latin-1 file fails before any parsing.
    """
    data = Path(path).read_bytes()
    skipped = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skipped:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = skipped + error.start
        problem = f"bytes {data[offset:offset + 4]!r} at byte {offset} are not valid UTF-8 ({error.reason})"
    else:
        if "\0" not in text:
            return text.replace("\r\n", "\n").replace("\r", "\n")
        offset = data.index(b"\0")
        problem = f"a NUL byte at byte {offset} (binary data)"
    line = data[:offset].count(b"\n") + 1
    raise InputError(NOT_TEXT.format(path=path, line=line, problem=problem, fmt=fmt, layout=LAYOUTS[fmt]))


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
    for number, line in enumerate(text.split("\n"), 1):
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
    labels = _labels([row[0] if first else row[-1] for row in rows], path=path, lines=lines)
    return RawSplit(path, labels, [[series] for series in values], lines)


def _labels(tokens: list[str], *, path: Path, lines: list[int]) -> list[str]:
    """The label tokens, stripped; an empty, NaN or ? label is refused with its line."""
    labels = [token.strip() for token in tokens]
    for line, label in zip(lines, labels):
        if label.lower() in ("", "nan", "?"):
            raise InputError(MISSING_LABEL.format(path=path, line=line, token=label))
    return labels


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
    row, column, problem = _first_bad(cells)
    raise _bad_value(path=path, line=lines[row], position=f"column {column + column_offset}",
                     value=cells[row][column], problem=problem)


def _parse(tokens: list[str] | list[list[str]]) -> np.ndarray | None:
    """float64 values (NaN allowed), or None if a token is not a number or not finite in float32."""
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        return None
    return None if _float32_overflow(values).any() else values


def _float32_overflow(values: np.ndarray) -> np.ndarray:
    """Where ``values`` are infinite, or become infinite as float32 (|x| above about 3.4e38)."""
    with np.errstate(over="ignore"):
        return np.isinf(values.astype(np.float32))


def _first_bad(rows: list[list[str]]) -> tuple[int, int, str]:
    """(row, column, problem) of the first token that _parse refused; call after _parse failed."""
    return next((r, c, problem) for r, row in enumerate(rows) for c, token in enumerate(row)
                if (problem := _token_problem(token)))


def _token_problem(token: str) -> str:
    """Why a series token cannot be stored ("" when it is NaN or a number finite in float32)."""
    try:
        number = np.array(float(token))
    except ValueError:
        return _NOT_A_NUMBER
    if np.isinf(number):
        return "infinite"
    return "too large for float32" if _float32_overflow(number) else ""


def _bad_value(*, path: Path, line: int, position: str, value: str, problem: str) -> InputError:
    if problem == _NOT_A_NUMBER:
        return InputError(FILE_NOT_NUMBER.format(path=path, line=line, position=position, value=value,
                                                 fix=NOT_NUMBER_FIX))
    return InputError(NOT_FLOAT32.format(path=path, line=line, position=position, value=value, problem=problem))


def _read_arff(path: Path, text: str) -> RawSplit:
    from scipy.io import arff  # scipy comes with scikit-learn; only ARFF files need it

    lines = _arff_data_lines(path, text)
    try:  # a header cut short ends scipy's line generator: StopIteration, or RuntimeError inside a generator
        data, meta = arff.loadarff(io.StringIO(text))
    except (arff.ArffError, ValueError, NotImplementedError, IndexError, StopIteration, RuntimeError,
            csv.Error) as error:
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
    overflow = np.argwhere(_float32_overflow(values))
    if overflow.size:
        row, column = overflow[0]
        value = float(values[row, column])
        raise _bad_value(path=path, line=lines[row], position=f"column {column + 1}", value=repr(value),
                         problem="infinite" if math.isinf(value) else "too large for float32")
    tokens = [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in data[names[-1]]]
    return RawSplit(path, _labels(tokens, path=path, lines=lines), [[series] for series in values], lines)


def _arff_data_lines(path: Path, text: str) -> list[int]:
    """1-based lines of the cases, as scipy.io.arff reads them (after @data; blank and % lines skipped).

    Refuses a file without @data, with fewer than two attributes, or with a plain (unquoted,
    non-sparse) case line whose number of values differs from the attributes: scipy would fail
    with an IndexError on too few values and silently drop extra ones.
    """
    rows = text.split("\n")
    start = next((i for i, row in enumerate(rows) if _ARFF_DATA.match(row)), None)
    if start is None:
        raise InputError(ARFF_NO_DATA.format(path=path))
    attributes = [row for row in rows[:start] if _ARFF_ATTRIBUTE.match(row)]
    if len(attributes) < 2:
        raise InputError(ARFF_FEW_ATTRIBUTES.format(path=path, count=len(attributes)))
    lines = [i + 1 for i in range(start + 1, len(rows)) if rows[i].strip() and not rows[i].startswith("%")]
    if any("relational" in row.lower() for row in attributes):
        return lines  # nested attributes: the count above is not the row width
    for line in lines:
        row = rows[line - 1].strip()
        if not any(mark in row for mark in "'\"{"):
            count = len(row.split("," if "," in row else "\t"))
            if count != len(attributes):
                raise InputError(ARFF_WIDTH.format(path=path, line=line, count=count, expected=len(attributes),
                                                   values=len(attributes) - 1))
    return lines


def _read_ts(path: Path, text: str) -> RawSplit:
    header: dict[str, str] = {}
    labels: list[str] = []
    series: list[list[np.ndarray]] = []
    lines: list[int] = []
    for number, raw in enumerate(text.split("\n"), 1):
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
    if "data" not in header:
        raise InputError(TS_NO_DATA.format(path=path))
    if not series:
        raise InputError(FILE_EMPTY.format(path=path, expected="cases after @data"))
    _check_ts(path, header, labels, series, lines)
    return RawSplit(path, labels, series, lines)


def _ts_values(text: str, *, path: Path, line: int, dimension: int) -> np.ndarray:
    if "(" in text:
        tokens = _TS_STAMPED_VALUE.findall(text)
        if not tokens or _TS_STAMPED_VALUE.sub("", text).strip(", \t"):
            raise InputError(TS_NO_VALUES.format(path=path, line=line, dimension=dimension, text=text[:40]))
    else:
        tokens = text.split(",")
    tokens = ["nan" if token.strip() == "?" else token for token in tokens]
    values = _parse(tokens)
    if values is None:
        _, bad, problem = _first_bad([tokens])
        raise _bad_value(path=path, line=line, position=f"dimension {dimension}, value {bad + 1}", value=tokens[bad],
                         problem=problem)
    return values


def _check_ts(path: Path, header: dict[str, str], labels: list[str], series: list[list[np.ndarray]],
              lines: list[int]) -> None:
    flag, *declared = header.get("classlabel", "").split() or ["missing"]
    if flag.lower() != "true":
        raise InputError(TS_NO_CLASSES.format(path=path, value=header.get("classlabel") or "missing"))
    for line, label in zip(lines, labels):
        if label not in declared:
            raise InputError(TS_UNDECLARED.format(path=path, line=line, label=label, declared=" ".join(declared)))
    univariate = header.get("univariate", "true").lower()
    expected = 1 if univariate == "true" else len(series[0])
    for line, case in zip(lines, series):
        if len(case) != expected:
            raise InputError(TS_DIMENSIONS.format(path=path, line=line, count=len(case), expected=expected,
                                                  first=lines[0], univariate=univariate))
    _check_ts_length(path, header, series, lines)


def _check_ts_length(path: Path, header: dict[str, str], series: list[list[np.ndarray]], lines: list[int]) -> None:
    """With ``@equalLength true`` and ``@seriesLength N``, every dimension holds N values (? included)."""
    declared = header.get("serieslength", "")
    if header.get("equallength", "").lower() != "true" or not declared.isdigit():
        return
    for line, case in zip(lines, series):
        for dimension, values in enumerate(case, 1):
            if values.size != int(declared):
                raise InputError(TS_LENGTH.format(path=path, line=line, dimension=dimension, count=values.size,
                                                  expected=int(declared)))
