from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import (
    LABELS_DTYPE,
    LABELS_RANGE,
    LENGTH_MISMATCH,
    NOT_FINITE,
    InputError,
    UnknownNameError,
)
from lilaw_health.core.noise import (
    NOISE_MODELS,
    exponential_profile,
    inject_label_noise,
    instance_noise,
    long_tailed_subsample,
    symmetric_noise,
)

KINDS = ["none", "symmetric", "asymmetric", "pairflip", "transition", "instance", "long_tailed"]


def _labels(n: int = 2000, n_classes: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_classes, n)


def _options(kind: str, n: int, n_classes: int, seed: int = 0) -> dict:
    """The kind-specific argument each model needs, built reproducibly."""
    rng = np.random.default_rng(seed)
    if kind == "transition":
        matrix = rng.random((n_classes, n_classes))
        return {"transition_matrix": matrix / matrix.sum(axis=1, keepdims=True)}
    if kind == "instance":
        return {"features": rng.normal(size=(n, 3, 2))}
    return {}


def test_registry_holds_every_kind():
    assert NOISE_MODELS.names() == sorted(KINDS)


def test_none_returns_the_clean_labels():
    y = _labels()
    noisy = inject_label_noise(y, kind="none", rate=0.5)
    np.testing.assert_array_equal(noisy.labels, y)
    assert noisy.rate == 0.0
    np.testing.assert_array_equal(noisy.transition_matrix, np.eye(4))


@pytest.mark.parametrize("rate", [0.29, 0.5, 0.73])
def test_symmetric_chooses_floor_rate_n(rate):
    # With a million classes a chosen label practically never redraws itself, so every
    # chosen sample shows up as a flip and the count of chosen samples is observable.
    y = np.zeros(100, dtype=np.int64)
    noisy = symmetric_noise(y, rate=rate, n_classes=10**6, rng=np.random.default_rng(0))
    assert np.sum(noisy != y) == math.floor(round(rate * 100, 9))


def test_symmetric_realised_rate_is_rate_times_one_minus_one_over_c():
    noisy = inject_label_noise(_labels(20000, 4), kind="symmetric", rate=0.4, seed=1)
    assert noisy.rate == pytest.approx(0.4 * (1 - 1 / 4), abs=0.01)


def test_asymmetric_flips_exactly_round_rate_n():
    y = _labels(1002, 5)
    noisy = inject_label_noise(y, kind="asymmetric", rate=0.3, seed=2)
    assert noisy.flipped.sum() == 301  # round(300.6), not floor
    assert np.all(np.diag(noisy.transition_matrix) < 1)


def test_pairflip_moves_to_the_next_class():
    y = _labels(5000, 3)
    noisy = inject_label_noise(y, kind="pairflip", rate=0.3, seed=3)
    np.testing.assert_array_equal(noisy.labels[noisy.flipped], (y[noisy.flipped] + 1) % 3)
    assert noisy.rate == pytest.approx(0.3, abs=0.03)


def test_transition_identity_changes_nothing():
    y = _labels()
    noisy = inject_label_noise(y, kind="transition", transition_matrix=np.eye(4), rate=0.9)
    np.testing.assert_array_equal(noisy.labels, y)


def test_transition_permutation_is_applied():
    y = _labels()
    permutation = np.array([2, 0, 3, 1])
    noisy = inject_label_noise(y, kind="transition", transition_matrix=np.eye(4)[permutation])
    np.testing.assert_array_equal(noisy.labels, permutation[y])
    np.testing.assert_array_equal(noisy.transition_matrix, np.eye(4)[permutation])


def test_transition_realised_matrix_approaches_the_given_one():
    matrix = np.array([[0.7, 0.2, 0.1], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    noisy = inject_label_noise(_labels(30000, 3), kind="transition", transition_matrix=matrix)
    np.testing.assert_allclose(noisy.transition_matrix, matrix, atol=0.02)


def test_instance_realised_rate_is_near_rate():
    y = _labels(20000, 5)
    features = np.random.default_rng(4).normal(size=(20000, 8))
    noisy = inject_label_noise(y, kind="instance", rate=0.3, features=features, seed=5)
    assert noisy.rate == pytest.approx(0.3, abs=0.02)


def test_instance_flips_depend_on_the_features():
    y = _labels(3000, 4)
    rng = np.random.default_rng(6)
    first = inject_label_noise(y, kind="instance", rate=0.3, features=rng.normal(size=(3000, 5)))
    second = inject_label_noise(y, kind="instance", rate=0.3, features=rng.normal(size=(3000, 5)))
    assert not np.array_equal(first.labels, second.labels)


def test_instance_rate_zero_gives_the_clean_labels():
    y = _labels(500, 3)
    noisy = inject_label_noise(y, kind="instance", rate=0.0, features=np.ones((500, 2)))
    np.testing.assert_array_equal(noisy.labels, y)


def test_long_tailed_flips_follow_class_frequency():
    y = np.repeat([0, 1, 2, 3], [50000, 20000, 7500, 2500])
    frequency = np.bincount(y) / y.size
    noisy = inject_label_noise(y, kind="long_tailed", rate=0.4, seed=9)
    # P(noisy = k | clean = c) = rate * frequency_k for k != c, and 1 - rate + rate * frequency_c on the diagonal
    expected = 0.4 * np.tile(frequency, (4, 1)) + 0.6 * np.eye(4)
    np.testing.assert_allclose(noisy.transition_matrix, expected, atol=0.03)  # 3 sd for the smallest class
    assert noisy.rate == pytest.approx(0.4 * (1 - (frequency**2).sum()), abs=0.01)


def test_exponential_profile_ranks_classes_by_size():
    assert exponential_profile([500, 500, 500, 500, 500], imbalance_factor=10).tolist() == [500, 281, 158, 88, 50]
    # already long-tailed (ECG5000's training counts): the head sets n_max; no class grows; the smallest keeps 1+
    assert exponential_profile([292, 177, 10, 19, 2], imbalance_factor=100).tolist() == [292, 92, 9, 19, 2]
    assert exponential_profile([7, 0, 3], imbalance_factor=1).tolist() == [7, 0, 3]
    assert exponential_profile([0, 0], imbalance_factor=5).tolist() == [0, 0]


def test_long_tailed_subsample_keeps_the_profile_and_depends_on_the_seed():
    y = np.repeat([0, 1, 2], 300)
    kept = long_tailed_subsample(y, imbalance_factor=100, seed=1)
    assert np.bincount(y[kept]).tolist() == [300, 30, 3]
    assert np.all(np.diff(kept) > 0)
    other = long_tailed_subsample(y, imbalance_factor=100, seed=2)
    assert not np.array_equal(kept, other)
    np.testing.assert_array_equal(long_tailed_subsample(y, imbalance_factor=1), np.arange(900))


@pytest.mark.parametrize("factor", [0.5, True, "10", float("nan")])
def test_error_imbalance_factor(factor):
    message = (f"imbalance_factor must be a number >= 1; received {factor!r}. Pass n_max / n_min of the profile, "
               "e.g. 10 or 100; 1 keeps every sample.")
    with pytest.raises(InputError, match=re.escape(message)):
        long_tailed_subsample([0, 1, 1], imbalance_factor=factor)


def test_public_models_match_inject_label_noise():
    y = _labels(300, 3)
    features = np.random.default_rng(7).normal(size=(300, 4))
    direct = instance_noise(y, rate=0.4, n_classes=3, rng=np.random.default_rng(11), features=features)
    via_inject = inject_label_noise(y, kind="instance", rate=0.4, n_classes=3, seed=11, features=features)
    np.testing.assert_array_equal(direct, via_inject.labels)


def test_realised_matrix_matches_counts_and_absent_rows_are_zero():
    y = np.array([0, 0, 0, 1, 1, 3, 3, 3, 3])  # class 2 absent
    noisy = inject_label_noise(y, kind="symmetric", rate=0.8, n_classes=4, seed=8)
    counts = np.zeros((4, 4))
    np.add.at(counts, (y, noisy.labels), 1)
    expected = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    np.testing.assert_allclose(noisy.transition_matrix, expected)
    np.testing.assert_allclose(noisy.transition_matrix.sum(axis=1), [1, 1, 0, 1])


def test_input_labels_are_not_modified():
    y = _labels(200, 3)
    before = y.copy()
    inject_label_noise(y, kind="asymmetric", rate=1.0)
    np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_output_different_seed_different_output(kind):
    y = _labels(1000, 4)
    options = _options(kind, 1000, 4)
    first = inject_label_noise(y, kind=kind, rate=0.3, seed=1, **options)
    again = inject_label_noise(y, kind=kind, rate=0.3, seed=1, **options)
    other = inject_label_noise(y, kind=kind, rate=0.3, seed=2, **options)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert kind == "none" or not np.array_equal(first.labels, other.labels)


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 6), min_size=1, max_size=200),
    extra_classes=st.integers(0, 3),
    rate=st.floats(0.0, 1.0),
    kind=st.sampled_from(KINDS),
    seed=st.integers(0, 2**32 - 1),
)
def test_output_is_in_range_and_flip_mask_is_consistent(labels, extra_classes, rate, kind, seed):
    y = np.array(labels)
    n_classes = max(int(y.max()) + 1 + extra_classes, 2)
    noisy = inject_label_noise(y, kind=kind, rate=rate, n_classes=n_classes, seed=seed,
                               **_options(kind, y.size, n_classes, seed))
    assert noisy.labels.dtype == np.int64 and noisy.labels.shape == y.shape
    assert noisy.labels.min() >= 0 and noisy.labels.max() < n_classes
    np.testing.assert_array_equal(noisy.flipped, noisy.labels != y)
    present = np.bincount(y, minlength=n_classes) > 0
    np.testing.assert_allclose(noisy.transition_matrix.sum(axis=1), present.astype(float))
    if rate == 0.0 and kind != "transition":
        assert not noisy.flipped.any()


# Every error message -------------------------------------------------------------------


@pytest.mark.parametrize("labels", [[0.0, 1.0], [True, False], np.array([0.0, 2.0])])
def test_error_labels_not_integer(labels):
    dtype = np.asarray(labels).dtype
    with pytest.raises(InputError, match=re.escape(LABELS_DTYPE.format(arg="labels", dtype=dtype))):
        inject_label_noise(labels, kind="symmetric", rate=0.1)


def test_error_labels_out_of_range():
    message = LABELS_RANGE.format(arg="labels", n_classes=3, low=-1, high=2)
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, -1, 2], kind="symmetric", rate=0.1, n_classes=3)
    message = LABELS_RANGE.format(arg="labels", n_classes=2, low=0, high=2)
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1, 2], kind="pairflip", rate=0.1, n_classes=2)


def test_error_labels_not_one_dimensional():
    with pytest.raises(InputError, match=re.escape("labels must be 1-D (n_samples,); received shape (2, 2)")):
        inject_label_noise([[0, 1], [1, 0]], kind="symmetric", rate=0.1)


def test_error_labels_empty():
    with pytest.raises(InputError, match=re.escape("labels must have shape (n_samples,) with n_samples >= 1; "
                                                   "received (0,). Pass at least one label.")):
        inject_label_noise(np.array([], dtype=np.int64), kind="symmetric", rate=0.1)


@pytest.mark.parametrize("n_classes", [0, 2.5, True])
def test_error_n_classes_not_positive_integer(n_classes):
    message = f"n_classes must be a positive integer; received {n_classes!r}. Pass the number of classes"
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="symmetric", rate=0.1, n_classes=n_classes)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.2"])
def test_error_rate_outside_unit_interval(rate):
    message = f"rate must be a number in [0, 1]; received {rate!r}. Pass the fraction of labels to corrupt"
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="symmetric", rate=rate)


def test_error_unknown_kind_lists_valid_names():
    message = "unknown noise model 'gaussian'; valid names are: " + ", ".join(sorted(KINDS))
    with pytest.raises(UnknownNameError, match=re.escape(message) + ".*Set noise.kind"):
        inject_label_noise([0, 1], kind="gaussian", rate=0.1)


@pytest.mark.parametrize("kind", ["asymmetric", "instance"])
def test_error_kinds_that_need_two_classes(kind):
    message = f"n_classes must be at least 2 for kind='{kind}'; received 1. This model moves labels"
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 0], kind=kind, rate=0.1, features=np.ones((2, 1)))


def test_error_transition_matrix_missing():
    message = ("transition_matrix must be a (n_classes, n_classes) array for kind='transition'; received None. "
               "Pass transition_matrix=T")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="transition")


def test_error_transition_matrix_shape():
    message = "transition_matrix must have shape (2, 2); received (3, 3). Pass one row and one column per class."
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="transition", transition_matrix=np.eye(3))


@pytest.mark.parametrize(("matrix", "received"), [
    ([[0.5, 0.4], [0.0, 1.0]], "row 0 = [0.5, 0.4] summing to 0.9"),
    ([[1.0, 0.0], [-0.5, 1.5]], "row 1 = [-0.5, 1.5] summing to 1"),
])
def test_error_transition_matrix_not_row_stochastic(matrix, received):
    message = (f"transition_matrix must be row-stochastic (entries >= 0, rows summing to 1 within 1e-06); "
               f"received {received}. Clip negative entries and divide each row by its sum.")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="transition", transition_matrix=matrix)


def test_error_transition_matrix_not_finite():
    message = NOT_FINITE.format(arg="transition_matrix", count=1, index=(1, 0))
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="transition", transition_matrix=[[1.0, 0.0], [np.nan, 1.0]])


def test_error_features_missing():
    message = ("features must be an array of shape (n_samples, ...) for kind='instance'; received None. "
               "Pass features=X with one row per label")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="instance", rate=0.2)


@pytest.mark.parametrize(("features", "received"), [(np.ones((3, 2)), 3), (np.float64(1.0), "a scalar")])
def test_error_features_length_mismatch(features, received):
    message = LENGTH_MISMATCH.format(arg_a="features", arg_b="labels", len_a=received, len_b=2)
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="instance", rate=0.2, features=features)


def test_error_features_not_finite():
    features = np.ones((2, 3))
    features[1, 2] = np.inf
    message = NOT_FINITE.format(arg="features", count=1, index=(1, 2))
    with pytest.raises(InputError, match=re.escape(message)):
        inject_label_noise([0, 1], kind="instance", rate=0.2, features=features)
