"""Classification, regression and mislabel-detection metrics.

Validated wrappers around scikit-learn that fix the conventions every report uses:
probabilities in (never logits), the classes are ``range(n_classes)`` whether or not they
occur, ``zero_division=0``, and NaN instead of an exception when a score is undefined
(AUROC when only one class is present, Pearson's r of a constant, R^2 of constant targets).

:data:`MONITORS` maps a name to ``(function, higher_is_better)``; the function takes
``(targets, outputs)``. Classification monitors take class probabilities (n_samples,
n_classes) as outputs; regression monitors (:data:`REGRESSION_MONITORS`) take predictions of
shape (n_samples,). ``loss`` is cross-entropy of probabilities; a trainer may monitor its own
validation loss under that name instead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support, roc_auc_score

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, SHAPE, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.core.validation import check_finite_array, check_label_array, check_probabilities

LOSS_CLIP = 1e-12

Monitor = tuple[Callable[[ArrayLike, ArrayLike], float], bool]
MONITORS: Registry[Monitor] = Registry("monitor", fix="Pick the validation score to select the best epoch with.")
REGRESSION_MONITORS: set[str] = set()  # the names in MONITORS that take predictions (n_samples,)


def classification_metrics(y_true: ArrayLike, proba: ArrayLike, *, n_classes: int | None = None) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro F1 and AUROC of class probabilities.

    Parameters
    ----------
    y_true : array-like of int, shape (n_samples,)
        True class ids in [0, n_classes).
    proba : array-like of float, shape (n_samples, n_classes)
        Class probabilities; rows must sum to 1 within 1e-3 (logits are rejected).
    n_classes : int, optional
        Expected number of columns of ``proba``; defaults to ``proba.shape[1]``.

    Returns
    -------
    dict
        ``accuracy``; ``balanced_accuracy`` (mean recall over the classes present in
        ``y_true``, as scikit-learn computes it); ``macro_f1`` (over all n_classes,
        zero_division=0); ``auroc`` (binary: of class 1; multiclass: macro one-vs-rest over
        the classes with both positives and negatives in ``y_true``; NaN if none has).

    Examples
    --------
    >>> classification_metrics([0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])["accuracy"]
    0.6666666666666666
    """
    y, p = _check_proba(y_true, proba, n_classes)
    return {name: impl(y, p) for name, impl in _CLASSIFICATION.items()}


def per_class_report(
    y_true: ArrayLike, y_pred: ArrayLike, *, n_classes: int, class_names: list[str] | None = None
) -> pd.DataFrame:
    """One row per class: class, name, support, precision, recall, f1 (zero_division=0).

    ``y_true`` and ``y_pred`` are (n_samples,) class ids in [0, n_classes); ``class_names``
    has one name per class and defaults to the class ids as strings.
    """
    y, pred = _check_pair(y_true, y_pred, n_classes)
    if class_names is None:
        class_names = [str(k) for k in range(n_classes)]
    if len(class_names) != n_classes:
        raise InputError(SHAPE.format(arg="class_names", expected=f"({n_classes},) (one name per class)",
                                      received=f"({len(class_names)},)",
                                      fix="Pass one name per class in class-id order, or omit class_names."))
    precision, recall, f1, support = precision_recall_fscore_support(
        y, pred, labels=np.arange(n_classes), zero_division=0)
    return pd.DataFrame({"class": np.arange(n_classes), "name": list(class_names), "support": support,
                         "precision": precision, "recall": recall, "f1": f1})


def confusion(y_true: ArrayLike, y_pred: ArrayLike, *, n_classes: int) -> np.ndarray:
    """Confusion counts of shape (n_classes, n_classes); rows are true classes, columns predicted.

    Examples
    --------
    >>> confusion([0, 1, 1], [0, 0, 1], n_classes=2)
    array([[1, 0],
           [1, 1]])
    """
    y, pred = _check_pair(y_true, y_pred, n_classes)
    return _confusion(y, pred, n_classes)


def detection_metrics(is_noisy: ArrayLike, score: ArrayLike) -> dict[str, float]:
    """How well a per-sample score finds mislabelled samples.

    Parameters
    ----------
    is_noisy : array-like of bool, shape (n_samples,)
        The flip mask (e.g. ``NoisyLabels.flipped``).
    score : array-like of float, shape (n_samples,)
        Suspicion score; higher means more likely mislabelled.

    Returns
    -------
    dict
        ``auroc`` and ``auprc`` (average precision), NaN when ``is_noisy`` is all one value;
        ``precision_at_k``, the fraction of flips among the k highest scores with k the number
        of flips (ties broken by sample order; NaN when there is no flip); ``n_noisy``.
    """
    mask, s = _check_detection(is_noisy, score)
    n_noisy = int(mask.sum())
    both = 0 < n_noisy < mask.size
    top_k = np.argsort(-s, kind="stable")[:n_noisy]
    return {
        "auroc": float(roc_auc_score(mask, s)) if both else float("nan"),
        "auprc": float(average_precision_score(mask, s)) if both else float("nan"),
        "precision_at_k": float(mask[top_k].mean()) if n_noisy else float("nan"),
        "n_noisy": n_noisy,
    }


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike, *, threshold: float | None = None) -> dict[str, float]:
    """Error and agreement of real-valued predictions, optionally also as a binary task.

    Parameters
    ----------
    y_true : array-like of float, shape (n_samples,)
        True targets (e.g. PSPI pain intensity 0..16).
    y_pred : array-like of float, shape (n_samples,)
        Predictions, one per sample (squeeze a (n_samples, 1) model output first).
    threshold : float, optional
        When given, the task is also scored as binary: the positive class is
        ``y_true >= threshold``, the predicted class ``y_pred >= threshold``, and ``y_pred``
        itself is the score for AUROC.

    Returns
    -------
    dict
        ``mae``; ``rmse``; ``r2`` (1 - SS_res / SS_tot; NaN when ``y_true`` is constant, where
        scikit-learn would return 0 or 1); ``pearson`` (Pearson's r; NaN, without a warning,
        when either array is constant). With ``threshold``, also ``binary_accuracy``,
        ``binary_balanced_accuracy`` (mean recall over the classes present in the binarised
        ``y_true``), ``binary_f1`` (F1 of the positive class, zero_division=0) and
        ``binary_auroc`` (NaN when the binarised ``y_true`` has one class).

    Examples
    --------
    >>> scores = regression_metrics([0.0, 2.0, 4.0, 8.0], [1.0, 2.0, 5.0, 8.0], threshold=3.0)
    >>> scores["mae"], scores["binary_accuracy"], scores["binary_auroc"]
    (0.5, 1.0, 1.0)
    """
    y, pred = _check_regression(y_true, y_pred)
    scores = {name: impl(y, pred) for name, impl in _REGRESSION.items()}
    if threshold is not None:
        scores.update(_binary_at(y, pred, _check_threshold(threshold)))
    return scores


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - y)))


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - pred) ** 2)) / total if total > 0 else float("nan")


def _pearson(y: np.ndarray, pred: np.ndarray) -> float:
    dy, dp = y - y.mean(), pred - pred.mean()
    norm = float(np.sqrt(np.sum(dy**2) * np.sum(dp**2)))
    # Clipping keeps rounding from reporting |r| a hair above 1.
    return float(np.clip(np.sum(dy * dp) / norm, -1.0, 1.0)) if norm > 0 else float("nan")


def _binary_at(y: np.ndarray, pred: np.ndarray, threshold: float) -> dict[str, float]:
    positive, predicted = (y >= threshold).astype(np.int64), (pred >= threshold).astype(np.int64)
    matrix = _confusion(positive, predicted, 2)
    support = matrix.sum(axis=1)
    present = support > 0
    both = bool(present.all())
    return {
        "binary_accuracy": float(np.mean(positive == predicted)),
        "binary_balanced_accuracy": float(np.mean(np.diag(matrix)[present] / support[present])),
        "binary_f1": float(f1_score(positive, predicted, labels=[0, 1], pos_label=1, zero_division=0)),
        "binary_auroc": float(roc_auc_score(positive, pred)) if both else float("nan"),
    }


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(proba.argmax(axis=1) == y))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    matrix = _confusion(y, proba.argmax(axis=1), proba.shape[1])
    support = matrix.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(matrix)[present] / support[present]))


def _macro_f1(y: np.ndarray, proba: np.ndarray) -> float:
    labels = np.arange(proba.shape[1])
    return float(f1_score(y, proba.argmax(axis=1), labels=labels, average="macro", zero_division=0))


def _auroc(y: np.ndarray, proba: np.ndarray) -> float:
    classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    scores = [roc_auc_score(y == k, proba[:, k]) for k in classes if 0 < np.sum(y == k) < y.size]
    return float(np.mean(scores)) if scores else float("nan")


def _cross_entropy(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-probability of the true class; clipping keeps a confident miss finite."""
    return float(-np.mean(np.log(np.clip(proba[np.arange(y.size), y], LOSS_CLIP, 1.0))))


def _confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    return np.bincount(y * n_classes + pred, minlength=n_classes**2).reshape(n_classes, n_classes)


_CLASSIFICATION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy, "balanced_accuracy": _balanced_accuracy, "macro_f1": _macro_f1, "auroc": _auroc,
}


def _as_monitor(impl: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[ArrayLike, ArrayLike], float]:
    @functools.wraps(impl)
    def monitor(y_true: ArrayLike, proba: ArrayLike) -> float:
        y, p = _check_proba(y_true, proba, None)
        return impl(y, p)

    return monitor


MONITORS.add("accuracy", (_as_monitor(_accuracy), True))
MONITORS.add("balanced_accuracy", (_as_monitor(_balanced_accuracy), True))
MONITORS.add("macro_f1", (_as_monitor(_macro_f1), True))
MONITORS.add("auroc", (_as_monitor(_auroc), True))
MONITORS.add("loss", (_as_monitor(_cross_entropy), False))

_REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": _mae, "rmse": _rmse, "r2": _r2, "pearson": _pearson,
}


def _add_regression_monitor(name: str, *, higher_is_better: bool) -> None:
    """Register ``_REGRESSION[name]`` as a monitor of (targets (n,), predictions (n,))."""
    impl = _REGRESSION[name]

    @functools.wraps(impl)
    def monitor(y_true: ArrayLike, y_pred: ArrayLike) -> float:
        return impl(*_check_regression(y_true, y_pred))

    MONITORS.add(name, (monitor, higher_is_better))
    REGRESSION_MONITORS.add(name)


# Pearson's r is left out: it is NaN for a constant prediction (early epochs) and blind to bias.
_add_regression_monitor("mae", higher_is_better=False)
_add_regression_monitor("rmse", higher_is_better=False)
_add_regression_monitor("r2", higher_is_better=True)


def _check_n_classes(n_classes: object) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 1:
        raise InputError(BAD_VALUE.format(arg="n_classes", expected="a positive integer", received=repr(n_classes),
                                          fix="Pass the number of classes of the task."))
    return int(n_classes)


def _check_labels(labels: ArrayLike, arg: str, n_classes: int) -> np.ndarray:
    array = np.asarray(labels)
    if array.size == 0:
        raise InputError(SHAPE.format(arg=arg, expected="(n_samples,) with n_samples >= 1", received=array.shape,
                                      fix="Pass at least one sample."))
    check_label_array(array, n_classes=n_classes, arg=arg)
    return array.astype(np.int64)


def _check_same_length(a: np.ndarray, b: np.ndarray, arg_a: str, arg_b: str) -> None:
    if len(a) != len(b):
        raise InputError(LENGTH_MISMATCH.format(arg_a=arg_a, arg_b=arg_b, len_a=len(a), len_b=len(b)))


def _check_pair(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    n_classes = _check_n_classes(n_classes)
    y, pred = _check_labels(y_true, "y_true", n_classes), _check_labels(y_pred, "y_pred", n_classes)
    _check_same_length(y, pred, "y_true", "y_pred")
    return y, pred


def _check_proba(y_true: ArrayLike, proba: ArrayLike, n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(proba, dtype=np.float64)
    columns = "n_classes" if n_classes is None else _check_n_classes(n_classes)
    if p.ndim != 2 or (n_classes is not None and p.shape[1] != n_classes):
        raise InputError(SHAPE.format(arg="proba", expected=f"(n_samples, {columns})", received=p.shape,
                                      fix="Pass one row of class probabilities per sample, one column per class."))
    y = _check_labels(y_true, "y_true", p.shape[1])
    _check_same_length(y, p, "y_true", "proba")
    check_finite_array(p, arg="proba")
    check_probabilities(p, arg="proba")
    return y, p


def _check_values(values: ArrayLike, arg: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise InputError(BAD_VALUE.format(arg=arg, expected="real numbers", received=f"dtype {array.dtype}",
                                          fix="Convert the values to float (e.g. numpy.asarray(x, dtype=float))."))
    if array.ndim != 1 or array.size == 0:
        raise InputError(SHAPE.format(arg=arg, expected="(n_samples,) with n_samples >= 1", received=array.shape,
                                      fix="Pass one value per sample; squeeze a (n_samples, 1) model output."))
    array = array.astype(np.float64)
    check_finite_array(array, arg=arg)
    return array


def _check_regression(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y, pred = _check_values(y_true, "y_true"), _check_values(y_pred, "y_pred")
    _check_same_length(y, pred, "y_true", "y_pred")
    return y, pred


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not math.isfinite(threshold):
        raise InputError(BAD_VALUE.format(arg="threshold", expected="a finite number", received=repr(threshold),
                                          fix="Pass the target value from which a sample counts as positive, "
                                              "or omit threshold."))
    return float(threshold)


def _check_detection(is_noisy: ArrayLike, score: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    mask, s = np.asarray(is_noisy), np.asarray(score, dtype=np.float64)
    for arg, array in (("is_noisy", mask), ("score", s)):
        if array.ndim != 1 or array.size == 0:
            raise InputError(SHAPE.format(arg=arg, expected="(n_samples,) with n_samples >= 1",
                                          received=array.shape, fix="Pass one value per sample."))
    if mask.dtype != np.bool_:
        raise InputError(BAD_VALUE.format(arg="is_noisy", expected="a boolean flip mask",
                                          received=f"dtype {mask.dtype}",
                                          fix="Pass NoisyLabels.flipped or (noisy_labels != clean_labels)."))
    _check_same_length(mask, s, "is_noisy", "score")
    check_finite_array(s, arg="score")
    return mask, s
