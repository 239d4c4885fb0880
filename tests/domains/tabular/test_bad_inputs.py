"""Bad CSV inputs and option values: each is refused with an InputError naming the file (and
column, line or option) and the fix; none ends in a raw traceback or a silent success."""

from __future__ import annotations

import gzip
import importlib.util
import logging
from pathlib import Path

import pandas as pd
import pytest

from lilaw_health.core.errors import BAD_VALUE, FILE_EMPTY, FILE_MISSING, UNKNOWN_OPTIONS, InputError
from lilaw_health.domains.tabular.adult import COLUMNS as ADULT_COLUMNS
from lilaw_health.domains.tabular.data import (EMPTY_AFTER_DROP, NOT_FINITE_FEATURE, ONE_CLASS, PACKAGE_FIX,
                                               SPLIT_TOO_SMALL, TRAIN_ONE_CLASS, load_data)
from lilaw_health.domains.tabular.options import OPTIONS_NOT_MAPPING, QUOTE_BOOLEAN
from lilaw_health.domains.tabular.preprocess import (BAND_NOT_NUMERIC, CLOSE_NAMES, FEATURE_MISSING,
                                                     NOT_FINITE_VALUE, SENSITIVE_MISSING, TARGET_AS_FEATURE,
                                                     TWO_TYPES)
from lilaw_health.domains.tabular.tables import (BINARY, DUPLICATE_COLUMNS, EXPORT, EXTRA_FIELDS, IS_FOLDER,
                                                 NOT_A_TABLE, NOT_DECODABLE, NOT_GZIP, NOT_PARQUET, NOT_TEXT,
                                                 ONE_COLUMN, PARQUET_ENGINE)
from tests.domains.tabular.fixtures import patients, write_adult, write_csv

COLUMNS = ["age", "dose", "site", "sex", "outcome"]


def _options(path: Path | str, **extra) -> dict:
    return {"path": str(path), "target": "outcome", "positive_label": "yes", "sensitive": ["sex"], **extra}


def _refused(path: Path | str, **extra) -> str:
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path, **extra))
    return str(error.value)


def _csv_text(n: int = 40) -> str:
    lines = [",".join(COLUMNS)]
    table = patients(n)
    lines += [",".join(str(table[c][i]) for c in COLUMNS) for i in range(n)]
    return "\n".join(lines) + "\n"


def test_binary_files_are_named_as_such(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00 workbook")
    assert _refused(path) == NOT_TEXT.format(path=path, kind="a ZIP archive (an .xlsx workbook is one)", fix=EXPORT)
    path.write_bytes(b"PAR1\x15\x04")
    assert _refused(path) == NOT_TEXT.format(path=path, kind="a Parquet file", fix="Give it a .parquet suffix.")
    path.write_bytes(_csv_text().encode() + b"1,2\x00,3\n")
    assert _refused(path) == BINARY.format(path=path, line=42)
    path.write_bytes(bytes(range(256)))
    assert _refused(path) == NOT_DECODABLE.format(path=path, line=2, snippet=b"\x80\x81\x82\x83", encoding="utf-8",
                                                  reason="invalid start byte")  # line 2: byte 10 is a newline


def test_utf16_is_recognised_and_a_utf8_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(_csv_text().encode("utf-16"))
    assert _refused(path) == NOT_TEXT.format(path=path, kind="UTF-16 text",
                                             fix="Set data.encoding=utf-16, or re-save the file as UTF-8.")
    assert len(load_data("csv", options=_options(path, encoding="utf-16")).train) == 28
    path.write_bytes(_csv_text().encode("utf-8-sig"))  # Excel's "CSV UTF-8": the first name would be "\ufeffage"
    assert load_data("csv", options=_options(path, numeric=["age"])).input_shape == (1,)


def test_bad_gzip_data(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(_csv_text().encode())
    message = _refused(path)
    assert message == NOT_GZIP.format(path=path, error="Not a gzipped file (b'ag')")
    path.write_bytes(gzip.compress(_csv_text().encode())[:-20])
    assert _refused(path).startswith(f"{path} is not valid gzip data (")


def test_empty_and_header_only_files(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    assert _refused(path) == FILE_EMPTY.format(path=path, expected="a header line and at least one data row")
    path.write_text(",".join(COLUMNS) + "\n\n")
    assert _refused(path) == FILE_EMPTY.format(path=path, expected="at least one data row below the header")


def test_a_target_with_one_class_is_refused(tmp_path):
    table = patients(40)
    table["outcome"] = ["yes"] * 40
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path) == ONE_CLASS.format(path=path, column="outcome", value="yes", count=40)
    assert _refused(path, one_vs_rest=True, positive_label="no") == ONE_CLASS.format(
        path=path, column="outcome", value="yes", count=40)


def test_a_training_file_of_one_class_is_refused(tmp_path):
    table = patients(60)
    train = write_csv(tmp_path / "train.csv", {k: v[:30] for k, v in table.items()} | {"outcome": ["no"] * 30})
    test = write_csv(tmp_path / "test.csv", {k: v[30:] for k, v in table.items()})
    assert _refused(train, test_path=str(test)) == TRAIN_ONE_CLASS.format(
        path=train, value="no", column="outcome", count=30, fix="Add training rows of the other class.")


def test_too_few_rows_for_a_stratified_split(tmp_path):
    table = {k: v[:5] for k, v in patients(40).items()} | {"outcome": ["yes", "no", "no", "no", "no"]}
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path) == SPLIT_TOO_SMALL.format(path=path, count=5, counts="1 'yes', 4 other", column="outcome",
                                                    test_size=0.3)
    table["outcome"] = ["yes", "yes", "no", "no", "no"]
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path, test_size=0.1) == SPLIT_TOO_SMALL.format(path=path, count=5, counts="2 'yes', 3 other",
                                                                   column="outcome", test_size=0.1)


def test_missing_drop_that_empties_a_split_or_a_class(tmp_path):
    table = patients(40)
    table["dose"] = [None if i % 2 else v for i, v in enumerate(table["dose"])]
    table["site"] = [v if i % 2 else None for i, v in enumerate(table["site"])]
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path, missing="drop") == EMPTY_AFTER_DROP.format(path=path, count=28, part="train",
                                                                     columns=["dose", "site"])
    table = patients(60)
    table["dose"] = [None if v == "yes" else d for v, d in zip(table["outcome"], table["dose"])]
    train = write_csv(tmp_path / "train.csv", {k: v[:30] for k, v in table.items()})
    test = write_csv(tmp_path / "test.csv", {k: v[30:] for k, v in patients(60).items()})
    positives = table["outcome"][:30].count("yes")
    assert _refused(train, test_path=str(test), missing="drop") == TRAIN_ONE_CLASS.format(
        path=train, value="no", column="outcome", count=30 - positives,
        fix=f"data.missing=drop removed {positives} training row(s); use data.missing=category.")


def test_missing_columns_list_close_names(tmp_path):
    path = write_csv(tmp_path / "data.csv", patients(40))
    close = CLOSE_NAMES.format(names=["outcome"])
    assert _refused(path, target="Outcome") == FEATURE_MISSING.format(path=path, option="data.target",
                                                                      column="Outcome", close=close, columns=COLUMNS)
    assert _refused(path, sensitive=["gender", "Sex"]) == SENSITIVE_MISSING.format(
        path=path, column="gender", close="", columns=COLUMNS)
    assert _refused(path, sensitive=["Sex"]) == SENSITIVE_MISSING.format(
        path=path, column="Sex", close=CLOSE_NAMES.format(names=["sex"]), columns=COLUMNS)
    assert _refused(path, exclude=["dosis"]) == FEATURE_MISSING.format(  # a typo would keep the column as a feature
        path=path, option="data.exclude", column="dosis", close=CLOSE_NAMES.format(names=["dose"]), columns=COLUMNS)


def test_adult_exclude_must_name_an_adult_column(tmp_path):
    folder = write_adult(tmp_path / "adult")
    with pytest.raises(InputError) as error:
        load_data("adult", options={"root": str(folder), "exclude": ["native_country"]})
    assert str(error.value) == FEATURE_MISSING.format(
        path=folder, option="data.exclude", column="native_country", close=CLOSE_NAMES.format(names=["native-country"]),
        columns=list(ADULT_COLUMNS))


def test_all_missing_feature_column(tmp_path):
    table = patients(40)
    table["dose"] = ["NaN"] * 40
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path).startswith(f"{path}: column 'dose' is missing in every training row.")


def test_repeated_column_names(tmp_path, caplog):
    path = tmp_path / "data.csv"
    path.write_text("age,outcome,sex,age\n" + "".join(f"{i},{'yes' if i % 2 else 'no'},F,{i + 1}\n"
                                                       for i in range(20)))
    assert _refused(path) == DUPLICATE_COLUMNS.format(path=path, names=["age"])
    path.write_text("age,outcome,sex,age\n" + "".join(f"{i},{'yes' if i % 2 else 'no'},F,{i}\n" for i in range(20)))
    with caplog.at_level(logging.WARNING):
        task = load_data("csv", options=_options(path))
    assert task.extras["feature_names"] == ["numeric__age", "categorical__sex_F"]
    assert "column(s) ['age'] appear more than once with identical values" in caplog.text


def test_rows_longer_than_the_header_are_not_shifted_onto_an_index(tmp_path):
    path = tmp_path / "data.csv"
    lines = _csv_text().splitlines()
    path.write_text("\n".join([lines[0], *(line + ",extra" for line in lines[1:])]) + "\n")
    assert _refused(path) == EXTRA_FIELDS.format(path=path, line=2, count=6, expected=5, separator=",")
    longer = [*lines[:5], lines[5] + ",extra", *lines[6:]]
    path.write_text("\n".join(longer) + "\n")
    error = "Error tokenizing data. C error: Expected 5 fields in line 6, saw 6\n"
    assert _refused(path) == NOT_A_TABLE.format(path=path, error=error)
    path.write_text("\n".join([lines[0], *(line + "," for line in lines[1:])]) + "\n")  # trailing commas are fine
    assert load_data("csv", options=_options(path)).input_shape == (7,)


def test_a_semicolon_separated_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(_csv_text().replace(",", ";"))
    assert _refused(path) == ONE_COLUMN.format(path=path, header="age;dose;site;sex;outcome", delimiter=";",
                                               separator=",")


def test_a_folder_instead_of_a_file(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    assert _refused(folder) == IS_FOLDER.format(path=folder, files="none", example=folder / "<name>.csv")
    write_csv(folder / "b.csv", patients(10))
    (folder / "a.parquet").write_bytes(b"")
    assert _refused(folder) == IS_FOLDER.format(path=folder, files="a.parquet, b.csv", example=folder / "a.parquet")
    path = write_csv(tmp_path / "data.csv", patients(40))
    assert _refused(path, test_path=str(folder)).startswith(f"{folder} is a folder, not a data file")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None or importlib.util.find_spec("fastparquet")
                    is not None, reason="a Parquet engine is installed")
def test_parquet_without_an_engine(tmp_path):
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1")
    message = _refused(path)
    assert message.startswith(f"reading {path} needs pyarrow or fastparquet (")
    assert message.endswith(PARQUET_ENGINE.format(path="", error="")[-30:])


def test_parquet_that_is_not_parquet(tmp_path, monkeypatch):
    def corrupt(path):
        raise ValueError("Parquet magic bytes not found")
    monkeypatch.setattr(pd, "read_parquet", corrupt)
    path = tmp_path / "data.parquet"
    path.write_bytes(b"age,outcome\n")
    assert _refused(path) == NOT_PARQUET.format(path=path, error="Parquet magic bytes not found")


def test_infinite_and_huge_numbers(tmp_path):
    table = patients(40)
    table["dose"][2] = "inf"
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path) == NOT_FINITE_VALUE.format(path=path, column="dose", row=3, value=float("inf"))
    table["dose"] = [1e300 * (i + 1) for i in range(40)]
    path = write_csv(tmp_path / "data.csv", table)
    assert _refused(path) == NOT_FINITE_FEATURE.format(path=path, feature="numeric__dose", column="dose",
                                                       value=max(table["dose"][i] for i in range(40)))


def test_a_banded_column_with_text(tmp_path):
    table = patients(40)
    table["age"][4] = "old"
    path = write_csv(tmp_path / "data.csv", table)
    message = _refused(path, sensitive=["age_band"], bins={"age": [40, 60]})
    assert message == BAND_NOT_NUMERIC.format(path=path, name="age_band", column="age", row=5, value="old")


def test_declared_features_must_not_leak_the_target_or_have_two_types(tmp_path):
    path = write_csv(tmp_path / "data.csv", patients(40))
    assert _refused(path, categorical=["site", "outcome"]) == TARGET_AS_FEATURE.format(
        path=path, option="data.categorical", column="outcome")
    assert _refused(path, categorical=["site", "age"], numeric=["age"]) == TWO_TYPES.format(path=path, column="age")


@pytest.mark.parametrize("extra, arg, expected, fix", [
    ({"test_size": "0.3"}, "test_size", "a number", "E.g. 0.3."),
    ({"split_seed": -1}, "split_seed", "an integer in [0, 4294967295]", "E.g. data.split_seed=0."),
    ({"encoding": "utf-42"}, "encoding", "a text encoding Python knows", "E.g. utf-8 or latin-1."),
    ({"bins": {"age": "40"}}, "bins.age", "a list", "Write data.bins.age: [40]."),
    ({"bins": {"age": [float("nan")]}}, "bins.age", "a list of finite numbers (upper band edges)",
     "E.g. [24, 34, 44, 54, 64]."),
    ({"reference": {"sex": ["F"]}}, "reference.sex", "one value (text, number or boolean)",
     "E.g. --set 'data.reference.sex=\"yes\"'."),
    ({"one_vs_rest": "yes"}, "one_vs_rest", "true or false", "Write data.one_vs_rest=true (unquoted)."),
    ({"target": True}, "target", "a column name", QUOTE_BOOLEAN.format(key="target")),
    ({"na_values": [False]}, "na_values", "a list of text", QUOTE_BOOLEAN.format(key="na_values")),
    ({"sensitive": ["sex", "sex"]}, "sensitive", "a list of distinct names", "Remove the repeated ['sex']."),
    ({"intersections": "sex"}, "intersections", "a list", "Write data.intersections: [sex]."),
    ({"intersections": [["sex"]]}, "intersections", "a list of lists of two or more features", "E.g. [[sex, race]]."),
    ({"mitigate": "site"}, "mitigate", "a feature named in data.sensitive",
     "Pick one of ['sex'], or add it to data.sensitive."),
    ({"test_path": 3}, "test_path", "text", "E.g. data.test_path=<text>."),
])
def test_option_values_of_the_wrong_type_name_the_option(tmp_path, extra, arg, expected, fix):
    path = write_csv(tmp_path / "data.csv", patients(40))
    value = extra[arg.split(".")[0]]
    received = value[arg.split(".")[1]] if "." in arg else value
    if arg in ("na_values", "intersections") and isinstance(received, list):
        received = received[0]
    assert _refused(path, **extra) == BAD_VALUE.format(arg=f"data.{arg}", expected=expected, received=repr(received),
                                                       fix=fix)


def test_options_that_are_not_a_mapping_or_have_odd_keys():
    with pytest.raises(InputError) as error:
        load_data("csv", options=["path", "x.csv"])
    assert str(error.value) == BAD_VALUE.format(arg="data", expected="a mapping of options",
                                                received="['path', 'x.csv']", fix=OPTIONS_NOT_MAPPING)
    with pytest.raises(InputError) as error:
        load_data("csv", options={**_options("x.csv"), 3: 1, "pth": 2})
    assert str(error.value).startswith(UNKNOWN_OPTIONS.format(kind="tabular data", names=[3, "pth"], valid="")[:-2])


@pytest.mark.parametrize("package", ["no_such_package_here", "no_such.sub", "", "json.decoder"])
def test_a_package_that_cannot_be_found(tmp_path, package):
    assert _refused("data.csv", package=package) == FILE_MISSING.format(
        what="package", path=package, fix=PACKAGE_FIX.format(package=package))

