"""Fuzzing the CSV loader: random bytes, random text, a valid table with junk cells or
dropped columns, and option mappings with wrong types or unknown keys.

Every example either loads into a well-formed task or raises a
:class:`~lilaw_health.core.errors.LilawError` whose message names the file (or, for an
option error, the offending key). Any other exception fails the test. Examples are
derandomised, so a run is repeatable; each writes its files into its own temporary folder
(function-scoped fixtures are not reset between examples).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lilaw_health.core.data import TaskData
from lilaw_health.core.errors import LilawError
from lilaw_health.domains.tabular.data import load_data
from lilaw_health.domains.tabular.options import TabularOptions
from tests.domains.tabular.fixtures import patient_scores, patients, write_csv

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COLUMNS = ("age", "dose", "site", "sex", "outcome")
SUFFIXES = (".csv", ".tsv", ".csv.gz", ".parquet", ".txt")
JUNK = ("", " ", "NA", "nan", "?", "inf", "-inf", "1e400", "1e300", "-0", "1.0", "0", "1", "yes", "Yes", "no",
        "TRUE", "false", "on", "\"", "\"\"", "\"a,b\"", ",", ";", "\t", "\n", "\r", "\x00", "\u00e9", "\ufeff",
        "\u2028", "#", "a" * 50)
CSV_CHARS = st.sampled_from(list("ab,;\t\n\r\"' 019.-eyNnoFM")) | st.characters(codec="utf-8")
VALID_KEYS = [f.name for f in TabularOptions.__dataclass_fields__.values()]
WRONG_VALUES = (st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True, allow_infinity=True)
                | st.text(max_size=6) | st.lists(st.integers(-2, 2) | st.text(max_size=3), max_size=3)
                | st.dictionaries(st.text(max_size=4), st.integers(-2, 2) | st.text(max_size=3), max_size=2)
                | st.sampled_from(["age", "sex", "site", "outcome", "age_band", "utf-8", "latin-1", "paper",
                                   "drop", "error", [["sex"]], {"age": [30, 60]}, {"sex": "F"}, ["sex", "sex"]]))


def _options(path: Path, **extra: Any) -> dict[str, Any]:
    return {"path": str(path), "target": "outcome", "positive_label": "yes", "sensitive": ["sex"], **extra}


def _check(path: Path, options: Mapping[str, Any], *, keys: tuple[Any, ...] = ()) -> TaskData | None:
    """Load; a task must be well formed, an error a LilawError naming ``path`` or one of ``keys``."""
    try:
        task = load_data("csv", options=options)
    except LilawError as error:
        message = str(error)
        named = [str(path), *(f"data.{k}" for k in keys), *(repr(k) for k in keys)]
        named += [str(options[k]) for k in ("path", "test_path") if isinstance(options.get(k), str)]
        assert any(n in message for n in named), f"the error names neither the file nor {keys}: {message}"
        return None
    _assert_well_formed(task)
    return task


def _assert_well_formed(task: TaskData) -> None:
    train, test = task.train, task.test
    assert isinstance(task, TaskData) and len(train) > 0 and len(test) > 0
    if task.task == "regression":
        assert task.n_classes == 1 and train.targets.dtype == np.float32 and np.isfinite(train.targets).all()
        assert np.ptp(train.targets) > 0 and np.isfinite(test.targets).all()
        assert task.sensitive_test is not None and len(task.sensitive_test) == len(test)
    else:
        assert task.n_classes == 2 and len(set(task.class_names)) == 2
        assert set(np.unique(train.targets)) == {0, 1} and set(np.unique(test.targets)) <= {0, 1}
    for part in (train, test):
        inputs = part.inputs.numpy()
        assert inputs.shape == (len(part), task.input_shape[0]) and np.isfinite(inputs).all()
    assert set(train.sample_ids).isdisjoint(test.sample_ids)
    assert len(task.extras["sensitive_test"]) == len(test)


def _in_folder(test: Callable[[Path], None]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        test(Path(folder))


@FUZZ
@given(data=st.binary(max_size=400), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(data, suffix):
    def run(folder: Path) -> None:
        path = folder / f"data{suffix}"
        path.write_bytes(data)
        _check(path, _options(path))
    _in_folder(run)


@FUZZ
@given(header=st.sampled_from(["", "age,sex,outcome\n", "sex,outcome\n", ",".join(COLUMNS) + "\n"]),
       text=st.text(CSV_CHARS, max_size=400))
def test_random_text(header, text):
    def run(folder: Path) -> None:
        path = folder / "data.csv"
        path.write_text(header + text, encoding="utf-8")
        _check(path, _options(path))
    _in_folder(run)


@FUZZ
@given(n=st.integers(4, 40), seed=st.integers(0, 3),
       junk=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(COLUMNS),
                               st.sampled_from(JUNK) | st.text(CSV_CHARS, max_size=6)), max_size=6),
       dropped=st.sets(st.sampled_from(COLUMNS), max_size=2),
       label=st.sampled_from(["yes", True, False, 1, "no", "maybe", "Yes"]),
       sensitive=st.sampled_from([["sex"], ["site"], ["age_band"], ["sex", "age_band"], ["age"], ["nope"]]),
       missing=st.sampled_from(["category", "drop", "error"]), one_vs_rest=st.booleans(), two_files=st.booleans())
def test_valid_table_with_junk_cells_and_dropped_columns(n, seed, junk, dropped, label, sensitive, missing,
                                                         one_vs_rest, two_files):
    table = {k: v for k, v in patients(n, seed=seed).items() if k not in dropped}
    for row, column, value in junk:
        if column in table and row < n:
            table[column][row] = value
    options = {"positive_label": label, "sensitive": sensitive, "missing": missing, "one_vs_rest": one_vs_rest,
               "bins": {"age": [40, 60]}}

    _check_table(table, options, n=n, two_files=two_files)


@FUZZ
@given(wrong=st.dictionaries(st.sampled_from(VALID_KEYS), WRONG_VALUES, min_size=1, max_size=3),
       unknown=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k not in VALID_KEYS)
                               | st.integers(0, 3), st.integers(), max_size=1))
def test_option_mappings_with_wrong_types_or_unknown_keys(wrong, unknown):
    def run(folder: Path) -> None:
        path = write_csv(folder / "patients.csv", patients(40))
        options = {**_options(path), **wrong, **unknown}
        _check(path, options, keys=(*wrong, *unknown))
    _in_folder(run)


@FUZZ
@given(n=st.integers(4, 40), seed=st.integers(0, 3),
       junk=st.lists(st.tuples(st.integers(0, 39), st.sampled_from((*COLUMNS[:-1], "score")),
                               st.sampled_from(JUNK) | st.text(CSV_CHARS, max_size=6)), max_size=6),
       sensitive=st.sampled_from([["sex"], ["age_band"], ["sex", "age_band"], ["score"]]),
       target_range=st.sampled_from([None, [0, 10], [2, 8]]), missing=st.sampled_from(["category", "drop"]),
       two_files=st.booleans())
def test_regression_table_with_junk_cells(n, seed, junk, sensitive, target_range, missing, two_files):
    table = patient_scores(n, seed=seed)
    for row, column, value in junk:
        if row < n:
            table[column][row] = value
    options = {"target": "score", "task": "regression", "positive_label": None, "sensitive": sensitive,
               "missing": missing, "target_range": target_range, "bins": {"age": [40, 60]}}

    _check_table(table, options, n=n, two_files=two_files)


def _check_table(table: dict, options: dict, *, n: int, two_files: bool) -> None:
    """Write ``table`` as one file, or as a training and a test file (junk may sit in either), and check it."""
    def run(folder: Path) -> None:
        if two_files:
            path = write_csv(folder / "train.csv", {k: v[: n // 2] for k, v in table.items()})
            test = write_csv(folder / "test.csv", {k: v[n // 2:] for k, v in table.items()})
            _check(path, _options(path, test_path=str(test), **options))
        else:
            path = write_csv(folder / "junk.csv", table)
            _check(path, _options(path, **options))
    _in_folder(run)
