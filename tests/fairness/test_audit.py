"""Every number of the audit equals fairlearn's MetricFrame (and fairlearn's disparity
functions) computed independently here, the bootstrap intervals included."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference, demographic_parity_ratio,
                               equalized_odds_difference, false_positive_rate, selection_rate, true_positive_rate)
from sklearn.metrics import accuracy_score, f1_score, precision_score

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, InputError
from lilaw_health.fairness.audit import (ABSENT, FALLBACK, FEATURE_UNKNOWN, ISSUES, METRICS, NOT_BINARY,
                                         REFERENCE_ABSENT, SMALL, Audit, audit_predictions)

ORACLE = {"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate,
          "ppv": lambda t, p: precision_score(t, p, zero_division=np.nan), "accuracy": accuracy_score}


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    n = 1500
    sensitive = pd.DataFrame({"sex": rng.choice(["Female", "Male"], n, p=[0.35, 0.65]),
                              "race": rng.choice(["White", "Black", "Other"], n, p=[0.75, 0.2, 0.05])})
    y = (rng.random(n) < np.where(sensitive["sex"] == "Male", 0.3, 0.12)).astype(int)
    pred = np.where(rng.random(n) < 0.85, y, 1 - y)
    return y, pred, sensitive


def _oracle_frame(y, pred, values):
    return MetricFrame(metrics={"count": count, **ORACLE}, y_true=y, y_pred=pred, sensitive_features=values)


def test_point_estimates_equal_metricframe(case):
    y, pred, sensitive = case
    audit = audit_predictions(y, pred, sensitive, reference={"sex": "Male", "race": "White"}, n_boot=0)
    for feature, reference in (("sex", "Male"), ("race", "White")):
        expected = _oracle_frame(y, pred, sensitive[feature]).by_group
        got = audit.groups[audit.groups["feature"] == feature].set_index("group").loc[expected.index]
        np.testing.assert_array_equal(got["count"], expected["count"])
        for metric in METRICS:
            np.testing.assert_allclose(got[metric], expected[metric], rtol=0, atol=1e-12)
            np.testing.assert_allclose(got[f"gap_{metric}"], expected[metric] - expected.loc[reference, metric],
                                       rtol=0, atol=1e-12)
        row = audit.disparities.set_index("feature").loc[feature]
        values = sensitive[feature]
        assert row["dp_difference"] == pytest.approx(demographic_parity_difference(y, pred, sensitive_features=values),
                                                     abs=1e-12)
        assert row["dp_ratio"] == pytest.approx(demographic_parity_ratio(y, pred, sensitive_features=values), abs=1e-12)
        assert row["eo_difference"] == pytest.approx(equalized_odds_difference(y, pred, sensitive_features=values),
                                                     abs=1e-12)
    overall = _oracle_frame(y, pred, sensitive["sex"]).overall
    for metric in METRICS:
        assert audit.overall[metric] == pytest.approx(overall[metric], abs=1e-12)
    assert audit.overall["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)


def test_bootstrap_intervals_equal_metricframe_on_the_same_resamples(case):
    y, pred, sensitive = case
    n_boot, confidence = 8, 0.9  # each resample is checked exactly; more only repeat the check
    audit = audit_predictions(y, pred, sensitive, reference={"sex": "Male"}, n_boot=n_boot, confidence=confidence,
                              seed=11)
    rng = np.random.default_rng(11)  # the documented resampling: one integers(0, n, size=n) per resample
    samples = {"groups": [], "dpd": [], "eod": []}
    for _ in range(n_boot):
        i = rng.integers(0, len(y), size=len(y))
        values = sensitive["race"].to_numpy()[i]
        frame = _oracle_frame(y[i], pred[i], values).by_group
        samples["groups"].append(frame[list(ORACLE)])
        samples["dpd"].append(demographic_parity_difference(y[i], pred[i], sensitive_features=values))
        samples["eod"].append(equalized_odds_difference(y[i], pred[i], sensitive_features=values))
    stacked = pd.concat(samples["groups"], keys=range(n_boot))
    race = audit.groups[audit.groups["feature"] == "race"].set_index("group")
    for metric in METRICS:
        per_group = stacked[metric].unstack(level=-1)
        low, high = np.nanpercentile(per_group.to_numpy(dtype=float), [5, 95], axis=0)
        np.testing.assert_allclose(race.loc[per_group.columns, f"{metric}_low"], low, atol=1e-12)
        np.testing.assert_allclose(race.loc[per_group.columns, f"{metric}_high"], high, atol=1e-12)
        gaps = per_group.sub(per_group["White"], axis=0)  # largest group: the default reference
        np.testing.assert_allclose(race.loc[gaps.columns, f"gap_{metric}_low"],
                                   np.nanpercentile(gaps.to_numpy(dtype=float), 5, axis=0), atol=1e-12)
    row = audit.disparities.set_index("feature").loc["race"]
    assert row["dp_difference_low"] == pytest.approx(np.percentile(samples["dpd"], 5), abs=1e-12)
    assert row["eo_difference_high"] == pytest.approx(np.percentile(samples["eod"], 95), abs=1e-12)


def test_intersections_and_default_reference(case):
    y, pred, sensitive = case
    audit = audit_predictions(y, pred, sensitive, reference={"sex": "Male", "race": "White"},
                              intersections=[["sex", "race"]], n_boot=0)
    joint = audit.groups[audit.groups["feature"] == "sex & race"]
    assert "Female & Other" in set(joint["group"])
    assert joint.loc[joint["is_reference"], "group"].tolist() == ["Male & White"]
    expected = _oracle_frame(y, pred, sensitive[["sex", "race"]]).by_group
    assert joint.set_index("group").loc["Female & Black", "tpr"] == pytest.approx(expected.loc[("Female", "Black"),
                                                                                                "tpr"], abs=1e-12)
    assert audit.summary()["sex_race_eo_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=sensitive[["sex", "race"]]), abs=1e-12)


def test_undefined_rates_are_nan_and_flagged_and_absent_groups_listed():
    y = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    pred = np.array([0, 0, 0, 1, 0, 1, 1, 1])
    sensitive = {"site": ["a", "a", "a", "b", "b", "b", "b", "b"]}
    audit = audit_predictions(y, pred, sensitive, n_boot=5, min_group_size=4, expected_groups={"site": ["a", "b", "c"]})
    a = audit.groups.set_index("group").loc["a"]
    assert np.isnan(a["tpr"]) and np.isnan(a["ppv"]) and a["fpr"] == 0.0
    issues = {(w["group"], w["issue"]) for w in audit.warnings}
    assert issues == {("a", SMALL.format(min_size=4)), ("a", ISSUES["tpr"]), ("a", ISSUES["ppv"]), ("c", ABSENT)}
    assert audit.groups.set_index("group").loc["c", "count"] == 0


def test_bands_are_in_numeric_order():
    bands = ["65+", "<=24", "25-34", "45-54"]
    audit = audit_predictions([0, 1, 1, 0], [0, 1, 0, 0], {"age_band": bands}, n_boot=0)
    assert audit.groups["group"].tolist() == ["<=24", "25-34", "45-54", "65+"]


def test_intersection_reference_falls_back_with_a_warning():
    sensitive = {"sex": ["F", "M", "F", "M"], "race": ["x", "x", "y", "x"]}  # no "M & y" row
    audit = audit_predictions([0, 1, 1, 0], [0, 1, 0, 0], sensitive, reference={"sex": "M", "race": "y"},
                              intersections=[["sex", "race"]], n_boot=0)
    joint = audit.groups[audit.groups["feature"] == "sex & race"]
    assert joint.loc[joint["is_reference"], "group"].tolist() == ["M & x"]
    assert {"feature": "sex & race", "group": "M & x", "count": 2,
            "issue": FALLBACK.format(wanted="M & y")} in audit.warnings


def test_json_round_trip(case):
    y, pred, sensitive = case
    audit = audit_predictions(y, pred, sensitive, n_boot=3)  # interval columns present; their count is irrelevant
    back = Audit.from_dict(json.loads(json.dumps(audit.to_dict())))
    pd.testing.assert_frame_equal(back.groups, audit.groups, check_dtype=False)
    pd.testing.assert_frame_equal(back.disparities, audit.disparities, check_dtype=False)
    assert back.summary() == audit.summary()


def test_errors():
    sensitive = {"sex": ["F", "M", "F"]}
    with pytest.raises(InputError) as error:
        audit_predictions([0, 2, 1], [0, 1, 1], sensitive)
    assert str(error.value) == NOT_BINARY.format(arg="y_true", values=[0, 1, 2])
    with pytest.raises(InputError) as error:
        audit_predictions([0, 1, 1], [0, 1], sensitive)
    assert str(error.value) == LENGTH_MISMATCH.format(arg_a="y_true", arg_b="y_pred", len_a=3, len_b=2)
    with pytest.raises(InputError) as error:
        audit_predictions([0, 1, 1], [0, 1, 1], sensitive, reference={"race": "x"})
    assert str(error.value) == FEATURE_UNKNOWN.format(arg="reference", feature="race", columns=["sex"])
    with pytest.raises(InputError) as error:
        audit_predictions([0, 1, 1], [0, 1, 1], sensitive, reference={"sex": "X"})
    assert str(error.value) == REFERENCE_ABSENT.format(group="X", feature="sex", groups=["F", "M"])
    with pytest.raises(InputError) as error:
        audit_predictions([0, 1], [0, 1], pd.DataFrame(index=range(2)))
    assert str(error.value) == BAD_VALUE.format(arg="sensitive_features", expected="at least one column and one row",
                                                received=(2, 0), fix="Pass one column per sensitive feature.")
