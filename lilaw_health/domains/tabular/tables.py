"""Reading tabular files: strict text decoding and CSV / Parquet tables.

Text is decoded before parsing, so a file in the wrong encoding fails with its line and
the offending bytes instead of a parser error far away, or silently wrong characters.
Rows of a CSV are referred to as "data row k" (1-based, header excluded), which is line
k + 1 of the file unless it has blank lines or quoted line breaks.

What pandas would accept silently is refused here: binary data (a workbook or a Parquet
file named .csv, NUL bytes), a repeated column name whose copies differ (pandas renames the
copies "a.1"; identical copies, as in ProPublica's COMPAS file, are dropped with a warning),
data rows with more fields than the header (pandas would shift every column onto a guessed
index) and a header that is one column holding another delimiter.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import warnings
import zlib
from pathlib import Path

import pandas as pd

from lilaw_health.core.errors import FILE_EMPTY, FILE_MISSING, InputError

LOGGER = logging.getLogger(__name__)

NOT_DECODABLE = ("{path}, line {line}: bytes {snippet} are not valid {encoding} ({reason}). Re-save the file "
                 "as UTF-8, or set data.encoding to the file's encoding (e.g. latin-1).")
PARQUET_ENGINE = "reading {path} needs pyarrow or fastparquet ({error}). Install one: pip install pyarrow"
NOT_PARQUET = ("{path} could not be read as Parquet ({error}). Check that it is a Parquet file; CSV text needs a "
               ".csv suffix.")
NOT_A_TABLE = "{path} could not be read as a CSV table: {error}. Check the delimiter and quoting of that line."
SUFFIX_HINT = "Pass a .csv, .csv.gz, .tsv or .parquet file."
IS_FOLDER = "{path} is a folder, not a data file (tables in it: {files}). Pass the path of one file, e.g. {example}."
UNREADABLE = "{path} could not be read ({error}). Check that the file exists and that you may read it."
NOT_GZIP = ("{path} is not valid gzip data ({error}). If it is plain text, remove the .gz suffix; otherwise "
            "re-compress it with gzip.")
NOT_TEXT = "{path} is {kind}, not CSV text. {fix}"
BINARY = ("{path}, line {line}: a NUL byte; the file holds binary data, not CSV text. Export the table as a "
          "UTF-8 CSV file.")
DUPLICATE_COLUMNS = ("{path}: the header names column(s) {names} more than once, and the copies hold different "
                     "values; every column needs its own name. Rename or remove the repeated columns.")
EXTRA_FIELDS = ("{path}, line {line}: {count} fields but the header names {expected} columns. Quote values that "
                "contain the delimiter {separator!r}, remove trailing delimiters, or name every column in the header.")
ONE_COLUMN = ("{path}: the header {header!r} was read as one column but contains {delimiter!r}; the file seems to be "
              "{delimiter!r}-separated, not {separator!r}-separated. Re-save it comma-separated (tab-separated "
              "files need a .tsv suffix).")
EXPORT = "Export the table as a UTF-8 CSV file."
SIGNATURES = (  # (leading bytes, what the file is, the fix)
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)", EXPORT),
    (b"\xd0\xcf\x11\xe0", "an Excel .xls workbook", EXPORT),
    (b"PAR1", "a Parquet file", "Give it a .parquet suffix."),
    (b"\x1f\x8b", "gzip-compressed data", "Give it a .csv.gz suffix."),
    (b"SQLite format 3\x00", "an SQLite database", EXPORT),
    (b"\xff\xfe", "UTF-16 text", "Set data.encoding=utf-16, or re-save the file as UTF-8."),
    (b"\xfe\xff", "UTF-16 text", "Set data.encoding=utf-16, or re-save the file as UTF-8."),
)
TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".parquet")
OTHER_DELIMITERS = (",", ";", "\t", "|")


def decode(path: str | Path, *, encoding: str = "utf-8") -> str:
    """The text of ``path`` (gunzipped when it ends in .gz), decoded strictly; a leading
    byte-order mark is dropped.

    Raises
    ------
    InputError
        If the file cannot be read, is not gzip data although named .gz, is a known binary
        format, holds NUL bytes, or has bytes that are not valid in ``encoding`` (naming
        the line and bytes).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(UNREADABLE.format(path=path, error=error.strerror or error)) from None
    if path.suffix == ".gz":
        data = _gunzipped(data, path)
    _refuse_binary_signature(data, path, encoding)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(NOT_DECODABLE.format(path=path, line=line, snippet=data[error.start:error.start + 4],
                                              encoding=encoding, reason=error.reason)) from None
    if "\x00" in text:
        raise InputError(BINARY.format(path=path, line=text[: text.index("\x00")].count("\n") + 1))
    return text.removeprefix("\ufeff")


def _gunzipped(data: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(NOT_GZIP.format(path=path, error=error)) from None


def _refuse_binary_signature(data: bytes, path: Path, encoding: str) -> None:
    for signature, kind, fix in SIGNATURES:
        if data.startswith(signature) and not (kind == "UTF-16 text" and "16" in encoding):
            raise InputError(NOT_TEXT.format(path=path, kind=kind, fix=fix))


def read_table(path: str | Path, *, encoding: str = "utf-8", na_values: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV (comma, or tab for .tsv) or Parquet file as a frame; strings keep pandas' dtype.

    ``na_values`` are read as missing in addition to pandas' defaults (empty, "NA", "NaN", ...).

    Raises
    ------
    InputError
        Naming the file (and line where there is one) for every content the module
        docstring lists, and for missing, empty, header-only and unparsable files.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(_folder_message(path))
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="data file", path=path, fix=SUFFIX_HINT))
    frame = _read_parquet(path) if path.suffix == ".parquet" else _read_csv(path, encoding, na_values)
    if frame.empty:
        raise InputError(FILE_EMPTY.format(path=path, expected="at least one data row below the header"))
    return frame


def _read_csv(path: Path, encoding: str, na_values: tuple[str, ...]) -> pd.DataFrame:
    text = decode(path, encoding=encoding)
    if not text.strip():
        raise InputError(FILE_EMPTY.format(path=path, expected="a header line and at least one data row"))
    separator = "\t" if path.name.endswith((".tsv", ".tsv.gz")) else ","
    options = {"sep": separator, "skipinitialspace": True}
    try:
        header = pd.read_csv(io.StringIO(text), header=None, nrows=1, dtype=str, keep_default_na=False, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), na_values=list(na_values), index_col=False, **options)
    except pd.errors.ParserWarning:  # a data row longer than the header
        raise InputError(_extra_fields_message(path, text, separator)) from None
    except pd.errors.EmptyDataError:
        raise InputError(FILE_EMPTY.format(path=path, expected="a header line and at least one data row")) from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise InputError(NOT_A_TABLE.format(path=path, error=error)) from None
    if len(header) and header.shape[1] == frame.shape[1]:
        frame = _without_copies(frame, [str(v) for v in header.iloc[0]], path)
    _check_delimiter(frame, path, separator)
    return frame


def _without_copies(frame: pd.DataFrame, names: list[str], path: Path) -> pd.DataFrame:
    """``frame`` without the later copies of a repeated column name (``names``: the header as
    written); refused if a copy holds other values than the first."""
    first: dict[str, int] = {}
    copies, differing = [], set()
    for position, name in enumerate(names):
        if not name or name not in first:
            first.setdefault(name, position)
            continue
        copies.append(position)
        if not frame.iloc[:, position].equals(frame.iloc[:, first[name]]):
            differing.add(name)
    if differing:
        raise InputError(DUPLICATE_COLUMNS.format(path=path, names=sorted(differing)))
    if not copies:
        return frame
    LOGGER.warning("%s: column(s) %s appear more than once with identical values; the first copy is kept", path,
                   sorted({names[p] for p in copies}))
    dropped = set(copies)
    return frame.iloc[:, [p for p in range(frame.shape[1]) if p not in dropped]]


def _check_delimiter(frame: pd.DataFrame, path: Path, separator: str) -> None:
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for delimiter in OTHER_DELIMITERS:
        if delimiter != separator and delimiter in header:
            raise InputError(ONE_COLUMN.format(path=path, header=header, delimiter=delimiter, separator=separator))


def _extra_fields_message(path: Path, text: str, separator: str) -> str:
    """EXTRA_FIELDS for the first record with more fields than the header."""
    reader = csv.reader(io.StringIO(text), delimiter=separator, skipinitialspace=True)
    expected = None
    for record in reader:
        if not record or not any(field.strip() for field in record):
            continue
        if expected is None:
            expected = len(record)
        elif len(record) > expected:
            return EXTRA_FIELDS.format(path=path, line=reader.line_num, count=len(record), expected=expected,
                                       separator=separator)
    return NOT_A_TABLE.format(path=path, error="a data row has more fields than the header")


def _folder_message(path: Path) -> str:
    tables = sorted(p.name for p in path.iterdir() if p.is_file() and p.name.endswith(TABLE_SUFFIXES))
    files = ", ".join(tables[:10]) + (f" and {len(tables) - 10} more" if len(tables) > 10 else "") or "none"
    return IS_FOLDER.format(path=path, files=files, example=path / (tables[0] if tables else "<name>.csv"))


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except ImportError as error:
        raise InputError(PARQUET_ENGINE.format(path=path, error=error)) from None
    except (ValueError, OSError, TypeError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(NOT_PARQUET.format(path=path, error=error)) from None
    names = [str(c) for c in frame.columns]
    frame.columns = [f"{n}.{p}" for p, n in enumerate(names)]  # unique while copies are compared
    frame = _without_copies(frame, names, path)
    frame.columns = [n.rpartition(".")[0] for n in frame.columns]
    return frame
