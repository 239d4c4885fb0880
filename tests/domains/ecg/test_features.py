"""The frozen-feature regime: data.features=minirocket (computed once, cached), the linear head
minirocket_linear, and the refusals of series models, feature models and augmentations."""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import pytest
import torch

from lilaw_health.core.errors import BAD_VALUE, SHAPE, ConfigError, InputError
from lilaw_health.domains.ecg import DOMAIN
from lilaw_health.domains.ecg.baselines import evaluate_baselines, minirocket_features
from lilaw_health.domains.ecg.data import load_data
from lilaw_health.domains.ecg.features import (AUGMENT_ON_FEATURES, FEATURES_NOTE, FEATURES_TOO_SHORT,
                                               FEATURES_UNAVAILABLE, series_data, with_features)
from lilaw_health.domains.ecg.models import (FEATURE_STATS_MISSING, NEEDS_FEATURES, NEEDS_SERIES, FeatureLinear,
                                             build_model)
from lilaw_health.recipe import load_recipe
from tests.domains.ecg.fixtures import univariate, write


@pytest.fixture(scope="module")
def series():
    return load_data("Chinatown")


@pytest.fixture(scope="module")
def features(series):
    return with_features(series, kind="minirocket")


def test_each_series_becomes_its_cached_minirocket_features(series, features):
    train_x, test_x = (np.asarray(split.inputs) for split in (series.train, series.test))
    train_f, test_f = minirocket_features(train_x, test_x, seed=0)  # the baseline's features, from the same cache
    assert features.input_shape == (9996,) and np.asarray(features.train.inputs).shape == (20, 9996)
    assert np.array_equal(np.asarray(features.train.inputs), train_f)
    assert np.array_equal(np.asarray(features.test.inputs), test_f)
    assert np.array_equal(np.asarray(features.train.targets), np.asarray(series.train.targets))
    assert features.train.sample_ids == series.train.sample_ids and features.extras["features"] == "minirocket"
    assert features.extras["notes"] == [FEATURES_NOTE.format(n_features=9996, n_train=20)]
    assert with_features(series, kind="none") is series


def test_the_data_option_computes_the_features_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LILAW_HEALTH_CACHE", str(tmp_path))
    first = load_data("Chinatown", options={"features": "minirocket"})
    cached = list((tmp_path / "minirocket").iterdir())
    stamps = [path.stat().st_mtime_ns for path in cached]
    again = load_data("Chinatown", options={"features": "minirocket"})
    assert len(cached) == 1 and [path.stat().st_mtime_ns for path in cached] == stamps
    assert torch.equal(first.train.inputs, again.train.inputs)
    with pytest.raises(InputError) as info:
        load_data("Chinatown", options={"features": "rocket"})
    assert str(info.value) == BAD_VALUE.format(arg="data.features", expected="one of none, minirocket",
                                               received="'rocket'", fix="")


def test_the_raw_series_stay_for_the_baselines(series, features):
    back = series_data(features)
    assert torch.equal(back.train.inputs, series.train.inputs) and back.input_shape == series.input_shape
    assert "features" not in back.extras and series_data(series) is series
    test_y = np.asarray(series.test.targets)
    on_series = evaluate_baselines(series, y_true=test_y, proba=np.eye(2)[test_y], names=["knn1"])
    recipe = load_recipe("ecg5000_minirocket", ["dataset=Chinatown", "data.baselines=[knn1]"])
    through_domain = DOMAIN.evaluate(features, y_true=test_y, proba=np.eye(2)[test_y], out_dir=None, recipe=recipe)
    assert through_domain["baselines"]["knn1"]["accuracy"] == on_series["baselines"]["knn1"]["accuracy"]


def test_series_too_short_for_the_kernels(tmp_path):
    rows = [(label, [float(label + i) for i in range(6)]) for label in (0, 1) for _ in range(3)]
    write(tmp_path, "Short", "tsv", univariate(rows), univariate(rows))
    with pytest.raises(InputError) as info:
        load_data("Short", options={"root": str(tmp_path), "features": "minirocket"})
    assert str(info.value) == FEATURES_TOO_SHORT.format(minimum=9, dataset="Short", length=6)


def test_without_tsai_the_option_says_which_extra_to_install(series, monkeypatch):
    monkeypatch.setitem(sys.modules, "tsai.models.MINIROCKET_Pytorch", None)
    with pytest.raises(InputError) as info:
        with_features(series, kind="minirocket")
    prefix = FEATURES_UNAVAILABLE.format(reason="")
    assert str(info.value).startswith(prefix) and 'pip install "lilaw-health[ecg]"' in str(info.value)


def test_linear_head_standardises_on_the_training_features_and_starts_at_zero(features):
    model = build_model("minirocket_linear", data=features)
    x = features.train.inputs
    standardised = (x - model.mean) / model.scale
    varying = np.asarray(x, dtype=np.float64).std(axis=0) > 0
    assert torch.allclose(standardised.mean(dim=0), torch.zeros(9996), atol=1e-4)
    assert torch.allclose(standardised.std(dim=0, unbiased=False)[varying], torch.ones(int(varying.sum())), atol=1e-3)
    assert torch.equal(model(x), torch.zeros(20, 2))
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["head.weight", "head.bias"]
    plain = build_model("minirocket_linear", data=features, options={"standardise": False})
    assert torch.equal(plain.mean, torch.zeros(9996)) and torch.equal(plain.scale, torch.ones(9996))


def test_linear_head_checks_its_fit_data():
    with pytest.raises(InputError) as info:
        FeatureLinear(6, 2)
    assert str(info.value) == FEATURE_STATS_MISSING.format(model="minirocket_linear", n_features=6)
    with pytest.raises(InputError) as info:
        FeatureLinear(6, 2, fit_data=np.zeros((4, 5)))
    assert str(info.value) == SHAPE.format(arg="fit_data", expected="(n_samples, 6)", received=(4, 5),
                                           fix="Pass the training features.")


def test_models_and_augmentations_refuse_the_other_kind_of_input(series, features):
    with pytest.raises(ConfigError) as info:
        build_model("fcn", data=features)
    assert str(info.value) == NEEDS_SERIES.format(model="fcn", features="minirocket", n_features=9996)
    with pytest.raises(ConfigError) as info:
        build_model("minirocket_linear", data=series)
    assert str(info.value) == NEEDS_FEATURES.format(model="minirocket_linear", shape=(1, 24),
                                                    series="fcn, inception_time, lstm, lstm_plus, minirocket, resnet")
    with pytest.raises(ConfigError) as info:
        DOMAIN.build_augment([{"name": "jitter"}, {"name": "scaling", "p": 0.2}], data=features)
    assert str(info.value) == AUGMENT_ON_FEATURES.format(names="jitter, scaling", features="minirocket")
    assert DOMAIN.build_augment([], data=features) is None
    assert DOMAIN.build_augment([{"name": "jitter"}], data=series) is not None


def test_a_run_trains_the_linear_head_on_the_features(tmp_path):
    from lilaw_health.experiment import run_experiment

    recipe = load_recipe("ucr", ["dataset=Chinatown", "method=lilaw", "epochs=3", "min_steps=0",
                                 "data.baselines=[knn1]", "batch_size=8"])  # the default for any series dataset
    assert (recipe.model, recipe.data["features"], recipe.noise.kind) == ("minirocket_linear", "minirocket", "none")
    metrics = run_experiment(dataclasses.replace(recipe, name="features"), tmp_path / "run")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs_run"] == 3
    assert metrics["test"]["accuracy"] > 0.8 and set(metrics["domain"]["summary"]) == {"knn1_accuracy"}
    assert "9996 MiniRocket features" in (tmp_path / "run" / "report.html").read_text()
