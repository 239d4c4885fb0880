"""The time-series baselines: 1-NN against scikit-learn, MiniRocket-ridge on real UCR sets, the
warning when the network is below 1-NN, the reasons a baseline does not run, and the option."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from lilaw_health.core.errors import BAD_VALUE, InputError, UnknownNameError
from lilaw_health.domains.ecg import DOMAIN, baselines
from lilaw_health.domains.ecg.baselines import (BELOW_KNN, LABELS_MISALIGNED, NOT_FINITE_INPUTS, PADDED, TOO_SHORT,
                                                 TRY_RIDGE, TRY_UCR,
                                                evaluate_baselines, minirocket_ridge, nearest_neighbour,
                                                run_baselines)
from lilaw_health.domains.ecg.data import BASELINES_EXAMPLE, load_data
from lilaw_health.domains.ecg.models import TSAI_MISSING
from lilaw_health.recipe import load_recipe
from tests.domains.ecg.fixtures import univariate, write


def _arrays(data):
    return tuple(np.asarray(a) for a in (data.train.inputs, data.train.targets, data.test.inputs, data.test.targets))


def _uniform_proba(n: int, n_classes: int) -> np.ndarray:
    """Predicts class 0 for every series (ties broken towards the first class)."""
    proba = np.full((n, n_classes), 1.0 / n_classes)
    proba[:, 0] += 1e-3
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def chinatown():
    return load_data("Chinatown")


@pytest.mark.parametrize("dataset", ["ECG200", "Chinatown"])
def test_knn1_predicts_as_scikit_learn(dataset):
    train_x, train_y, test_x, test_y = _arrays(load_data(dataset))
    oracle = KNeighborsClassifier(n_neighbors=1, algorithm="brute").fit(train_x.reshape(len(train_x), -1), train_y)
    expected = oracle.predict(test_x.reshape(len(test_x), -1))
    np.testing.assert_array_equal(nearest_neighbour(train_x, train_y, test_x), expected)
    assert np.mean(expected == test_y) > 0.85  # the archive's 1-NN Euclidean: 0.88 (ECG200), 0.94 here (Chinatown)


def test_knn1_flattens_channels_and_does_not_depend_on_the_chunk_size(monkeypatch):
    rng = np.random.default_rng(0)
    train_x, test_x = rng.normal(size=(40, 3, 25)), rng.normal(size=(30, 3, 25))
    train_y = rng.integers(0, 4, size=40)
    expected = KNeighborsClassifier(n_neighbors=1).fit(train_x.reshape(40, -1), train_y).predict(test_x.reshape(30, -1))
    np.testing.assert_array_equal(nearest_neighbour(train_x, train_y, test_x), expected)
    monkeypatch.setattr(baselines, "CHUNK_BYTES", 1)  # one test series per chunk
    np.testing.assert_array_equal(nearest_neighbour(train_x, train_y, test_x), expected)


def test_minirocket_ridge_is_far_above_chance_and_seeded(chinatown):
    train_x, train_y, test_x, test_y = _arrays(chinatown)
    state = np.random.get_state()
    predicted = minirocket_ridge(train_x, train_y, test_x, seed=0)
    assert np.mean(predicted == test_y) > 0.95  # the majority class is 0.73; ROCKET publishes 0.983
    assert np.array_equal(np.random.get_state()[1], state[1])  # tsai reseeds numpy; the run's state is kept
    np.testing.assert_array_equal(minirocket_ridge(train_x, train_y, test_x, seed=0), predicted)


def test_network_below_knn1_is_a_warning_naming_both_numbers(chinatown):
    _, _, _, test_y = _arrays(chinatown)
    result = DOMAIN.evaluate(chinatown, y_true=test_y, proba=_uniform_proba(len(test_y), 2), out_dir=None)
    model, knn = np.mean(test_y == 0), result["baselines"]["knn1"]["accuracy"]
    assert result["model"]["accuracy"] == pytest.approx(model)
    assert result["warnings"] == [BELOW_KNN.format(model=model, knn=knn, n_train=20, advice=TRY_UCR)]
    assert set(result["summary"]) == {"knn1_accuracy", "minirocket_ridge_accuracy"}
    assert result["summary"]["knn1_accuracy"] == knn
    assert result["not_run"] == {}
    assert any(line.startswith("1-NN Euclidean: accuracy") and line.endswith(" s).") for line in result["report"])
    perfect = np.eye(2)[test_y]
    assert DOMAIN.evaluate(chinatown, y_true=test_y, proba=perfect, out_dir=None)["warnings"] == []


def test_training_labels_are_those_given(chinatown):
    _, train_y, _, test_y = _arrays(chinatown)
    flipped = 1 - train_y  # every label wrong: 1-NN then predicts the wrong class wherever it was right
    clean = evaluate_baselines(chinatown, y_true=test_y, proba=np.eye(2)[test_y], names=["knn1"])
    noisy = evaluate_baselines(chinatown, y_true=test_y, proba=np.eye(2)[test_y], names=["knn1"],
                               train_labels=flipped)
    assert noisy["baselines"]["knn1"]["accuracy"] == pytest.approx(1 - clean["baselines"]["knn1"]["accuracy"])


def test_skip_reasons():
    rng = np.random.default_rng(0)
    short_x, y = rng.normal(size=(12, 1, 8)).astype(np.float32), np.arange(12) % 2
    results = run_baselines(["knn1", "minirocket_ridge"], short_x, y, short_x, y, n_classes=2)
    assert results[0].metrics is not None and results[0].metrics["accuracy"] == 1.0
    assert results[1].metrics is None
    assert results[1].reason == "skipped: " + TOO_SHORT.format(length=8, minimum=9)
    padded = rng.normal(size=(12, 1, 20)).astype(np.float32)
    padded[3, 0, 15:] = np.nan
    for result in run_baselines(["knn1", "minirocket_ridge"], padded, y, padded[:4], y[:4], n_classes=2):
        assert result.reason == "skipped: " + NOT_FINITE_INPUTS.format(count=1, split="training")
    failed = run_baselines(["minirocket_ridge"], padded[4:], y, padded[4:], y[4:], n_classes=2)[0]
    assert failed.metrics is None and failed.reason.startswith("failed: ") and "inconsistent" in failed.reason


def test_missing_tsai_skips_minirocket_only(chinatown, monkeypatch):
    monkeypatch.setitem(sys.modules, "tsai.models.MINIROCKET_Pytorch", None)
    train_x, train_y, test_x, test_y = _arrays(chinatown)
    knn, rocket = run_baselines(["knn1", "minirocket_ridge"], train_x, train_y, test_x, test_y, n_classes=2)
    assert knn.metrics is not None
    before, after = TSAI_MISSING.format(model="minirocket_ridge", error="{error}").split("{error}")
    assert re.fullmatch(re.escape("skipped: " + before) + ".+" + re.escape(after), rocket.reason)


def test_labels_of_a_subsample_skip_every_baseline(chinatown):
    _, train_y, _, test_y = _arrays(chinatown)
    result = evaluate_baselines(chinatown, y_true=test_y, proba=np.eye(2)[test_y], names=["knn1", "minirocket_ridge"],
                                train_labels=train_y[:15])
    reason = "skipped: " + LABELS_MISALIGNED.format(count=15, total=20)
    assert result["not_run"] == {"knn1": reason, "minirocket_ridge": reason}
    assert result["summary"] == {} and result["warnings"] == []


def test_padded_series_are_compared_as_the_model_sees_them(tmp_path):
    rows = [(label, list(np.sin(np.arange(length) / (2 + label)))) for label in (0, 1)
            for length in (12, 14, 16, 18)]
    write(tmp_path, "Ragged", "tsv", univariate(rows), univariate(rows))
    data = load_data("Ragged", options={"root": str(tmp_path)})
    test_y = np.asarray(data.test.targets)
    result = evaluate_baselines(data, y_true=test_y, proba=np.eye(2)[test_y], names=["knn1"])
    assert result["baselines"]["knn1"]["accuracy"] == 1.0  # the test series are the training series
    assert result["report"][-1] == PADDED.format(policy="pad")


def test_the_option_chooses_or_skips_the_baselines(chinatown):
    test_y = np.asarray(chinatown.test.targets)
    recipe = load_recipe("ecg5000", ["dataset=Chinatown", "data.baselines=[]"])
    assert DOMAIN.evaluate(chinatown, y_true=test_y, proba=np.eye(2)[test_y], out_dir=None, recipe=recipe) is None
    recipe = load_recipe("ecg5000", ["dataset=Chinatown", "data.baselines=[knn1]"])
    result = DOMAIN.evaluate(chinatown, y_true=test_y, proba=np.eye(2)[test_y], out_dir=None, recipe=recipe)
    assert list(result["baselines"]) == ["knn1"]
    with pytest.raises(InputError) as info:
        load_data("Chinatown", options={"baselines": "knn1"})
    assert str(info.value) == BAD_VALUE.format(arg="data.baselines", expected="a list of baseline names",
                                               received="'knn1'", fix=BASELINES_EXAMPLE)
    assert BASELINES_EXAMPLE == ("E.g. data.baselines=[knn1] (valid: knn1, minirocket_ridge), "
                                 "or data.baselines=[] to skip them.")
    with pytest.raises(UnknownNameError, match=r"unknown ecg baseline 'knn'; valid names are: knn1, minirocket_ridge. "
                                               r"Set data.baselines to a list of these names, or \[\] to skip them."):
        load_data("Chinatown", options={"baselines": ["knn"]})
    with pytest.raises(InputError) as info:
        load_data("Chinatown", options={"baselines": ["knn1", "knn1"]})
    assert str(info.value) == BAD_VALUE.format(arg="data.baselines", expected="distinct names",
                                               received=["knn1", "knn1"], fix="Remove the repeated ['knn1'].")


def test_a_run_reports_the_baselines(tmp_path, caplog):
    from lilaw_health.experiment import run_experiment

    recipe = load_recipe("ecg5000", ["dataset=Chinatown", "method=erm", "epochs=1", "min_steps=0",
                                     "data.baselines=[knn1]"])
    with caplog.at_level(logging.WARNING):
        run_experiment(dataclasses.replace(recipe, batch_size=8), tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    domain = metrics["domain"]
    assert set(domain["summary"]) == {"knn1_accuracy"} and domain["model"]["accuracy"] == metrics["test"]["accuracy"]
    assert "1-NN Euclidean: accuracy" in (tmp_path / "run" / "report.html").read_text()
    below = metrics["test"]["accuracy"] < domain["summary"]["knn1_accuracy"]
    assert any("below the 1-NN Euclidean baseline" in r.getMessage() for r in caplog.records) == below


def test_below_knn1_on_minirocket_features_points_to_the_ridge_not_to_the_same_recipe(chinatown):
    _, _, _, test_y = _arrays(chinatown)
    recipe = load_recipe("ucr", overrides=["dataset=Chinatown", "data.baselines=[knn1]"])
    result = DOMAIN.evaluate(chinatown, y_true=test_y, proba=_uniform_proba(len(test_y), 2), out_dir=None,
                             recipe=recipe)
    (warning,) = result["warnings"]
    assert warning.endswith(TRY_RIDGE) and "`ucr` recipe" not in warning
