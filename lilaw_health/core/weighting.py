"""LiLAW: Lightweight Learnable Adaptive Weighting.

Moturu, Muzammil, Goldenberg, Taati, "LiLAW: Lightweight Learnable Adaptive Weighting to
Meta-Learn Sample Difficulty, Improve Noisy Training, Increase Fairness, and Effectively
Use Synthetic Data", arXiv:2509.20786 (v2, 2026).

Three global scalars weight each sample's loss by its difficulty. With ``u`` the
agreement of the model with the observed label and ``v`` its reference (for
classification ``u = p`` the probability of the observed label, ``v = m`` the largest
probability):

    W_alpha = sigmoid(alpha * u - v)             easy      (agree, confident)
    W_beta  = sigmoid(-(beta * u - v))           hard      (confidently disagree)
    W_delta = exp(-(delta * u - v) ** 2 / 2)     moderate  (unconfident)
    W       = W_alpha + W_beta + W_delta

The multi-label and regression variants of the paper's appendix only change ``u`` and
``v`` (and divide by a target range), so one private function computes all three.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, NOT_FINITE, SHAPE, InputError
from lilaw_health.core.validation import check_class_targets


class LiLAWWeights(NamedTuple):
    """The three LiLAW components and their sum, each of shape (n_samples,)."""

    w_alpha: Tensor
    w_beta: Tensor
    w_delta: Tensor
    w: Tensor


def lilaw_weights(
    logits: Tensor, targets: Tensor, *, alpha: float | Tensor, beta: float | Tensor, delta: float | Tensor,
    checked: bool = True,
) -> LiLAWWeights:
    """Per-sample LiLAW weights for single-label classification.

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_classes)
        Unnormalised model outputs.
    targets : Tensor of shape (n_samples,)
        Observed (possibly noisy) integer class ids.
    alpha, beta, delta : float or 0-d Tensor
        The LiLAW scalars (paper defaults 10, 2, 6). Gradients flow to them, and to the
        logits, when they require grad.
    checked : bool, default True
        Check the logits' shape and finiteness and the targets' range first. Each check reads
        the device; a training loop whose labels were checked when its data were built, and
        which stops on a non-finite loss, passes False.

    Returns
    -------
    LiLAWWeights
        ``w_alpha``, ``w_beta``, ``w_delta`` and ``w``, each of shape (n_samples,).

    Examples
    --------
    >>> import torch
    >>> logits = torch.log(torch.tensor([[0.95, 0.05], [0.05, 0.95]]))
    >>> w = lilaw_weights(logits, torch.tensor([0, 0]), alpha=9.0, beta=3.0, delta=7.0).w
    >>> [round(v, 3) for v in w.tolist()]
    [1.13, 1.903]
    """
    return lilaw_weights_from(classification_agreement(logits, targets, checked=checked), alpha=alpha, beta=beta,
                              delta=delta)


def lilaw_weights_multilabel(
    logits: Tensor, targets: Tensor, *, alpha: float | Tensor, beta: float | Tensor, delta: float | Tensor
) -> LiLAWWeights:
    """LiLAW weights for multi-label outputs (sigmoid per label).

    ``p`` is the mean sigmoid output over a sample's k observed positive labels and ``m`` the
    mean of its top-k sigmoid outputs. A sample with no positive label uses k = 1 and
    ``p`` = 1 - its largest output (its "label" is the absence of every class).

    Parameters
    ----------
    logits : Tensor of shape (n_samples, n_labels)
    targets : Tensor of shape (n_samples, n_labels)
        Binary indicators (0/1, any dtype).
    """
    return lilaw_weights_from(multilabel_agreement(logits, targets), alpha=alpha, beta=beta, delta=delta)


def lilaw_weights_regression(
    predictions: Tensor,
    targets: Tensor,
    *,
    target_range: float,
    alpha: float | Tensor,
    beta: float | Tensor,
    delta: float | Tensor,
    checked: bool = True,
) -> LiLAWWeights:
    """LiLAW weights for regression: ``(q * f(x) - y) / R`` replaces ``q * p - m``.

    Parameters
    ----------
    predictions, targets : Tensor of shape (n_samples,)
        Finite model outputs and observed (possibly noisy) targets.
    target_range : float
        Width R of the target range (16 for PSPI pain intensity 0..16), finite and > 0.
    checked : bool, default True
        Check that predictions and targets are finite (each a read of the device); the
        shapes and ``target_range`` are always checked.
    """
    return lilaw_weights_from(regression_agreement(predictions, targets, target_range=target_range, checked=checked),
                              alpha=alpha, beta=beta, delta=delta)


def lilaw_weights_from(agreement: Agreement, *, alpha: float | Tensor, beta: float | Tensor,
                       delta: float | Tensor) -> LiLAWWeights:
    """LiLAW weights of any task from its :class:`Agreement`."""
    return _weights(*agreement, alpha, beta, delta)


class Agreement(NamedTuple):
    """What LiLAW's weights are a function of: the agreement ``u`` of the model with the observed
    label, its reference ``v`` (both (n_samples,)) and the ``scale`` their difference is divided by."""

    u: Tensor
    v: Tensor
    scale: float = 1.0


def agreement(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """``p`` (probability of the observed label) and ``m`` (largest probability), (n_samples,) each."""
    probs = torch.softmax(logits, dim=1)
    p = probs.gather(1, targets.long()[:, None]).squeeze(1)
    return p, probs.max(dim=1).values


def classification_agreement(logits: Tensor, targets: Tensor, *, checked: bool = True) -> Agreement:
    """:func:`agreement` after checking the logits' shape and finiteness and the targets' range
    (``checked=False``: no check, no read of the device)."""
    if checked:
        check_classification_inputs(logits, targets)
    return Agreement(*agreement(logits, targets))


def check_classification_inputs(logits: Tensor, targets: Tensor) -> None:
    """Logits (n_samples, n_classes), finite, and class ids in range, one per row; else an
    InputError naming the argument. Each check reads the device."""
    _check_logits(logits)
    check_class_targets(targets, n_classes=logits.shape[1], n_samples=logits.shape[0])


def regression_agreement(predictions: Tensor, targets: Tensor, *, target_range: float,
                         checked: bool = True) -> Agreement:
    """The predictions and targets, scaled by the target range; shapes and range always checked,
    finiteness only when ``checked``."""
    if predictions.shape != targets.shape or predictions.dim() != 1:
        raise InputError(
            SHAPE.format(arg="predictions and targets", expected="(n_samples,) each",
                         received=f"{tuple(predictions.shape)} and {tuple(targets.shape)}",
                         fix="Squeeze the model output to one value per sample.")
        )
    if isinstance(target_range, bool) or not 0 < target_range < float("inf"):
        raise InputError(BAD_VALUE.format(arg="target_range", expected="> 0 and finite", received=repr(target_range),
                                          fix="Pass the width R of the target range, e.g. 16 for PSPI 0..16."))
    if checked:
        _check_finite("predictions", predictions)
        _check_finite("targets", targets)
    return Agreement(predictions, targets.to(predictions.dtype), float(target_range))


def multilabel_agreement(logits: Tensor, targets: Tensor) -> Agreement:
    """``p`` (mean output over the observed positive labels) and ``m`` (mean of the top-k
    outputs) of :func:`lilaw_weights_multilabel`, (n_samples,) each; shapes and finiteness checked."""
    _check_logits(logits)
    if targets.shape != logits.shape:
        raise InputError(
            SHAPE.format(arg="targets", expected=tuple(logits.shape), received=tuple(targets.shape),
                         fix="Pass one 0/1 indicator per label, shaped like the logits.")
        )
    probs = torch.sigmoid(logits)
    positives = targets.to(probs.dtype)
    k = positives.sum(dim=1)
    top = torch.sort(probs, dim=1, descending=True).values
    rank = torch.arange(probs.shape[1], device=probs.device).expand_as(probs)
    k_eff = k.clamp(min=1)
    m = (top * (rank < k_eff[:, None])).sum(dim=1) / k_eff
    p = torch.where(k > 0, (probs * positives).sum(dim=1) / k_eff, 1.0 - top[:, 0])
    return Agreement(p, m)


def classification_weight_sum(logits: Tensor, targets: Tensor, *, alpha: Tensor, beta: Tensor,
                              delta: Tensor) -> Tensor:
    """``W`` of :func:`lilaw_weights` (unchecked), as one autograd node with a closed-form backward
    to the logits; the scalars are constants here (LiLAW's model step).

    The same values and logit gradients as the composed operations (tested against them), with
    one graph node instead of about fifteen, each a dispatch on every training batch.
    """
    scalars = torch.stack([alpha, beta, delta]).detach().to(logits.dtype)
    return _ClassificationWeightSum.apply(logits, targets.long(), scalars)


class _ClassificationWeightSum(torch.autograd.Function):
    """W = sigmoid(alpha p - m) + sigmoid(-(beta p - m)) + exp(-(delta p - m)^2 / 2), with p the
    softmax of the observed label and m the largest softmax output (index k).

    Backward: dW/dp and dW/dm from the three components, then through the softmax:
    dp/dz_j = p (1[j = y] - s_j) and dm/dz_j = m (1[j = k] - s_j).
    """

    @staticmethod
    def forward(ctx: Any, logits: Tensor, targets: Tensor, scalars: Tensor) -> Tensor:
        probs = torch.softmax(logits, dim=1)
        p = probs.gather(1, targets[:, None]).squeeze(1)
        m, k = probs.max(dim=1)
        z = scalars[:, None] * p - m  # (3, n)
        w_alpha, w_beta = torch.sigmoid(z[0]), torch.sigmoid(-z[1])
        w_delta = torch.exp(-0.5 * z[2] * z[2])
        slope_alpha, slope_beta, slope_delta = w_alpha * (1 - w_alpha), w_beta * (1 - w_beta), w_delta * z[2]
        d_dp = scalars[0] * slope_alpha - scalars[1] * slope_beta - scalars[2] * slope_delta
        d_dm = slope_beta + slope_delta - slope_alpha
        ctx.save_for_backward(probs, targets, k, p * d_dp, m * d_dm)
        return w_alpha + w_beta + w_delta

    @staticmethod
    def backward(ctx: Any, grad_w: Tensor) -> tuple[Tensor, None, None]:
        probs, targets, k, p_d_dp, m_d_dm = ctx.saved_tensors
        g_p, g_m = grad_w * p_d_dp, grad_w * m_d_dm
        grad = probs * -(g_p + g_m)[:, None]
        grad.scatter_add_(1, targets[:, None], g_p[:, None])
        grad.scatter_add_(1, k[:, None], g_m[:, None])
        return grad, None, None


def meta_loss_and_gradients(
    agreement: Agreement, per_sample_loss: Tensor, *, alpha: Tensor, beta: Tensor, delta: Tensor
) -> tuple[Tensor, Tensor]:
    """LiLAW's meta loss ``mean(W * l)`` and its gradient with respect to (alpha, beta, delta),
    in closed form (no autograd graph: the meta step runs after every training step).

    With ``l``, ``u`` and ``v`` constants (the model gets no gradient in the meta step) and
    ``z_q = (q * u - v) / scale``, only one component of W depends on each scalar:

        dL/d alpha = mean(l * W_alpha * (1 - W_alpha) * u / scale)
        dL/d beta  = -mean(l * W_beta * (1 - W_beta) * u / scale)
        dL/d delta = -mean(l * W_delta * z_delta * u / scale)

    Parameters
    ----------
    agreement : Agreement
        ``u``, ``v`` (detached) and ``scale`` of the validation batch
        (:func:`classification_agreement`, :func:`multilabel_agreement`, :func:`regression_agreement`).
    per_sample_loss : Tensor of shape (n_samples,), detached
    alpha, beta, delta : 0-d Tensor

    Returns
    -------
    (Tensor, Tensor)
        The meta loss (0-d) and the gradient, shape (3,), in the order alpha, beta, delta.
    """
    u, v, scale = agreement
    with torch.no_grad():  # no graph: the scalars are parameters
        scalars = torch.stack([alpha, beta, delta])
        z = (scalars[:, None] * u - v) / scale  # (3, n): z_alpha, z_beta, z_delta
        w_alpha, w_beta = torch.sigmoid(z[0]), torch.sigmoid(-z[1])
        w_delta = torch.exp(-(z[2] ** 2) / 2)
        slopes = torch.stack([w_alpha * (1 - w_alpha), -w_beta * (1 - w_beta), -w_delta * z[2]])
        gradients = (slopes * (per_sample_loss * u / scale)).mean(dim=1)
        return (per_sample_loss * (w_alpha + w_beta + w_delta)).mean(), gradients


def _weights(
    u: Tensor, v: Tensor, scale: float, alpha: float | Tensor, beta: float | Tensor, delta: float | Tensor
) -> LiLAWWeights:
    w_alpha = torch.sigmoid((alpha * u - v) / scale)
    w_beta = torch.sigmoid(-(beta * u - v) / scale)
    w_delta = torch.exp(-(((delta * u - v) / scale) ** 2) / 2)
    return LiLAWWeights(w_alpha, w_beta, w_delta, w_alpha + w_beta + w_delta)


def weighted_mean(per_sample_loss: Tensor, sample_weight: Tensor) -> Tensor:
    """Batch mean of ``sample_weight * per_sample_loss``; both of shape (n_samples,)."""
    if per_sample_loss.shape != sample_weight.shape:
        raise InputError(
            LENGTH_MISMATCH.format(arg_a="per_sample_loss", arg_b="sample_weight",
                                   len_a=tuple(per_sample_loss.shape), len_b=tuple(sample_weight.shape))
        )
    return (sample_weight * per_sample_loss).mean()


def _check_logits(logits: Tensor) -> None:
    if logits.dim() != 2 or logits.shape[1] < 1:
        raise InputError(
            SHAPE.format(arg="logits", expected="(n_samples, n_classes)", received=tuple(logits.shape),
                         fix="Return one row of class scores per sample from the model.")
        )
    _check_finite("logits", logits)


def _check_finite(arg: str, values: Tensor) -> None:
    bad = ~torch.isfinite(values.detach())
    if bad.any():
        first = int(bad.reshape(-1).nonzero()[0])
        raise InputError(NOT_FINITE.format(arg=arg, count=int(bad.sum()), index=first))
