"""Group metrics of any task: every point value equals fairlearn's MetricFrame with scikit-learn's
metrics, every interval equals the same oracle over the documented resamples, binary results equal
the audit's, and every error message is asserted."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score, mean_absolute_error, precision_score,
                             recall_score, roc_auc_score, root_mean_squared_error)

from lilaw_health.core.errors import (BAD_VALUE, LABELS_RANGE, LENGTH_MISMATCH, NOT_FINITE, SHAPE, InputError,
                                     UnknownNameError, unknown_name)
from lilaw_health.fairness.audit import FEATURE_UNKNOWN, ISSUES, METRICS, REFERENCE_ABSENT, SMALL, audit_predictions
from lilaw_health.fairness.groups import (COLUMNS, NO_CLASS, ONE_CLASS, OPTION_FIX, SENSITIVE_NAN, GroupMetrics,
                                          group_metrics)
from lilaw_health.fairness.groups_report import HEADING, group_section
from lilaw_health.reporting.html import render_html
from tests.reporting.conftest import CheckedHTML

CLASSES = ["N", "S", "V"]


def _sensitive(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame({"sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
                         "age": rng.choice(["<=40", "41-60", "61+"], n, p=[0.3, 0.5, 0.2])})


def _proba(rng: np.random.Generator, y: np.ndarray, n_classes: int) -> np.ndarray:
    proba = rng.dirichlet(np.ones(n_classes), len(y))
    proba[np.arange(len(y)), y] += rng.random(len(y))  # informative, not perfect
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(3)
    n = 300
    sensitive = _sensitive(rng, n)
    y2, y3 = rng.integers(0, 2, n), rng.integers(0, 3, n)
    target = rng.normal(5, 2, n)
    prediction = target + rng.normal(0.3 * (sensitive["sex"] == "F"), 1.0)
    return {"binary": (y2, _proba(rng, y2, 2), "classification"),
            "multiclass": (y3, _proba(rng, y3, 3), "classification"),
            "regression": (target, prediction, "regression")}, sensitive


def _oracle(kind: str, y: np.ndarray, output: np.ndarray, values) -> pd.DataFrame:
    """MetricFrame of fairlearn / scikit-learn metrics, by group; columns named as in the table."""
    if kind == "regression":
        metrics = {"mae": mean_absolute_error, "rmse": root_mean_squared_error,
                   "bias": lambda t, p: np.mean(np.asarray(p) - np.asarray(t))}
        frame = MetricFrame(metrics={"n": count, **metrics}, y_true=y, y_pred=output, sensitive_features=values)
        return frame.by_group
    pred = output.argmax(axis=1)
    if kind == "binary":
        metrics = {"accuracy": accuracy_score, "selection_rate": selection_rate, "tpr": true_positive_rate,
                   "fpr": false_positive_rate, "ppv": precision_score}
        by_group = MetricFrame(metrics={"n": count, **metrics}, y_true=y, y_pred=pred,
                               sensitive_features=values).by_group
        auroc = MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=output[:, 1], sensitive_features=values)
        return by_group.assign(auroc=auroc.by_group)
    metrics = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score,
               "macro_f1": lambda t, p: f1_score(t, p, average="macro")}
    by_group = MetricFrame(metrics={"n": count, **metrics}, y_true=y, y_pred=pred, sensitive_features=values).by_group
    recalls = MetricFrame(metrics=lambda t, p: recall_score(t, p, labels=[0, 1, 2], average=None, zero_division=np.nan),
                          y_true=y, y_pred=pred, sensitive_features=values).by_group
    for c, name in enumerate(CLASSES):
        by_group[f"recall[{name}]"] = [r[c] for r in recalls]
    return by_group


def _run(kind: str, case, sensitive, **options) -> GroupMetrics:
    y, output, task = case
    names = CLASSES if kind == "multiclass" else None
    return group_metrics(y, output, sensitive, task=task, class_names=names, **options)


def _wide(result: GroupMetrics, feature: str, column: str) -> pd.DataFrame:
    part = result.table[result.table["feature"] == feature]
    return part.pivot(index="group", columns="metric", values=column)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_point_values_and_gaps_equal_metricframe(cases, kind):
    data, sensitive = cases
    result = _run(kind, data[kind], sensitive, reference={"age": "61+"}, n_boot=0)
    assert list(result.table.columns) == list(COLUMNS) and result.kind == kind
    for feature, reference in (("sex", "M"), ("age", "61+")):  # M: the largest group
        expected = _oracle(kind, data[kind][0], data[kind][1], sensitive[feature])
        metrics = [c for c in expected.columns if c != "n"]
        values, gaps = _wide(result, feature, "value"), _wide(result, feature, "gap")
        np.testing.assert_allclose(values.loc[expected.index, metrics], expected[metrics].astype(float), atol=1e-12)
        np.testing.assert_allclose(gaps.loc[expected.index, metrics],
                                   expected[metrics].astype(float) - expected.loc[reference, metrics].astype(float),
                                   atol=1e-12)
        part = result.table[result.table["feature"] == feature]
        assert set(part.loc[part["reference"], "group"]) == {reference}
        assert part.groupby("group")["n"].first().to_dict() == expected["n"].to_dict()
    assert result.table["group"].tolist()[-3 * len(metrics):] == (["<=40"] * len(metrics) + ["41-60"] * len(metrics)
                                                                  + ["61+"] * len(metrics))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_intervals_equal_the_oracle_on_the_documented_resamples(cases, kind):
    data, sensitive = cases
    y, output, _ = data[kind]
    n_boot, confidence, seed = 8, 0.8, 5
    result = _run(kind, data[kind], sensitive, n_boot=n_boot, confidence=confidence, seed=seed)
    rng = np.random.default_rng(seed)  # one integers(0, n, size=n) per resample, shared by the features
    resamples = [rng.integers(0, len(y), size=len(y)) for _ in range(n_boot)]
    for feature in ("sex", "age"):
        groups = sorted(set(sensitive[feature]))
        reference = result.settings["reference"][feature]
        stacked = [_oracle(kind, y[i], output[i], sensitive[feature].to_numpy()[i]).reindex(groups) for i in resamples]
        metrics = [c for c in stacked[0].columns if c != "n"]
        for which, low_column, high_column in (("value", "ci_low", "ci_high"), ("gap", "gap_ci_low", "gap_ci_high")):
            samples = np.stack([s[metrics].to_numpy(dtype=float) for s in stacked])  # (n_boot, groups, metrics)
            if which == "gap":
                samples = samples - samples[:, [groups.index(reference)], :]
            low, high = np.nanpercentile(samples, [10, 90], axis=0)
            np.testing.assert_allclose(_wide(result, feature, low_column).loc[groups, metrics], low, atol=1e-12)
            np.testing.assert_allclose(_wide(result, feature, high_column).loc[groups, metrics], high, atol=1e-12)


def test_bootstrap_is_reproducible_for_a_seed(cases):
    data, sensitive = cases
    first, again = (_run("multiclass", data["multiclass"], sensitive, n_boot=30, seed=4) for _ in range(2))
    other = _run("multiclass", data["multiclass"], sensitive, n_boot=30, seed=5)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert not np.allclose(first.table["ci_low"], other.table["ci_low"])
    np.testing.assert_array_equal(first.table["value"], other.table["value"])


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_intervals_contain_the_point_value(kind):
    rng = np.random.default_rng(8)
    n = 1200
    sensitive = _sensitive(rng, n)
    y = rng.integers(0, 2 if kind == "binary" else 3, n)
    data = ((rng.normal(size=n), rng.normal(size=n), "regression") if kind == "regression"
            else (y, _proba(rng, y, 2 if kind == "binary" else 3), "classification"))
    table = _run(kind, data, sensitive, n_boot=50).table
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()
    assert (table["gap_ci_low"] <= table["gap"]).all() and (table["gap"] <= table["gap_ci_high"]).all()
    assert (table["ci_low"] < table["ci_high"]).all()
    assert (table["flag"] == "").all()


def test_binary_results_agree_with_the_audit(cases):
    data, sensitive = cases
    y, output, task = data["binary"]
    result = group_metrics(y, output, sensitive, task=task, n_boot=25, seed=2, confidence=0.9)
    audit = audit_predictions(y, output.argmax(axis=1), sensitive, n_boot=25, seed=2, confidence=0.9)
    for feature in ("sex", "age"):
        groups = audit.groups[audit.groups["feature"] == feature].set_index("group")
        for metric in METRICS:
            for ours, theirs in (("value", metric), ("ci_low", f"{metric}_low"), ("ci_high", f"{metric}_high"),
                                 ("gap", f"gap_{metric}"), ("gap_ci_low", f"gap_{metric}_low"),
                                 ("gap_ci_high", f"gap_{metric}_high")):
                got = _wide(result, feature, ours)[metric]
                np.testing.assert_allclose(got.loc[groups.index], groups[theirs], atol=1e-12, err_msg=metric)
        part = result.table[result.table["feature"] == feature]
        assert set(part.loc[part["reference"], "group"]) == set(groups.index[groups["is_reference"]])


def test_undefined_metrics_are_nan_and_flagged():
    y = np.array([0, 1, 2, 0, 1, 2, 0, 0, 0, 0])
    proba = np.eye(3)[np.array([0, 1, 1, 0, 1, 2, 0, 2, 0, 0])]
    sensitive = pd.DataFrame({"site": ["a"] * 6 + ["b"] * 4})
    table = group_metrics(y, proba, sensitive, task="classification", class_names=CLASSES, n_boot=10,
                          min_group_size=5).table.set_index(["group", "metric"])
    assert np.isnan(table.loc[("b", "recall[S]"), "value"])
    assert table.loc[("b", "recall[S]"), "flag"] == f"{SMALL.format(min_size=5)}; {NO_CLASS.format(name='S')}"
    assert table.loc[("b", "accuracy"), "flag"] == SMALL.format(min_size=5)
    assert table.loc[("a", "accuracy"), "flag"] == ""
    # macro-F1 of b averages the classes among its targets or predictions (N and V), as scikit-learn does
    assert table.loc[("b", "macro_f1"), "value"] == pytest.approx(f1_score([0] * 4, [2, 0, 0, 0], average="macro"))
    y, pred = np.array([0, 1, 0, 0, 1, 0, 0, 0]), np.array([0, 1, 0, 0, 1, 0, 1, 0])  # b: the last two, negatives
    binary = group_metrics(y, np.eye(2)[pred], pd.DataFrame({"site": ["a"] * 6 + ["b"] * 2}), task="classification",
                           n_boot=10, min_group_size=2).table.set_index(["group", "metric"])
    assert binary.loc[("b", "tpr"), "flag"] == ISSUES["tpr"] and np.isnan(binary.loc[("b", "tpr"), "value"])
    assert binary.loc[("b", "auroc"), "flag"] == ONE_CLASS and np.isnan(binary.loc[("b", "auroc"), "ci_low"])
    assert binary.loc[("b", "fpr"), "flag"] == "" and binary.loc[("b", "fpr"), "value"] == 0.5


def test_summary_and_json_round_trip(cases):
    data, sensitive = cases
    result = _run("regression", data["regression"], sensitive, n_boot=10)
    summary = result.summary()
    assert list(summary) == ["sex MAE gap max", "sex bias gap max", "age MAE gap max", "age bias gap max"]
    gaps = _wide(result, "age", "gap")["mae"]
    assert summary["age MAE gap max"] == pytest.approx(gaps.abs().max())
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    back = GroupMetrics.from_dict(payload)
    pd.testing.assert_frame_equal(back.table, result.table, check_dtype=False)
    assert back.summary() == summary and back.settings == result.settings
    single = group_metrics([0, 1], [[0.9, 0.1], [0.2, 0.8]], pd.DataFrame({"site": ["a", "a"]}),
                           task="classification", n_boot=3)
    assert np.isnan(single.summary()["site accuracy gap max"])
    assert json.loads(json.dumps(single.to_dict(), allow_nan=False))["table"][0]["gap_ci_low"] is not None


def test_regression_accepts_a_column_of_predictions(cases):
    data, sensitive = cases
    target, prediction, _ = data["regression"]
    flat = group_metrics(target, prediction, sensitive, task="regression", n_boot=5)
    column = group_metrics(target, prediction[:, None], sensitive, task="regression", n_boot=5)
    pd.testing.assert_frame_equal(flat.table, column.table)


def test_section_is_a_readable_wide_table_with_a_figure(cases, tmp_path):
    data, sensitive = cases
    result = _run("multiclass", data["multiclass"], sensitive.assign(sex=sensitive["sex"] + "<b>"), n_boot=20)
    section = group_section(result, figure=tmp_path / "groups.png")
    assert section.heading == HEADING
    assert len(section.table) == 5 and list(section.table.columns[:4]) == ["feature", "group", "n", "reference"]
    row = result.table.set_index(["group", "metric"]).loc[("F<b>", "accuracy")]
    assert section.table.set_index("group").loc["F<b>", "accuracy"] == (
        f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    assert section.table.set_index("group").loc["F<b>", "Δ recall[V]"].startswith(("+", "-"))
    assert section.table.set_index("group").loc["M<b>", "Δ accuracy"] == "reference"
    assert (tmp_path / "groups.png").read_bytes().startswith(b"\x89PNG")
    page = render_html("run", [section])
    assert CheckedHTML(page).errors == [] and "F&lt;b&gt;" in page
    plain = group_section(_run("regression", data["regression"], sensitive, n_boot=0))
    assert plain.image is None and "No bootstrap" in plain.paragraphs[0]
    assert plain.table.loc[0, "MAE"].count("[") == 0


def test_errors(cases):
    data, sensitive = cases
    y, proba, _ = data["binary"]

    def message(*args, **options) -> str:
        with pytest.raises((InputError, UnknownNameError)) as error:
            group_metrics(*args, **options)
        return str(error.value)

    assert message(y[:-1], proba, sensitive, task="classification") == LENGTH_MISMATCH.format(
        arg_a="y_true", arg_b="output", len_a=299, len_b=300)
    assert message(y, proba, sensitive[:-1], task="classification") == LENGTH_MISMATCH.format(
        arg_a="y_true", arg_b="sensitive", len_a=300, len_b=299)
    assert message(y, proba, sensitive, task="ranking") == str(
        unknown_name("task", "ranking", ["classification", "regression"], "Pass the TaskData's task."))
    assert message(y + 1, proba, sensitive, task="classification") == LABELS_RANGE.format(arg="y_true", n_classes=2,
                                                                                          low=1, high=2)
    assert message(y, proba[:, 1], sensitive, task="classification") == SHAPE.format(
        arg="output", expected="(n_samples, n_classes >= 2) for task='classification'", received=(300,),
        fix="Pass class probabilities, one column per class.")
    assert message(y, proba, sensitive, task="classification", n_classes=3) == SHAPE.format(
        arg="output", expected="(n_samples, 3) for task='classification'", received=(300, 2),
        fix="Pass class probabilities, one column per class.")
    assert message(y.astype(float), proba, sensitive, task="regression") == SHAPE.format(
        arg="output", expected="(n_samples,) for task='regression'", received=(300, 2),
        fix="Pass one prediction per sample.")
    assert message(y, np.log(proba), sensitive, task="classification").startswith(
        "output must be class probabilities (rows >= 0 summing to 1 within 0.001)")
    assert message(y.astype(float), np.full(300, np.nan), sensitive, task="regression") == NOT_FINITE.format(
        arg="output", count=300, index=0)
    assert message(y, proba, sensitive, task="classification", reference={"sex": "X"}) == REFERENCE_ABSENT.format(
        group="X", feature="sex", groups=["F", "M"])
    assert message(y, proba, sensitive, task="classification", reference={"race": "X"}) == FEATURE_UNKNOWN.format(
        arg="reference", feature="race", columns=["sex", "age"])
    holes = sensitive.assign(age=sensitive["age"].where(np.arange(300) % 100 != 7))
    assert message(y, proba, holes, task="classification") == SENSITIVE_NAN.format(feature="age", count=3, total=300,
                                                                                     first=7)
    assert message(y, proba, sensitive, task="classification", class_names=["a"]) == BAD_VALUE.format(
        arg="class_names", expected="2 distinct names", received=["a"], fix="Pass one name per class.")
    assert message(y, proba, sensitive, task="classification", n_boot=-1) == BAD_VALUE.format(
        arg="n_boot", expected="an integer >= 0", received="-1", fix=OPTION_FIX)
    assert message(y, proba, sensitive, task="classification", confidence=95) == BAD_VALUE.format(
        arg="confidence", expected="a number in (0, 1)", received="95", fix=OPTION_FIX)
