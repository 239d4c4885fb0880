"""Noise for regression targets: uniform replacement and half-range shifts, seeded, in range."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lilaw_health.core.errors import (
    BAD_VALUE,
    NOT_FINITE,
    SHAPE,
    InputError,
    UnknownNameError,
)
from lilaw_health.core.target_noise import TARGET_NOISE_MODELS, NoisyTargets, inject_target_noise

# Regression targets -----------------------------------------------------------------------

TARGET_KINDS = ["none", "shift", "uniform"]


def _targets(n: int = 1000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 17, n).astype(float)  # PSPI-like 0..16


def test_target_registry_holds_every_kind():
    assert TARGET_NOISE_MODELS.names() == TARGET_KINDS


def test_target_none_returns_the_clean_targets():
    y = _targets()
    noisy = inject_target_noise(y, kind="none", rate=0.5)
    np.testing.assert_array_equal(noisy.targets, y)
    assert noisy.rate == 0.0 and not noisy.corrupted.any()
    assert noisy.target_range == (0.0, 16.0) and noisy.targets is not y


@pytest.mark.parametrize("kind", ["uniform", "shift"])
@pytest.mark.parametrize(("n", "rate"), [(1000, 0.29), (1002, 0.3), (5, 0.5), (7, 0.0), (7, 1.0)])
def test_target_noise_corrupts_exactly_round_rate_n_inside_the_range(kind, n, rate):
    y = _targets(n)
    noisy = inject_target_noise(y, kind=kind, rate=rate, seed=1, target_range=(0, 16))
    assert isinstance(noisy, NoisyTargets)
    assert noisy.corrupted.sum() == round(rate * n) and noisy.rate == round(rate * n) / n
    np.testing.assert_array_equal(noisy.targets[~noisy.corrupted], y[~noisy.corrupted])  # nothing else changed
    assert np.all(noisy.targets[noisy.corrupted] != y[noisy.corrupted])
    assert np.all((noisy.targets >= 0) & (noisy.targets <= 16))
    assert noisy.targets.dtype == np.float64 and noisy.corrupted.dtype == np.bool_


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_target_noise_is_seeded(kind):
    y = _targets()
    first, again = (inject_target_noise(y, kind=kind, rate=0.4, seed=3) for _ in range(2))
    np.testing.assert_array_equal(first.targets, again.targets)
    np.testing.assert_array_equal(first.corrupted, again.corrupted)
    if kind != "none":
        other = inject_target_noise(y, kind=kind, rate=0.4, seed=4)
        assert not np.array_equal(first.corrupted, other.corrupted)


def test_uniform_draws_cover_the_range():
    noisy = inject_target_noise(np.full(20000, 3.0), kind="uniform", rate=1.0, seed=5, target_range=(0, 16))
    assert noisy.targets.mean() == pytest.approx(8.0, abs=0.1)
    assert noisy.targets.min() < 0.1 and noisy.targets.max() > 15.9
    # without target_range the range is the targets' own [min, max]
    y = np.array([2.0, 10.0, 4.0, 6.0] * 500)
    inferred = inject_target_noise(y, kind="uniform", rate=1.0, seed=5)
    assert inferred.target_range == (2.0, 10.0)
    assert inferred.targets.min() >= 2.0 and inferred.targets.max() <= 10.0


def test_shift_moves_by_half_the_range_reflecting_at_the_bounds():
    y = _targets(5000, seed=6)
    noisy = inject_target_noise(y, kind="shift", rate=0.5, seed=7, target_range=(0, 16))
    moved = noisy.targets[noisy.corrupted] - y[noisy.corrupted]
    np.testing.assert_allclose(np.abs(moved), 8.0)
    chosen = y[noisy.corrupted]
    assert np.all(moved[chosen > 8] == -8.0) and np.all(moved[chosen < 8] == 8.0)  # only one sign fits
    middle = moved[chosen == 8]
    assert (middle > 0).any() and (middle < 0).any()  # both signs fit at the centre: the sign is random


def test_inject_target_noise_accepts_integer_targets():
    noisy = inject_target_noise(np.array([0, 16, 8]), kind="shift", rate=1.0)
    assert noisy.targets.dtype == np.float64 and np.all(np.abs(noisy.targets - [0, 16, 8]) == 8)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.2"])
def test_error_target_rate_outside_unit_interval(rate):
    message = f"rate must be a number in [0, 1]; received {rate!r}. Pass the fraction of labels to corrupt"
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise([0.0, 1.0], kind="uniform", rate=rate)


@pytest.mark.parametrize("kind", ["uniform", "shift"])
@pytest.mark.parametrize(("targets", "target_range"), [([3.0, 3.0, 3.0], None), ([3], (3, 3))])
def test_error_target_range_of_zero_width(kind, targets, target_range):
    message = BAD_VALUE.format(
        arg="target_range", expected=f"a range of width > 0 for kind={kind!r}", received="[3, 3]",
        fix="Pass target_range=(low, high) with low < high, e.g. (0, 16) for PSPI; constant targets have no "
            "range of their own.")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise(targets, kind=kind, rate=0.5, target_range=target_range)
    inject_target_noise(targets, kind="none", rate=0.5, target_range=target_range)  # needs no range


@pytest.mark.parametrize("target_range", [(0,), (0, np.inf), ("0", "16"), (16, 0)])
def test_error_target_range_malformed(target_range):
    if target_range == (16, 0):  # reversed bounds: the targets fall outside
        message = BAD_VALUE.format(arg="targets", expected="inside target_range [16, 0]", received="values in [1, 2]",
                                   fix="Widen target_range to the scale's true bounds, or omit it to use the "
                                       "targets' [min, max].")
    else:
        message = BAD_VALUE.format(arg="target_range", expected="(low, high), two finite numbers",
                                   received=repr(target_range), fix="E.g. target_range=(0, 16) for PSPI.")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise([1.0, 2.0], kind="uniform", rate=0.5, target_range=target_range)


def test_error_targets_outside_target_range():
    message = BAD_VALUE.format(arg="targets", expected="inside target_range [0, 16]", received="values in [-1, 17.5]",
                               fix="Widen target_range to the scale's true bounds, or omit it to use the targets' "
                                   "[min, max].")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise([-1.0, 17.5], kind="none", target_range=(0, 16))


def test_error_targets_not_finite_shape_dtype():
    with pytest.raises(InputError, match=re.escape(NOT_FINITE.format(arg="targets", count=1, index=1))):
        inject_target_noise([1.0, np.nan, 2.0], kind="uniform", rate=0.5)
    message = SHAPE.format(arg="targets", expected="(n_samples,) with n_samples >= 1", received=(2, 1),
                           fix="Pass one target per sample.")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise([[1.0], [2.0]], kind="uniform", rate=0.5)
    with pytest.raises(InputError, match=re.escape("received (0,)")):
        inject_target_noise([], kind="none")
    message = BAD_VALUE.format(arg="targets", expected="real numbers", received="dtype <U1",
                               fix="Convert the targets to float (e.g. numpy.asarray(y, dtype=float)).")
    with pytest.raises(InputError, match=re.escape(message)):
        inject_target_noise(["1", "2"], kind="uniform", rate=0.5)


def test_error_unknown_target_kind_lists_valid_names():
    message = "unknown target noise model 'symmetric'; valid names are: none, shift, uniform. Pass one of them"
    with pytest.raises(UnknownNameError, match=re.escape(message)):
        inject_target_noise([0.0, 1.0], kind="symmetric", rate=0.1)
