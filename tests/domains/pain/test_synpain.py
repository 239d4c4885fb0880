"""The SynPAIN loader on tiny folders in the published layout: names, packed pairs, folds files.

Every error is compared with its message template in :mod:`lilaw_health.domains.pain.synpain`.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.pain import synpain
from lilaw_health.domains.pain.formats import COLUMNS
from lilaw_health.domains.pain.synpain import load_synpain
from tests.domains.pain.fixtures import synpain_folder

NAMES = ["1100300001_Pain_Man_Young.jpg", "1000300001_NoPain_Man_Young.jpg", "1111400002_Pain_Woman_Old.jpg"]


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


def test_synpain_labels_demographics_and_identity_from_names(tmp_path):
    table, report = load_synpain(synpain_folder(tmp_path, NAMES))
    assert list(table.columns) == list(COLUMNS) and report.rows == 3
    rows = table.set_index(table["path"].map(lambda p: p.rsplit("/", 1)[1]))
    assert rows.loc[NAMES[0], ["label", "pspi", "gender", "age", "race"]].tolist() == [1, 1.0, "Man", "Young", "White"]
    assert rows.loc[NAMES[2], ["label", "gender", "age", "race"]].tolist() == [1, "Woman", "Old", "East Asian"]
    assert rows.loc[NAMES[1], ["label", "pspi"]].tolist() == [0, 0.0]
    # the Pain and NoPain images of serial 00001 are one identity: the ID without its pain digit
    assert rows.loc[NAMES[0], "subject"] == rows.loc[NAMES[1], "subject"] == "100300001"
    assert set(table["source"]) == {"synpain"} and table["cohort"].isna().all() and table["fold"].isna().all()


def test_synpain_packed_pairs_auto_always_never(tmp_path):
    wide = load_synpain(synpain_folder(tmp_path / "wide", NAMES[:1], size=(64, 32))).table.iloc[0]
    assert (wide["region"], wide["reference_region"], wide["reference_path"]) == ("right", "left", wide["path"])
    square = load_synpain(synpain_folder(tmp_path / "square", NAMES[:1], size=(32, 32))).table.iloc[0]
    assert square["region"] is None and square["reference_path"] is None
    assert load_synpain(tmp_path / "square", pairs="always").table.iloc[0]["region"] == "right"
    assert load_synpain(tmp_path / "wide", pairs="never").table.iloc[0]["region"] is None
    # the folder holding SynPain/ works as root too
    assert load_synpain(tmp_path / "wide").table.iloc[0]["path"].startswith(str(tmp_path / "wide" / "SynPain"))
    _raises(BAD_VALUE.format(arg="pairs", expected="'auto', 'always' or 'never'", received="'sometimes'",
                             fix="Use 'auto' unless the image widths mislead it."),
            load_synpain, tmp_path / "wide", pairs="sometimes")


@pytest.mark.parametrize(("name", "position", "field", "digit", "meaning", "word", "expected"), [
    ("1000300001_Pain_Man_Young.jpg", 2, "pain", "0", "'NoPain'", "Pain", "1"),
    ("1110300001_Pain_Man_Young.jpg", 3, "gender", "1", "'Woman'", "Man", "0"),
    ("1101300001_Pain_Man_Young.jpg", 4, "age", "1", "'Old'", "Young", "0"),
    ("1170300001_Pain_Man_Young.jpg", 3, "gender", "7", "'nothing'", "Man", "0"),
])
def test_synpain_id_digit_disagreeing_with_its_word(tmp_path, name, position, field, digit, meaning, word, expected):
    folder = synpain_folder(tmp_path, [name])
    _raises(synpain.SYNPAIN_DIGIT.format(path=folder / "Images" / name, position=position, field=field, digit=digit,
                                         meaning=meaning, word=word, expected=expected), load_synpain, folder)


@pytest.mark.parametrize(("name", "problem"), [
    ("face_001.jpg", "the name is not in the convention"),
    ("110030001_Pain_Man_Young.jpg", "the name is not in the convention"),  # 9 digits
    ("1100300001_Pain_Male_Young.jpg", "the name is not in the convention"),
    ("2100300001_Pain_Man_Young.jpg", "the ID starts with 2, not 1"),
    ("1100700001_Pain_Man_Young.jpg", "race digit 5 is 7, not 0..4"),
])
def test_synpain_name_out_of_convention(tmp_path, name, problem):
    folder = synpain_folder(tmp_path, [name])
    message = synpain.SYNPAIN_NAME.format(path=folder / "Images" / name, problem=problem)
    assert "ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg" in message
    _raises(message, load_synpain, folder)


def test_synpain_missing_or_empty_images_folder(tmp_path):
    with pytest.raises(InputError, match="SynPAIN Images folder not found: .*Pass the SynPain folder"):
        load_synpain(tmp_path)
    (tmp_path / "Images").mkdir()
    (tmp_path / "Images" / "notes.txt").write_text("x")
    _raises(synpain.SYNPAIN_NO_IMAGES.format(folder=tmp_path / "Images"), load_synpain, tmp_path)


def test_synpain_unreadable_image_header(tmp_path):
    folder = synpain_folder(tmp_path, NAMES[:1])
    (folder / "Images" / NAMES[0]).write_text("not a jpeg")
    with pytest.raises(InputError, match=re.escape(synpain.IMAGE_UNREADABLE.split("(")[0].format(
            path=folder / "Images" / NAMES[0]))) as error:
        load_synpain(folder)
    assert str(error.value).endswith("Replace or remove the file, or pass pairs='always' or 'never'.")
    assert load_synpain(folder, pairs="never").report.rows == 1


def test_synpain_folds_both_text_forms(tmp_path):
    text = ("# folds\n\nfold 1: 1100300001 1000300001\n"
            "1111400002_Pain_Woman_Old.jpg, 2\n1199999999 3\n")
    table, report = load_synpain(synpain_folder(tmp_path, [*NAMES, "1001000003_NoPain_Man_Old.jpg"],
                                                folds_text=text))
    folds = dict(zip(table["path"].map(lambda p: p.rsplit("/", 1)[1][:10]), table["fold"]))
    assert (folds["1100300001"], folds["1000300001"], folds["1111400002"]) == (1, 1, 2)
    assert pd.isna(folds["1001000003"])
    assert report.checks == {"not_in_folds_file": 1, "folds_entries_without_image": 1}


def test_synpain_folds_unreadable_line_and_double_entry(tmp_path):
    folder = synpain_folder(tmp_path, NAMES, folds_text="fold 1: 1100300001\nthree words here\n")
    _raises(synpain.FOLDS_LINE.format(path=folder / "SynPain_folds.txt", line=2, text="three words here"),
            load_synpain, folder)
    (folder / "SynPain_folds.txt").write_text("1100300001 1\n\n1100300001.jpg 2\n")
    _raises(synpain.FOLDS_TWICE.format(path=folder / "SynPain_folds.txt", line=3, key="1100300001", first=1,
                                       first_line=1), load_synpain, folder)
