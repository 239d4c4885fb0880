"""UCR TSV loading: the real ECG5000 and small fixtures in the same format."""

from __future__ import annotations

import numpy as np
import pytest

from lilaw_health.core.errors import InputError
from lilaw_health.domains.ecg.data import load_data


def test_real_ecg5000_counts():
    data = load_data("ECG5000")
    assert (len(data.train), len(data.test), data.n_classes, data.input_shape) == (500, 4500, 5, (1, 140))
    assert np.bincount(data.train.targets).tolist() == [292, 177, 10, 19, 2]
    assert np.bincount(data.test.targets).tolist() == [2627, 1590, 86, 175, 22]
    assert data.class_names == ["1", "2", "3", "4", "5"]


def _write(folder, name, rows):
    (folder / f"{name}.tsv").write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")


def test_string_and_signed_labels_map_to_contiguous_ids(tmp_path):
    _write(tmp_path, "Toy_TRAIN", [["b", 1, 2, 3], ["a", 4, 5, 6], [-1, 0, 0, 1]])
    _write(tmp_path, "Toy_TEST", [["a", 1, 1, 1], [-1, 2, 2, 2]])
    data = load_data("Toy", options={"root": str(tmp_path)})
    assert data.class_names == ["-1", "a", "b"]
    assert data.train.targets.tolist() == [2, 1, 0] and data.test.targets.tolist() == [1, 0]


@pytest.mark.parametrize("train_rows, test_rows, match", [
    ([[1, 0.5, "x"], [2, 1, 1]], [[1, 1, 1]], r"Bad_TRAIN.tsv, line 1, column 3: 'x' is not a number"),
    ([[1, 0.5, 1], [2, 1, 1]], [[3, 1, 1]], r"label\(s\) \['3'\] absent from the training file"),
    ([[1, "NaN", "NaN"], [2, 1, 1]], [[1, 1, 1]], r"Bad_TRAIN.tsv, line 1: the series is all NaN"),
])
def test_bad_files_name_file_and_line(tmp_path, train_rows, test_rows, match):
    _write(tmp_path, "Bad_TRAIN", train_rows)
    _write(tmp_path, "Bad_TEST", test_rows)
    with pytest.raises(InputError, match=match):
        load_data("Bad", options={"root": str(tmp_path)})


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(InputError, match=r"UCR train file not found: .*Gone_TRAIN.tsv. Install the UCR archive"):
        load_data("Gone", options={"root": str(tmp_path)})
    (tmp_path / "Empty_TRAIN.tsv").write_text("")
    (tmp_path / "Empty_TEST.tsv").write_text("")
    with pytest.raises(InputError, match="Empty_TRAIN.tsv is empty"):
        load_data("Empty", options={"root": str(tmp_path)})
    with pytest.raises(InputError, match=r"unknown ecg data option\(s\) \['rot'\]; valid: root"):
        load_data("ECG5000", options={"rot": "x"})
