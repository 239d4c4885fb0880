"""Pain data on disk -> one frame table, and the generic frames + CSV loader.

Every loader (:func:`load_frames_csv` here; SynPAIN folders:
:func:`~lilaw_health.domains.pain.synpain.load_synpain`; UNBC-McMaster HDF5 files:
:func:`~lilaw_health.domains.pain.unbc.load_unbc_hdf5`) returns a :class:`LoadResult`
``(table, report)``. ``table`` is a pandas DataFrame, one row per target face, with the
columns of ``COLUMNS``:

- ``path`` (str): absolute path of the image file.
- ``region`` (``None``, ``"left"`` or ``"right"``): the half of a side-by-side packed pair
  that holds the target face; ``None`` means the whole image.
- ``reference_path`` / ``reference_region``: the neutral face of the same identity that
  goes with the target (a packed pair's left half), or ``None``.
- ``subject`` (str): the identity; subject-wise splits keep it on one side.
- ``label`` (int64, 0/1): binary pain. ``pspi`` (float64): PSPI 0..16, NaN when unknown.
- ``source`` (str): ``"synpain"``, ``"real"`` or the name the caller gives.
- ``age``, ``gender``, ``race``, ``cohort`` (str, or ``None`` when unknown).
- ``fold`` (nullable ``Int64``): the test fold of a given split; ``<NA>`` when none.

``report`` is a :class:`LoadReport`: rows read, skipped rows counted by reason (each one
logged), and the counts of failed checks. It is returned rather than kept in
``table.attrs`` because pandas drops ``attrs`` on most operations.

The generic frames + CSV layout: :func:`load_frames_csv`.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, FILE_NOT_NUMBER, InputError

LOGGER = logging.getLogger(__name__)

COLUMNS = ("path", "region", "reference_path", "reference_region", "subject", "label", "pspi", "source",
           "age", "gender", "race", "cohort", "fold")
DEMOGRAPHICS = ("age", "gender", "race", "cohort")
PSPI_MAX = 16.0

PSPI_RANGE = ("{path}, {where}: PSPI {value} is outside 0..16 (PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + "
              "AU43). Fix the value, or remove the row.")
CSV_COLUMNS = ("{path}: {problem}; found columns {found}. Required: path, subject, and pspi or label; optional: "
               "age, gender, race, cohort, reference_path, region, reference_region, fold.")
CSV_MISSING_IMAGE = ("{path}, line {line}: {column} {image} does not exist. Fix the path (relative paths are read "
                     "from {base}), or pass missing='skip' to skip such rows (they are counted in the report).")
CSV_FIELD = "{path}, line {line}: {column} {value!r} is not {expected}. {fix}"


@dataclass
class LoadReport:
    """What a loader read, skipped (by reason) and found wrong (by check), for logs and the run report."""

    source: str
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        LOGGER.warning("%s: skipped (%s): %s", self.source, reason, detail)

    def count(self, check: str, n: int = 1) -> None:
        self.checks[check] = self.checks.get(check, 0) + n


class LoadResult(NamedTuple):
    table: pd.DataFrame
    report: LoadReport


def frame_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame table of ``rows`` (dicts keyed by ``COLUMNS``; absent keys are unknown), with fixed dtypes."""
    columns: dict[str, pd.Series] = {}
    for name in COLUMNS:
        values = [row.get(name) for row in rows]
        if name == "label":
            columns[name] = pd.Series(values, dtype="int64")
        elif name == "pspi":
            columns[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif name == "fold":
            columns[name] = pd.Series(values, dtype="Int64")
        else:  # object keeps None as None (pandas 3 would turn str columns' None into NaN)
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


# ---------------------------------------------------------------- frames folder + CSV


def load_frames_csv(csv_path: str | Path, *, source: str = "real", image_root: str | Path | None = None,
                    missing: str = "error", threshold: float = 0.0) -> LoadResult:
    """Read a frames folder described by a CSV: one row per frame.

    Columns: ``path`` and ``subject`` (required), ``pspi`` and/or ``label`` (one required per
    row), optional ``age``, ``gender``, ``race``, ``cohort``, ``reference_path``, ``region``,
    ``reference_region``, ``fold``. Relative paths are read from ``image_root`` (default the
    CSV's folder). ``label`` (0/1) when given, else ``pspi > threshold``. A missing image
    raises (``missing="error"``) or is a counted skip (``missing="skip"``).
    """
    if missing not in ("error", "skip"):
        raise InputError(BAD_VALUE.format(arg="missing", expected="'error' or 'skip'", received=repr(missing),
                                          fix="Use 'skip' to leave rows with missing images out (counted)."))
    csv_path = Path(csv_path).resolve()
    if not csv_path.is_file():
        raise InputError(FILE_MISSING.format(what="frames CSV", path=csv_path, fix="Check the path."))
    base = Path(image_root).resolve() if image_root is not None else csv_path.parent
    report, rows = LoadReport(source=str(csv_path)), []
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _check_csv_columns(csv_path, [name.strip() for name in reader.fieldnames or []])
        for record in reader:
            fields = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k is not None}
            row = _csv_row(fields, csv_path, reader.line_num, base=base, missing=missing, report=report)
            if row is not None:
                rows.append({**row, "source": source, "label": row["label"] if row["label"] is not None
                             else int(row["pspi"] > threshold)})
    report.rows = len(rows)
    return LoadResult(frame_table(rows), report)


def _check_csv_columns(path: Path, names: list[str]) -> None:
    problems = [f"no {column!r} column" for column in ("path", "subject") if column not in names]
    if "pspi" not in names and "label" not in names:
        problems.append("neither a 'pspi' nor a 'label' column")
    if problems:
        raise InputError(CSV_COLUMNS.format(path=path, problem=" and ".join(problems), found=names))


def _csv_row(fields: dict[str, str], path: Path, line: int, *, base: Path, missing: str,
             report: LoadReport) -> dict[str, Any] | None:
    images = {}
    for column in ("path", "reference_path"):
        if fields.get(column):
            image = Path(fields[column]) if Path(fields[column]).is_absolute() else base / fields[column]
            if not image.is_file():
                message = CSV_MISSING_IMAGE.format(path=path, line=line, column=column, image=image, base=base)
                if missing == "error":
                    raise InputError(message)
                report.skip(f"missing_{column}", message)
                return None
            images[column] = str(image.resolve())
    if "path" not in images or not fields.get("subject"):
        column = "path" if "path" not in images else "subject"
        raise InputError(CSV_FIELD.format(path=path, line=line, column=column, value="", expected="empty",
                                          fix=f"Every row needs a {column}."))
    pspi = _csv_number(fields, "pspi", path, line)
    if pspi is not None and not 0 <= pspi <= PSPI_MAX:
        raise InputError(PSPI_RANGE.format(path=path, where=f"line {line}", value=fields["pspi"]))
    label = _csv_number(fields, "label", path, line)
    if label is None and pspi is None:
        raise InputError(CSV_FIELD.format(path=path, line=line, column="pspi", value="", expected="empty",
                                          fix="Give each row a pspi (0..16) or a label (0/1)."))
    if label not in (None, 0.0, 1.0):
        raise InputError(CSV_FIELD.format(path=path, line=line, column="label", value=fields["label"],
                                          expected="0 or 1", fix="Write binary pain as 0/1, or give pspi instead."))
    fold = _csv_number(fields, "fold", path, line)
    regions = {c: fields.get(c) or None for c in ("region", "reference_region")}
    for column, value in regions.items():
        if value not in (None, "left", "right"):
            raise InputError(CSV_FIELD.format(path=path, line=line, column=column, value=value,
                                              expected="left, right or empty", fix="Leave it empty for a whole image."))
    return {"path": images["path"], "reference_path": images.get("reference_path"), **regions,
            "subject": fields["subject"], "pspi": pspi, "label": None if label is None else int(label),
            "fold": None if fold is None else int(fold), **{c: fields.get(c) or None for c in DEMOGRAPHICS}}


def _csv_number(fields: dict[str, str], column: str, path: Path, line: int) -> float | None:
    text = fields.get(column, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or (column == "fold" and value != int(value)):
        kind = "an integer" if column == "fold" else "a number, e.g. 0, 1 or 2.5"
        raise InputError(FILE_NOT_NUMBER.format(path=path, line=line, position=f"column {column}", value=text,
                                                fix=f"Write {column} as {kind}."))
    return value
