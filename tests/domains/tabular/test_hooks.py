"""The tabular domain in the pipeline: per-run audits, baselines and mitigators, and the
side-by-side audit of a comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lilaw_health.compare import run_comparison
from lilaw_health.domains import get_domain
from lilaw_health.domains.tabular import hooks
from lilaw_health.domains.tabular.data import load_data
from lilaw_health.recipe import recipe_from_dict
from tests.domains.tabular.fixtures import write_adult


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    root = tmp_path_factory.mktemp("adult")
    write_adult(root)
    recipe = recipe_from_dict({"name": "tiny", "domain": "tabular", "dataset": "adult", "model": "mlp", "epochs": 2,
                               "batch_size": 64, "val_fraction": 0.1, "seeds": [0, 1],
                               "model_args": {"hidden_sizes": [16, 8]},
                               "data": {"root": str(root), "bootstrap": 20, "baselines": ["logistic_regression"]}})
    out = tmp_path_factory.mktemp("runs")
    runs, summary, _ = run_comparison(recipe, out)
    return out, runs, summary


def test_compare_table_has_the_fairness_columns(comparison):
    _, runs, summary = comparison
    for column in ("sex_dp_difference", "sex_eo_difference", "race_eo_difference", "age_band_dp_difference"):
        assert column in runs.columns and column in summary.columns
    assert runs["sex_dp_difference"].between(0, 1).all()


def test_every_run_is_audited_with_its_baseline(comparison):
    out, _, _ = comparison
    folder = out / "lilaw" / "seed1"
    payload = json.loads((folder / "fairness.json").read_text())
    assert payload["method"] == "lilaw" and payload["seed"] == 1
    assert payload["kinds"] == {"lilaw": "network", "logistic_regression": "baseline"}
    metrics = json.loads((folder / "metrics.json").read_text())["domain"]
    groups = pd.DataFrame(payload["audits"]["lilaw"]["disparities"]).set_index("feature")
    assert metrics["summary"]["sex_eo_difference"] == pytest.approx(groups.loc["sex", "eo_difference"])
    assert set(metrics["other_models"]) == {"logistic_regression"} and metrics["errors"] == {}
    assert (folder / "audit.html").is_file()


def test_comparison_audit_puts_methods_side_by_side(comparison):
    out, _, _ = comparison
    payload = json.loads((out / "audit.json").read_text())
    assert list(payload["models"]) == ["erm", "lilaw", "logistic_regression"]
    assert [len(v) for v in payload["models"].values()] == [2, 2, 2]  # baselines once per seed
    page = (out / "audit.html").read_text()
    assert "Fairness audit of adult: erm vs lilaw" in page and "UCI Adult" in page  # title and data card


def test_a_failing_optional_model_costs_nothing_computed(tmp_path, monkeypatch):
    root = write_adult(tmp_path / "adult")
    data = load_data("adult", options={"root": str(root), "bootstrap": 0, "mitigators": ["threshold_optimizer"]})

    def broken(*args, **kwargs):
        raise ValueError("degenerate labels")
    monkeypatch.setattr(hooks.MITIGATORS, "_items", {"threshold_optimizer": broken})
    proba = np.tile([0.3, 0.7], (len(data.test), 1))
    result = get_domain("tabular").evaluate(data, y_true=data.test.targets, proba=proba, out_dir=tmp_path)
    assert result["errors"] == {"threshold_optimizer": "degenerate labels"}
    payload = json.loads((tmp_path / "fairness.json").read_text())
    assert list(payload["audits"]) == ["model"]  # no recipe: a model audited outside the pipeline
    assert result["summary"]["sex_dp_difference"] == 0.0  # everyone predicted positive


def test_mitigators_wrap_the_runs_estimator(tmp_path):
    root = write_adult(tmp_path / "adult")
    recipe = recipe_from_dict({"domain": "tabular", "dataset": "adult", "model": "mlp", "method": "erm", "epochs": 1,
                               "batch_size": 64, "model_args": {"hidden_sizes": [8]}})
    data = load_data("adult", options={"root": str(root), "bootstrap": 0, "mitigator_max_iter": 2,
                                       "mitigators": ["exponentiated_gradient", "threshold_optimizer"]})
    proba = np.tile([0.6, 0.4], (len(data.test), 1))
    result = get_domain("tabular").evaluate(data, y_true=data.test.targets, proba=proba, out_dir=tmp_path,
                                            recipe=recipe)
    assert set(result["other_models"]) == {"erm + exponentiated_gradient", "erm + threshold_optimizer"}
    assert result["errors"] == {}


def test_compare_report_without_audits_writes_nothing(tmp_path):
    assert hooks.compare_report(tmp_path, runs={("erm", 0): tmp_path / "missing"}) == []
