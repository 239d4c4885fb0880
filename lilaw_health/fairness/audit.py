"""Group-fairness audit of binary predictions with fairlearn's ``MetricFrame``.

Per group of each sensitive feature (and of optional intersections): size, base rate,
selection rate, TPR, FPR, PPV and accuracy, their gaps to a reference group (group minus
reference, the LiLAW paper's convention), and fairlearn's demographic-parity difference and
ratio and equalized-odds difference per feature. Every number has a percentile bootstrap
confidence interval over the test rows.

Conventions: a rate whose denominator is empty (TPR of a group without positives, PPV of
a group without predicted positives) is NaN, never 0, and is flagged. The disparities are
fairlearn's own functions, which count such an undefined TPR or FPR as 0. The bootstrap
draws ``n_boot`` resamples of all rows with ``numpy.random.default_rng(seed)``, one
``rng.integers(0, n, size=n)`` per resample, shared by every feature (so ERM and LiLAW
audited with the same seed on the same test set see the same resamples); a statistic
undefined in a resample (a group absent from it) is left out of that statistic's interval.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (MetricFrame, demographic_parity_difference, demographic_parity_ratio,
                               equalized_odds_difference)
from numpy.typing import ArrayLike
from sklearn.metrics import f1_score

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, InputError
from lilaw_health.fairness.stats import (confusion_rates, json_clean, json_records, natural_key, percentile_interval,
                                         resample_indices, safe_ratio)

METRICS = ("selection_rate", "tpr", "fpr", "ppv", "accuracy")
DISPARITIES = ("dp_difference", "dp_ratio", "eo_difference")
NOT_BINARY = "{arg} must hold 0/1 labels (1 = positive); received values {values}. Map the labels to 0/1 first."
FEATURE_UNKNOWN = "{arg} names feature {feature!r}, absent from sensitive_features (columns {columns})."
REFERENCE_ABSENT = ("reference group {group!r} of sensitive feature {feature!r} is absent from the audited rows "
                    "(groups: {groups}). Pass another reference for {feature!r}.")
SMALL = "fewer than {min_size} rows: wide confidence intervals"
ISSUES = {"tpr": "no positive rows: TPR undefined", "fpr": "no negative rows: FPR undefined",
          "ppv": "no predicted positives: PPV undefined"}
ABSENT = "absent from the audited rows (present in training)"
FALLBACK = "configured reference {wanted!r} absent; the largest group is the reference"


def _metric(name: str):
    def metric(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        counts = np.bincount(2 * np.asarray(y_true, dtype=int) + np.asarray(y_pred, dtype=int), minlength=4)
        return float(confusion_rates(counts)[name])
    metric.__name__ = name
    return metric


@dataclass(frozen=True)
class Audit:
    """The result of :func:`audit_predictions`; ``to_dict`` / ``from_dict`` round-trip through JSON.

    ``groups`` has one row per (feature, group): count, base_rate, is_reference, each metric
    with ``_low`` / ``_high`` bounds, and ``gap_<metric>`` (group minus reference) with bounds.
    ``disparities`` has one row per feature: reference, n_groups and each of
    :data:`DISPARITIES` with bounds. ``warnings`` lists (feature, group, count, issue).
    """

    overall: dict[str, float]
    groups: pd.DataFrame
    disparities: pd.DataFrame
    warnings: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """``<feature>_dp_difference``, ``<feature>_eo_difference`` per feature (for tables of runs)."""
        out = {}
        for row in self.disparities.itertuples(index=False):
            key = re.sub(r"\W+", "_", str(row.feature)).strip("_")
            out[f"{key}_dp_difference"] = float(row.dp_difference)
            out[f"{key}_eo_difference"] = float(row.eo_difference)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"overall": json_clean(self.overall), "groups": json_records(self.groups),
                "disparities": json_records(self.disparities), "warnings": self.warnings, "settings": self.settings}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> Audit:
        def frame(records: list[dict]) -> pd.DataFrame:
            out = pd.DataFrame.from_records(records)
            for column in out.columns:
                if column not in ("feature", "group", "reference", "is_reference"):
                    out[column] = pd.to_numeric(out[column], errors="coerce")
            return out
        return cls(overall={k: (np.nan if v is None else v) for k, v in payload["overall"].items()},
                   groups=frame(payload["groups"]), disparities=frame(payload["disparities"]),
                   warnings=list(payload.get("warnings", [])), settings=dict(payload.get("settings", {})))


def audit_predictions(y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: pd.DataFrame | Mapping[str, ArrayLike],
                      *, reference: Mapping[str, str] | None = None, intersections: Sequence[Sequence[str]] = (),
                      n_boot: int = 200, confidence: float = 0.95, min_group_size: int = 30, seed: int = 0,
                      expected_groups: Mapping[str, Sequence[str]] | None = None) -> Audit:
    """Audit 0/1 predictions per sensitive group.

    Parameters
    ----------
    y_true, y_pred : array-like of {0, 1}, shape (n_samples,)
    sensitive_features : DataFrame or mapping of name to array (n_samples,)
        One column per feature; values are group names.
    reference : mapping of feature to group, optional
        Reference group of each feature; a feature without one uses its largest group.
    intersections : sequence of sequences of feature names
        Also audit these combinations as one feature named "a & b" (groups "x & y").
    n_boot : int
        Bootstrap resamples (0 disables intervals).
    confidence : float
        Level of the percentile intervals.
    min_group_size : int
        Groups smaller than this are flagged.
    seed : int
        Seed of the resamples.
    expected_groups : mapping of feature to group names, optional
        Groups that should exist (e.g. those seen in training); absent ones are listed with
        count 0 and flagged.
    """
    y, pred, frame = _validated(y_true, y_pred, sensitive_features, reference, intersections)
    reference = dict(reference or {})
    frame = _with_intersections(frame, intersections, reference)
    indices = resample_indices(len(y), n_boot, seed)
    group_rows, disparity_rows, notes = [], [], []
    for feature in frame.columns:
        groups, disparities, issues = _audit_feature(y, pred, frame[feature].to_numpy(), feature, reference,
                                                     indices, confidence, min_group_size)
        missing = sorted(set((expected_groups or {}).get(feature, ())) - set(groups["group"]))
        if missing:
            groups = pd.concat([groups, pd.DataFrame({"feature": feature, "group": missing, "count": 0,
                                                      "is_reference": False})], ignore_index=True)
            issues += [{"feature": feature, "group": g, "count": 0, "issue": ABSENT} for g in missing]
        group_rows.append(groups)
        disparity_rows.append(disparities)
        notes += issues
    overall = {"count": float(len(y)), "base_rate": float(y.mean()),
               **{m: float(_metric(m)(y, pred)) for m in METRICS},
               "macro_f1": float(f1_score(y, pred, labels=[0, 1], average="macro", zero_division=0))}
    settings = {"n_boot": n_boot, "confidence": confidence, "min_group_size": min_group_size, "seed": seed,
                "reference": reference, "intersections": [list(c) for c in intersections]}
    return Audit(overall=overall, groups=pd.concat(group_rows, ignore_index=True),
                 disparities=pd.DataFrame(disparity_rows), warnings=notes, settings=settings)


def _audit_feature(y: np.ndarray, pred: np.ndarray, values: np.ndarray, feature: str, reference: dict[str, str],
                   indices: list[np.ndarray], confidence: float, min_size: int):
    frame = MetricFrame(metrics={"count": lambda t, p: len(t), "base_rate": lambda t, p: float(np.mean(t)),
                                 **{m: _metric(m) for m in METRICS}},
                        y_true=y, y_pred=pred, sensitive_features=pd.Series(values, name=feature))
    by_group = frame.by_group
    names = [str(g) for g in by_group.index]
    ref, issues = _reference(feature, names, by_group["count"].to_numpy(), reference)
    table = pd.DataFrame({"feature": feature, "group": names, "count": by_group["count"].astype(int).to_numpy(),
                          "is_reference": [g == ref for g in names],
                          "base_rate": by_group["base_rate"].to_numpy(dtype=float)})
    codes = pd.Categorical(values, categories=by_group.index).codes
    boot = np.stack([_group_counts(codes[i], y[i], pred[i], len(names)) for i in indices]) if indices else None
    k = names.index(ref)
    for m in METRICS:
        point = by_group[m].to_numpy(dtype=float)
        table[m] = point
        table[f"gap_{m}"] = point - point[k]
        if boot is not None:
            rates = confusion_rates(boot)[m]
            table[f"{m}_low"], table[f"{m}_high"] = percentile_interval(rates, confidence)
            table[f"gap_{m}_low"], table[f"gap_{m}_high"] = percentile_interval(rates - rates[:, [k]], confidence)
    disparities = {"feature": feature, "reference": ref, "n_groups": len(names),
                   "dp_difference": demographic_parity_difference(y, pred, sensitive_features=values),
                   "dp_ratio": demographic_parity_ratio(y, pred, sensitive_features=values),
                   "eo_difference": equalized_odds_difference(y, pred, sensitive_features=values)}
    if boot is not None:
        for name, samples in _bootstrap_disparities(boot).items():
            low, high = percentile_interval(samples, confidence)
            disparities[f"{name}_low"], disparities[f"{name}_high"] = float(low), float(high)
    table = table.iloc[sorted(range(len(names)), key=lambda i: natural_key(names[i]))].reset_index(drop=True)
    return table, disparities, issues + _group_issues(table, min_size)


def _bootstrap_disparities(counts: np.ndarray) -> dict[str, np.ndarray]:
    """fairlearn's DP difference / ratio and EO difference per resample (groups present only;
    an undefined TPR or FPR counts as 0, as fairlearn's rate functions return)."""
    present = counts.sum(axis=-1) > 0
    rates = confusion_rates(counts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        selection = np.where(present, rates["selection_rate"], np.nan)
        high, low = np.nanmax(selection, axis=1), np.nanmin(selection, axis=1)
        spread = {m: np.nanmax(np.where(present, np.nan_to_num(rates[m]), np.nan), axis=1)
                  - np.nanmin(np.where(present, np.nan_to_num(rates[m]), np.nan), axis=1) for m in ("tpr", "fpr")}
    return {"dp_difference": high - low, "dp_ratio": safe_ratio(low, high),
            "eo_difference": np.maximum(spread["tpr"], spread["fpr"])}


def _group_counts(codes: np.ndarray, y: np.ndarray, pred: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(4 * codes + 2 * y + pred, minlength=4 * n_groups).reshape(n_groups, 4)


def _reference(feature: str, names: list[str], counts: np.ndarray, reference: dict[str, str]):
    largest = names[int(np.argmax(counts))]
    wanted = reference.get(feature)
    if wanted is None:
        return largest, []
    if wanted in names:
        return wanted, []
    if " & " in feature:  # a derived intersection reference may not exist; fall back, say so
        return largest, [{"feature": feature, "group": largest, "count": int(counts.max()),
                          "issue": FALLBACK.format(wanted=wanted)}]
    raise InputError(REFERENCE_ABSENT.format(group=wanted, feature=feature, groups=names))


def _group_issues(table: pd.DataFrame, min_size: int) -> list[dict[str, Any]]:
    issues = []
    for row in table.itertuples(index=False):
        texts = [SMALL.format(min_size=min_size)] if row.count < min_size else []
        texts += [text for m, text in ISSUES.items() if np.isnan(getattr(row, m))]
        issues += [{"feature": row.feature, "group": row.group, "count": int(row.count), "issue": t} for t in texts]
    return issues


def _with_intersections(frame: pd.DataFrame, intersections: Sequence[Sequence[str]],
                        reference: dict[str, str]) -> pd.DataFrame:
    frame = frame.copy()
    for combo in intersections:
        name = " & ".join(combo)
        frame[name] = frame[list(combo)].astype(str).agg(" & ".join, axis=1)
        if all(c in reference for c in combo) and name not in reference:
            reference[name] = " & ".join(reference[c] for c in combo)
    return frame


def _validated(y_true: ArrayLike, y_pred: ArrayLike, sensitive: Any, reference: Mapping[str, str] | None,
               intersections: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    y, pred = np.asarray(y_true), np.asarray(y_pred)
    for arg, values in (("y_true", y), ("y_pred", pred)):
        if values.ndim != 1 or not np.isin(values, (0, 1)).all():
            raise InputError(NOT_BINARY.format(arg=arg, values=np.unique(values)[:10].tolist()))
    frame = pd.DataFrame(sensitive).reset_index(drop=True).astype(str)
    for arg, length in (("y_pred", len(pred)), ("sensitive_features", len(frame))):
        if length != len(y):
            raise InputError(LENGTH_MISMATCH.format(arg_a="y_true", arg_b=arg, len_a=len(y), len_b=length))
    if frame.shape[1] == 0 or len(y) == 0:
        raise InputError(BAD_VALUE.format(arg="sensitive_features", expected="at least one column and one row",
                                          received=frame.shape, fix="Pass one column per sensitive feature."))
    for arg, names in (("reference", list(reference or {})), ("intersections", [c for i in intersections for c in i])):
        for feature in names:
            if not set(feature.split(" & ")) <= set(frame.columns):
                raise InputError(FEATURE_UNKNOWN.format(arg=arg, feature=feature, columns=list(frame.columns)))
    return y.astype(np.int64), pred.astype(np.int64), frame


