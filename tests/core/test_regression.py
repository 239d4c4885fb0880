"""Regression through the core: the trainer, LiLAW's regression variant, training dynamics and
their mislabel score, on a small synthetic problem with corrupted targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core import ArrayDataset, LabeledView, TrainConfig, Trainer, build_method
from lilaw_health.core.errors import ConfigError, InputError, UnknownNameError
from lilaw_health.core.metrics import detection_metrics, regression_metrics
from lilaw_health.core.target_noise import inject_target_noise
from lilaw_health.core.task import Regression


def _problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (10 + 4 * x[:, 0] - 3 * x[:, 1] + rng.normal(scale=0.3, size=n)).astype(np.float32)
    return x, y


def _views(x, y):
    dataset = ArrayDataset(x, y, task="regression")
    idx = np.arange(len(y))
    val = idx % 5 == 0
    return (LabeledView(dataset, idx[~val], y[~val], idx[~val].tolist()),
            LabeledView(dataset, idx[val], y[val], idx[val].tolist()))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))


@pytest.mark.parametrize("method", ["erm", "lilaw"])
def test_both_methods_fit_a_regression(method, tmp_path):
    x, y = _problem()
    task = Regression((float(y.min()), float(y.max())))
    train, val = _views(x, y)
    trainer = Trainer(_model(), build_method(method, train_labels=train.targets, n_classes=1, task=task),
                      config=TrainConfig(epochs=40, batch_size=32, lr=0.01, monitor="mae"), task=task,
                      checkpoint_dir=tmp_path)
    result = trainer.fit(train, val)
    predicted = trainer.predict_proba(val)
    assert predicted.shape == (len(val),)
    assert regression_metrics(val.targets, predicted)["mae"] < 1.0  # target spread is about 5
    assert "val_mae" in result.history and result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]
    if method == "lilaw":
        assert len(result.trajectory) > 0 and set(trainer.method.scalars()) == {"alpha", "beta", "delta"}


def test_corrupted_targets_get_high_mislabel_scores():
    x, y = _problem(n=400)
    noisy = inject_target_noise(y, kind="shift", rate=0.2, seed=0)
    task = Regression(noisy.target_range)
    dataset = ArrayDataset(x, noisy.targets.astype(np.float32), task="regression")
    idx = np.arange(len(y))
    train = LabeledView(dataset, idx[40:], dataset.targets[40:], idx[40:].tolist())
    val = LabeledView(dataset, idx[:40], dataset.targets[:40], idx[:40].tolist())
    trainer = Trainer(_model(), build_method("lilaw", train_labels=train.targets, n_classes=1, task=task),
                      config=TrainConfig(epochs=15, batch_size=32, lr=0.01, monitor="loss"), task=task)
    result = trainer.fit(train, val)
    scores = result.train_dynamics.scores()
    assert detection_metrics(noisy.corrupted[40:], scores["mislabel_score"].to_numpy())["auroc"] > 0.9
    assert np.isfinite(result.train_dynamics.last_predicted).all()  # predicted values, not class ids


def test_regression_is_refused_where_it_has_no_meaning():
    x, y = _problem(n=50)
    task = Regression((0.0, 20.0))
    train, _ = _views(x, y)
    for method in ("gce", "dynamic_loss", "clean", "cb_ce"):
        with pytest.raises(ConfigError, match=rf"method '{method}' is for classification; a regression run takes erm, lilaw"):
            build_method(method, train_labels=train.targets, n_classes=1, task=task)
    with pytest.raises(UnknownNameError, match="unknown regression loss 'focal'"):
        build_method("erm", loss="focal", train_labels=train.targets, n_classes=1, task=task)
    with pytest.raises(ConfigError, match="monitor 'accuracy' is for classification; a regression run takes loss, mae"):
        Trainer(_model(), build_method("erm", train_labels=train.targets, n_classes=1, task=task),
                config=TrainConfig(monitor="accuracy"), task=task)
    with pytest.raises(ConfigError, match="sampler=balanced draws every class equally often"):
        Trainer(_model(), build_method("erm", train_labels=train.targets, n_classes=1, task=task),
                config=TrainConfig(monitor="mae", sampler="balanced"), task=task)
    with pytest.raises(InputError, match=r"target_range must be \(low, high\) with low < high"):
        Regression((3.0, 3.0))
    with pytest.raises(InputError, match="labels must hold integer class ids"):
        ArrayDataset(x, y)  # float targets without task="regression"
