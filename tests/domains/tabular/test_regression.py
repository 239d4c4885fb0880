"""Regression targets in the tabular domain: the diabetes data shipped with scikit-learn, CSV
files with ``data.task: regression`` (and every error message), the MLP's single output, and
the hooks that leave a regression unaudited by the binary audit."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_diabetes

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.data_cards import load_card
from lilaw_health.domains.tabular import hooks
from lilaw_health.domains.tabular.data import load_data
from lilaw_health.domains.tabular.labels import listing
from lilaw_health.domains.tabular.models import build_model
from lilaw_health.domains.tabular.options import (CSV_NEEDS, NOT_FOR_CLASSIFICATION, NOT_FOR_DATASET,
                                                  NOT_FOR_REGRESSION)
from lilaw_health.domains.tabular.preprocess import column_missing
from lilaw_health.domains.tabular.regression import (SPLIT_TOO_SMALL, TARGET_CONSTANT, TARGET_EMPTY,
                                                     TARGET_NOT_NUMBER, TARGET_OUTSIDE_RANGE)
from lilaw_health.recipe import load_recipe, recipe_from_dict
from tests.domains.tabular.fixtures import patient_scores, write_csv

COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


@pytest.fixture(scope="module")
def diabetes():
    return load_data("diabetes")


@pytest.fixture(scope="module")
def raw():
    return load_diabetes(as_frame=True, scaled=False).frame


def _rows(dataset) -> np.ndarray:
    return np.array([int(i.split(":")[1]) for i in dataset.sample_ids])


def test_diabetes_counts_shapes_and_description(diabetes):
    assert (len(diabetes.train), len(diabetes.test)) == (353, 89)  # ceil(0.2 * 442) test rows
    assert diabetes.task == "regression" and diabetes.n_classes == 1 and diabetes.class_names == ["target"]
    assert diabetes.target_range is None and diabetes.name == "diabetes" and diabetes.input_shape == (10,)
    assert diabetes.card == load_card("diabetes")
    for part in (diabetes.train, diabetes.test):
        assert part.inputs.dtype == torch.float32 and part.inputs.shape == (len(part), 10)
        assert part.targets.dtype == np.float32 and torch.isfinite(part.inputs).all()
    assert diabetes.extras["feature_names"] == [f"numeric__{c}" for c in COLUMNS]
    assert diabetes.extras["counts"] == {"train": 353, "test": 89} and diabetes.extras["positive_label"] is None


def test_diabetes_targets_are_sklearns_and_no_row_is_on_both_sides(diabetes, raw):
    for part in (diabetes.train, diabetes.test):
        np.testing.assert_array_equal(part.targets, raw["target"].to_numpy()[_rows(part)].astype(np.float32))
    train, test = set(diabetes.train.sample_ids), set(diabetes.test.sample_ids)
    assert train.isdisjoint(test) and len(train | test) == 442
    assert list(_rows(diabetes.train)) == sorted(_rows(diabetes.train))  # scikit-learn's order on each side


def test_diabetes_split_is_seeded_and_sized_by_the_options(diabetes):
    again = load_data("diabetes")
    other = load_data("diabetes", options={"split_seed": 1})
    assert diabetes.test.sample_ids == again.test.sample_ids != other.test.sample_ids
    np.testing.assert_array_equal(diabetes.train.inputs.numpy(), again.train.inputs.numpy())
    assert len(load_data("diabetes", options={"test_size": 0.3}).test) == 133


def test_diabetes_preprocessing_is_fitted_on_train_only(diabetes, raw):
    train_raw = raw[COLUMNS].to_numpy()[_rows(diabetes.train)]
    test_raw = raw[COLUMNS].to_numpy()[_rows(diabetes.test)]
    mean, std = train_raw.mean(axis=0), train_raw.std(axis=0)
    np.testing.assert_allclose(diabetes.train.inputs.numpy(), (train_raw - mean) / std, atol=1e-5)
    np.testing.assert_allclose(diabetes.test.inputs.numpy(), (test_raw - mean) / std, atol=1e-5)
    assert np.abs(diabetes.test.inputs.numpy().mean(axis=0)).max() > 1e-3  # not scaled with its own statistics


def test_diabetes_sensitive_test_is_aligned_with_the_test_rows(diabetes, raw):
    sex = raw["sex"].to_numpy()[_rows(diabetes.test)]
    assert list(diabetes.sensitive_test.columns) == ["sex"] and len(diabetes.sensitive_test) == 89
    assert diabetes.sensitive_test["sex"].tolist() == [str(int(v)) for v in sex]
    assert diabetes.sensitive_test["sex"].value_counts().to_dict() == {"1": 54, "2": 35}
    pd.testing.assert_frame_equal(diabetes.sensitive_test, diabetes.extras["sensitive_test"])
    banded = load_data("diabetes", options={"sensitive": ["sex", "age_band"], "exclude": ["sex"]})
    ages = raw["age"].to_numpy()[_rows(banded.test)]
    expected = np.where(ages <= 39, "<=39", np.where(ages <= 59, "40-59", "60+"))
    assert banded.sensitive_test["age_band"].tolist() == expected.tolist()
    assert "numeric__sex" not in banded.extras["feature_names"] and banded.input_shape == (9,)


def test_diabetes_target_range_and_option_errors(raw):
    assert load_data("diabetes", options={"target_range": [0, 400]}).target_range == (0.0, 400.0)
    with pytest.raises(InputError) as error:
        load_data("diabetes", options={"target_range": [25, 300]})
    above = np.flatnonzero(raw["target"].to_numpy() > 300)  # every row named, not only the training rows'
    assert str(error.value) == TARGET_OUTSIDE_RANGE.format(
        path="sklearn.datasets.load_diabetes", column="target", count=above.size, low=25.0, high=300.0,
        value=raw["target"].iloc[above[0]], row=above[0], rows=listing(above.tolist()))
    for key, value, owner in (("path", "x.csv", "csv"), ("task", "classification", "csv"),
                              ("root", "/tmp", "adult"), ("na_values", ["?"], "adult or csv")):
        with pytest.raises(InputError) as error:
            load_data("diabetes", options={key: value})
        assert str(error.value) == NOT_FOR_DATASET.format(key=key, owner=owner, dataset="diabetes")
    with pytest.raises(InputError) as error:
        load_data("adult", options={"target_range": [0, 1]})
    assert str(error.value) == NOT_FOR_DATASET.format(key="target_range", owner="csv or diabetes", dataset="adult")
    with pytest.raises(InputError) as error:
        load_data("diabetes", options={"baselines": ["logistic_regression"]})
    assert str(error.value) == NOT_FOR_REGRESSION.format(key="baselines")
    with pytest.raises(InputError) as error:
        load_data("diabetes", options={"exclude": ["weight"]})
    assert str(error.value) == column_missing("sklearn.datasets.load_diabetes", "data.exclude", "weight", COLUMNS)


def test_the_mlp_outputs_one_value_per_sample(diabetes):
    model = build_model("mlp", data=diabetes, options={"hidden_sizes": [8]})
    assert model(diabetes.test.inputs[:5]).shape == (5, 1)


@pytest.fixture
def scores(tmp_path):
    return write_csv(tmp_path / "scores.csv", patient_scores(60))


def _options(path, **extra):
    return {"path": str(path), "target": "score", "task": "regression", "sensitive": ["sex"], **extra}


def test_csv_regression_loads_float_targets_with_a_seeded_shuffle_split(scores):
    task = load_data("csv", options=_options(scores, target_range=[0, 10]))
    assert task.task == "regression" and task.n_classes == 1 and task.class_names == ["score"]
    assert task.target_range == (0.0, 10.0) and (len(task.train), len(task.test)) == (42, 18)
    table = pd.read_csv(scores)
    rows = np.array([int(i.split(":")[1]) for i in task.test.sample_ids])
    np.testing.assert_array_equal(task.test.targets, table["score"].to_numpy()[rows - 1].astype(np.float32))
    assert task.sensitive_test["sex"].tolist() == table["sex"].to_numpy()[rows - 1].tolist()
    assert {"numeric__age", "numeric__dose", "categorical__sex_F"} <= set(task.extras["feature_names"])
    again = load_data("csv", options=_options(scores))
    other = load_data("csv", options=_options(scores, split_seed=1))
    assert task.test.sample_ids == again.test.sample_ids != other.test.sample_ids
    assert again.target_range is None


def test_csv_regression_with_a_test_file(tmp_path):
    table = patient_scores(60)
    train = write_csv(tmp_path / "train.csv", {k: v[:45] for k, v in table.items()})
    test = write_csv(tmp_path / "test.csv", {k: v[45:] for k, v in table.items()})
    task = load_data("csv", options=_options(train, test_path=str(test)))
    assert (len(task.train), len(task.test)) == (45, 15) and task.test.sample_ids[0] == "test.csv:1"


def test_csv_regression_refuses_text_empty_and_out_of_range_targets(tmp_path):
    table = patient_scores(30)
    table["score"][2] = "high"
    table["score"][6] = "inf"
    path = write_csv(tmp_path / "text.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path))
    assert str(error.value) == TARGET_NOT_NUMBER.format(path=path, column="score", count=2, value="high", row=3,
                                                        rows=[3, 7])
    table = patient_scores(30)
    table["score"][1] = table["score"][4] = None
    path = write_csv(tmp_path / "empty.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path))
    assert str(error.value) == TARGET_EMPTY.format(path=path, column="score", count=2, rows=[2, 5])
    table = patient_scores(30)
    table["score"][9] = 12.5
    path = write_csv(tmp_path / "range.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path, target_range=[0, 10]))
    assert str(error.value) == TARGET_OUTSIDE_RANGE.format(path=path, column="score", count=1, low=0.0, high=10.0,
                                                           value=12.5, row=10, rows=[10])


def test_csv_regression_refuses_labels_constants_and_tiny_files(tmp_path):
    table = patient_scores(30)
    table["score"] = ["True", "False"] * 15
    path = write_csv(tmp_path / "labels.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path))
    assert str(error.value).startswith(f"{path}: data.task=regression needs a finite number in target column "
                                       "'score' on every row; 30 row(s) hold something else, e.g. True on data row 1")
    table["score"] = [4.0] * 30
    path = write_csv(tmp_path / "constant.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path))
    assert str(error.value) == TARGET_CONSTANT.format(path=path, value=4.0, column="score", count=21)
    path = write_csv(tmp_path / "tiny.csv", {k: v[:3] for k, v in patient_scores(30).items()})
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(path))
    assert str(error.value) == SPLIT_TOO_SMALL.format(path=path, count=3, test_size=0.3)


def test_csv_regression_option_errors(scores):
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(scores, positive_label=1))
    assert str(error.value) == NOT_FOR_REGRESSION.format(key="positive_label")
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(scores, positive_label=0))  # 0 is a label, not "unset"
    assert str(error.value) == NOT_FOR_REGRESSION.format(key="positive_label")
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(scores, one_vs_rest=True))
    assert str(error.value) == NOT_FOR_REGRESSION.format(key="one_vs_rest")
    assert load_data("csv", options=_options(scores, one_vs_rest=False)).task == "regression"
    with pytest.raises(InputError) as error:
        load_data("csv", options={**_options(scores, positive_label="yes"), "task": "classification",
                                  "target_range": [0, 10]})
    assert str(error.value) == NOT_FOR_CLASSIFICATION
    with pytest.raises(InputError) as error:
        load_data("csv", options={"path": str(scores), "target": "score", "sensitive": ["sex"]})
    assert str(error.value) == CSV_NEEDS.format(key="positive_label")  # a classification unless told
    with pytest.raises(InputError) as error:
        load_data("csv", options=_options(scores, task="regresion"))
    assert str(error.value) == BAD_VALUE.format(arg="data.task", expected="one of classification, regression",
                                                received="'regresion'", fix="")
    for bad in ([10, 0], [0], "0-10", [0, float("inf")], [True, 2]):
        with pytest.raises(InputError) as error:
            load_data("csv", options=_options(scores, target_range=bad))
        assert str(error.value) == BAD_VALUE.format(arg="data.target_range",
                                                    expected="[low, high]: two finite numbers with low < high",
                                                    received=repr(bad), fix="E.g. [0, 16].")


def test_evaluate_does_not_run_the_binary_audit_for_a_regression(diabetes, tmp_path, monkeypatch):
    def audited(*args, **kwargs):
        raise AssertionError("the binary audit ran for a regression")
    monkeypatch.setattr(hooks, "audit_predictions", audited)
    predictions = np.full(len(diabetes.test), 150.0)
    assert hooks.evaluate(diabetes, y_true=diabetes.test.targets, proba=predictions, out_dir=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_compare_report_skips_a_regression_recipe(tmp_path, caplog):
    runs = {("erm", 0): tmp_path / "erm" / "seed0", ("lilaw", 0): tmp_path / "lilaw" / "seed0"}
    for folder in runs.values():
        folder.mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        assert hooks.compare_report(tmp_path, runs=runs, recipe=load_recipe("diabetes")) == []
        data = {"path": "s.csv", "target": "score", "task": "regression", "sensitive": ["sex"]}
        csv = recipe_from_dict({"domain": "tabular", "dataset": "csv", "data": data})
        assert hooks.compare_report(tmp_path, runs=runs, recipe=csv) == []
    assert caplog.text == "" and list(tmp_path.glob("audit.*")) == []
