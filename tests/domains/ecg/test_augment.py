"""Seeded time-series augmentations: reproducibility, per-sample probability, invariants, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import BAD_VALUE, SHAPE, ConfigError, InputError, UnknownNameError
from lilaw_health.domains.ecg.augment import (
    AUGMENTATIONS,
    BAD_ENTRY,
    EXAMPLE,
    NOT_AN_ENTRY,
    UNKNOWN_PARAMETER,
    Compose,
    _smooth_curves,
    additive_noise,
    compose,
    corrupt_fraction,
    jitter,
    magnitude_warp,
    scaling,
    time_warp,
    window_slice,
)

NAMES = ["additive_noise", "jitter", "magnitude_warp", "scaling", "time_warp", "window_slice"]


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(batch: int = 16, channels: int = 2, length: int = 64, *, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(batch, channels, length, generator=_gen(123), dtype=dtype)


def _ramp(batch: int = 32, channels: int = 2, length: int = 100) -> torch.Tensor:
    return torch.linspace(-1.0, 1.0, length).repeat(batch, channels, 1)


def _augment(name: str, x: torch.Tensor, seed: int = 0, **options) -> torch.Tensor:
    return AUGMENTATIONS.get(name)(x, generator=_gen(seed), **options)


def test_every_augmentation_is_registered():
    assert AUGMENTATIONS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_different_seed_different_output(name):
    x = _batch()
    assert torch.equal(_augment(name, x, seed=1), _augment(name, x, seed=1))
    assert not torch.equal(_augment(name, x, seed=1), _augment(name, x, seed=2))


@pytest.mark.parametrize("name", NAMES)
def test_generator_is_the_only_randomness(name):
    x = _batch()
    torch.manual_seed(1)
    first = _augment(name, x, seed=5)
    torch.manual_seed(2)
    assert torch.equal(first, _augment(name, x, seed=5))


@pytest.mark.parametrize("name", NAMES)
def test_p0_returns_an_exact_copy_and_p1_changes_every_sample(name):
    x = _batch()
    unchanged = _augment(name, x, p=0.0)
    assert torch.equal(unchanged, x) and unchanged is not x
    changed = _augment(name, x, p=1.0)
    assert (changed != x).flatten(1).any(dim=1).all()


@pytest.mark.parametrize("name", NAMES)
def test_unchosen_samples_are_bit_identical_and_about_p_are_chosen(name):
    x = _batch(batch=400, length=16)
    out = _augment(name, x, p=0.3)
    same = (out == x).flatten(1).all(dim=1)
    assert 0.6 < same.float().mean() < 0.8
    assert torch.equal(out[same], x[same])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_input_untouched_and_shape_dtype_kept(name, dtype):
    x = _batch(dtype=dtype)
    before = x.clone()
    out = _augment(name, x, p=1.0)
    assert torch.equal(x, before)
    assert out.shape == x.shape and out.dtype == dtype and torch.isfinite(out).all()


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(NAMES), batch=st.integers(0, 3), channels=st.integers(1, 3),
       length=st.integers(1, 12), p=st.floats(0, 1), seed=st.integers(0, 2**31))
def test_any_small_shape_gives_finite_output_of_that_shape(name, batch, channels, length, p, seed):
    x = torch.randn(batch, channels, length, generator=_gen(seed))
    out = _augment(name, x, seed=seed, p=p)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_additive_noise_statistics_match_the_paper():
    out = additive_noise(torch.zeros(300, 1, 4000), generator=_gen(), p=1.0)
    mean, variance = out.mean(dim=(1, 2)), out.var(dim=(1, 2))
    assert mean.min() >= -0.2 - 0.02 and mean.max() <= 0.2 + 0.02
    assert mean.min() < -0.15 and mean.max() > 0.15  # the offset really varies per sample
    assert variance.min() >= 0.05 - 0.01 and variance.max() <= 0.1 + 0.01


def test_additive_noise_ranges_are_configurable():
    out = additive_noise(torch.zeros(8, 2, 500), generator=_gen(), p=1.0, b_range=(1.0, 1.0), u_range=(0.0, 0.0))
    assert torch.equal(out, torch.ones_like(out))


@pytest.mark.parametrize("augment", [scaling, magnitude_warp])
def test_multiplicative_augmentations_keep_zeros(augment):
    x = _batch()
    x[:, :, ::3] = 0.0
    x[0] = 0.0
    out = augment(x, generator=_gen(), p=1.0)
    assert (out[x == 0] == 0).all()


def test_scaling_uses_one_factor_per_sample_channel():
    factor = scaling(torch.ones(4, 3, 50), generator=_gen(), p=1.0)
    assert torch.equal(factor, factor[:, :, :1].expand_as(factor))


@pytest.mark.parametrize("augment", [time_warp, window_slice])
def test_time_axis_augmentations_keep_a_ramp_monotone_within_range(augment):
    x = _ramp()
    out = augment(x, generator=_gen(), p=1.0)
    assert (out.diff(dim=-1) >= 0).all()
    assert out.min() >= x.min() and out.max() <= x.max()
    assert not torch.equal(out, x)


def test_time_warp_keeps_both_end_points_and_shares_the_warp_across_channels():
    x = _ramp()
    out = time_warp(x, generator=_gen(), p=1.0, sigma=0.5)
    assert torch.equal(out[..., 0], x[..., 0]) and torch.equal(out[..., -1], x[..., -1])
    assert torch.equal(out[:, 0], out[:, 1])


def test_window_slice_window_has_the_requested_ratio():
    x = _ramp(length=101)
    out = window_slice(x, generator=_gen(), p=1.0, ratio=0.5)
    assert torch.allclose(out[..., -1] - out[..., 0], torch.tensor(1.0))  # half of the ramp's range 2


@pytest.mark.parametrize(("augment", "options"), [
    (jitter, {"sigma": 0.0}), (scaling, {"sigma": 0.0}), (magnitude_warp, {"sigma": 0.0}),
    (time_warp, {"sigma": 0.0}), (window_slice, {"ratio": 1.0}),
])
def test_zero_strength_is_the_identity(augment, options):
    x = _batch(dtype=torch.float64)
    assert torch.allclose(augment(x, generator=_gen(), p=1.0, **options), x, atol=1e-12)


@pytest.mark.parametrize("knots", [2, 3, 4, 7])
def test_smooth_curves_match_scipy_natural_cubic_spline(knots):
    interpolate = pytest.importorskip("scipy.interpolate")
    curves = _smooth_curves(5, 50, knots=knots, sigma=0.3, generator=_gen(3))
    values = 1.0 + 0.3 * torch.randn((5, knots), generator=_gen(3), dtype=torch.float64)
    spline = interpolate.CubicSpline(np.arange(knots), values.numpy(), axis=1, bc_type="natural")
    np.testing.assert_allclose(curves.numpy(), spline(np.linspace(0, knots - 1, 50)), atol=1e-12)


def test_compose_applies_steps_in_order():
    x = _batch()
    pipeline = compose([{"name": "scaling", "p": 1.0}, {"name": "jitter", "p": 1.0, "sigma": 0.5}])
    assert isinstance(pipeline, Compose)
    generator = _gen()
    expected = jitter(scaling(x, generator=generator, p=1.0), generator=generator, p=1.0, sigma=0.5)
    assert torch.equal(pipeline(x, _gen()), expected)
    reverse = compose([{"name": "jitter", "p": 1.0, "sigma": 0.5}, {"name": "scaling", "p": 1.0}])
    assert not torch.equal(reverse(x, _gen()), expected)


def test_compose_of_nothing_is_none_and_recipe_is_copied():
    assert compose([]) is None and compose(None) is None
    entry = {"name": "jitter", "sigma": 0.1}
    pipeline = compose([entry])
    entry["sigma"] = 5.0
    assert pipeline.steps == (("jitter", {"sigma": 0.1}),)


def test_compose_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match=re.escape("unknown augmentation 'jiter'; valid names are: "
                                                         + ", ".join(NAMES))):
        compose([{"name": "jiter"}])


def test_compose_unknown_parameter_names_augmentation_key_and_valid_keys():
    message = UNKNOWN_PARAMETER.format(name="time_warp", key="ratio", valid="p, sigma, knots")
    with pytest.raises(ConfigError, match=re.escape(message)):
        compose([{"name": "jitter"}, {"name": "time_warp", "ratio": 0.9}])


@pytest.mark.parametrize("p", [-0.1, 1.5, "half"])
def test_compose_rejects_p_outside_0_1(p):
    error = BAD_VALUE.format(arg="p", expected="a number in [0, 1]", received=repr(p), fix="")
    message = BAD_ENTRY.format(index=1, name="jitter", error=error)
    with pytest.raises(ConfigError, match=re.escape(message)):
        compose([{"name": "scaling"}, {"name": "jitter", "p": p}])


@pytest.mark.parametrize("entry", ["jitter", {"sigma": 0.1}, {"name": 3}, ["name", "jitter"]])
def test_compose_rejects_entries_that_are_not_named_mappings(entry):
    message = NOT_AN_ENTRY.format(index=0, received=repr(entry), example=EXAMPLE)
    with pytest.raises(ConfigError, match=re.escape(message)):
        compose([entry])


@pytest.mark.parametrize(("options", "error"), [
    ({"sigma": -1.0}, "sigma must be a number >= 0; received -1.0"),
    ({"knots": 1}, "knots must be an integer >= 2; received 1"),
    ({"knots": 2.5}, "knots must be an integer >= 2; received 2.5"),
])
def test_compose_reports_bad_values_at_build_time(options, error):
    with pytest.raises(ConfigError, match=re.escape("augment[0] (magnitude_warp): " + error)):
        compose([{"name": "magnitude_warp", **options}])


@pytest.mark.parametrize(("augment", "options", "message"), [
    (window_slice, {"ratio": 0.0}, "ratio must be a number in (0, 1]; received 0.0"),
    (additive_noise, {"b_range": (0.2, -0.2)}, "b_range must be a pair (low, high) with low <= high"),
    (additive_noise, {"u_range": (-0.1, 0.1)}, "u_range must be a pair (low, high) with 0 <= low <= high"),
    (additive_noise, {"u_range": 0.1}, "u_range must be a pair (low, high) with 0 <= low <= high"),
])
def test_bad_options_raise_input_error(augment, options, message):
    with pytest.raises(InputError, match=re.escape(message)):
        augment(_batch(), generator=_gen(), **options)


def test_bad_batch_or_generator_raises_input_error():
    flat = torch.zeros(4, 10)
    shape = SHAPE.format(arg="x", expected="(batch, channels, length) of floats",
                         received="Tensor of shape (4, 10) and dtype torch.float32", fix="")
    with pytest.raises(InputError, match=re.escape(shape)):
        jitter(flat, generator=_gen())
    with pytest.raises(InputError, match=re.escape("(batch, channels, length) of floats")):
        jitter(torch.zeros(2, 1, 5, dtype=torch.int64), generator=_gen())
    with pytest.raises(InputError, match=re.escape("generator must be a CPU torch.Generator; received None")):
        jitter(_batch(), generator=None)


def test_corrupt_fraction_corrupts_exactly_the_masked_samples():
    x = np.zeros((101, 1, 140), dtype=np.float32)
    before = x.copy()
    corrupted, mask = corrupt_fraction(x, fraction=0.5, seed=7)
    assert np.array_equal(x, before)
    assert corrupted.shape == x.shape and corrupted.dtype == x.dtype
    assert mask.dtype == bool and mask.shape == (101,) and mask.sum() == round(0.5 * 101)
    assert (corrupted[mask] != 0).any(axis=(1, 2)).all()
    assert (corrupted[~mask] == 0).all()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 1.0])
def test_corrupt_fraction_count_is_round_fraction_n(fraction):
    _, mask = corrupt_fraction(np.ones((30, 2, 8)), fraction=fraction, seed=0)
    assert mask.sum() == round(fraction * 30)


def test_corrupt_fraction_is_seeded_and_forwards_noise_options():
    x = np.zeros((20, 1, 16))
    first, first_mask = corrupt_fraction(x, fraction=0.5, seed=1)
    again, again_mask = corrupt_fraction(x, fraction=0.5, seed=1)
    assert np.array_equal(first, again) and np.array_equal(first_mask, again_mask)
    assert not np.array_equal(first_mask, corrupt_fraction(x, fraction=0.5, seed=2)[1])
    shifted, mask = corrupt_fraction(x, fraction=0.5, seed=1, b_range=(3.0, 3.0), u_range=(0.0, 0.0))
    assert np.array_equal(mask, first_mask) and (shifted[mask] == 3.0).all()


def test_corrupt_fraction_errors():
    x = np.zeros((10, 1, 8))
    with pytest.raises(ConfigError, match=re.escape(UNKNOWN_PARAMETER.format(
            name="additive_noise", key="p", valid="b_range, u_range"))):
        corrupt_fraction(x, fraction=0.5, seed=0, p=0.5)
    with pytest.raises(InputError, match=re.escape("fraction must be a number in [0, 1]; received 1.5")):
        corrupt_fraction(x, fraction=1.5, seed=0)
    with pytest.raises(InputError, match=re.escape("x must have shape (n_samples, channels, length) of floats")):
        corrupt_fraction(np.zeros((10, 8)), fraction=0.5, seed=0)
