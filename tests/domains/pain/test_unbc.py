"""The UNBC-McMaster loader on tiny HDF5 files in the lab's layout: the join on index, PNG frames, folds.

Every error is compared with its message template in :mod:`lilaw_health.domains.pain.unbc`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from lilaw_health.core.errors import InputError
from lilaw_health.domains.pain import unbc
from lilaw_health.domains.pain.folds import LEAK_FIX, SUBJECT_LEAK
from lilaw_health.domains.pain.formats import PSPI_RANGE
from lilaw_health.domains.pain.unbc import load_unbc_hdf5
from tests.domains.pain.fixtures import unbc_annotations, unbc_folder


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


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
    _raises(PSPI_RANGE.format(path=root / "annotations_unbc_2020.hdf5", where="row 2 (index 10)", value=17.0),
            load_unbc_hdf5, root)


def test_unbc_bad_files(tmp_path):
    root = _unbc(tmp_path / "two")
    _unbc(root, tag="2021")
    _raises(unbc.H5_FILES.format(root=root, pattern="frames_unbc_*.hdf5",
                                    found=["frames_unbc_2020.hdf5", "frames_unbc_2021.hdf5"],
                                    fix="Keep exactly one such file in the folder (move other versions away)."),
            load_unbc_hdf5, root)
    root = _unbc(tmp_path / "dup", frame_index=(10, 11, 11, 13))
    _raises(unbc.H5_DUPLICATE.format(path=root / "frames_unbc_2020.hdf5", value=11, rows=[1, 2]),
            load_unbc_hdf5, root)
    root = _unbc(tmp_path / "pixels", images=np.full((4, 6, 5), 300.0))
    _raises(unbc.H5_PIXELS.format(path=root / "frames_unbc_2020.hdf5", row=0, dtype="float64", shape=(6, 5),
                                     low=300.0, high=300.0), load_unbc_hdf5, root)


def test_unbc_missing_dataset(tmp_path):
    import h5py

    root = _unbc(tmp_path)
    with h5py.File(root / "annotations_unbc_2020.hdf5", "a") as handle:
        del handle["label_AU_43"]
    found = sorted(["index", "label_AU_10", "label_AU_4", "label_AU_6", "label_AU_7", "label_AU_9", "label_pspi",
                    "subject_name"])
    _raises(unbc.H5_DATASET.format(path=root / "annotations_unbc_2020.hdf5", name="label_AU_43", found=found,
                                      fix="Is this the file of the lab's Pain-in-3D export?"), load_unbc_hdf5, root)


def test_unbc_folds_with_a_subject_on_both_sides_or_held_out_twice(tmp_path):
    root = _unbc(tmp_path / "leak", folds={"fold-0": (["042-ll", "095-tv"], ["042-ll"])})
    _raises(SUBJECT_LEAK.format(where=f"{root / 'UNBC_CVFolds_2020.hdf5'}, group fold-0", count=1, subjects="042-ll",
                                fix=LEAK_FIX), load_unbc_hdf5, root)
    root = _unbc(tmp_path / "twice", folds={"fold-0": ([], ["042-ll"]), "fold-1": ([], ["042-ll"])})
    _raises(unbc.FOLD_TWICE.format(path=root / "UNBC_CVFolds_2020.hdf5", subject="042-ll", first="fold-0",
                                      second="fold-1"), load_unbc_hdf5, root)
