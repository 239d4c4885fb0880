"""Reading CSV files: empty, malformed and missing files are named with the fix."""

from __future__ import annotations

import pytest

from lilaw_health.core.errors import FILE_EMPTY, FILE_MISSING, InputError
from lilaw_health.domains.tabular.tables import NOT_A_TABLE, SUFFIX_HINT, read_table


def test_tsv_and_extra_missing_tokens(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1\t?\n2\tx\n")
    frame = read_table(path, na_values=("?",))
    assert frame["b"].isna().tolist() == [True, False]


def test_empty_and_header_only_files(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("\n\n")
    with pytest.raises(InputError) as error:
        read_table(path)
    assert str(error.value) == FILE_EMPTY.format(path=path, expected="a header line and at least one data row")
    path.write_text("a,b\n")
    with pytest.raises(InputError) as error:
        read_table(path)
    assert str(error.value) == FILE_EMPTY.format(path=path, expected="at least one data row below the header")


def test_malformed_and_missing_files(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(InputError) as error:
        read_table(path)
    assert str(error.value) == NOT_A_TABLE.format(
        path=path, error="Error tokenizing data. C error: Expected 2 fields in line 3, saw 4\n")
    with pytest.raises(InputError) as error:
        read_table(tmp_path / "none.csv")
    assert str(error.value) == FILE_MISSING.format(what="data file", path=tmp_path / "none.csv", fix=SUFFIX_HINT)
