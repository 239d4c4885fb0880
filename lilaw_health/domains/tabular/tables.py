"""Reading tabular files: strict text decoding and CSV / Parquet tables.

Text is decoded before parsing, so a file in the wrong encoding fails with its line and
the offending bytes instead of a parser error far away, or silently wrong characters.
Rows of a CSV are referred to as "data row k" (1-based, header excluded), which is line
k + 1 of the file unless it has blank lines or quoted line breaks.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pandas as pd

from lilaw_health.core.errors import FILE_EMPTY, FILE_MISSING, InputError

NOT_DECODABLE = ("{path}, line {line}: bytes {snippet} are not valid {encoding} ({reason}). Re-save the file "
                 "as UTF-8, or set data.encoding to the file's encoding (e.g. latin-1).")
PARQUET_ENGINE = "reading {path} needs pyarrow or fastparquet ({error}). Install one: pip install pyarrow"
NOT_A_TABLE = "{path} could not be read as a CSV table: {error}. Check the delimiter and quoting of that line."
SUFFIX_HINT = "Pass a .csv, .csv.gz, .tsv or .parquet file."


def decode(path: str | Path, *, encoding: str = "utf-8") -> str:
    """The text of ``path`` (gunzipped when it ends in .gz), decoded strictly.

    Raises
    ------
    InputError
        Naming the line and bytes that are not valid in ``encoding``.
    """
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(NOT_DECODABLE.format(path=path, line=line, snippet=data[error.start:error.start + 4],
                                              encoding=encoding, reason=error.reason)) from None


def read_table(path: str | Path, *, encoding: str = "utf-8", na_values: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV (comma, or tab for .tsv) or Parquet file as a frame; strings keep pandas' dtype.

    ``na_values`` are read as missing in addition to pandas' defaults (empty, "NA", "NaN", ...).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="data file", path=path, fix=SUFFIX_HINT))
    if path.suffix == ".parquet":
        return _read_parquet(path)
    text = decode(path, encoding=encoding)
    if not text.strip():
        raise InputError(FILE_EMPTY.format(path=path, expected="a header line and at least one data row"))
    separator = "\t" if path.name.endswith((".tsv", ".tsv.gz")) else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=separator, na_values=list(na_values), skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as error:
        raise InputError(NOT_A_TABLE.format(path=path, error=error)) from None
    if frame.empty:
        raise InputError(FILE_EMPTY.format(path=path, expected="at least one data row below the header"))
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as error:
        raise InputError(PARQUET_ENGINE.format(path=path, error=error)) from None
