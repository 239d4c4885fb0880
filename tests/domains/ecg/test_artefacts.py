"""Implausible-beat artefacts: shapes, seeding, what each artefact does to real ECG5000 beats, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import BAD_VALUE, NOT_FINITE, SHAPE, InputError, UnknownNameError
from lilaw_health.domains.ecg.artefacts import (
    ARTEFACTS,
    BEATS,
    NON_NEGATIVE,
    SHARE,
    baseline_wander,
    flatline,
    plant_artefacts,
    spikes,
)

NAMES = ["baseline_wander", "flatline", "spikes"]


@pytest.fixture(scope="module")
def real_beats() -> np.ndarray:
    """Twenty ECG5000 training beats, four of each class, float32 of shape (20, 1, 140)."""
    from lilaw_health.domains.ecg.data import load_data

    train = load_data("ECG5000").train
    labels = np.asarray(train.targets)
    picks = np.concatenate([np.flatnonzero(labels == c)[:4] for c in range(5)])
    return train.inputs.numpy()[picks]


def _beats(n: int = 8, channels: int = 2, length: int = 60, *, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(123).normal(size=(n, channels, length)).astype(dtype)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _std(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64).std(axis=-1, keepdims=True)


def _longest_run(row: np.ndarray) -> tuple[int, int]:
    """(start, length) of the longest run of identical consecutive values in a 1-D array."""
    best, start = (0, 1), 0
    for t in range(1, len(row) + 1):
        if t == len(row) or row[t] != row[start]:
            best = max(best, (start, t - start), key=lambda run: run[1])
            start = t
    return best


def test_every_artefact_is_registered():
    assert ARTEFACTS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_shape_and_dtype_kept_and_input_untouched(name, dtype):
    x = _beats(dtype=dtype)
    before = x.copy()
    out = ARTEFACTS.get(name)(x, rng=_rng())
    assert out.shape == x.shape and out.dtype == x.dtype and out is not x
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_different_seed_different_output(name):
    x = _beats()
    np.testing.assert_array_equal(ARTEFACTS.get(name)(x, rng=_rng(1)), ARTEFACTS.get(name)(x, rng=_rng(1)))
    assert not np.array_equal(ARTEFACTS.get(name)(x, rng=_rng(1)), ARTEFACTS.get(name)(x, rng=_rng(2)))


@pytest.mark.parametrize("name", NAMES)
def test_rng_is_the_only_randomness(name):
    x = _beats()
    np.random.seed(1)
    first = ARTEFACTS.get(name)(x, rng=_rng(5))
    np.random.seed(2)
    np.testing.assert_array_equal(first, ARTEFACTS.get(name)(x, rng=_rng(5)))


@pytest.mark.parametrize("name", NAMES)
def test_every_beat_changes(name, real_beats):
    out = ARTEFACTS.get(name)(real_beats, rng=_rng())
    assert (out != real_beats).reshape(len(out), -1).any(axis=1).all()


@pytest.mark.parametrize("name", NAMES)
def test_sizes_are_relative_to_the_beat_so_scaling_and_shifting_commute(name):
    # Sizes are in standard deviations of the beat, so f(a x + b) = a f(x) + b with the same draws.
    x = _beats(dtype=np.float64)
    a, b = 7.0, -3.0
    np.testing.assert_allclose(ARTEFACTS.get(name)(a * x + b, rng=_rng(3)), a * ARTEFACTS.get(name)(x, rng=_rng(3)) + b,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_channels_of_a_beat_share_one_event(name):
    first = _beats(channels=1, dtype=np.float64)
    out = ARTEFACTS.get(name)(np.concatenate([first, 3.0 * first], axis=1), rng=_rng())
    np.testing.assert_allclose(out[:, 1], 3.0 * out[:, 0], rtol=1e-12, atol=1e-12)


@given(st.integers(0, 4), st.integers(1, 3), st.integers(6, 40), st.sampled_from(NAMES), st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_any_small_shape_gives_finite_output_of_that_shape(n, channels, length, name, seed):
    x = np.random.default_rng(seed).normal(size=(n, channels, length))
    out = ARTEFACTS.get(name)(x, rng=_rng(seed))
    assert out.shape == x.shape and np.isfinite(out).all()


def test_baseline_wander_adds_a_low_frequency_difference_of_the_set_size(real_beats):
    out = baseline_wander(real_beats, rng=_rng())
    difference = out.astype(np.float64) - real_beats
    peak = np.abs(difference).max(axis=-1, keepdims=True) / _std(real_beats)
    assert (peak >= 1 - 1e-5).all() and (peak <= 2 + 1e-5).all()
    # Hann-windowed so that a fraction of a cycle does not leak into every bin: the added power sits
    # at <= 2 cycles per beat.
    power = np.abs(np.fft.rfft(difference * np.hanning(difference.shape[-1]), axis=-1)) ** 2
    assert (power[..., :3].sum(axis=-1) / power.sum(axis=-1) > 0.99).all()


def test_baseline_wander_is_a_sinusoid_of_the_given_frequency_and_peak(real_beats):
    x = real_beats.astype(np.float64)
    difference = baseline_wander(x, rng=_rng(), amplitude=1.5, cycles=0.25) - x
    t = np.arange(x.shape[-1])
    basis = np.stack([np.sin(2 * np.pi * 0.25 * t / len(t)), np.cos(2 * np.pi * 0.25 * t / len(t))], axis=1)
    for beat, std in zip(difference[:, 0], _std(x)[:, 0, 0], strict=True):
        coefficients = np.linalg.lstsq(basis, beat, rcond=None)[0]
        np.testing.assert_allclose(basis @ coefficients, beat, atol=1e-12)
        assert np.abs(beat).max() == pytest.approx(1.5 * std, rel=1e-12)


def test_spikes_put_one_narrow_spike_of_one_height_in_range_in_each_slice(real_beats):
    out = spikes(real_beats, rng=_rng(), count=3)
    x = real_beats.astype(np.float64)
    size = (out.astype(np.float64) - x) / _std(x)
    widths = []
    for beat in size[:, 0]:
        for piece in np.split(beat, [46, 93]):  # the slices of 140 samples: k * 140 // 3
            changed = np.flatnonzero(piece)
            assert len(changed) in (1, 2) and np.ptp(changed) <= 1
            # one signed height on the spike's samples (float32 rounding aside)
            assert np.ptp(piece[changed]) < 1e-5 and 4 - 1e-5 <= np.abs(piece[changed]).min() <= 8 + 1e-5
            widths.append(len(changed))
    assert set(widths) == {1, 2}
    assert (size > 0).any() and (size < 0).any()


def test_spikes_on_a_constant_beat_have_the_exact_height():
    out = spikes(np.full((4, 1, 30), 2.0), rng=_rng(), count=2, height=5.0)
    assert set(np.unique(out)) <= {-3.0, 2.0, 7.0}
    assert ((out != 2.0).sum(axis=-1) >= 2).all() and ((out != 2.0).sum(axis=-1) <= 4).all()


def test_spikes_count_can_reach_half_the_length():
    out = spikes(np.zeros((3, 1, 10)), rng=_rng(), count=5, height=1.0)
    assert ((out != 0).sum(axis=-1) >= 5).all()


def test_flatline_holds_a_segment_of_the_documented_length_and_nothing_else_changes(real_beats):
    out = flatline(real_beats, rng=_rng(), fraction=0.5)
    for before, after in zip(real_beats[:, 0], out[:, 0], strict=True):
        start, length = _longest_run(after)
        assert length == 70  # round(0.5 * 140)
        assert (after[start:start + length] == before[start]).all()
        outside = np.r_[0:start, start + length:len(before)]
        np.testing.assert_array_equal(after[outside], before[outside])


def test_flatline_default_segments_cover_30_to_60_percent(real_beats):
    lengths = [_longest_run(beat)[1] for beat in flatline(real_beats, rng=_rng())[:, 0]]
    assert min(lengths) >= 42 and max(lengths) <= 84 and len(set(lengths)) > 1


def test_flatline_holds_at_least_two_samples_and_at_most_the_beat():
    x = _beats(n=4, channels=1, length=10, dtype=np.float64)
    assert all(_longest_run(beat)[1] == 2 for beat in flatline(x, rng=_rng(), fraction=0.01)[:, 0])
    whole = flatline(x, rng=_rng(), fraction=1.0)
    np.testing.assert_array_equal(whole, np.broadcast_to(x[..., :1], x.shape))


def test_plant_artefacts_names_the_artefact_of_every_beat(real_beats):
    planted, kinds = plant_artefacts(real_beats, rng=_rng(4))
    assert planted.shape == real_beats.shape and planted.dtype == real_beats.dtype and len(kinds) == len(real_beats)
    assert set(kinds) == set(NAMES)
    for before, after, kind in zip(real_beats, planted, kinds, strict=True):
        changed = int((before != after).sum())
        if kind == "spikes":
            assert 3 <= changed <= 6
        elif kind == "flatline":
            assert _longest_run(after[0])[1] >= 42
        else:
            assert changed == before.size


def test_plant_artefacts_is_seeded_and_draws_kinds_uniformly():
    x = _beats(n=600, channels=1, length=20)
    planted, kinds = plant_artefacts(x, rng=_rng(7))
    again, kinds_again = plant_artefacts(x, rng=_rng(7))
    np.testing.assert_array_equal(planted, again)
    assert kinds == kinds_again
    assert all(150 <= kinds.count(name) <= 250 for name in NAMES)


def test_plant_artefacts_restricted_to_some_kinds():
    x = _beats(n=10)
    planted, kinds = plant_artefacts(x, rng=_rng(), kinds=["spikes", "spikes"])
    assert kinds == ["spikes"] * 10
    # a repeated name counts once, so the draws match those of one spikes call after the kind draws
    rng = _rng()
    rng.integers(1, size=10)
    np.testing.assert_array_equal(planted, spikes(x, rng=rng))


def test_plant_artefacts_on_no_beats():
    planted, kinds = plant_artefacts(np.zeros((0, 1, 12)), rng=_rng())
    assert planted.shape == (0, 1, 12) and kinds == []


def _bad(arg: str, expected: str, received) -> str:
    return BAD_VALUE.format(arg=arg, expected=expected, received=repr(received), fix="Fix the value in the call.")


@pytest.mark.parametrize(("call", "options", "message"), [
    (baseline_wander, {"amplitude": -1.0}, _bad("amplitude", NON_NEGATIVE, -1.0)),
    (baseline_wander, {"amplitude": (2.0, 1.0)}, _bad("amplitude", NON_NEGATIVE, (2.0, 1.0))),
    (baseline_wander, {"amplitude": "big"}, _bad("amplitude", NON_NEGATIVE, "big")),
    (baseline_wander, {"amplitude": (1.0, float("nan"))}, _bad("amplitude", NON_NEGATIVE, (1.0, float("nan")))),
    (baseline_wander, {"cycles": (-0.1, 0.5)}, _bad("cycles", NON_NEGATIVE, (-0.1, 0.5))),
    (spikes, {"count": 0}, _bad("count", "an integer in [1, 30] (half the beat length)", 0)),
    (spikes, {"count": 31}, _bad("count", "an integer in [1, 30] (half the beat length)", 31)),
    (spikes, {"count": True}, _bad("count", "an integer in [1, 30] (half the beat length)", True)),
    (spikes, {"count": 2.0}, _bad("count", "an integer in [1, 30] (half the beat length)", 2.0)),
    (spikes, {"height": -4.0}, _bad("height", NON_NEGATIVE, -4.0)),
    (spikes, {"height": (4.0, 8.0, 9.0)}, _bad("height", NON_NEGATIVE, (4.0, 8.0, 9.0))),
    (flatline, {"fraction": 0.0}, _bad("fraction", SHARE, 0.0)),
    (flatline, {"fraction": 1.5}, _bad("fraction", SHARE, 1.5)),
    (flatline, {"fraction": (0.6, 0.3)}, _bad("fraction", SHARE, (0.6, 0.3))),
])
def test_bad_options_raise_input_error(call, options, message):
    with pytest.raises(InputError, match=re.escape(message)):
        call(_beats(), rng=_rng(), **options)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("x", "received"), [
    ([[[0.0, 1.0]]], "[[[0.0, 1.0]]]"),
    (np.zeros((4, 10)), "ndarray of shape (4, 10) and dtype float64"),
    (np.zeros((4, 1, 10), dtype=np.int64), "ndarray of shape (4, 1, 10) and dtype int64"),
    (np.zeros((4, 1, 1)), "ndarray of shape (4, 1, 1) and dtype float64"),
])
def test_beats_that_are_not_3d_float_arrays_are_refused(name, x, received):
    message = SHAPE.format(arg="x", expected=BEATS, received=received,
                           fix="Pass a float NumPy array; add a channel axis with x[:, None, :].")
    with pytest.raises(InputError, match=re.escape(message)):
        ARTEFACTS.get(name)(x, rng=_rng())


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_beats_and_a_missing_rng_are_refused(name):
    x = _beats()
    x[1, 0, 5] = np.nan
    x[2, 1, 0] = np.inf
    with pytest.raises(InputError, match=re.escape(NOT_FINITE.format(arg="x", count=2, index=(1, 0, 5)))):
        ARTEFACTS.get(name)(x, rng=_rng())
    for rng in (None, np.random.RandomState(0), 0):
        message = BAD_VALUE.format(arg="rng", expected="a numpy.random.Generator", received=repr(rng),
                                   fix="Pass numpy.random.default_rng(seed).")
        with pytest.raises(InputError, match=re.escape(message)):
            ARTEFACTS.get(name)(_beats(), rng=rng)


def test_plant_artefacts_errors():
    x = _beats()
    with pytest.raises(UnknownNameError, match=re.escape(
            "unknown artefact 'spike'; valid names are: baseline_wander, flatline, spikes. "
            "Use one of them in kinds=, or register a new one in ARTEFACTS.")):
        plant_artefacts(x, rng=_rng(), kinds=["spike"])
    for kinds in ([], "spikes", [1]):
        with pytest.raises(InputError, match=re.escape(_bad("kinds", "a non-empty list of artefact names", kinds))):
            plant_artefacts(x, rng=_rng(), kinds=kinds)
    with pytest.raises(InputError, match=re.escape(SHAPE.format(
            arg="x", expected=BEATS, received="ndarray of shape (8, 60) and dtype float32", fix=""))):
        plant_artefacts(x[:, 0], rng=_rng())
