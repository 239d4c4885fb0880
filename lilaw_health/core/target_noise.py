"""Noise for regression targets (e.g. PSPI pain intensity 0..16), the counterpart of the
label-noise models of :mod:`~lilaw_health.core.noise`.

Every model is registered in :data:`TARGET_NOISE_MODELS` and reached through
:func:`inject_target_noise`: a seeded share of the targets is replaced by uniform draws over
the target range (``uniform``), or moved by half the range (``shift``); the corrupted mask is
kept so that mislabel detection can be scored later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.noise import _check_rate
from lilaw_health.core.registry import Registry
from lilaw_health.core.validation import check_finite_array

TargetNoiseModel = Callable[..., tuple[np.ndarray, np.ndarray]]  # -> (noisy targets, corrupted mask)
TARGET_NOISE_MODELS: Registry[TargetNoiseModel] = Registry(
    "target noise model", fix="Pass one of them as kind=, or register a new model in TARGET_NOISE_MODELS."
)
SHIFT_FRACTION = 0.5  # kind="shift" moves a target by this fraction of the target range


@dataclass(frozen=True)
class NoisyTargets:
    """Noisy regression targets plus what is needed to score mislabel detection.

    Attributes
    ----------
    targets : numpy.ndarray of float64, shape (n_samples,)
        The noisy targets.
    corrupted : numpy.ndarray of bool, shape (n_samples,)
        True where the noise model replaced or moved the target.
    target_range : tuple of float
        The ``(low, high)`` range the model drew in; ``high - low`` is the R of LiLAW's
        regression weights.
    """

    targets: np.ndarray
    corrupted: np.ndarray
    target_range: tuple[float, float]

    @property
    def rate(self) -> float:
        """Realised fraction of corrupted targets."""
        return float(self.corrupted.mean())


def inject_target_noise(
    targets: ArrayLike,
    *,
    kind: str,
    rate: float = 0.0,
    seed: int = 0,
    target_range: tuple[float, float] | None = None,
) -> NoisyTargets:
    """Corrupt clean regression targets with a registered noise model, reproducibly.

    Parameters
    ----------
    targets : array-like of float, shape (n_samples,)
        Clean targets, all finite.
    kind : str
        A name in :data:`TARGET_NOISE_MODELS`: "none", "uniform" or "shift".
    rate : float in [0, 1], default 0.0
        Share of targets to corrupt: exactly ``round(rate * n_samples)`` of them, chosen
        without replacement. Ignored by "none".
    seed : int, default 0
        Seed of the random generator; the same seed gives the same output.
    target_range : (low, high), optional
        Range of valid targets (e.g. (0, 16) for PSPI); defaults to the targets' [min, max].
        Every target must lie inside it.

    Returns
    -------
    NoisyTargets

    Examples
    --------
    >>> noisy = inject_target_noise([0.0, 4.0, 12.0, 16.0], kind="shift", rate=0.5, seed=0)
    >>> noisy.targets.tolist(), noisy.corrupted.tolist()
    ([0.0, 4.0, 4.0, 8.0], [False, False, True, True])
    """
    model = TARGET_NOISE_MODELS.get(kind)
    clean = _check_targets(targets)
    _check_rate(rate)
    low_high = _check_target_range(target_range, clean)
    noisy, corrupted = model(clean, rate=rate, target_range=low_high, rng=np.random.default_rng(seed))
    return NoisyTargets(targets=noisy, corrupted=corrupted, target_range=low_high)


@TARGET_NOISE_MODELS.register("none")
def no_target_noise(
    targets: np.ndarray, *, rate: float = 0.0, target_range: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return a copy of the targets and an all-False mask; ``rate``, ``target_range`` and ``rng`` are unused."""
    return np.array(targets, dtype=np.float64), np.zeros(len(targets), dtype=bool)


@TARGET_NOISE_MODELS.register("uniform")
def uniform_target_noise(
    targets: np.ndarray, *, rate: float, target_range: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``round(rate * n_samples)`` seeded targets by draws from U[low, high).

    The draws are continuous (round them for an integer scale such as PSPI); a draw equal
    to the target it replaces has probability zero, so the mask is the set of changed targets.

    Parameters
    ----------
    targets : numpy.ndarray of float64, shape (n_samples,)
    rate : float in [0, 1]
    target_range : (low, high) with low < high
    rng : numpy.random.Generator

    Returns
    -------
    (numpy.ndarray of float64, numpy.ndarray of bool), each of shape (n_samples,)
        The noisy targets and the corrupted mask.
    """
    low, high = _require_width(target_range, "uniform")
    noisy, corrupted = _choose(targets, rate, rng)
    noisy[corrupted] = rng.uniform(low, high, size=int(corrupted.sum()))
    return noisy, corrupted


@TARGET_NOISE_MODELS.register("shift")
def shift_target_noise(
    targets: np.ndarray, *, rate: float, target_range: tuple[float, float], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Move ``round(rate * n_samples)`` seeded targets by ``SHIFT_FRACTION`` (0.5) of the range.

    Each chosen target gets a seeded random sign; where ``y + sign * R / 2`` would leave
    [low, high] the opposite sign is used, which always stays inside for a shift of half the
    range. So every corrupted target moves by exactly R / 2 and stays in the range, and
    targets near a bound are pushed inward. Clipping instead would leave a target at a bound
    unchanged yet marked corrupted, and pile noisy targets onto the bounds. Arguments and
    return value as :func:`uniform_target_noise`.
    """
    low, high = _require_width(target_range, "shift")
    noisy, corrupted = _choose(targets, rate, rng)
    offset = SHIFT_FRACTION * (high - low) * rng.choice([-1.0, 1.0], size=int(corrupted.sum()))
    chosen = noisy[corrupted]
    outside = (chosen + offset < low) | (chosen + offset > high)
    # The clip only absorbs rounding: the reflected value is inside in exact arithmetic.
    noisy[corrupted] = np.clip(chosen + np.where(outside, -offset, offset), low, high)
    return noisy, corrupted


def _choose(targets: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A float64 copy of the targets and a mask of round(rate * n) seeded positions."""
    corrupted = np.zeros(len(targets), dtype=bool)
    corrupted[rng.choice(len(targets), size=round(rate * len(targets)), replace=False)] = True
    return np.array(targets, dtype=np.float64), corrupted


def _check_targets(targets: ArrayLike) -> np.ndarray:
    """Validate regression targets; return a float64 copy."""
    array = np.asarray(targets)
    if array.dtype.kind not in "iuf":
        raise InputError(BAD_VALUE.format(arg="targets", expected="real numbers", received=f"dtype {array.dtype}",
                                          fix="Convert the targets to float (e.g. numpy.asarray(y, dtype=float))."))
    if array.ndim != 1 or array.size == 0:
        raise InputError(SHAPE.format(arg="targets", expected="(n_samples,) with n_samples >= 1",
                                      received=array.shape, fix="Pass one target per sample."))
    array = array.astype(np.float64)
    check_finite_array(array, arg="targets")
    return array


def _check_target_range(target_range: tuple[float, float] | None, targets: np.ndarray) -> tuple[float, float]:
    """Return (low, high): the given range, checked to hold every target, or the targets' [min, max]."""
    if target_range is None:
        return float(targets.min()), float(targets.max())
    bounds = np.asarray(target_range)
    if bounds.shape != (2,) or bounds.dtype.kind not in "iuf" or not np.all(np.isfinite(bounds)):
        raise InputError(BAD_VALUE.format(arg="target_range", expected="(low, high), two finite numbers",
                                          received=repr(target_range), fix="E.g. target_range=(0, 16) for PSPI."))
    low, high = float(bounds[0]), float(bounds[1])
    if targets.min() < low or targets.max() > high:
        raise InputError(BAD_VALUE.format(
            arg="targets", expected=f"inside target_range [{low:g}, {high:g}]",
            received=f"values in [{targets.min():g}, {targets.max():g}]",
            fix="Widen target_range to the scale's true bounds, or omit it to use the targets' [min, max]."))
    return low, high


def _require_width(target_range: tuple[float, float], kind: str) -> tuple[float, float]:
    low, high = target_range
    if not high > low:
        raise InputError(BAD_VALUE.format(
            arg="target_range", expected=f"a range of width > 0 for kind={kind!r}", received=f"[{low:g}, {high:g}]",
            fix="Pass target_range=(low, high) with low < high, e.g. (0, 16) for PSPI; constant targets have no "
                "range of their own."))
    return low, high
