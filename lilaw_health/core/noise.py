"""Label-noise models for robustness experiments.

Symmetric and asymmetric noise follow the definitions of Moturu et al., "LiLAW: Lightweight
Learnable Adaptive Weighting ...", arXiv:2509.20786. Pair-flip, class-conditional
(transition-matrix) and instance-dependent noise (Xia et al., "Part-dependent Label Noise:
Towards Instance-dependent Label Noise", NeurIPS 2020) are the other models common in the
field. Every model is registered in :data:`NOISE_MODELS` and is reached through
:func:`inject_label_noise`, which also keeps the flip mask and the realised transition
matrix so that mislabel detection can be scored later.

The long-tailed noisy setting of Dynamic Loss (Jiang et al., TPAMI 2023) has two parts:
:func:`long_tailed_subsample` keeps an exponential profile of class sizes (it decides which
samples exist, so it runs before any noise), and ``kind="long_tailed"`` noise draws each new
label in proportion to class frequency. Regression targets: :mod:`~lilaw_health.core.target_noise`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, SHAPE, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.core.validation import check_finite_array, check_label_array

NoiseModel = Callable[..., np.ndarray]
NOISE_MODELS: Registry[NoiseModel] = Registry(
    "noise model", fix="Set noise.kind (kind= in the API) to one of them; uniform and shift are for regression targets."
)
ROW_SUM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class NoisyLabels:
    """Noisy labels plus what is needed to score mislabel detection.

    Attributes
    ----------
    labels : numpy.ndarray of int64, shape (n_samples,)
        The noisy labels.
    flipped : numpy.ndarray of bool, shape (n_samples,)
        True where the noisy label differs from the clean one.
    transition_matrix : numpy.ndarray of float64, shape (n_classes, n_classes)
        Realised P(noisy = j | clean = i); the row of a class absent from the clean labels
        is all zeros.
    """

    labels: np.ndarray
    flipped: np.ndarray
    transition_matrix: np.ndarray

    @property
    def rate(self) -> float:
        """Realised fraction of flipped labels."""
        return float(self.flipped.mean())


def inject_label_noise(
    labels: ArrayLike,
    *,
    kind: str,
    rate: float = 0.0,
    n_classes: int | None = None,
    seed: int = 0,
    transition_matrix: ArrayLike | None = None,
    features: ArrayLike | None = None,
) -> NoisyLabels:
    """Corrupt clean labels with a registered noise model, reproducibly.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Clean class ids in [0, n_classes).
    kind : str
        A name in :data:`NOISE_MODELS`: "none", "symmetric", "asymmetric", "pairflip",
        "transition", "instance" or "long_tailed".
    rate : float in [0, 1], default 0.0
        Noise rate; its meaning depends on ``kind`` (see each model). Ignored by "none"
        and "transition".
    n_classes : int, optional
        Number of classes; defaults to ``labels.max() + 1``.
    seed : int, default 0
        Seed of the random generator; the same seed gives the same output.
    transition_matrix : array-like of float, shape (n_classes, n_classes), optional
        Used only by ``kind="transition"``.
    features : array-like, shape (n_samples, ...), optional
        Used only by ``kind="instance"``.

    Returns
    -------
    NoisyLabels

    Examples
    --------
    >>> noisy = inject_label_noise([0, 1, 2, 0], kind="pairflip", rate=1.0)
    >>> noisy.labels
    array([1, 2, 0, 1])
    >>> noisy.rate
    1.0
    """
    model = NOISE_MODELS.get(kind)
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    # Route the kind-specific argument only to the model that declares it, so that
    # models registered later need no change here.
    accepted = inspect.signature(model).parameters
    extra = {k: v for k, v in (("transition_matrix", transition_matrix), ("features", features)) if k in accepted}
    noisy = model(clean, rate=rate, n_classes=n_classes, rng=np.random.default_rng(seed), **extra)
    return _summarise(clean, np.asarray(noisy, dtype=np.int64), n_classes)


@NOISE_MODELS.register("none")
def no_noise(
    labels: ArrayLike, *, rate: float = 0.0, n_classes: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Return a copy of the labels (the clean baseline); ``rate`` and ``rng`` are unused."""
    clean, _ = _check_labels(labels, n_classes)
    return clean


@NOISE_MODELS.register("symmetric")
def symmetric_noise(
    labels: ArrayLike, *, rate: float, n_classes: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Symmetric noise as defined by the LiLAW paper.

    floor(rate * n_samples) samples are chosen without replacement and each gets a label
    drawn uniformly from all classes, so a chosen label may stay the same and the
    expected flip rate is rate * (1 - 1 / n_classes).

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
    rate : float in [0, 1]
    n_classes : int, optional
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n_samples,)
    """
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    # rate * n is inexact (0.29 * 100 == 28.999999999999996); the epsilon keeps the count.
    chosen = rng.choice(clean.size, size=math.floor(rate * clean.size + 1e-9), replace=False)
    noisy = clean.copy()
    noisy[chosen] = rng.integers(0, n_classes, size=chosen.size)
    return noisy


@NOISE_MODELS.register("asymmetric")
def asymmetric_noise(
    labels: ArrayLike, *, rate: float, n_classes: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Asymmetric (class-dependent) noise as defined by the LiLAW paper.

    Each class draws a row of flip probabilities over the other classes from
    Dirichlet(1, ..., 1); round(rate * n_samples) samples are chosen without replacement
    and each is moved to another class drawn from its class's row, so exactly that many
    labels change. Arguments and return value as :func:`symmetric_noise`; needs
    n_classes >= 2.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    _require_two_classes(n_classes, "asymmetric")
    rows = rng.dirichlet(np.ones(n_classes - 1), size=n_classes)
    chosen = rng.choice(clean.size, size=round(rate * clean.size), replace=False)
    noisy = clean.copy()
    for k in range(n_classes):
        of_class = chosen[clean[chosen] == k]
        noisy[of_class] = rng.choice(np.delete(np.arange(n_classes), k), size=of_class.size, p=rows[k])
    return noisy


@NOISE_MODELS.register("pairflip")
def pairflip_noise(
    labels: ArrayLike, *, rate: float, n_classes: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Pair-flip noise: each sample independently, with probability ``rate``, moves from
    class i to (i + 1) mod n_classes. Arguments and return value as :func:`symmetric_noise`.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    return np.where(rng.random(clean.size) < rate, (clean + 1) % n_classes, clean)


@NOISE_MODELS.register("transition")
def transition_noise(
    labels: ArrayLike,
    *,
    rate: float = 0.0,
    n_classes: int | None = None,
    rng: np.random.Generator,
    transition_matrix: ArrayLike | None = None,
) -> np.ndarray:
    """Class-conditional noise: a label of class i is redrawn from ``transition_matrix[i]``.

    ``transition_matrix`` (n_classes, n_classes) holds P(noisy = j | clean = i); each row is
    non-negative and sums to 1 within 1e-6. ``rate`` is unused (the matrix sets the rates).
    Other arguments and return value as :func:`symmetric_noise`.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    matrix = _check_transition_matrix(transition_matrix, n_classes)
    noisy = clean.copy()
    for k in np.unique(clean):
        of_class = np.flatnonzero(clean == k)
        noisy[of_class] = rng.choice(n_classes, size=of_class.size, p=matrix[k])
    return noisy


@NOISE_MODELS.register("instance")
def instance_noise(
    labels: ArrayLike,
    *,
    rate: float,
    n_classes: int | None = None,
    rng: np.random.Generator,
    features: ArrayLike | None = None,
) -> np.ndarray:
    """Instance-dependent noise, the part-dependent recipe of Xia et al. (2020).

    Features are flattened to (n_samples, d) and standardised per column. Sample i gets a
    flip rate q_i from a normal(rate, 0.1) truncated to [0, 1] and keeps its label with
    probability 1 - q_i; otherwise it moves to another class with probabilities
    softmax(x_i @ W[y_i]) over the other classes, W ~ N(0, 1) of shape (c, d, c).

    ``features`` has shape (n_samples, ...). The truncation lifts the mean flip rate near 0
    (to about 0.08 as rate approaches 0), so ``rate=0`` is special-cased to give the clean labels,
    as every other model does. Other arguments and return value as :func:`symmetric_noise`;
    needs n_classes >= 2.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    _require_two_classes(n_classes, "instance")
    x = _check_features(features, clean.size)
    flip_rate = _truncated_normal(rate, 0.1, clean.size, rng) if rate > 0 else np.zeros(clean.size)
    projection = rng.standard_normal((n_classes, x.shape[1], n_classes))
    scores = np.empty((clean.size, n_classes))
    for k in range(n_classes):
        scores[clean == k] = x[clean == k] @ projection[k]
    rows = np.arange(clean.size)
    scores[rows, clean] = -np.inf
    other = np.exp(scores - scores.max(axis=1, keepdims=True))  # softmax over the other classes
    proba = flip_rate[:, None] * other / other.sum(axis=1, keepdims=True)
    proba[rows, clean] = 1.0 - flip_rate
    return _sample_rows(proba, rng)


@NOISE_MODELS.register("long_tailed")
def long_tailed_noise(
    labels: ArrayLike, *, rate: float, n_classes: int | None = None, rng: np.random.Generator
) -> np.ndarray:
    """Symmetric-rate noise whose new labels follow class frequency (long-tailed noisy setting).

    floor(rate * n_samples) samples are chosen without replacement, as in
    :func:`symmetric_noise`, and each gets a label drawn with probability n_k / n_samples
    (the frequency of class k among ``labels``), so a chosen label may stay the same: a
    sample of class c is flipped to k != c with probability rate * n_k / n_samples, and head
    classes absorb most of the noise. Arguments and return value as :func:`symmetric_noise`.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    _check_rate(rate)
    frequency = np.bincount(clean, minlength=n_classes) / clean.size
    chosen = rng.choice(clean.size, size=math.floor(rate * clean.size + 1e-9), replace=False)
    noisy = clean.copy()
    noisy[chosen] = rng.choice(n_classes, size=chosen.size, p=frequency)
    return noisy


def exponential_profile(class_counts: ArrayLike, *, imbalance_factor: float) -> np.ndarray:
    """Class sizes of an exponential long-tailed profile (Cui et al. 2019; Cao et al. 2019).

    Present classes are ranked by size (largest first, ties by class id); the class of rank r
    among C present classes keeps ``floor(n_max * imbalance_factor ** (-r / (C - 1)))``
    samples, at least 1 and at most the samples it has. ``imbalance_factor = 1`` keeps every
    sample.

    Parameters
    ----------
    class_counts : array-like of int, shape (n_classes,)
    imbalance_factor : float >= 1
        Ratio of the largest to the smallest class size the profile aims at (e.g. 10 or 100).

    Returns
    -------
    numpy.ndarray of int64, shape (n_classes,)

    Examples
    --------
    >>> exponential_profile([500, 500, 500], imbalance_factor=100).tolist()
    [500, 50, 5]
    """
    if isinstance(imbalance_factor, bool) or not isinstance(imbalance_factor, Real) or not imbalance_factor >= 1:
        raise InputError(BAD_VALUE.format(
            arg="imbalance_factor", expected="a number >= 1", received=repr(imbalance_factor),
            fix="Pass n_max / n_min of the profile, e.g. 10 or 100; 1 keeps every sample."))
    counts = np.asarray(class_counts, dtype=np.int64)
    kept = np.zeros_like(counts)
    present = np.flatnonzero(counts > 0)
    if present.size == 0:
        return kept
    order = present[np.argsort(-counts[present], kind="stable")]
    rank = np.arange(order.size) / max(order.size - 1, 1)
    # the epsilon keeps exact powers exact: 500 * 100 ** -0.5 is 49.99999999999999 in floating point
    target = np.floor(counts[order[0]] * float(imbalance_factor) ** -rank + 1e-9).astype(np.int64)
    kept[order] = np.clip(target, 1, counts[order])
    return kept


def long_tailed_subsample(labels: ArrayLike, *, imbalance_factor: float, n_classes: int | None = None,
                          seed: int = 0) -> np.ndarray:
    """Indices of a seeded subsample whose class sizes follow :func:`exponential_profile`.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Clean class ids.
    imbalance_factor : float >= 1
    n_classes : int, optional
    seed : int, default 0
        Which samples of each class are kept.

    Returns
    -------
    numpy.ndarray of int64, shape (n_kept,)
        Sorted positions into ``labels``.
    """
    clean, n_classes = _check_labels(labels, n_classes)
    keep = exponential_profile(np.bincount(clean, minlength=n_classes), imbalance_factor=imbalance_factor)
    rng = np.random.default_rng(seed)
    parts = [rng.choice(np.flatnonzero(clean == k), size=keep[k], replace=False) for k in range(n_classes)]
    return np.sort(np.concatenate(parts)).astype(np.int64)



def _summarise(clean: np.ndarray, noisy: np.ndarray, n_classes: int) -> NoisyLabels:
    counts = np.bincount(clean * n_classes + noisy, minlength=n_classes**2).reshape(n_classes, n_classes)
    support = counts.sum(axis=1, keepdims=True)
    matrix = np.divide(counts, support, out=np.zeros(counts.shape), where=support > 0)
    return NoisyLabels(labels=noisy, flipped=noisy != clean, transition_matrix=matrix)


def _truncated_normal(mean: float, std: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Rejection sampling; with mean in [0, 1] and std 0.1 at least ~half the draws land."""
    values = rng.normal(mean, std, size)
    outside = (values < 0) | (values > 1)
    while outside.any():
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < 0) | (values > 1)
    return values


def _sample_rows(proba: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one class per row of a (n_samples, n_classes) probability matrix."""
    cumulative = proba.cumsum(axis=1)
    cumulative /= cumulative[:, -1:]  # makes the last edge exactly 1, so a draw never falls past it
    return (cumulative <= rng.random((proba.shape[0], 1))).sum(axis=1)


def _check_labels(labels: ArrayLike, n_classes: int | None) -> tuple[np.ndarray, int]:
    """Validate labels and n_classes; return an int64 copy of the labels and n_classes."""
    if n_classes is not None and (isinstance(n_classes, bool) or not isinstance(n_classes, Integral)
                                  or n_classes < 1):
        raise InputError(BAD_VALUE.format(arg="n_classes", expected="a positive integer", received=repr(n_classes),
                                          fix="Pass the number of classes, or omit it to use labels.max() + 1."))
    array = np.asarray(labels)
    if array.size == 0:
        raise InputError(SHAPE.format(arg="labels", expected="(n_samples,) with n_samples >= 1",
                                      received=array.shape, fix="Pass at least one label."))
    n_classes = check_label_array(array, n_classes=n_classes, arg="labels")
    return array.astype(np.int64), int(n_classes)


def _check_rate(rate: float) -> None:
    if isinstance(rate, bool) or not isinstance(rate, Real) or not 0.0 <= rate <= 1.0:
        raise InputError(BAD_VALUE.format(arg="rate", expected="a number in [0, 1]", received=repr(rate),
                                          fix="Pass the fraction of labels to corrupt, e.g. rate=0.2 for 20%."))


def _require_two_classes(n_classes: int, kind: str) -> None:
    if n_classes < 2:
        raise InputError(BAD_VALUE.format(
            arg="n_classes", expected=f"at least 2 for kind={kind!r}", received=n_classes,
            fix="This model moves labels to another class; pass n_classes >= 2 or use kind='none'."))


def _check_transition_matrix(matrix: ArrayLike | None, n_classes: int) -> np.ndarray:
    """Validate a row-stochastic matrix; return it with rows renormalised exactly."""
    if matrix is None:
        raise InputError(BAD_VALUE.format(
            arg="transition_matrix", expected="a (n_classes, n_classes) array for kind='transition'",
            received=None, fix="Pass transition_matrix=T with T[i, j] = P(noisy = j | clean = i)."))
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (n_classes, n_classes):
        raise InputError(SHAPE.format(arg="transition_matrix", expected=(n_classes, n_classes),
                                      received=matrix.shape, fix="Pass one row and one column per class."))
    check_finite_array(matrix, arg="transition_matrix")
    sums = matrix.sum(axis=1)
    bad = np.flatnonzero((matrix.min(axis=1) < 0) | (np.abs(sums - 1.0) > ROW_SUM_TOLERANCE))
    if bad.size:
        row = int(bad[0])
        raise InputError(BAD_VALUE.format(
            arg="transition_matrix", expected=f"row-stochastic (entries >= 0, rows summing to 1 within "
            f"{ROW_SUM_TOLERANCE:g})", received=f"row {row} = {matrix[row].tolist()} summing to {sums[row]:.6g}",
            fix="Clip negative entries and divide each row by its sum."))
    # numpy's choice() has a tighter tolerance than ours, so hand it exact rows.
    return matrix / sums[:, None]


def _check_features(features: ArrayLike | None, n_samples: int) -> np.ndarray:
    """Validate features; return them flattened to (n_samples, d) and standardised per column."""
    if features is None:
        raise InputError(BAD_VALUE.format(
            arg="features", expected="an array of shape (n_samples, ...) for kind='instance'", received=None,
            fix="Pass features=X with one row per label (raw inputs or an embedding)."))
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 0 or len(x) != n_samples:
        raise InputError(LENGTH_MISMATCH.format(arg_a="features", arg_b="labels",
                                                len_a=len(x) if x.ndim else "a scalar", len_b=n_samples))
    x = x.reshape(n_samples, -1)
    check_finite_array(x, arg="features")
    std = x.std(axis=0)
    # A constant column carries no information; dividing by 1 keeps it at zero instead of NaN.
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
