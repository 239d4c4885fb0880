"""A regression recipe end to end: target noise, LiLAW's regression variant, regression metrics
(with a threshold), the difficulty table and mislabel detection, and the refusals."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from lilaw_health import domains
from lilaw_health.cli import main

SCORES_DOMAIN = '''
"""Scores on a 0..20 scale from 3 features, with one sensitive attribute."""

import numpy as np
import pandas as pd
from torch import nn

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.domain import Domain


def _split(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = np.clip(10 + 3 * x[:, 0] - 2 * x[:, 1] + rng.normal(scale=0.5, size=n), 0, 20)
    return ArrayDataset(x, y, task="regression"), rng.choice(["a", "b"], size=n)


class ScoresDomain(Domain):
    name = "scores"
    default_dataset = "scores"
    default_model = "mlp"

    def load_data(self, dataset, *, options):
        (train, _), (test, group) = _split(300, 0), _split(120, 1)
        return TaskData(train=train, test=test, n_classes=1, class_names=["score"], input_shape=(3,), name=dataset,
                        task="regression", target_range=(0.0, 20.0),
                        sensitive_test=pd.DataFrame({"group": group}))

    def build_model(self, name, *, data, options):
        return nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1))

    def model_names(self):
        return ["mlp"]


DOMAIN = ScoresDomain()
'''


@pytest.fixture
def scores_recipe(tmp_path, monkeypatch):
    (tmp_path / "scores_domain_pkg").mkdir()
    (tmp_path / "scores_domain_pkg" / "__init__.py").write_text(SCORES_DOMAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(domains.DOMAIN_MODULES, "scores", "scores_domain_pkg")
    recipe = tmp_path / "scores.yaml"
    recipe.write_text("name: scores\ndomain: scores\nepochs: 25\nbatch_size: 32\nlr: 0.01\nmonitor: mae\n"
                      "val_fraction: 0.2\nthreshold: 12\nnoise: {kind: shift, rate: 0.3}\nthreads: 1\n")
    yield recipe
    sys.modules.pop("scores_domain_pkg", None)


@pytest.mark.parametrize("method", ["erm", "lilaw"])
def test_a_regression_run_writes_regression_results(scores_recipe, tmp_path, method):
    out = tmp_path / method
    assert main(["run", str(scores_recipe), "--out", str(out), "--quiet", "--set", f"method={method}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "regression" and metrics["test"]["r2"] > 0.3  # better than the mean
    assert {"rmse", "r2", "pearson", "binary_accuracy", "binary_auroc"} <= set(metrics["test"])
    assert metrics["noise"]["target_range"] == [0.0, 20.0] and metrics["noise"]["realised_rate"] == pytest.approx(0.3)
    assert metrics["detection"]["auroc"] > 0.9  # the shifted targets stand out
    difficulty = pd.read_csv(out / "difficulty.csv")
    assert {"residual", "W_alpha", "mislabel_score", "is_flipped"} <= set(difficulty.columns)
    assert difficulty["is_flipped"].mean() == pytest.approx(0.3, abs=0.01)
    assert "val_mae" in pd.read_csv(out / "history.csv")
    groups = pd.DataFrame(metrics["groups"]["table"])  # the data declares a sensitive attribute: MAE per group
    assert set(groups["group"]) == {"a", "b"} and {"mae", "bias"} <= set(groups["metric"])
    assert (groups["ci_low"] <= groups["value"]).all() and "group MAE gap max" in metrics["group_summary"]
    assert "Metrics per sensitive group" in (out / "report.html").read_text() and (out / "group_metrics.png").exists()


def test_a_regression_comparison_tabulates_mae(scores_recipe, tmp_path, capsys):
    assert main(["compare", str(scores_recipe), "--out", str(tmp_path / "cmp"), "--quiet", "--seeds", "0",
                 "--set", "epochs=3"]) == 0
    summary = pd.read_csv(tmp_path / "cmp" / "summary.csv")
    assert list(summary["method"]) == ["erm", "lilaw"] and "mae" in summary and "accuracy" not in summary
    assert "group MAE gap max" in summary


@pytest.mark.parametrize("override, message", [
    ("method=gce", "method 'gce' is for classification; a regression run takes erm, lilaw"),
    ("monitor=accuracy", "monitor 'accuracy' is for classification"),
    ("noise.kind=symmetric", "unknown noise model for regression targets 'symmetric'; valid names are: none, "
                             "shift, uniform"),
    ("imbalance.factor=10", "imbalance.factor=10.0 subsamples classes; a regression has none"),
    ("class_weight=balanced", "class_weight=balanced weighs classes; a regression has none"),
])
def test_classification_only_settings_are_refused_before_writing(scores_recipe, tmp_path, capsys, override,
                                                                  message):
    out = tmp_path / "bad"
    assert main(["run", str(scores_recipe), "--out", str(out), "--quiet", "--set", override]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_threshold_on_a_classification_is_refused(tmp_path, capsys):
    assert main(["run", "ecg5000", "--out", str(tmp_path / "x"), "--set", "threshold=3"]) == 2
    assert "threshold=3.0 turns regression targets into a binary outcome" in capsys.readouterr().err
