"""Metrics per sensitive group for any task, with bootstrap intervals and gaps to a reference group.

:func:`group_metrics` takes a run's test targets and outputs (class probabilities, or
regression predictions) and the sensitive attributes of the test samples, and returns, per
group of each attribute, the task's metrics:

- binary classification (two columns of probabilities; class 1 is the positive class): the
  audit's set (:mod:`~lilaw_health.fairness.audit`: accuracy, selection rate, TPR, FPR, PPV,
  on argmax predictions) and AUROC of the class-1 probability;
- multiclass classification: accuracy, balanced accuracy (mean recall over the classes
  present among the group's targets), macro-F1 (mean over the classes among the group's
  targets or predictions; scikit-learn's default labels) and the recall of each class;
- regression: MAE, RMSE and bias = mean(prediction - target) (positive: over-prediction).

Point values come from fairlearn's ``MetricFrame`` with scikit-learn's metric functions. A
metric undefined for a group (the recall of a class without samples, TPR without positives,
AUROC with one class) is NaN and flagged, never 0. Intervals are percentile bootstrap
intervals over the test rows, with the audit's resamples (``numpy.random.default_rng(seed)``,
one ``integers(0, n, size=n)`` per resample, shared by every attribute): for the same seed and
test set, runs and the binary audit see the same resamples. A group absent from a resample
(or a metric undefined in it) is left out of that interval. The gap of a group is its value
minus the reference group's, its interval taken over the same resamples.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, selection_rate
from numpy.typing import ArrayLike
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score, mean_absolute_error, precision_score,
                             recall_score, roc_auc_score, root_mean_squared_error)

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, SHAPE, InputError, unknown_name
from lilaw_health.core.validation import check_finite_array, check_label_array, check_probabilities
from lilaw_health.fairness.audit import FEATURE_UNKNOWN, ISSUES, REFERENCE_ABSENT, SMALL
from lilaw_health.fairness.stats import (confusion_rates, json_clean, json_records, natural_key, percentile_interval,
                                         resample_indices, safe_ratio)

TASKS = ("classification", "regression")
METRICS = {"binary": ("accuracy", "selection_rate", "tpr", "fpr", "ppv", "auroc"),
           "multiclass": ("accuracy", "balanced_accuracy", "macro_f1"),  # then recall[<class name>] per class
           "regression": ("mae", "rmse", "bias")}
HEADLINE = {"binary": ("accuracy", "tpr"), "multiclass": ("accuracy", "balanced_accuracy"),
            "regression": ("mae", "bias")}
LABELS = {"accuracy": "accuracy", "selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR", "ppv": "PPV",
          "auroc": "AUROC", "balanced_accuracy": "balanced accuracy", "macro_f1": "macro-F1", "mae": "MAE",
          "rmse": "RMSE", "bias": "bias"}
COLUMNS = ("feature", "group", "n", "metric", "value", "ci_low", "ci_high", "gap", "gap_ci_low", "gap_ci_high",
           "reference", "flag")
NO_CLASS = "no samples of class {name}: recall undefined"
ONE_CLASS = "one class only: AUROC undefined"
SENSITIVE_NAN = ("sensitive feature {feature!r} is missing for {count} of {total} rows (first at row {first}). "
                 "Give every row a group (e.g. 'unknown') or leave the feature out.")
OPTION_FIX = "e.g. n_boot=200, confidence=0.95, min_group_size=30."


@dataclass(frozen=True)
class GroupMetrics:
    """The result of :func:`group_metrics`; ``to_dict`` / ``from_dict`` round-trip through JSON.

    ``kind`` is "binary", "multiclass" or "regression". ``table`` is long: one row per
    (feature, group, metric) with the columns of :data:`COLUMNS`; ``reference`` marks the
    reference group's rows, ``flag`` holds "; "-joined warnings ("" when none). ``settings``
    records the options and the reference group chosen for each feature.
    """

    kind: str
    table: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, float]:
        """``"{feature} {metric} gap max"``: the largest |gap| over the feature's groups, per headline
        metric (:data:`HEADLINE`), for tables of runs; NaN when no group other than the reference has one."""
        out = {}
        others = self.table[~self.table["reference"].astype(bool)]
        for feature in dict.fromkeys(self.table["feature"]):
            for metric in HEADLINE[self.kind]:
                gaps = others.loc[(others["feature"] == feature) & (others["metric"] == metric), "gap"]
                gaps = gaps.to_numpy(dtype=float)
                finite = np.abs(gaps[np.isfinite(gaps)])
                out[f"{feature} {LABELS[metric]} gap max"] = float(finite.max()) if finite.size else float("nan")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes None, NumPy scalars become Python numbers."""
        return {"kind": self.kind, "settings": json_clean(self.settings), "table": json_records(self.table)}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> GroupMetrics:
        table = pd.DataFrame.from_records(payload["table"], columns=list(COLUMNS))
        for column in ("value", "ci_low", "ci_high", "gap", "gap_ci_low", "gap_ci_high"):
            table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
        table["n"] = table["n"].astype(int)
        table["reference"] = table["reference"].astype(bool)
        return cls(kind=payload["kind"], table=table, settings=dict(payload.get("settings", {})))


def group_metrics(y_true: ArrayLike, output: ArrayLike, sensitive: pd.DataFrame, *, task: str,
                  n_classes: int | None = None, class_names: list[str] | None = None,
                  reference: Mapping[str, Any] | None = None, n_boot: int = 200, confidence: float = 0.95,
                  seed: int = 0, min_group_size: int = 30) -> GroupMetrics:
    """Metrics of a task's test outputs per group of each sensitive feature, with intervals and gaps.

    Parameters
    ----------
    y_true : array-like, shape (n_samples,)
        Class ids in [0, n_classes) for classification, real targets for regression.
    output : array-like, shape (n_samples, n_classes) or (n_samples,)
        Class probabilities (rows summing to 1; two columns give the binary metrics), or
        regression predictions ((n_samples, 1) is accepted).
    sensitive : pandas.DataFrame, shape (n_samples, n_features)
        One column per sensitive feature, one row per sample in the order of ``y_true``;
        values are group names (compared as text) and may not be missing.
    task : {"classification", "regression"}
    n_classes : int, optional
        Expected number of columns of ``output`` (classification; ignored for regression).
    class_names : list of str, optional
        Names of the classes, used in ``recall[<name>]`` and flags; default "0", "1", ...
        (ignored for regression, so a caller may pass a TaskData's fields whatever its task).
    reference : mapping of feature to group, optional
        Reference group per feature; a feature without one uses its largest group.
    n_boot : int
        Bootstrap resamples (0: no intervals).
    confidence : float
        Level of the percentile intervals, in (0, 1).
    seed : int
        Seed of the resamples.
    min_group_size : int
        Groups with fewer rows are flagged.

    Returns
    -------
    GroupMetrics
    """
    kind, y, out, frame, names = _validated(y_true, output, sensitive, task, n_classes, class_names, reference)
    _check_options(n_boot, confidence, min_group_size)
    indices = resample_indices(len(y), n_boot, seed)
    resamples = _Resamples(kind, y, out, np.stack(indices) if indices else np.empty((0, len(y)), dtype=np.int64),
                           names)
    tables, chosen = [], {}
    for feature in frame.columns:
        table, chosen[feature] = _feature_table(kind, y, out, frame[feature], names, dict(reference or {}),
                                                resamples, confidence, min_group_size)
        tables.append(table)
    settings = {"task": task, "n_samples": len(y), "n_boot": n_boot, "confidence": confidence, "seed": seed,
                "min_group_size": min_group_size, "reference": chosen, "class_names": names}
    return GroupMetrics(kind=kind, table=pd.concat(tables, ignore_index=True), settings=settings)


def _feature_table(kind: str, y: np.ndarray, out: np.ndarray, values: pd.Series, names: list[str],
                   reference: dict[str, Any], resamples: _Resamples, confidence: float,
                   min_size: int) -> tuple[pd.DataFrame, str]:
    feature = str(values.name)
    index, sizes, points = _by_group(kind, y, out, values, len(names))
    groups = [str(g) for g in index]
    k = _reference_index(feature, groups, sizes, reference)
    samples = resamples.values(pd.Categorical(values, categories=index).codes.astype(np.int64), len(groups))
    rows = []
    for j, metric in enumerate(_metric_names(kind, names)):
        point = points[:, j]
        low, high = _bounds(samples[metric], confidence)
        gap_low, gap_high = _bounds(samples[metric] - samples[metric][:, [k]], confidence)
        rows += [{"feature": feature, "group": name, "n": int(sizes[g]), "metric": metric, "value": point[g],
                  "ci_low": low[g], "ci_high": high[g], "gap": point[g] - point[k], "gap_ci_low": gap_low[g],
                  "gap_ci_high": gap_high[g], "reference": g == k, "flag": _flag(metric, point[g], sizes[g], min_size)}
                 for g, name in enumerate(groups)]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    order = {name: i for i, name in enumerate(sorted(groups, key=natural_key))}
    table = table.iloc[np.argsort(table["group"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    return table, groups[k]


def _by_group(kind: str, y: np.ndarray, out: np.ndarray, values: pd.Series,
              n_classes: int) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """fairlearn's MetricFrame per group: the groups, their sizes and every metric (groups, metrics)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for message in ("y_pred contains classes not in y_true", "A single label was found"):  # groups lacking classes
            warnings.filterwarnings("ignore", message=message)
        frame = MetricFrame(metrics={"n": count, "values": _point_values(kind, n_classes)}, y_true=y,
                            y_pred=out if kind == "regression" else out.argmax(axis=1), sensitive_features=values,
                            sample_params={"values": {"y_score": out[:, 1]}} if kind == "binary" else None)
    by_group = frame.by_group
    return by_group.index, by_group["n"].to_numpy(dtype=int), np.stack(by_group["values"].to_numpy()).astype(float)


def _metric_names(kind: str, names: list[str]) -> list[str]:
    return [*METRICS[kind], *(f"recall[{name}]" for name in names)] if kind == "multiclass" else list(METRICS[kind])


def _point_values(kind: str, n_classes: int) -> Callable[..., np.ndarray]:
    """Every metric of a set of rows as one vector, in the order of :func:`_metric_names`, by
    scikit-learn's (and fairlearn's) definitions on predictions (argmax for classification); binary
    AUROC also receives the positive-class probability as ``y_score``. One function rather than one
    per metric, because MetricFrame's cost grows with the number of metric functions."""
    def regression(t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.array([mean_absolute_error(t, p), root_mean_squared_error(t, p), np.mean(p - t)])

    def binary(t: np.ndarray, p: np.ndarray, y_score: np.ndarray) -> np.ndarray:
        return np.array([accuracy_score(t, p), selection_rate(t, p), recall_score(t, p, zero_division=np.nan),
                         1.0 - recall_score(t, p, pos_label=0, zero_division=np.nan),
                         precision_score(t, p, zero_division=np.nan),
                         roc_auc_score(t, y_score) if np.unique(t).size == 2 else np.nan])

    def multiclass(t: np.ndarray, p: np.ndarray) -> np.ndarray:
        recall = recall_score(t, p, labels=list(range(n_classes)), average=None, zero_division=np.nan)
        return np.array([accuracy_score(t, p), balanced_accuracy_score(t, p), f1_score(t, p, average="macro"),
                         *recall])

    functions: dict[str, Callable[..., np.ndarray]] = {"regression": regression, "binary": binary,
                                                       "multiclass": multiclass}
    return functions[kind]


class _Resamples:
    """The resampled test rows, gathered once and shared by every feature.

    ``values(codes, n_groups)`` gives every metric per resample and group, arrays of shape
    (n_boot, n_groups), NaN where a group is absent or the metric undefined. Counts come from
    one ``bincount`` over all resamples at once (key = resample, group, cell).
    """

    def __init__(self, kind: str, y: np.ndarray, out: np.ndarray, indices: np.ndarray, names: list[str]) -> None:
        self.kind, self.names, self.n_boot, self.flat = kind, names, len(indices), indices.ravel()
        self.resample = np.repeat(np.arange(self.n_boot), indices.shape[1])
        if kind == "regression":
            self.error = (out - y)[self.flat]
        else:
            self.n_classes = out.shape[1]
            self.cell = (y * self.n_classes + out.argmax(axis=1))[self.flat]  # (true, predicted) class pair
            self.y, self.score = y, out[:, -1]

    def values(self, codes: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
        shape = (self.n_boot, n_groups)
        key = self.resample * n_groups + codes[self.flat]
        if self.kind == "regression":
            def total(weights: np.ndarray | None) -> np.ndarray:
                return np.bincount(key, weights=weights, minlength=shape[0] * shape[1]).reshape(shape)
            size = total(None)
            return {"mae": safe_ratio(total(np.abs(self.error)), size), "rmse": np.sqrt(safe_ratio(total(self.error**2), size)),
                    "bias": safe_ratio(total(self.error), size)}
        cells = self.n_classes**2
        counts = np.bincount(key * cells + self.cell, minlength=shape[0] * shape[1] * cells)
        counts = counts.reshape(*shape, self.n_classes, self.n_classes)
        if self.kind == "binary":
            return {**confusion_rates(counts.reshape(*shape, 4)), "auroc": self._auroc(codes, n_groups)}
        return _multiclass_values(counts, self.names)

    def _auroc(self, codes: np.ndarray, n_groups: int) -> np.ndarray:
        """AUROC per resample and group: the Mann-Whitney statistic with each row counted as often
        as it was drawn (ties count half), equal to ``roc_auc_score`` on the resample."""
        out = np.full((self.n_boot, n_groups), np.nan)
        drawn_group = codes[self.flat]
        for g in range(n_groups):
            rows = np.flatnonzero(codes == g)
            levels, level_of_row = np.unique(self.score[rows], return_inverse=True)
            level = np.full(len(codes), -1)
            level[rows] = level_of_row
            drawn = drawn_group == g
            take = self.flat[drawn]
            b, lv, positive = self.resample[drawn], level[take], self.y[take] == 1
            negatives = np.bincount(b[~positive] * len(levels) + lv[~positive], minlength=self.n_boot * len(levels))
            negatives = negatives.reshape(self.n_boot, len(levels))
            credit = np.cumsum(negatives, axis=1) - 0.5 * negatives  # negatives scored below, ties half
            wins = np.bincount(b[positive], weights=credit[b[positive], lv[positive]], minlength=self.n_boot)
            out[:, g] = safe_ratio(wins, np.bincount(b[positive], minlength=self.n_boot) * negatives.sum(axis=1))
        return out


def _multiclass_values(counts: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Multiclass metrics from confusion counts (..., C, C) (rows true, columns predicted)."""
    hits = np.diagonal(counts, axis1=-2, axis2=-1)
    support, predicted = counts.sum(axis=-1), counts.sum(axis=-2)
    recall, f1 = safe_ratio(hits, support), safe_ratio(2 * hits, support + predicted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a group absent from a resample: all NaN
        values = {"accuracy": safe_ratio(hits.sum(axis=-1), support.sum(axis=-1)),
                  "balanced_accuracy": np.nanmean(recall, axis=-1), "macro_f1": np.nanmean(f1, axis=-1)}
    return values | {f"recall[{name}]": recall[..., c] for c, name in enumerate(names)}


def _bounds(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    if len(samples) == 0:
        return np.full(samples.shape[1], np.nan), np.full(samples.shape[1], np.nan)
    return percentile_interval(samples, confidence)


def _flag(metric: str, value: float, size: int, min_size: int) -> str:
    texts = [SMALL.format(min_size=min_size)] if size < min_size else []
    if np.isnan(value):
        if metric.startswith("recall["):
            texts.append(NO_CLASS.format(name=metric[len("recall["):-1]))
        elif metric in ISSUES:
            texts.append(ISSUES[metric])
        elif metric == "auroc":
            texts.append(ONE_CLASS)
    return "; ".join(texts)


def _reference_index(feature: str, groups: list[str], sizes: np.ndarray, reference: dict[str, Any]) -> int:
    wanted = reference.get(feature)
    if wanted is None:
        return int(np.argmax(sizes))
    if str(wanted) not in groups:
        raise InputError(REFERENCE_ABSENT.format(group=str(wanted), feature=feature, groups=groups))
    return groups.index(str(wanted))


def _check_options(n_boot: int, confidence: float, min_group_size: int) -> None:
    def is_int(value: object) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    checks = (("n_boot", n_boot, is_int(n_boot) and n_boot >= 0, "an integer >= 0"),
              ("confidence", confidence, isinstance(confidence, Real) and 0 < confidence < 1, "a number in (0, 1)"),
              ("min_group_size", min_group_size, is_int(min_group_size), "an integer"))
    for arg, value, ok, expected in checks:
        if not ok:
            raise InputError(BAD_VALUE.format(arg=arg, expected=expected, received=repr(value), fix=OPTION_FIX))


def _validated(y_true: ArrayLike, output: ArrayLike, sensitive: Any, task: str, n_classes: int | None,
               class_names: list[str] | None, reference: Mapping[str, Any] | None):
    if task not in TASKS:
        raise unknown_name("task", task, list(TASKS), "Pass the TaskData's task.")
    out = np.asarray(output, dtype=np.float64)
    names: list[str] = []
    if task == "regression":
        kind, y, out = "regression", _regression_targets(y_true), _regression_output(out)
    else:
        names, y = _classification_arrays(y_true, out, n_classes, class_names)
        kind = "binary" if len(names) == 2 else "multiclass"
    if len(out) != len(y):
        raise InputError(LENGTH_MISMATCH.format(arg_a="y_true", arg_b="output", len_a=len(y), len_b=len(out)))
    frame = _sensitive_frame(sensitive, len(y))
    for feature in reference or {}:
        if feature not in frame.columns:
            raise InputError(FEATURE_UNKNOWN.format(arg="reference", feature=feature, columns=list(frame.columns)))
    return kind, y, out, frame, names


def _regression_targets(y_true: ArrayLike) -> np.ndarray:
    y = np.asarray(y_true)
    if y.dtype.kind not in "iuf" or y.ndim != 1:
        raise InputError(BAD_VALUE.format(arg="y_true", expected="real targets of shape (n_samples,)",
                                          received=f"dtype {y.dtype}, shape {y.shape}",
                                          fix="Pass one real target per sample."))
    check_finite_array(y, arg="y_true")
    return y.astype(np.float64)


def _regression_output(out: np.ndarray) -> np.ndarray:
    out = out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out
    if out.ndim != 1:
        raise InputError(SHAPE.format(arg="output", expected="(n_samples,) for task='regression'",
                                      received=out.shape, fix="Pass one prediction per sample."))
    check_finite_array(out, arg="output")
    return out


def _classification_arrays(y_true: ArrayLike, out: np.ndarray, n_classes: int | None,
                           class_names: list[str] | None) -> tuple[list[str], np.ndarray]:
    columns = n_classes if n_classes is not None else "n_classes >= 2"
    if out.ndim != 2 or out.shape[1] < 2 or (n_classes is not None and out.shape[1] != n_classes):
        raise InputError(SHAPE.format(arg="output", expected=f"(n_samples, {columns}) for task='classification'",
                                      received=out.shape, fix="Pass class probabilities, one column per class."))
    names = [str(c) for c in (range(out.shape[1]) if class_names is None else class_names)]
    if len(names) != out.shape[1] or len(set(names)) != len(names):
        raise InputError(BAD_VALUE.format(arg="class_names", expected=f"{out.shape[1]} distinct names",
                                          received=list(class_names or []), fix="Pass one name per class."))
    y = np.asarray(y_true)
    check_label_array(y, n_classes=out.shape[1], arg="y_true")
    check_finite_array(out, arg="output")
    check_probabilities(out, arg="output")
    return names, y.astype(np.int64)


def _sensitive_frame(sensitive: Any, n: int) -> pd.DataFrame:
    frame = pd.DataFrame(sensitive).reset_index(drop=True)
    if len(frame) != n:
        raise InputError(LENGTH_MISMATCH.format(arg_a="y_true", arg_b="sensitive", len_a=n, len_b=len(frame)))
    if frame.shape[1] == 0 or n == 0:
        raise InputError(BAD_VALUE.format(arg="sensitive", expected="at least one column and one row",
                                          received=frame.shape, fix="Pass one column per sensitive feature."))
    for feature in frame.columns:
        missing = frame[feature].isna().to_numpy()
        if missing.any():
            raise InputError(SENSITIVE_NAN.format(feature=str(feature), count=int(missing.sum()), total=n,
                                                  first=int(np.argmax(missing))))
    frame.columns = [str(c) for c in frame.columns]
    return frame.astype(str)
