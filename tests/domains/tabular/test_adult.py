"""The raw UCI Adult reader: the real files' counts and base rates, and every quirk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lilaw_health.core.errors import FILE_MISSING, FILE_NOT_NUMBER, InputError
from lilaw_health.data_cards import load_card
from lilaw_health.domains.tabular import adult
from lilaw_health.domains.tabular.adult import BAD_LABEL, RAGGED, read_adult
from lilaw_health.domains.tabular.tables import NOT_DECODABLE
from tests.domains.tabular.fixtures import write_adult


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = adult.adult_folder(None)
    return read_adult(folder / "adult.data"), read_adult(folder / "adult.test")


def test_real_files_row_counts_and_complete_rows(real):
    train, test = real
    assert (len(train), len(test)) == (32_561, 16_281)
    assert len(train.dropna()) + len(test.dropna()) == 45_222
    assert train[["workclass", "occupation", "native-country"]].isna().sum().tolist() == [1836, 1843, 583]


def test_real_files_base_rates(real):
    both = pd.concat(real)
    positive = both["income"] == ">50K"
    assert positive.mean() == pytest.approx(0.239, abs=5e-4)
    assert positive[both["sex"] == "Female"].mean() == pytest.approx(0.109, abs=5e-4)
    assert positive[both["sex"] == "Male"].mean() == pytest.approx(0.304, abs=5e-4)


def test_real_files_quirks_are_handled(real):
    train, test = real
    assert set(test["income"]) == {"<=50K", ">50K"}  # the trailing "." is gone
    assert test["line"].iloc[0] == 2  # the junk first line is skipped, line numbers kept
    assert not train["workclass"].str.startswith(" ").any()  # ", " separators
    assert str(train["workclass"].dtype) == "str"  # pandas 3 string dtype
    assert set(train["native-country"].dropna()) - set(test["native-country"].dropna()) == {"Holand-Netherlands"}


def test_real_card_counts_match_the_files(real):
    train, test = real
    card = load_card("adult")
    positives = [(t["income"] == ">50K").sum() for t in real]
    assert f"| 32,561 | {positives[0]:,} |" in card and f"| 16,281 | {positives[1]:,} |" in card
    assert f"{len(train.dropna()):,}" in card and f"{len(test.dropna()):,}" in card


def test_fixture_in_raw_format_reads_like_the_real_files(tmp_path):
    folder = write_adult(tmp_path)
    train, test = read_adult(folder / "adult.data"), read_adult(folder / "adult.test")
    assert (len(train), len(test)) == (240, 120)
    assert train.loc[3, ["workclass", "occupation"]].isna().all() and pd.isna(train.loc[5, "native-country"])
    assert test["income"].isin(["<=50K", ">50K"]).all()
    assert train["age"].dtype == np.float64


GOOD = ("39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 0, 0, 40, "
        "United-States, <=50K")


@pytest.mark.parametrize("bad_line, expected", [
    ("39, State-gov, 77516, Bachelors", lambda path: RAGGED.format(path=path, line=5, count=4)),
    ("x" + GOOD, lambda path: FILE_NOT_NUMBER.format(path=path, line=5, position="column 1 (age)", value="x39",
                                                     fix="Fix or remove the line.")),
    (GOOD.replace("<=50K", "maybe"), lambda path: BAD_LABEL.format(path=path, line=5, value="maybe")),
])
def test_malformed_lines_are_named_with_file_and_line(tmp_path, bad_line, expected):
    path = write_adult(tmp_path) / "adult.data"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:4] + [bad_line + "\n"] + lines[4:]))
    with pytest.raises(InputError) as error:
        read_adult(path)
    assert str(error.value) == expected(path)


def test_non_utf8_file_names_line_and_bytes(tmp_path):
    folder = write_adult(tmp_path)
    data = (folder / "adult.data").read_bytes().replace(b"Mexico", b"M\xe9xico", 1)
    (folder / "adult.data").write_bytes(data)
    line = data[: data.index(b"M\xe9xico")].count(b"\n") + 1
    with pytest.raises(InputError) as error:
        read_adult(folder / "adult.data")
    assert str(error.value) == NOT_DECODABLE.format(path=folder / "adult.data", line=line, snippet=b"\xe9xic",
                                                    encoding="utf-8", reason="invalid continuation byte")


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(InputError) as error:
        read_adult(tmp_path / "adult.data")
    assert str(error.value) == FILE_MISSING.format(what="UCI Adult file", path=tmp_path / "adult.data",
                                                   fix=adult.INSTALL_HINT)
