"""Seeded implausible-beat artefacts, planted in generated ECG beats so a valuation score can be checked.

A generative model's second failure mode, after off-class samples, is the implausible sample:
a beat carrying an artefact that no real beat of the data shows. These functions make three
such artefacts from beats of shape (n_beats, channels, length):

- :func:`baseline_wander`, a slow sinusoid (well under one cycle per beat) added to the beat;
- :func:`spikes`, a few narrow pulses many standard deviations high;
- :func:`flatline`, a long stretch held at one value, as when a lead comes off.

Sizes are relative to each beat-channel's own standard deviation, so an artefact looks the same
on z-normalised UCR beats and on beats in millivolts (a constant channel, whose std is 0, uses 1).
All channels of a beat share one event (its frequency and phase, spike positions and signs, or
segment), because the leads of a recording share one clock. Every function is pure: it returns
a new array of the input's shape and dtype and draws all its randomness from ``rng``.
:func:`plant_artefacts` applies one randomly chosen kind per beat and says which.

Size options take a number (always that size) or a pair ``(low, high)``, drawn uniformly per
beat (per spike for ``height``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.core.validation import check_finite_array

Artefact = Callable[..., np.ndarray]
ARTEFACTS: Registry[Artefact] = Registry(
    "artefact", fix="Use one of them in kinds=, or register a new one in ARTEFACTS.")

Bounds = float | tuple[float, float]
NON_NEGATIVE = "a number >= 0 or a pair (low, high) with 0 <= low <= high"
BEATS = "(n_beats, channels, length) of floats, length >= 2"
SHARE = "a number in (0, 1] or a pair (low, high) with 0 < low <= high <= 1"


@ARTEFACTS.register("baseline_wander")
def baseline_wander(x: np.ndarray, *, rng: np.random.Generator, amplitude: Bounds = (1.0, 2.0),
                    cycles: Bounds = (0.05, 0.5)) -> np.ndarray:
    """Add a slow sinusoid of random frequency and phase to every beat.

    Real baselines wander too, at a similar rate (breathing takes a fraction of a cycle per
    beat); what makes this one an artefact is its size within a single beat: it is scaled so
    that its largest excursion over the beat is ``amplitude`` standard deviations of the beat,
    so even the slowest wander tilts or shifts the whole waveform by that much.

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n_beats, channels, length)
    rng : numpy.random.Generator
        The only source of randomness.
    amplitude : float >= 0 or (low, high), default (1.0, 2.0)
        Largest absolute value of the wander over the beat, in standard deviations of each
        beat-channel; one per beat.
    cycles : float >= 0 or (low, high), default (0.05, 0.5)
        Frequency in cycles per beat (per ``length`` samples); one per beat. The phase is
        uniform in [0, 2 pi).

    Returns
    -------
    numpy.ndarray, shape and dtype of ``x``
    """
    _check_beats(x, rng)
    low, high = _bounds("amplitude", amplitude, within=lambda v: v >= 0, expected=NON_NEGATIVE)
    slowest, fastest = _bounds("cycles", cycles, within=lambda v: v >= 0, expected=NON_NEGATIVE)
    n, length = len(x), x.shape[-1]
    peak = rng.uniform(low, high, size=(n, 1, 1))
    frequency = rng.uniform(slowest, fastest, size=(n, 1, 1))
    phase = rng.uniform(0.0, 2 * math.pi, size=(n, 1, 1))
    wave = np.sin(2 * math.pi * frequency * np.arange(length) / length + phase)
    # the floor keeps 0 / 0 out when every sample sits on a zero of sin (cycles = length / 2, phase 0)
    wander = peak * wave / np.maximum(np.abs(wave).max(axis=-1, keepdims=True), np.finfo(np.float64).tiny)
    return (x.astype(np.float64) + wander * _scale(x)).astype(x.dtype)


@ARTEFACTS.register("spikes")
def spikes(x: np.ndarray, *, rng: np.random.Generator, count: int = 3,
           height: Bounds = (4.0, 8.0)) -> np.ndarray:
    """Add ``count`` narrow spikes of random sign, 1 or 2 samples wide, to every beat.

    The beat is cut into ``count`` equal slices and each slice gets one spike at a uniform
    position within it, so spikes never overlap and are spread over the beat. A spike adds
    ``+-height`` standard deviations to its samples and nothing else changes (bit for bit).

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n_beats, channels, length)
    rng : numpy.random.Generator
        The only source of randomness.
    count : int in [1, length // 2], default 3
        Spikes per beat; at most half the length, so that every slice holds a 2-sample spike.
    height : float >= 0 or (low, high), default (4.0, 8.0)
        Spike height in standard deviations of each beat-channel; one per spike.

    Returns
    -------
    numpy.ndarray, shape and dtype of ``x``
    """
    _check_beats(x, rng)
    length = x.shape[-1]
    _require(isinstance(count, Integral) and not isinstance(count, bool) and 1 <= count <= length // 2,
             "count", f"an integer in [1, {length // 2}] (half the beat length)", count)
    low, high = _bounds("height", height, within=lambda v: v >= 0, expected=NON_NEGATIVE)
    n = len(x)
    edges = np.arange(count + 1) * length // count
    width = rng.integers(1, 3, size=(n, count))
    start = edges[:-1] + np.floor(rng.random((n, count)) * (np.diff(edges) - width + 1)).astype(np.int64)
    size = rng.uniform(low, high, size=(n, count)) * rng.choice([-1.0, 1.0], size=(n, count))
    wide = width == 2
    beat = np.broadcast_to(np.arange(n)[:, None], (n, count))
    rows, steps = np.concatenate([beat.ravel(), beat[wide]]), np.concatenate([start.ravel(), start[wide] + 1])
    pulse = np.zeros((n, length))
    pulse[rows, steps] = np.concatenate([size.ravel(), size[wide]])
    hit = np.zeros((n, length), dtype=bool)
    hit[rows, steps] = True
    spiked = (x.astype(np.float64) + pulse[:, None, :] * _scale(x)).astype(x.dtype)
    return np.where(hit[:, None, :], spiked, x)


@ARTEFACTS.register("flatline")
def flatline(x: np.ndarray, *, rng: np.random.Generator, fraction: Bounds = (0.3, 0.6)) -> np.ndarray:
    """Hold a random contiguous segment of every beat at the value where it starts, as a lead-off does.

    The segment is ``max(2, round(fraction * length))`` samples long (at most ``length``),
    starts at a uniform position where it fits, and is shared by the beat's channels; each
    channel keeps its own value at the segment's start. Samples outside it are unchanged.

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n_beats, channels, length)
    rng : numpy.random.Generator
        The only source of randomness.
    fraction : float in (0, 1] or (low, high), default (0.3, 0.6)
        Segment length as a share of the beat; one per beat.

    Returns
    -------
    numpy.ndarray, shape and dtype of ``x``
    """
    _check_beats(x, rng)
    low, high = _bounds("fraction", fraction, within=lambda v: 0 < v <= 1, expected=SHARE)
    n, length = len(x), x.shape[-1]
    span = np.clip(np.round(rng.uniform(low, high, size=n) * length).astype(np.int64), 2, None)
    span = np.minimum(span, length)
    start = np.floor(rng.random(n) * (length - span + 1)).astype(np.int64)
    steps = np.arange(length)
    held = (steps >= start[:, None]) & (steps < (start + span)[:, None])
    value = np.take_along_axis(x, np.broadcast_to(start[:, None, None], (n, x.shape[1], 1)), axis=-1)
    return np.where(held[:, None, :], value, x)


def plant_artefacts(x: np.ndarray, *, rng: np.random.Generator,
                    kinds: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Apply one artefact per beat, its kind drawn uniformly from ``kinds``, with default options.

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n_beats, channels, length)
    rng : numpy.random.Generator
        The only source of randomness (the kinds first, then each kind's draws in ``kinds``
        order).
    kinds : sequence of str, optional
        Names in :data:`ARTEFACTS`, each equally likely (a repeated name counts once); all of
        them by default.

    Returns
    -------
    planted : numpy.ndarray, shape and dtype of ``x``
    kind : list of str, length n_beats
        The artefact applied to each beat.
    """
    _check_beats(x, rng)
    if kinds is None:
        kinds = ARTEFACTS.names()
    _require(isinstance(kinds, Sequence) and not isinstance(kinds, str) and len(kinds) > 0
             and all(isinstance(k, str) for k in kinds), "kinds", "a non-empty list of artefact names", kinds)
    names = list(dict.fromkeys(kinds))
    artefacts = [ARTEFACTS.get(name) for name in names]
    chosen = rng.integers(len(names), size=len(x))
    planted = x.copy()
    for index, artefact in enumerate(artefacts):
        mask = chosen == index
        planted[mask] = artefact(x[mask], rng=rng)
    return planted, [names[i] for i in chosen]


def _check_beats(x: Any, rng: Any) -> None:
    if (not isinstance(x, np.ndarray) or x.ndim != 3 or not np.issubdtype(x.dtype, np.floating)
            or x.shape[-1] < 2):
        shape = getattr(x, "shape", None)
        received = f"{type(x).__name__} of shape {tuple(shape)} and dtype {x.dtype}" if shape is not None else repr(x)
        raise InputError(SHAPE.format(arg="x", expected=BEATS, received=received,
                                      fix="Pass a float NumPy array; add a channel axis with x[:, None, :]."))
    check_finite_array(x, arg="x")
    if not isinstance(rng, np.random.Generator):
        raise InputError(BAD_VALUE.format(arg="rng", expected="a numpy.random.Generator", received=repr(rng),
                                          fix="Pass numpy.random.default_rng(seed)."))


def _bounds(arg: str, value: Any, *, within: Callable[[float], bool], expected: str) -> tuple[float, float]:
    """``value`` (a number, or a pair (low, high)) as (low, high), each end checked by ``within``."""
    pair = (value, value) if _is_number(value) else tuple(value) if _is_pair(value) else None
    if pair is not None and within(pair[0]) and within(pair[1]) and pair[0] <= pair[1]:
        return float(pair[0]), float(pair[1])
    raise _bad_value(arg, expected, value)


def _scale(x: np.ndarray) -> np.ndarray:
    """Each beat-channel's standard deviation, shape (n_beats, channels, 1); 1 where it is 0."""
    std = x.astype(np.float64).std(axis=-1, keepdims=True)
    return np.where(std > 0, std, 1.0)


def _require(ok: bool, arg: str, expected: str, received: Any) -> None:
    if not ok:
        raise _bad_value(arg, expected, received)


def _bad_value(arg: str, expected: str, received: Any) -> InputError:
    return InputError(BAD_VALUE.format(arg=arg, expected=expected, received=repr(received),
                                       fix="Fix the value in the call."))


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_pair(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2 and all(
        _is_number(v) for v in value)


__all__ = ["ARTEFACTS", "baseline_wander", "flatline", "plant_artefacts", "spikes"]
