from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

from lilaw_health.core.errors import (
    BAD_VALUE,
    LABELS_DTYPE,
    LABELS_RANGE,
    LENGTH_MISMATCH,
    NOT_FINITE,
    SHAPE,
    InputError,
    UnknownNameError,
)
from lilaw_health.core.metrics import (
    MONITORS,
    REGRESSION_MONITORS,
    classification_metrics,
    confusion,
    detection_metrics,
    per_class_report,
    regression_metrics,
)


def _random_task(n: int = 400, n_classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    logits = rng.normal(size=(n, n_classes)) + 1.5 * np.eye(n_classes)[y]  # better than chance
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def test_classification_metrics_match_sklearn_multiclass():
    y, proba = _random_task()
    pred = proba.argmax(axis=1)
    metrics = classification_metrics(y, proba)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert metrics["auroc"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr", average="macro"))


def test_classification_metrics_binary():
    y, proba = _random_task(n=300, n_classes=2, seed=1)
    metrics = classification_metrics(y, proba, n_classes=2)
    assert metrics["auroc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert metrics["macro_f1"] == pytest.approx(f1_score(y, proba.argmax(axis=1), average="macro"))


def test_classification_metrics_with_a_class_missing_from_y_true():
    y, proba = _random_task(n=300, n_classes=4, seed=2)
    keep = y != 3
    y, proba = y[keep], proba[keep]
    pred = proba.argmax(axis=1)
    metrics = classification_metrics(y, proba)
    # Balanced accuracy averages recall over the classes present; macro F1 counts the
    # missing class as 0; AUROC averages one-vs-rest over the classes that qualify.
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected_balanced = balanced_accuracy_score(y, pred)
    assert metrics["balanced_accuracy"] == pytest.approx(expected_balanced)
    assert metrics["macro_f1"] == pytest.approx(f1_score(y, pred, labels=range(4), average="macro", zero_division=0))
    expected_auroc = np.mean([roc_auc_score(y == k, proba[:, k]) for k in range(3)])
    assert metrics["auroc"] == pytest.approx(expected_auroc)


def test_auroc_is_nan_when_y_true_has_one_class():
    metrics = classification_metrics([1, 1, 1], [[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    assert math.isnan(metrics["auroc"])
    assert metrics["accuracy"] == pytest.approx(1 / 3)
    assert metrics["balanced_accuracy"] == pytest.approx(1 / 3)


def test_monitors_agree_with_classification_metrics_and_loss_with_sklearn():
    y, proba = _random_task(seed=3)
    metrics = classification_metrics(y, proba)
    for name in metrics:
        function, higher_is_better = MONITORS.get(name)
        assert function(y, proba) == pytest.approx(metrics[name]) and higher_is_better
    loss, higher_is_better = MONITORS.get("loss")
    assert loss(y, proba) == pytest.approx(log_loss(y, proba)) and not higher_is_better


def test_loss_monitor_clips_a_zero_probability():
    loss, _ = MONITORS.get("loss")
    assert loss([0], [[0.0, 1.0]]) == pytest.approx(-math.log(1e-12))


def test_confusion_by_hand():
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    np.testing.assert_array_equal(confusion([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], n_classes=3), expected)


def test_per_class_report_by_hand():
    report = per_class_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], n_classes=3, class_names=["a", "b", "c"])
    assert list(report.columns) == ["class", "name", "support", "precision", "recall", "f1"]
    assert report["name"].tolist() == ["a", "b", "c"]
    assert report["support"].tolist() == [2, 2, 1]
    np.testing.assert_allclose(report["precision"], [0.5, 2 / 3, 0.0])
    np.testing.assert_allclose(report["recall"], [0.5, 1.0, 0.0])
    np.testing.assert_allclose(report["f1"], [0.5, 0.8, 0.0])


def test_per_class_report_default_names_and_absent_class():
    report = per_class_report([0, 1], [0, 1], n_classes=3)
    assert report["name"].tolist() == ["0", "1", "2"]
    assert report.loc[2, ["support", "precision", "recall", "f1"]].tolist() == [0, 0.0, 0.0, 0.0]


def test_detection_metrics_perfect_score():
    is_noisy = np.array([True, False, False, True, False])
    metrics = detection_metrics(is_noisy, is_noisy.astype(float))
    assert metrics == {"auroc": 1.0, "auprc": 1.0, "precision_at_k": 1.0, "n_noisy": 2}


def test_detection_metrics_random_score_is_near_chance():
    rng = np.random.default_rng(4)
    is_noisy = rng.random(20000) < 0.2
    metrics = detection_metrics(is_noisy, rng.random(20000))
    assert metrics["auroc"] == pytest.approx(0.5, abs=0.02)
    assert metrics["auprc"] == pytest.approx(is_noisy.mean(), abs=0.02)
    assert metrics["precision_at_k"] == pytest.approx(is_noisy.mean(), abs=0.03)


def test_precision_at_k_by_hand():
    # k = 2 flips; the two highest scores are samples 0 (noisy) and 1 (clean).
    metrics = detection_metrics([True, False, True, False, False], [0.9, 0.8, 0.1, 0.7, 0.2])
    assert metrics["precision_at_k"] == 0.5
    assert metrics["n_noisy"] == 2


@pytest.mark.parametrize("is_noisy", [[False, False, False], [True, True, True]])
def test_detection_metrics_nan_when_mask_is_constant(is_noisy):
    metrics = detection_metrics(is_noisy, [0.1, 0.5, 0.3])
    assert math.isnan(metrics["auroc"]) and math.isnan(metrics["auprc"])
    assert metrics["n_noisy"] == sum(is_noisy)


# Every error message -------------------------------------------------------------------


def test_error_logits_instead_of_probabilities():
    message = ("proba must be class probabilities (rows >= 0 summing to 1 within 0.001); received 2 bad rows, "
               "first row 0 = [2.0, -1.0]. Pass softmax probabilities, not logits")
    with pytest.raises(InputError, match=re.escape(message)):
        classification_metrics([0, 1, 1], [[2.0, -1.0], [0.3, 0.7], [0.5, 0.6]])


def test_error_proba_negative_even_if_rows_sum_to_one():
    with pytest.raises(InputError, match=re.escape("first row 0 = [1.5, -0.5]. Pass softmax probabilities")):
        classification_metrics([0], [[1.5, -0.5]])


@pytest.mark.parametrize(("proba", "n_classes", "expected", "received"), [
    ([0.2, 0.8], None, "(n_samples, n_classes)", "(2,)"),
    ([[0.2, 0.8]], 3, "(n_samples, 3)", "(1, 2)"),
])
def test_error_proba_shape(proba, n_classes, expected, received):
    message = (f"proba must have shape {expected}; received {received}. "
               "Pass one row of class probabilities per sample, one column per class.")
    with pytest.raises(InputError, match=re.escape(message)):
        classification_metrics([0], proba, n_classes=n_classes)


def test_error_proba_not_finite():
    message = NOT_FINITE.format(arg="proba", count=1, index=(1, 1))
    with pytest.raises(InputError, match=re.escape(message)):
        classification_metrics([0, 1], [[1.0, 0.0], [0.0, np.nan]])


def test_error_y_true_and_proba_lengths():
    message = LENGTH_MISMATCH.format(arg_a="y_true", arg_b="proba", len_a=3, len_b=2)
    with pytest.raises(InputError, match=re.escape(message)):
        classification_metrics([0, 1, 1], [[1.0, 0.0], [0.0, 1.0]])


def test_error_y_true_dtype_and_range():
    with pytest.raises(InputError, match=re.escape(LABELS_DTYPE.format(arg="y_true", dtype="float64"))):
        classification_metrics([0.0, 1.0], [[1.0, 0.0], [0.0, 1.0]])
    message = LABELS_RANGE.format(arg="y_true", n_classes=2, low=0, high=2)
    with pytest.raises(InputError, match=re.escape(message)):
        classification_metrics([0, 2], [[1.0, 0.0], [0.0, 1.0]])


def test_error_y_true_empty():
    message = "y_true must have shape (n_samples,) with n_samples >= 1; received (0,). Pass at least one sample."
    with pytest.raises(InputError, match=re.escape(message)):
        confusion(np.array([], dtype=np.int64), np.array([], dtype=np.int64), n_classes=2)


def test_error_y_pred_range_and_length():
    message = LABELS_RANGE.format(arg="y_pred", n_classes=2, low=-1, high=1)
    with pytest.raises(InputError, match=re.escape(message)):
        confusion([0, 1], [-1, 1], n_classes=2)
    message = LENGTH_MISMATCH.format(arg_a="y_true", arg_b="y_pred", len_a=2, len_b=3)
    with pytest.raises(InputError, match=re.escape(message)):
        per_class_report([0, 1], [0, 1, 1], n_classes=2)


@pytest.mark.parametrize("n_classes", [0, 2.0, None])
def test_error_n_classes(n_classes):
    message = f"n_classes must be a positive integer; received {n_classes!r}. Pass the number of classes of the task."
    with pytest.raises(InputError, match=re.escape(message)):
        confusion([0, 1], [0, 1], n_classes=n_classes)


def test_error_n_classes_of_classification_metrics():
    with pytest.raises(InputError, match=re.escape("n_classes must be a positive integer; received -2.")):
        classification_metrics([0], [[1.0, 0.0]], n_classes=-2)


def test_error_class_names_length():
    message = ("class_names must have shape (3,) (one name per class); received (2,). "
               "Pass one name per class in class-id order, or omit class_names.")
    with pytest.raises(InputError, match=re.escape(message)):
        per_class_report([0, 1], [0, 1], n_classes=3, class_names=["a", "b"])


def test_error_is_noisy_not_boolean():
    message = ("is_noisy must be a boolean flip mask; received dtype int64. "
               "Pass NoisyLabels.flipped or (noisy_labels != clean_labels).")
    with pytest.raises(InputError, match=re.escape(message)):
        detection_metrics(np.array([0, 1]), [0.2, 0.3])


@pytest.mark.parametrize(("is_noisy", "score", "arg", "received"), [
    ([[True, False]], [0.1, 0.2], "is_noisy", "(1, 2)"),
    ([True, False], [[0.1, 0.2]], "score", "(1, 2)"),
    ([], [], "is_noisy", "(0,)"),
])
def test_error_detection_shapes(is_noisy, score, arg, received):
    message = f"{arg} must have shape (n_samples,) with n_samples >= 1; received {received}. Pass one value per sample."
    with pytest.raises(InputError, match=re.escape(message)):
        detection_metrics(np.asarray(is_noisy, dtype=bool), score)


def test_error_detection_length_and_finite():
    message = LENGTH_MISMATCH.format(arg_a="is_noisy", arg_b="score", len_a=2, len_b=3)
    with pytest.raises(InputError, match=re.escape(message)):
        detection_metrics([True, False], [0.1, 0.2, 0.3])
    with pytest.raises(InputError, match=re.escape(NOT_FINITE.format(arg="score", count=1, index=1))):
        detection_metrics([True, False], [0.1, np.inf])


def test_error_unknown_monitor_lists_valid_names():
    message = ("unknown monitor 'f2'; valid names are: accuracy, auroc, balanced_accuracy, loss, macro_f1, mae, r2, "
               "rmse. Pick the validation score")
    with pytest.raises(UnknownNameError, match=re.escape(message)):
        MONITORS.get("f2")


# Regression -----------------------------------------------------------------------------


def _regression_task(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 17, n).astype(float)  # PSPI-like 0..16
    return y, np.clip(y + rng.normal(0, 3, n), 0, 16)


def test_regression_metrics_match_sklearn_and_scipy():
    y, pred = _regression_task()
    metrics = regression_metrics(y, pred)
    assert list(metrics) == ["mae", "rmse", "r2", "pearson"]
    assert metrics["mae"] == pytest.approx(mean_absolute_error(y, pred))
    assert metrics["rmse"] == pytest.approx(math.sqrt(mean_squared_error(y, pred)))
    assert metrics["r2"] == pytest.approx(r2_score(y, pred))
    assert metrics["pearson"] == pytest.approx(pearsonr(y, pred).statistic)
    assert metrics["pearson"] == pytest.approx(np.corrcoef(y, pred)[0, 1])


def test_regression_binary_metrics_match_sklearn():
    y, pred = _regression_task(seed=1)
    metrics = regression_metrics(y, pred, threshold=4)
    positive, predicted = y >= 4, pred >= 4
    assert metrics["binary_accuracy"] == pytest.approx(accuracy_score(positive, predicted))
    assert metrics["binary_balanced_accuracy"] == pytest.approx(balanced_accuracy_score(positive, predicted))
    assert metrics["binary_f1"] == pytest.approx(f1_score(positive, predicted))
    assert metrics["binary_auroc"] == pytest.approx(roc_auc_score(positive, pred))
    assert metrics["mae"] == regression_metrics(y, pred)["mae"]


def test_regression_threshold_is_inclusive():
    metrics = regression_metrics([3.0, 2.9], [3.0, 2.9], threshold=3)
    assert metrics["binary_accuracy"] == 1.0 and metrics["binary_f1"] == 1.0 and metrics["binary_auroc"] == 1.0


def test_regression_constant_predictions_give_nan_pearson_without_a_warning(recwarn):
    metrics = regression_metrics([0.0, 1.0, 5.0], [2.0, 2.0, 2.0], threshold=3)
    assert math.isnan(metrics["pearson"])
    assert metrics["r2"] == pytest.approx(r2_score([0.0, 1.0, 5.0], [2.0, 2.0, 2.0]))
    assert metrics["binary_f1"] == 0.0 and metrics["binary_auroc"] == 0.5
    assert len(recwarn) == 0


def test_regression_constant_targets_give_nan_r2_and_auroc(recwarn):
    metrics = regression_metrics([5.0, 5.0, 5.0], [4.0, 5.0, 6.0], threshold=5)
    assert math.isnan(metrics["r2"]) and math.isnan(metrics["pearson"]) and math.isnan(metrics["binary_auroc"])
    assert metrics["binary_accuracy"] == pytest.approx(2 / 3)
    assert metrics["binary_balanced_accuracy"] == pytest.approx(2 / 3)  # recall of the one class present
    assert len(recwarn) == 0


def test_regression_metrics_accept_integer_targets():
    assert regression_metrics(np.array([0, 2]), [0.5, 2.5]) == regression_metrics([0.0, 2.0], [0.5, 2.5])


def test_regression_monitors_take_predictions_and_agree_with_the_metrics():
    y, pred = _regression_task(seed=2)
    metrics = regression_metrics(y, pred)
    assert REGRESSION_MONITORS == {"mae", "rmse", "r2"}
    expected_direction = {"mae": False, "rmse": False, "r2": True}
    for name in REGRESSION_MONITORS:
        function, higher_is_better = MONITORS.get(name)
        assert function(y, pred) == pytest.approx(metrics[name])
        assert higher_is_better is expected_direction[name]


@pytest.mark.parametrize(("y_true", "y_pred", "arg", "received"), [
    ([1.0, 2.0], [[1.0], [2.0]], "y_pred", "(2, 1)"),
    ([[1.0, 2.0]], [1.0, 2.0], "y_true", "(1, 2)"),
    ([], [], "y_true", "(0,)"),
])
def test_error_regression_shapes(y_true, y_pred, arg, received):
    message = SHAPE.format(arg=arg, expected="(n_samples,) with n_samples >= 1", received=received,
                           fix="Pass one value per sample; squeeze a (n_samples, 1) model output.")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_metrics(y_true, y_pred)


def test_error_regression_monitor_given_probabilities():
    mae, _ = MONITORS.get("mae")
    with pytest.raises(InputError, match=re.escape("y_pred must have shape (n_samples,) with n_samples >= 1; "
                                                   "received (2, 2).")):
        mae([0.0, 1.0], [[0.5, 0.5], [0.2, 0.8]])


def test_error_regression_lengths_and_finite():
    message = LENGTH_MISMATCH.format(arg_a="y_true", arg_b="y_pred", len_a=2, len_b=3)
    with pytest.raises(InputError, match=re.escape(message)):
        regression_metrics([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InputError, match=re.escape(NOT_FINITE.format(arg="y_pred", count=1, index=1))):
        regression_metrics([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(InputError, match=re.escape(NOT_FINITE.format(arg="y_true", count=2, index=0))):
        regression_metrics([np.inf, -np.inf], [1.0, 2.0])


@pytest.mark.parametrize("values", [["a", "b"], [True, False]])
def test_error_regression_values_not_real(values):
    message = BAD_VALUE.format(arg="y_true", expected="real numbers", received=f"dtype {np.asarray(values).dtype}",
                               fix="Convert the values to float (e.g. numpy.asarray(x, dtype=float)).")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_metrics(values, [1.0, 2.0])


@pytest.mark.parametrize("threshold", [float("nan"), "3", True])
def test_error_regression_threshold(threshold):
    message = BAD_VALUE.format(arg="threshold", expected="a finite number", received=repr(threshold),
                               fix="Pass the target value from which a sample counts as positive, or omit threshold.")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_metrics([1.0, 2.0], [1.0, 2.0], threshold=threshold)
