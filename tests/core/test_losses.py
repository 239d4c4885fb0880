"""Per-sample losses and class weights."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError, UnknownNameError
from lilaw_health.core.losses import (
    CLASS_WEIGHTS,
    PER_SAMPLE_LOSSES,
    REGRESSION_LOSSES,
    balanced_class_weight,
    effective_number_class_weight,
    focal,
    generalized_cross_entropy,
    huber,
    label_smoothing,
    mse,
    soft_cross_entropy,
    symmetric_cross_entropy,
    with_class_weight,
)


def _batch(seed=0, n=20, c=4):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=generator, dtype=torch.float64), torch.randint(0, c, (n,), generator=generator)


def test_focal_with_gamma_zero_is_cross_entropy():
    logits, targets = torch.randn(20, 4), torch.randint(0, 4, (20,))
    np.testing.assert_allclose(focal(logits, targets, gamma=0.0), PER_SAMPLE_LOSSES.get("cross_entropy")(logits, targets),
                               rtol=1e-5)
    assert bool((focal(logits, targets) <= PER_SAMPLE_LOSSES.get("cross_entropy")(logits, targets) + 1e-6).all())


def test_balanced_class_weight_matches_sklearn_and_scales_losses():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0] * 8 + [1] * 2 + [3] * 2)
    weight = balanced_class_weight(labels, 4)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=labels)
    np.testing.assert_allclose(weight.numpy()[[0, 1, 3]], expected, rtol=1e-6)
    assert weight[2] == 0.0
    logits, targets = torch.randn(3, 4), torch.tensor([0, 1, 3])
    weighted = with_class_weight(PER_SAMPLE_LOSSES.get("cross_entropy"), weight)(logits, targets)
    plain = PER_SAMPLE_LOSSES.get("cross_entropy")(logits, targets)
    assert torch.allclose(weighted, plain * weight[targets])


def test_gce_sce_and_label_smoothing_match_their_closed_forms():
    logits, targets = _batch()
    proba = torch.softmax(logits, 1)
    p = proba[torch.arange(20), targets]
    torch.testing.assert_close(generalized_cross_entropy(logits, targets), (1 - p**0.7) / 0.7)
    torch.testing.assert_close(symmetric_cross_entropy(logits, targets), -0.1 * p.log() + 4 * (1 - p))
    # reverse cross-entropy from its definition: -sum_k p_k log(onehot_k), log 0 -> A = -4
    log_onehot = torch.full_like(proba, -4.0).scatter(1, targets[:, None], 0.0)
    torch.testing.assert_close(symmetric_cross_entropy(logits, targets, alpha=0.0), -(proba * log_onehot).sum(1))
    smoothed = torch.full_like(proba, 0.1 / 4) + 0.9 * torch.nn.functional.one_hot(targets, 4)
    torch.testing.assert_close(label_smoothing(logits, targets), -(smoothed * proba.log()).sum(1))
    torch.testing.assert_close(soft_cross_entropy(logits, smoothed), label_smoothing(logits, targets))


def test_gce_limits_are_cross_entropy_and_mae():
    logits, targets = _batch(1)
    ce = PER_SAMPLE_LOSSES.get("cross_entropy")(logits, targets)
    torch.testing.assert_close(generalized_cross_entropy(logits, targets, q=1e-6), ce, rtol=1e-4, atol=1e-6)
    p = torch.softmax(logits, 1)[torch.arange(20), targets]
    torch.testing.assert_close(generalized_cross_entropy(logits, targets, q=1.0), 1 - p)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["cross_entropy", "focal", "gce", "sce", "label_smoothing"]))
def test_every_loss_is_per_sample_positive_and_permutation_equivariant(seed, name):
    logits, targets = _batch(seed, n=9, c=3)
    loss = PER_SAMPLE_LOSSES.get(name)(logits, targets)
    assert loss.shape == (9,) and bool((loss >= 0).all())
    order = torch.randperm(9, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(PER_SAMPLE_LOSSES.get(name)(logits[order], targets[order]), loss[order])


def test_effective_number_weights_follow_cui_et_al():
    labels = np.array([0] * 100 + [1] * 10 + [3])
    weight = effective_number_class_weight(labels, 4, beta=0.99)
    inverse = np.array([(1 - 0.99) / (1 - 0.99**n) if n else 0.0 for n in (100, 10, 0, 1)])
    np.testing.assert_allclose(weight.numpy(), inverse * 3 / inverse.sum(), rtol=1e-6)
    np.testing.assert_allclose(effective_number_class_weight(labels, 4, beta=0.0).numpy(), [1, 1, 0, 1])
    # beta -> 1 approaches inverse frequency, i.e. scikit-learn's balanced weights up to scale
    near_one = effective_number_class_weight(labels, 4, beta=1 - 1e-9).numpy()
    balanced = balanced_class_weight(labels, 4).numpy()
    np.testing.assert_allclose(near_one / near_one.sum(), balanced / balanced.sum(), rtol=1e-4)
    assert CLASS_WEIGHTS.get("effective_number") is effective_number_class_weight
    message = BAD_VALUE.format(arg="beta", expected="in [0, 1)", received=1.0,
                               fix="Cui et al. use 0.9, 0.99, 0.999 or 0.9999.")
    with pytest.raises(InputError, match=re.escape(message)):
        effective_number_class_weight(labels, 4, beta=1.0)


def test_unknown_names_list_valid_ones():
    with pytest.raises(KeyError, match="unknown loss 'mse'; valid names are: cross_entropy, focal, gce, "
                                       "label_smoothing, sce"):
        PER_SAMPLE_LOSSES.get("mse")
    with pytest.raises(UnknownNameError, match=re.escape("unknown class weight 'inverse'; valid names are: "
                                                         "balanced, effective_number. Or pass class_weight=none.")):
        CLASS_WEIGHTS.get("inverse")


# Regression -----------------------------------------------------------------------------


def _regression_batch(seed=0, n=50):
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, 17, (n,), generator=generator).double()
    return targets + 3 * torch.randn(n, generator=generator, dtype=torch.float64), targets


def test_mse_matches_torch():
    predictions, targets = _regression_batch()
    expected = torch.nn.functional.mse_loss(predictions, targets, reduction="none")
    torch.testing.assert_close(mse(predictions, targets), expected)
    torch.testing.assert_close(mse(predictions[:, None], targets), expected)
    torch.testing.assert_close(mse(predictions, targets.long()), expected)  # integer targets are cast


@pytest.mark.parametrize("delta", [0.5, 1.0, 4.0])
def test_huber_matches_torch(delta):
    predictions, targets = _regression_batch(1)
    expected = torch.nn.functional.huber_loss(predictions, targets, reduction="none", delta=delta)
    torch.testing.assert_close(huber(predictions[:, None], targets, delta=delta), expected)
    smooth_l1 = torch.nn.functional.smooth_l1_loss(predictions, targets, reduction="none", beta=delta)
    torch.testing.assert_close(huber(predictions, targets, delta=delta), delta * smooth_l1)


def test_huber_default_delta_is_smooth_l1_and_gradients_flow():
    predictions, targets = _regression_batch(2)
    predictions.requires_grad_(True)
    loss = REGRESSION_LOSSES.get("huber")(predictions, targets)
    torch.testing.assert_close(loss, torch.nn.functional.smooth_l1_loss(predictions, targets, reduction="none"))
    loss.sum().backward()
    assert predictions.grad is not None and float(predictions.grad.abs().max()) <= 1.0  # bounded by delta


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), name=st.sampled_from(["mse", "huber"]))
def test_every_regression_loss_is_per_sample_nonnegative_and_permutation_equivariant(seed, name):
    predictions, targets = _regression_batch(seed, n=9)
    loss = REGRESSION_LOSSES.get(name)(predictions, targets)
    assert loss.shape == (9,) and bool((loss >= 0).all())
    torch.testing.assert_close(REGRESSION_LOSSES.get(name)(targets, targets), torch.zeros(9, dtype=torch.float64))
    order = torch.randperm(9, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(REGRESSION_LOSSES.get(name)(predictions[order], targets[order]), loss[order])


def test_regression_and_classification_registries_are_separate():
    assert REGRESSION_LOSSES.names() == ["huber", "mse"]
    assert not set(REGRESSION_LOSSES.names()) & set(PER_SAMPLE_LOSSES.names())
    message = ("unknown regression loss 'cross_entropy'; valid names are: huber, mse. Classification losses "
               "(cross_entropy and the rest of PER_SAMPLE_LOSSES) need class logits; a regression task takes one "
               "of these.")
    with pytest.raises(UnknownNameError, match=re.escape(message)):
        REGRESSION_LOSSES.get("cross_entropy")


@pytest.mark.parametrize(("predictions", "targets", "received"), [
    (torch.zeros(4, 1), torch.zeros(4, 1), "(4, 1) and (4, 1)"),
    (torch.zeros(4, 2), torch.zeros(4), "(4, 2) and (4,)"),
    (torch.zeros(4), torch.zeros(3), "(4,) and (3,)"),
])
def test_error_regression_loss_shapes(predictions, targets, received):
    message = SHAPE.format(arg="predictions and targets", expected="(n_samples,) or (n_samples, 1) and (n_samples,)",
                           received=received,
                           fix="Give the model one output per sample and pass one target per sample.")
    for name in ("mse", "huber"):
        with pytest.raises(InputError, match=re.escape(message)):
            REGRESSION_LOSSES.get(name)(predictions, targets)


@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan"), True])
def test_error_huber_delta(delta):
    message = BAD_VALUE.format(arg="delta", expected="a number > 0", received=repr(delta),
                               fix="delta is where the loss turns from quadratic to linear, in target units; "
                                   "1.0 is the default.")
    with pytest.raises(InputError, match=re.escape(message)):
        huber(torch.zeros(2), torch.zeros(2), delta=delta)
