"""Seeded time-series augmentations for training mini-batches of shape (batch, channels, length).

``additive_noise`` is the corruption that built ECG5000-A in Moturu et al., "LiLAW:
Lightweight Learnable Adaptive Weighting ...", arXiv:2509.20786; ``jitter``, ``scaling``,
``magnitude_warp``, ``time_warp`` and ``window_slice`` follow Um et al., "Data Augmentation of
Wearable Sensor Data for Parkinson's Disease Monitoring using Convolutional Neural Networks",
ICMI 2017, and Le Guennec et al., "Data Augmentation for Time Series Classification using
Convolutional Neural Networks", 2016.

Every augmentation returns a new tensor of the input's shape and dtype, augments each sample
independently with probability ``p`` (the others are returned bit for bit) and draws all its
randomness on the CPU from ``generator``, so a seed gives the same batch on any device.
:func:`compose` builds a pipeline from a recipe's ``augment`` list with core's generic
:func:`~lilaw_health.core.augment.build_pipeline`; this module holds only the transforms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from torch import Tensor

from lilaw_health.core.augment import (  # noqa: F401  (the message templates are re-exported for tests)
    BAD_ENTRY, NOT_AN_ENTRY, UNKNOWN_PARAMETER, Pipeline, build_pipeline, check_options, option_names,
)
from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.registry import Registry

Augmentation = Callable[..., Tensor]
AUGMENTATIONS: Registry[Augmentation] = Registry(
    "augmentation", fix="Use one of them as name: in the recipe's augment list, or register a new one."
)

EXAMPLE = '[{"name": "jitter", "p": 0.5, "sigma": 0.03}, {"name": "time_warp"}]'
# Speeds below this would let a time warp stall; N(1, 0.2) knots reach it only past 4.9 sigma.
MIN_SPEED = 0.05


@AUGMENTATIONS.register("additive_noise")
def additive_noise(x: Tensor, *, generator: torch.Generator, p: float = 0.5,
                   b_range: tuple[float, float] = (-0.2, 0.2), u_range: tuple[float, float] = (0.05, 0.1)) -> Tensor:
    """Add an offset and white noise: ``x + b + sqrt(u) * eps``, the paper's ECG5000-A corruption.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator
        On the CPU; the only source of randomness.
    p : float in [0, 1], default 0.5
        Probability that a sample is corrupted.
    b_range : (float, float), default (-0.2, 0.2)
        Bounds of the uniform offset ``b``, one per sample.
    u_range : (float, float), default (0.05, 0.1)
        Bounds of the uniform noise variance ``u``, one per sample; ``eps ~ N(0, I)`` per
        channel and time step.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p)
    _check_range("b_range", b_range, lowest=-math.inf)
    _check_range("u_range", u_range, lowest=0.0)
    offset = _uniform((len(x), 1, 1), *b_range, generator=generator)
    variance = _uniform((len(x), 1, 1), *u_range, generator=generator)
    noise = offset + variance.sqrt() * torch.randn(x.shape, generator=generator, dtype=torch.float64)
    return _where_chosen(x, x + _like(noise, x), generator=generator, p=p)


@AUGMENTATIONS.register("jitter")
def jitter(x: Tensor, *, generator: torch.Generator, p: float = 0.5, sigma: float = 0.03) -> Tensor:
    """Add Gaussian noise ``N(0, sigma)`` to every channel and time step.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is augmented.
    sigma : float >= 0, default 0.03
        Noise standard deviation, in units of ``x``.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p, sigma=sigma)
    noise = sigma * torch.randn(x.shape, generator=generator, dtype=torch.float64)
    return _where_chosen(x, x + _like(noise, x), generator=generator, p=p)


@AUGMENTATIONS.register("scaling")
def scaling(x: Tensor, *, generator: torch.Generator, p: float = 0.5, sigma: float = 0.1) -> Tensor:
    """Multiply each sample-channel by one factor drawn from ``N(1, sigma)``.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is augmented.
    sigma : float >= 0, default 0.1
        Standard deviation of the factors.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p, sigma=sigma)
    factor = 1.0 + sigma * torch.randn((*x.shape[:2], 1), generator=generator, dtype=torch.float64)
    return _where_chosen(x, x * _like(factor, x), generator=generator, p=p)


@AUGMENTATIONS.register("magnitude_warp")
def magnitude_warp(x: Tensor, *, generator: torch.Generator, p: float = 0.5, sigma: float = 0.2,
                   knots: int = 4) -> Tensor:
    """Multiply each sample-channel by a smooth random curve.

    The curve is a natural cubic spline through ``knots`` values drawn from ``N(1, sigma)`` and
    spread evenly from the first to the last time step.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is augmented.
    sigma : float >= 0, default 0.2
        Standard deviation of the knot values.
    knots : int >= 2, default 4
        Number of knots; more knots give a wigglier curve.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p, sigma=sigma)
    _check_knots(knots)
    batch, channels, length = x.shape
    curve = _smooth_curves(batch * channels, length, knots=knots, sigma=sigma, generator=generator)
    return _where_chosen(x, x * _like(curve.view(x.shape), x), generator=generator, p=p)


@AUGMENTATIONS.register("time_warp")
def time_warp(x: Tensor, *, generator: torch.Generator, p: float = 0.5, sigma: float = 0.2,
              knots: int = 4) -> Tensor:
    """Smoothly speed up and slow down time, keeping the first and last values in place.

    A random speed curve (as in :func:`magnitude_warp`, floored at ``MIN_SPEED`` so that time
    never runs backwards) is summed over time and rescaled to [0, length - 1]; ``x`` is then
    read at those positions with linear interpolation. All channels of a sample share one
    warp because the leads of a recording share one clock.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is augmented.
    sigma : float >= 0, default 0.2
        Standard deviation of the knot speeds around 1.
    knots : int >= 2, default 4
        Number of knots of the speed curve.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p, sigma=sigma)
    _check_knots(knots)
    length = x.shape[-1]
    speed = _smooth_curves(len(x), length, knots=knots, sigma=sigma, generator=generator).clamp_min(MIN_SPEED)
    elapsed = torch.cat([torch.zeros(len(x), 1, dtype=torch.float64), speed[:, :-1].cumsum(dim=1)], dim=1)
    # A 1-step series has elapsed == 0; the floor keeps 0 / 0 from producing NaN.
    positions = elapsed / elapsed[:, -1:].clamp_min(1e-12) * (length - 1)
    return _where_chosen(x, _resample(x, positions), generator=generator, p=p)


@AUGMENTATIONS.register("window_slice")
def window_slice(x: Tensor, *, generator: torch.Generator, p: float = 0.5, ratio: float = 0.9) -> Tensor:
    """Crop a random window of ``ratio`` of the length and stretch it back to the full length.

    Parameters
    ----------
    x : Tensor, shape (batch, channels, length)
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is augmented.
    ratio : float in (0, 1], default 0.9
        Window length as a fraction of the series; one window per sample, shared by its channels.

    Returns
    -------
    Tensor, shape (batch, channels, length), dtype of ``x``
    """
    _check(x, generator, p)
    _require(_is_number(ratio) and 0 < ratio <= 1, "ratio", "a number in (0, 1]", ratio)
    last = x.shape[-1] - 1
    span = ratio * last
    start = _uniform((len(x), 1), 0.0, last - span, generator=generator)
    positions = start + span * torch.linspace(0, 1, x.shape[-1], dtype=torch.float64)
    return _where_chosen(x, _resample(x, positions), generator=generator, p=p)


Compose = Pipeline  # the ECG name of core's pipeline


def compose(specs: Sequence[Mapping[str, Any]] | None) -> Pipeline | None:
    """Build a pipeline of ECG augmentations from recipe entries; an empty list means none.

    Entries look like ``{"name": "jitter", "p": 0.5, "sigma": 0.03}``, applied in order; keys
    other than ``name`` go to the augmentation. Each entry is tried once on a tiny
    (2, 1, 8) batch, so a bad value fails here (see :func:`lilaw_health.core.augment.build_pipeline`).
    """
    return build_pipeline(specs, AUGMENTATIONS, probe=torch.zeros(2, 1, 8), example=EXAMPLE)


def corrupt_fraction(x: np.ndarray, *, fraction: float, seed: int,
                     **additive_noise_params: Any) -> tuple[np.ndarray, np.ndarray]:
    """Apply :func:`additive_noise` once to a seeded random ``fraction`` of the samples.

    This is how the paper built ECG5000-A (``fraction=0.5`` of the training beats).

    Parameters
    ----------
    x : numpy.ndarray of float, shape (n_samples, channels, length)
    fraction : float in [0, 1]
        Share of samples to corrupt; exactly ``round(fraction * n_samples)`` are.
    seed : int
        Seeds both the choice of samples and the noise.
    **additive_noise_params
        ``b_range`` and/or ``u_range`` of :func:`additive_noise` (``p`` is always 1).

    Returns
    -------
    corrupted : numpy.ndarray, shape and dtype of ``x``
    mask : numpy.ndarray of bool, shape (n_samples,)
        True for the corrupted samples.
    """
    valid = [key for key in option_names(additive_noise) if key != "p"]
    check_options("additive_noise", additive_noise_params, valid)
    if not isinstance(x, np.ndarray) or x.ndim != 3 or not np.issubdtype(x.dtype, np.floating):
        raise InputError(SHAPE.format(arg="x", expected="(n_samples, channels, length) of floats",
                                      received=_describe(x), fix="Add a channel axis with x[:, None, :]."))
    _require(_is_number(fraction) and 0 <= fraction <= 1, "fraction", "a number in [0, 1]", fraction)
    generator = torch.Generator().manual_seed(seed)
    mask = np.zeros(len(x), dtype=bool)
    mask[torch.randperm(len(x), generator=generator)[: round(fraction * len(x))].numpy()] = True
    corrupted = x.copy()
    noisy = additive_noise(torch.from_numpy(x[mask]), generator=generator, p=1.0, **additive_noise_params)
    corrupted[mask] = noisy.numpy()
    return corrupted, mask


def _check(x: Tensor, generator: torch.Generator, p: float, **non_negative: float) -> None:
    if not isinstance(x, Tensor) or x.ndim != 3 or not x.is_floating_point():
        raise InputError(SHAPE.format(arg="x", expected="(batch, channels, length) of floats",
                                      received=_describe(x), fix="Add a channel axis with x.unsqueeze(1)."))
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise InputError(BAD_VALUE.format(
            arg="generator", expected="a CPU torch.Generator", received=repr(generator),
            fix="Pass torch.Generator().manual_seed(seed); draws happen on the CPU and move to x's device."))
    _require(_is_number(p) and 0 <= p <= 1, "p", "a number in [0, 1]", p)
    for arg, value in non_negative.items():
        _require(_is_number(value) and value >= 0, arg, "a number >= 0", value)


def _check_range(arg: str, value: Any, *, lowest: float) -> None:
    ok = (isinstance(value, Sequence) and len(value) == 2 and all(_is_number(v) for v in value)
          and lowest <= value[0] <= value[1])
    bound = "" if lowest == -math.inf else f"{lowest:g} <= "
    _require(ok, arg, f"a pair (low, high) with {bound}low <= high", value)


def _check_knots(knots: Any) -> None:
    _require(isinstance(knots, Integral) and not isinstance(knots, bool) and int(knots) >= 2,
             "knots", "an integer >= 2", knots)


def _require(ok: bool, arg: str, expected: str, received: Any) -> None:
    if not ok:
        raise InputError(BAD_VALUE.format(arg=arg, expected=expected, received=repr(received),
                                          fix="Fix the value in the call or in the recipe's augment list.").strip())


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)} and dtype {x.dtype}" if shape is not None else repr(x)


def _uniform(shape: tuple[int, ...], low: float, high: float, *, generator: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def _like(values: Tensor, x: Tensor) -> Tensor:
    return values.to(device=x.device, dtype=x.dtype)


def _where_chosen(x: Tensor, augmented: Tensor, *, generator: torch.Generator, p: float) -> Tensor:
    """Keep ``augmented`` for a random subset of samples and ``x`` (exactly) for the rest.

    Every sample's randomness is drawn whether or not it is chosen, so the draws, and hence
    the augmented samples, do not depend on ``p``.
    """
    chosen = torch.rand(len(x), generator=generator, dtype=torch.float64) < p
    return torch.where(chosen.to(x.device).view(-1, 1, 1), augmented, x)


def _smooth_curves(n_curves: int, length: int, *, knots: int, sigma: float,
                   generator: torch.Generator) -> Tensor:
    """Natural cubic splines through ``knots`` values ~ N(1, sigma), shape (n_curves, length)."""
    values = 1.0 + sigma * torch.randn((n_curves, knots), generator=generator, dtype=torch.float64)
    second = torch.zeros_like(values)
    if knots > 2:  # second derivatives at the inner knots; they are 0 at the ends (natural spline)
        band = 4 * torch.eye(knots - 2, dtype=torch.float64)
        band += torch.diag(torch.ones(knots - 3, dtype=torch.float64), 1)
        band += torch.diag(torch.ones(knots - 3, dtype=torch.float64), -1)
        curvature = 6 * (values[:, :-2] - 2 * values[:, 1:-1] + values[:, 2:])
        second[:, 1:-1] = torch.linalg.solve(band, curvature, left=False)
    t = torch.linspace(0, knots - 1, length, dtype=torch.float64)  # in units of knot spacing
    segment = t.floor().clamp(max=knots - 2).long()
    right = t - segment
    left = 1 - right
    return (values[:, segment] * left + values[:, segment + 1] * right
            + (second[:, segment] * (left**3 - left) + second[:, segment + 1] * (right**3 - right)) / 6)


def _resample(x: Tensor, positions: Tensor) -> Tensor:
    """Read ``x`` at fractional time ``positions`` (batch, length) by linear interpolation."""
    last = x.shape[-1] - 1
    positions = positions.clamp(0, last)
    below = positions.floor().clamp(max=max(last - 1, 0))
    weight = _like((positions - below).unsqueeze(1).expand(-1, x.shape[1], -1), x)
    index = below.long().to(x.device).unsqueeze(1).expand(-1, x.shape[1], -1)
    # lerp returns its end points exactly at weights 0 and 1, so the first and last values survive.
    return torch.lerp(x.gather(-1, index), x.gather(-1, (index + 1).clamp(max=last)), weight)


__all__ = [
    "AUGMENTATIONS", "Compose", "additive_noise", "compose", "corrupt_fraction", "jitter", "magnitude_warp",
    "scaling", "time_warp", "window_slice",
]
