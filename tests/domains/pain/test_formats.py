"""The pain loaders on tiny files in the published formats: SynPAIN folders, UNBC HDF5, frames + CSV.

Every error is compared with its message template in :mod:`lilaw_health.domains.pain.formats`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lilaw_health.core.errors import BAD_VALUE, FILE_NOT_NUMBER, InputError
from lilaw_health.domains.pain import formats
from lilaw_health.domains.pain.folds import LEAK_FIX, SUBJECT_LEAK
from lilaw_health.domains.pain.formats import load_frames_csv, load_synpain, load_unbc_hdf5
from tests.domains.pain.fixtures import frames_csv, synpain_folder, unbc_annotations, unbc_folder

NAMES = ["1100300001_Pain_Man_Young.jpg", "1000300001_NoPain_Man_Young.jpg", "1111400002_Pain_Woman_Old.jpg"]


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


# ---------------------------------------------------------------- SynPAIN


def test_synpain_labels_demographics_and_identity_from_names(tmp_path):
    table, report = load_synpain(synpain_folder(tmp_path, NAMES))
    assert list(table.columns) == list(formats.COLUMNS) and report.rows == 3
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
    _raises(formats.SYNPAIN_DIGIT.format(path=folder / "Images" / name, position=position, field=field, digit=digit,
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
    message = formats.SYNPAIN_NAME.format(path=folder / "Images" / name, problem=problem)
    assert "ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg" in message
    _raises(message, load_synpain, folder)


def test_synpain_missing_or_empty_images_folder(tmp_path):
    with pytest.raises(InputError, match="SynPAIN Images folder not found: .*Pass the SynPain folder"):
        load_synpain(tmp_path)
    (tmp_path / "Images").mkdir()
    (tmp_path / "Images" / "notes.txt").write_text("x")
    _raises(formats.SYNPAIN_NO_IMAGES.format(folder=tmp_path / "Images"), load_synpain, tmp_path)


def test_synpain_unreadable_image_header(tmp_path):
    folder = synpain_folder(tmp_path, NAMES[:1])
    (folder / "Images" / NAMES[0]).write_text("not a jpeg")
    with pytest.raises(InputError, match=re.escape(formats.IMAGE_UNREADABLE.split("(")[0].format(
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
    _raises(formats.FOLDS_LINE.format(path=folder / "SynPain_folds.txt", line=2, text="three words here"),
            load_synpain, folder)
    (folder / "SynPain_folds.txt").write_text("1100300001 1\n\n1100300001.jpg 2\n")
    _raises(formats.FOLDS_TWICE.format(path=folder / "SynPain_folds.txt", line=3, key="1100300001", first=1,
                                       first_line=1), load_synpain, folder)


# ---------------------------------------------------------------- UNBC HDF5


def _unbc(root, *, pspi=None, folds="default", images=None, frame_index=(10, 11, 12, 13), tag="2020"):
    subjects = ["042-ll", "042-ll", "095-tv", "095-tv"]
    aus = np.array([[0, 0, 0, 0, 0, 0], [2, 1, 3, 0, 1, 1], [1, 0, 0, 2, 0, 0], [5, 5, 5, 5, 5, 1]])
    annotations = unbc_annotations(subjects, aus, pspi)
    if images is None:
        images = np.stack([np.full((6, 5), 50 * i, dtype=np.uint8) for i in range(len(frame_index))])
    fold_groups = {"fold-0": (["095-tv"], ["042-ll"]), "fold-1": (["042-ll"], ["095-tv"])} if folds == "default" \
        else folds
    # annotations stored in another order than the frames: rows join on index
    order = [3, 1, 0, 2]
    return unbc_folder(root, images=images, frame_index=list(frame_index),
                       annotations={k: v[order] for k, v in annotations.items()},
                       annotation_index=[[10, 11, 12, 13][i] for i in order], folds=fold_groups, tag=tag)


def test_unbc_rows_join_on_index_and_frames_become_pngs(tmp_path):
    table, report = load_unbc_hdf5(_unbc(tmp_path / "unbc"))
    assert table["subject"].tolist() == ["042-ll", "042-ll", "095-tv", "095-tv"]
    assert table["pspi"].tolist() == [0.0, 7.0, 3.0, 16.0] and table["label"].tolist() == [0, 1, 1, 1]
    assert table["fold"].tolist() == [0, 0, 1, 1] and set(table["source"]) == {"real"}
    for position, path in enumerate(table["path"]):
        assert path.startswith(str(tmp_path / "unbc" / "png_frames"))
        assert np.array_equal(np.asarray(Image.open(path)), np.full((6, 5), 50 * position, dtype=np.uint8))
    assert report.rows == 4 and report.skipped == {}
    assert report.checks == {"pspi_formula_mismatch": 0, "subjects_without_fold": 0}
    # a second load reuses the content-named files
    stamps = [(tmp_path / "unbc" / "png_frames" / p.rsplit("/", 1)[1]).stat().st_mtime_ns for p in table["path"]]
    again = load_unbc_hdf5(tmp_path / "unbc", cache_dir=tmp_path / "unbc" / "png_frames").table
    assert again["path"].tolist() == table["path"].tolist()
    assert stamps == [(tmp_path / "unbc" / "png_frames" / p.rsplit("/", 1)[1]).stat().st_mtime_ns
                      for p in table["path"]]


def test_unbc_pspi_formula_mismatch_counted_and_unmatched_rows_skipped(tmp_path):
    root = _unbc(tmp_path, pspi=[0, 4, 3, 16], frame_index=(10, 11, 12, 99), folds=None,
                 images=np.zeros((4, 6, 5, 3), dtype=np.float32) + 0.5)
    table, report = load_unbc_hdf5(root, threshold=3)
    assert report.checks["pspi_formula_mismatch"] == 1  # index 11: 4 recorded, 2 + 3 + 1 + 1 = 7 by the formula
    assert report.skipped == {"frame_without_annotation": 1, "annotation_without_frame": 1}
    assert table["label"].tolist() == [0, 1, 0] and table["fold"].isna().all()
    assert np.asarray(Image.open(table["path"][0])).max() == 128  # 0..1 floats scaled to 0..255


def test_unbc_pspi_out_of_range(tmp_path):
    root = _unbc(tmp_path, pspi=[17, 7, 0, 16])  # index 10; stored in the order 13, 11, 10, 12: row 2
    _raises(formats.PSPI_RANGE.format(path=root / "annotations_unbc_2020.hdf5", where="row 2 (index 10)", value=17.0),
            load_unbc_hdf5, root)


def test_unbc_bad_files(tmp_path):
    root = _unbc(tmp_path / "two")
    _unbc(root, tag="2021")
    _raises(formats.H5_FILES.format(root=root, pattern="frames_unbc_*.hdf5",
                                    found=["frames_unbc_2020.hdf5", "frames_unbc_2021.hdf5"],
                                    fix="Keep exactly one such file in the folder (move other versions away)."),
            load_unbc_hdf5, root)
    root = _unbc(tmp_path / "dup", frame_index=(10, 11, 11, 13))
    _raises(formats.H5_DUPLICATE.format(path=root / "frames_unbc_2020.hdf5", value=11, rows=[1, 2]),
            load_unbc_hdf5, root)
    root = _unbc(tmp_path / "pixels", images=np.full((4, 6, 5), 300.0))
    _raises(formats.H5_PIXELS.format(path=root / "frames_unbc_2020.hdf5", row=0, dtype="float64", shape=(6, 5),
                                     low=300.0, high=300.0), load_unbc_hdf5, root)


def test_unbc_missing_dataset(tmp_path):
    import h5py

    root = _unbc(tmp_path)
    with h5py.File(root / "annotations_unbc_2020.hdf5", "a") as handle:
        del handle["label_AU_43"]
    found = sorted(["index", "label_AU_10", "label_AU_4", "label_AU_6", "label_AU_7", "label_AU_9", "label_pspi",
                    "subject_name"])
    _raises(formats.H5_DATASET.format(path=root / "annotations_unbc_2020.hdf5", name="label_AU_43", found=found,
                                      fix="Is this the file of the lab's Pain-in-3D export?"), load_unbc_hdf5, root)


def test_unbc_folds_with_a_subject_on_both_sides_or_held_out_twice(tmp_path):
    root = _unbc(tmp_path / "leak", folds={"fold-0": (["042-ll", "095-tv"], ["042-ll"])})
    _raises(SUBJECT_LEAK.format(where=f"{root / 'UNBC_CVFolds_2020.hdf5'}, group fold-0", count=1, subjects="042-ll",
                                fix=LEAK_FIX), load_unbc_hdf5, root)
    root = _unbc(tmp_path / "twice", folds={"fold-0": ([], ["042-ll"]), "fold-1": ([], ["042-ll"])})
    _raises(formats.FOLD_TWICE.format(path=root / "UNBC_CVFolds_2020.hdf5", subject="042-ll", first="fold-0",
                                      second="fold-1"), load_unbc_hdf5, root)


# ---------------------------------------------------------------- frames + CSV

HEADER = ["path", "subject", "pspi", "age", "gender", "cohort"]


def test_frames_csv_reads_rows_and_derives_labels(tmp_path):
    rows = [["a/f0.png", "S1", "0", "Old", "Woman", "dementia"], ["a/f1.png", "S1", "3", "", "", ""],
            ["b/f0.png", "S2", "1.5", "Young", "Man", "no_dementia"]]
    csv_path = frames_csv(tmp_path, HEADER, rows, images=["a/f0.png", "a/f1.png", "b/f0.png"])
    table, report = load_frames_csv(csv_path, threshold=2)
    assert table["label"].tolist() == [0, 1, 0] and table["pspi"].tolist() == [0.0, 3.0, 1.5]
    assert table["path"].tolist() == [str(tmp_path / p) for p in ("a/f0.png", "a/f1.png", "b/f0.png")]
    assert table["age"].tolist() == ["Old", None, "Young"] and table["race"].isna().all()
    assert report.rows == 3 and report.skipped == {}
    labelled = frames_csv(tmp_path / "csv", ["path", "subject", "label", "fold", "reference_path"],
                          [["x.png", "S1", "1", "2", ""]], name="labels.csv")
    (tmp_path / "img").mkdir()
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / "img" / "x.png")
    row = load_frames_csv(labelled, image_root=tmp_path / "img", source="uofr").table.iloc[0]
    assert (row["label"], np.isnan(row["pspi"]), row["fold"], row["source"]) == (1, True, 2, "uofr")


def test_frames_csv_missing_image_error_or_counted_skip(tmp_path):
    csv_path = frames_csv(tmp_path, HEADER, [["f0.png", "S1", "0", "", "", ""], ["gone.png", "S1", "2", "", "", ""]],
                          images=["f0.png"])
    _raises(formats.CSV_MISSING_IMAGE.format(path=csv_path, line=3, column="path", image=tmp_path / "gone.png",
                                             base=tmp_path), load_frames_csv, csv_path)
    table, report = load_frames_csv(csv_path, missing="skip")
    assert len(table) == 1 and report.skipped == {"missing_path": 1}


@pytest.mark.parametrize(("row", "message"), [
    (["f0.png", "S1", "17", "", "", ""], formats.PSPI_RANGE.format(path="{csv}", where="line 2", value="17")),
    (["f0.png", "S1", "high", "", "", ""],
     FILE_NOT_NUMBER.format(path="{csv}", line=2, position="column pspi", value="high",
                            fix="Write pspi as a number, e.g. 0, 1 or 2.5.")),
    (["f0.png", "", "1", "", "", ""], formats.CSV_FIELD.format(path="{csv}", line=2, column="subject", value="",
                                                               expected="empty", fix="Every row needs a subject.")),
    (["f0.png", "S1", "", "", "", ""], formats.CSV_FIELD.format(path="{csv}", line=2, column="pspi", value="",
                                                                expected="empty",
                                                                fix="Give each row a pspi (0..16) or a label (0/1).")),
])
def test_frames_csv_bad_values(tmp_path, row, message):
    csv_path = frames_csv(tmp_path, HEADER, [row], images=["f0.png"])
    _raises(message.replace("{csv}", str(csv_path)), load_frames_csv, csv_path)


def test_frames_csv_bad_label_region_and_columns(tmp_path):
    csv_path = frames_csv(tmp_path, ["path", "subject", "label", "region"], [["f0.png", "S1", "2", ""]],
                          images=["f0.png"])
    _raises(formats.CSV_FIELD.format(path=csv_path, line=2, column="label", value="2", expected="0 or 1",
                                     fix="Write binary pain as 0/1, or give pspi instead."), load_frames_csv, csv_path)
    csv_path = frames_csv(tmp_path, ["path", "subject", "label", "region"], [["f0.png", "S1", "1", "middle"]])
    _raises(formats.CSV_FIELD.format(path=csv_path, line=2, column="region", value="middle",
                                     expected="left, right or empty", fix="Leave it empty for a whole image."),
            load_frames_csv, csv_path)
    csv_path = frames_csv(tmp_path, ["file", "subject"], [["f0.png", "S1"]])
    _raises(formats.CSV_COLUMNS.format(path=csv_path, problem="no 'path' column and neither a 'pspi' nor a 'label' "
                                       "column", found=["file", "subject"]), load_frames_csv, csv_path)
    _raises(BAD_VALUE.format(arg="missing", expected="'error' or 'skip'", received="'drop'",
                             fix="Use 'skip' to leave rows with missing images out (counted)."),
            load_frames_csv, csv_path, missing="drop")
