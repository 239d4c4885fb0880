"""LiLAW weights and meta step against the closed forms of the paper."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core import InputError, LiLAW, LiLAWConfig, lilaw_weights, weighted_mean
from lilaw_health.core.errors import BAD_VALUE, NOT_FINITE, ConfigError
from lilaw_health.core.weighting import (agreement, classification_weight_sum, lilaw_weights_multilabel,
                                         lilaw_weights_regression)

# (p, m) rows of the spec's worked check, observed label 0 of two classes.
WORKED_PM = [(0.95, 0.95), (0.60, 0.60), (0.40, 0.60), (0.05, 0.95)]


def _two_class_logits(ps):
    return torch.log(torch.tensor([[p, 1 - p] for p in ps], dtype=torch.float64))


def _sig(x):
    return 1 / (1 + math.exp(-x))


def test_worked_table_9_3_7():
    logits = _two_class_logits([p for p, _ in WORKED_PM])
    targets = torch.zeros(4, dtype=torch.long)
    w = lilaw_weights(logits, targets, alpha=9.0, beta=3.0, delta=7.0).w
    ce = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    assert np.round(ce.numpy(), 3).tolist() == [0.051, 0.511, 0.916, 2.996]
    assert np.round(w.numpy(), 3).tolist() == [1.130, 1.225, 1.396, 1.903]
    assert np.round((w * ce).numpy(), 3).tolist() == [0.058, 0.626, 1.279, 5.700]


def test_worked_table_paper_defaults():
    logits = _two_class_logits([p for p, _ in WORKED_PM])
    w = lilaw_weights(logits, torch.zeros(4, dtype=torch.long), alpha=10.0, beta=2.0, delta=6.0).w
    assert np.round(w.numpy(), 3).tolist() == [1.279, 1.361, 1.616, 1.899]


def test_components_match_closed_form():
    torch.manual_seed(0)
    logits = torch.randn(50, 4, dtype=torch.float64)
    targets = torch.randint(0, 4, (50,))
    a, b, d = 7.5, 1.5, 4.0
    got = lilaw_weights(logits, targets, alpha=a, beta=b, delta=d)
    probs = torch.softmax(logits, 1).numpy()
    for i in range(50):
        p, m = probs[i, targets[i]], probs[i].max()
        assert got.w_alpha[i] == pytest.approx(_sig(a * p - m))
        assert got.w_beta[i] == pytest.approx(_sig(-(b * p - m)))
        assert got.w_delta[i] == pytest.approx(math.exp(-((d * p - m) ** 2) / 2))
    assert torch.allclose(got.w, got.w_alpha + got.w_beta + got.w_delta)


def test_meta_gradients_match_closed_form():
    torch.manual_seed(1)
    logits = torch.randn(64, 3, dtype=torch.float64)
    targets = torch.randint(0, 3, (64,))
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    lilaw = LiLAW(LiLAWConfig(alpha=4.0, beta=1.5, delta=3.0)).double()
    meta_loss = weighted_mean(loss, lilaw.weights(logits, targets, learnable=True).w)
    g_a, g_b, g_d = torch.autograd.grad(meta_loss, [lilaw.alpha, lilaw.beta, lilaw.delta])
    p, m = agreement(logits, targets)
    s_a, s_b = torch.sigmoid(4.0 * p - m), torch.sigmoid(-(1.5 * p - m))
    w_d = torch.exp(-((3.0 * p - m) ** 2) / 2)
    assert float(g_a) == pytest.approx(float((loss * s_a * (1 - s_a) * p).mean()))
    assert float(g_b) == pytest.approx(float(-(loss * s_b * (1 - s_b) * p).mean()))
    assert float(g_d) == pytest.approx(float(-(loss * w_d * (3.0 * p - m) * p).mean()))


def _task_batch(task: str, generator: torch.Generator, n: int, c: int):
    """Outputs, targets and a per-sample loss of one task, float64."""
    if task == "classification":
        outputs, targets = torch.randn(n, c, generator=generator, dtype=torch.float64), torch.randint(0, c, (n,))
        return outputs, targets, torch.nn.functional.cross_entropy(outputs, targets, reduction="none")
    if task == "multilabel":
        outputs = 3 * torch.randn(n, c, generator=generator, dtype=torch.float64)
        targets = (torch.rand(n, c, generator=generator) < 0.3).double()
        return outputs, targets, torch.nn.functional.binary_cross_entropy_with_logits(
            outputs, targets, reduction="none").mean(dim=1)
    outputs, targets = 8 + 6 * torch.randn(n, 1, generator=generator, dtype=torch.float64), 16 * torch.rand(n).double()
    return outputs, targets, (outputs[:, 0] - targets) ** 2


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), c=st.integers(2, 6),
       task=st.sampled_from(["classification", "multilabel", "regression"]),
       alpha=st.floats(1, 20), beta=st.floats(-3, 8), extra=st.floats(0, 8))
def test_closed_form_meta_gradients_equal_autograd(seed, n, c, task, alpha, beta, extra):
    outputs, targets, loss = _task_batch(task, torch.Generator().manual_seed(seed), n, c)
    lilaw = LiLAW(LiLAWConfig(alpha=alpha, beta=beta, delta=beta + extra), task=task,
                  target_range=16.0 if task == "regression" else None).double()
    expected_loss = weighted_mean(loss, lilaw.weights(outputs, targets, learnable=True).w)
    expected = torch.autograd.grad(expected_loss, [lilaw.alpha, lilaw.beta, lilaw.delta])
    meta_loss, grads = lilaw.meta_gradients(outputs, targets, loss)
    assert float(meta_loss) == pytest.approx(expected_loss.item(), rel=1e-12, abs=1e-15)
    for got, want in zip(grads, expected):
        assert float(got) == pytest.approx(float(want), rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), c=st.integers(1, 6), spread=st.floats(0, 8),
       alpha=st.floats(1, 20), beta=st.floats(-3, 8), extra=st.floats(0, 8))
def test_fused_training_weights_equal_the_composed_ones_and_their_gradients(seed, n, c, spread, alpha, beta, extra):
    """LiLAW's model step builds W as one autograd node; values and logit gradients must be those
    of the composed operations (spread 0: every logit equal, ties for the largest probability)."""
    generator = torch.Generator().manual_seed(seed)
    logits = (spread * torch.randn(n, c, generator=generator, dtype=torch.float64)).requires_grad_()
    targets = torch.randint(0, c, (n,), generator=generator)
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    upstream = torch.rand(n, generator=generator, dtype=torch.float64)
    scalars = {"alpha": torch.tensor(alpha, dtype=torch.float64), "beta": torch.tensor(beta, dtype=torch.float64),
               "delta": torch.tensor(beta + extra, dtype=torch.float64)}
    fused = classification_weight_sum(logits, targets, **scalars)
    composed = lilaw_weights(logits, targets, **scalars).w
    assert torch.allclose(fused, composed, rtol=1e-12, atol=1e-14)
    (fused_grad,) = torch.autograd.grad((fused * upstream).sum(), logits)
    (composed_grad,) = torch.autograd.grad((composed * upstream).sum(), logits)
    assert torch.allclose(fused_grad, composed_grad, rtol=1e-9, atol=1e-12)
    lilaw = LiLAW(LiLAWConfig(alpha=alpha, beta=beta, delta=beta + extra)).double()
    (step_grad,) = torch.autograd.grad(lilaw.loss(logits, targets, loss), logits, retain_graph=True)
    (expected,) = torch.autograd.grad(weighted_mean(loss, lilaw.weights(logits, targets).w), logits)
    assert torch.allclose(step_grad, expected, rtol=1e-9, atol=1e-12)


def test_fused_training_weights_pass_gradcheck():
    logits = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0, 1, 2, 3, 0, 1, 2])
    scalars = [torch.tensor(v, dtype=torch.float64) for v in (3.0, 1.5, 2.5)]
    assert torch.autograd.gradcheck(lambda z: classification_weight_sum(z, targets, alpha=scalars[0], beta=scalars[1],
                                                                        delta=scalars[2]), (logits,))


def test_meta_step_is_one_plain_step_with_weight_decay():
    torch.manual_seed(2)
    logits, targets = torch.randn(32, 3), torch.randint(0, 3, (32,))
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    config = LiLAWConfig(alpha=5.0, beta=2.0, delta=4.0, lr=0.1, weight_decay=0.01)
    lilaw = LiLAW(config)
    meta_loss = weighted_mean(loss, lilaw.weights(logits, targets, learnable=True).w)
    grads = torch.autograd.grad(meta_loss, [lilaw.alpha, lilaw.beta, lilaw.delta])
    lilaw.meta_step(logits, targets, loss)
    for name, start, g in zip(("alpha", "beta", "delta"), (5.0, 2.0, 4.0), grads):
        expected = start - 0.1 * (float(g) + 0.01 * start)
        assert lilaw.scalars()[name] == pytest.approx(expected, rel=1e-6)


def test_clamps_alpha_at_one_and_delta_at_beta():
    # confidently wrong samples: alpha and delta fall, beta rises; a huge loss and lr make
    # the step overshoot both bounds.
    logits = torch.tensor([[4.0, 0.0], [4.0, 0.0]])
    targets = torch.tensor([1, 1])
    loss = torch.full((2,), 50.0)
    lilaw = LiLAW(LiLAWConfig(alpha=1.0, beta=2.0, delta=2.0, lr=100.0))
    lilaw.meta_step(logits, targets, loss)
    scalars = lilaw.scalars()
    assert scalars["alpha"] == 1.0
    assert scalars["beta"] > 2.0
    assert scalars["delta"] == scalars["beta"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40), c=st.integers(2, 6))
def test_alpha_never_rises_and_beta_never_falls(seed, n, c):
    gen = torch.Generator().manual_seed(seed)
    logits = 4 * torch.randn(n, c, generator=gen)
    targets = torch.randint(0, c, (n,), generator=gen)
    loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    # weight decay shrinks every scalar toward 0; the sign claim is about the gradient.
    lilaw = LiLAW(LiLAWConfig(lr=0.5, weight_decay=0.0))
    for _ in range(3):
        before = lilaw.scalars()
        lilaw.meta_step(logits, targets, loss)
        after = lilaw.scalars()
        assert after["alpha"] <= before["alpha"]
        assert after["beta"] >= before["beta"]


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 30), c=st.integers(2, 8),
       alpha=st.floats(1, 50), beta=st.floats(0, 20), extra=st.floats(0, 20))
def test_weights_positive_bounded_and_permutation_equivariant(seed, n, c, alpha, beta, extra):
    gen = torch.Generator().manual_seed(seed)
    logits = 5 * torch.randn(n, c, generator=gen, dtype=torch.float64)
    targets = torch.randint(0, c, (n,), generator=gen)
    w = lilaw_weights(logits, targets, alpha=alpha, beta=beta, delta=beta + extra)
    assert bool((w.w > 0.2689).all()) and bool((w.w < 2.7311).all())
    perm = torch.randperm(n, generator=gen)
    permuted = lilaw_weights(logits[perm], targets[perm], alpha=alpha, beta=beta, delta=beta + extra)
    assert torch.allclose(permuted.w, w.w[perm])


def test_uniform_weights_give_the_plain_mean():
    loss = torch.rand(17)
    assert weighted_mean(loss, torch.ones(17)) == pytest.approx(float(loss.mean()))


def test_model_gradient_flows_through_w_unless_detached():
    torch.manual_seed(3)
    targets = torch.randint(0, 3, (8,))
    grads = {}
    for detach in (False, True):
        logits = torch.randn(8, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
        lilaw = LiLAW(LiLAWConfig(detach_weights=detach))
        per_sample = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        lilaw.loss(logits, targets, per_sample).backward()
        grads[detach] = logits.grad.clone()
        assert lilaw.alpha.grad is None  # the scalars are frozen in the model step
    w = lilaw_weights(logits.detach(), targets, alpha=10.0, beta=2.0, delta=6.0).w
    plain = torch.autograd.functional.jacobian(
        lambda z: (torch.nn.functional.cross_entropy(z, targets, reduction="none") * w).mean(), logits.detach())
    assert torch.allclose(grads[True], plain, atol=1e-6)
    assert not torch.allclose(grads[False], grads[True])


def test_multilabel_p_and_m():
    logits = torch.logit(torch.tensor([[0.9, 0.2, 0.7], [0.1, 0.3, 0.2]], dtype=torch.float64))
    targets = torch.tensor([[1, 1, 0], [0, 0, 0]])
    got = lilaw_weights_multilabel(logits, targets, alpha=10.0, beta=2.0, delta=6.0)
    p0, m0 = (0.9 + 0.2) / 2, (0.9 + 0.7) / 2
    p1, m1 = 1 - 0.3, 0.3  # no positive label: agreement is the absence of every class
    assert float(got.w_alpha[0]) == pytest.approx(_sig(10 * p0 - m0))
    assert float(got.w_delta[0]) == pytest.approx(math.exp(-((6 * p0 - m0) ** 2) / 2))
    assert float(got.w_beta[1]) == pytest.approx(_sig(-(2 * p1 - m1)))


def test_regression_uses_target_range():
    pred, y = torch.tensor([4.0, 12.0]), torch.tensor([3.0, 0.0])
    got = lilaw_weights_regression(pred, y, target_range=16.0, alpha=10.0, beta=2.0, delta=6.0)
    for i in range(2):
        f, t = float(pred[i]), float(y[i])
        assert float(got.w_alpha[i]) == pytest.approx(_sig((10 * f - t) / 16))
        assert float(got.w_beta[i]) == pytest.approx(_sig(-(2 * f - t) / 16))
        assert float(got.w_delta[i]) == pytest.approx(math.exp(-(((6 * f - t) / 16) ** 2) / 2))
    lilaw = LiLAW(task="regression", target_range=16.0)
    assert torch.allclose(lilaw.weights(pred, y).w, got.w)


@pytest.mark.parametrize("targets, match", [
    (torch.tensor([0.0, 1.0]), "targets must hold integer class ids; received dtype torch.float32"),
    (torch.tensor([0, 3]), r"targets must lie in \[0, 2\); received values in \[0, 3\]"),
    (torch.tensor([0, 1, 1]), "logits and targets must have the same length; received 2 and"),
])
def test_bad_targets_are_named(targets, match):
    with pytest.raises(InputError, match=match):
        lilaw_weights(torch.zeros(2, 2), targets, alpha=10.0, beta=2.0, delta=6.0)
    with pytest.raises(InputError, match=match):  # the model step's fused weights check the same
        LiLAW().loss(torch.zeros(2, 2), targets, torch.ones(2))


def test_non_finite_logits_are_named():
    logits = torch.tensor([[0.0, 1.0], [float("nan"), 0.0]])
    with pytest.raises(InputError, match=r"logits contains 1 non-finite values \(NaN or inf\), first at index 2"):
        lilaw_weights(logits, torch.tensor([0, 1]), alpha=10.0, beta=2.0, delta=6.0)


def test_bad_shapes_are_named():
    with pytest.raises(InputError, match=r"logits must have shape \(n_samples, n_classes\); received \(3,\)"):
        lilaw_weights(torch.zeros(3), torch.tensor([0, 1, 0]), alpha=10.0, beta=2.0, delta=6.0)
    with pytest.raises(InputError, match="targets must have shape"):
        lilaw_weights_multilabel(torch.zeros(2, 3), torch.zeros(2, 2), alpha=10.0, beta=2.0, delta=6.0)
    with pytest.raises(InputError, match="target_range must be > 0"):
        lilaw_weights_regression(torch.zeros(2), torch.zeros(2), target_range=0, alpha=10.0, beta=2.0, delta=6.0)


def test_bad_config_is_named():
    with pytest.raises(ConfigError, match=r"alpha must be >= 1 \(received 0.5\); delta must be >= beta"):
        LiLAWConfig(alpha=0.5, beta=3.0, delta=2.0)
    with pytest.raises(ConfigError, match=r"meta_every must be >= 1 \(received 0\)"):
        LiLAWConfig(meta_every=0)
    with pytest.raises(ConfigError, match="regression needs target_range > 0"):
        LiLAW(task="regression")
    with pytest.raises(ConfigError, match="task must be one of classification, multilabel, regression"):
        LiLAW(task="ranking")


def test_regression_matches_the_spec_closed_form_on_a_grid():
    # (q * f(x) - y) / R replaces (q * p - m) in all three terms; W_delta stays the Gaussian.
    f = torch.linspace(-2.0, 18.0, 41, dtype=torch.float64)
    y = torch.linspace(16.0, 0.0, 41, dtype=torch.float64)
    alpha, beta, delta, r = 9.0, 3.0, 7.0, 16.0
    got = lilaw_weights_regression(f, y, target_range=r, alpha=alpha, beta=beta, delta=delta)
    torch.testing.assert_close(got.w_alpha, torch.sigmoid((alpha * f - y) / r))
    torch.testing.assert_close(got.w_beta, torch.sigmoid(-(beta * f - y) / r))
    torch.testing.assert_close(got.w_delta, torch.exp(-((delta * f - y) / r) ** 2 / 2))
    torch.testing.assert_close(got.w, got.w_alpha + got.w_beta + got.w_delta)
    assert bool(((got.w > 0.26) & (got.w < 2.74)).all())
    integer_targets = lilaw_weights_regression(f, y.round().long(), target_range=r, alpha=alpha, beta=beta, delta=delta)
    torch.testing.assert_close(integer_targets.w, lilaw_weights_regression(
        f, y.round(), target_range=r, alpha=alpha, beta=beta, delta=delta).w)


@pytest.mark.parametrize("target_range", [0, -16.0, float("inf"), float("nan")])
def test_error_regression_target_range(target_range):
    message = BAD_VALUE.format(arg="target_range", expected="> 0 and finite", received=repr(target_range),
                               fix="Pass the width R of the target range, e.g. 16 for PSPI 0..16.")
    with pytest.raises(InputError, match=re.escape(message)):
        lilaw_weights_regression(torch.zeros(2), torch.zeros(2), target_range=target_range, alpha=10.0, beta=2.0,
                                 delta=6.0)


def test_error_regression_targets_not_finite():
    message = NOT_FINITE.format(arg="targets", count=1, index=1)
    with pytest.raises(InputError, match=re.escape(message)):
        lilaw_weights_regression(torch.zeros(3), torch.tensor([0.0, float("nan"), 1.0]), target_range=16.0,
                                 alpha=10.0, beta=2.0, delta=6.0)


def test_unchecked_weights_are_the_same_and_skip_only_the_device_reads():
    logits, targets = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    checked = lilaw_weights(logits, targets, alpha=10.0, beta=2.0, delta=6.0)
    unchecked = lilaw_weights(logits, targets, alpha=10.0, beta=2.0, delta=6.0, checked=False)
    assert torch.equal(checked.w, unchecked.w)
    logits[0, 0] = float("nan")
    with pytest.raises(InputError, match="logits"):
        lilaw_weights(logits, targets, alpha=10.0, beta=2.0, delta=6.0)
    assert torch.isnan(lilaw_weights(logits, targets, alpha=10.0, beta=2.0, delta=6.0, checked=False).w[0])
    values = torch.tensor([1.0, float("nan")])
    with pytest.raises(InputError, match="predictions"):
        lilaw_weights_regression(values, torch.zeros(2), target_range=4.0, alpha=10.0, beta=2.0, delta=6.0)
    regression = lilaw_weights_regression(values, torch.zeros(2), target_range=4.0, alpha=10.0, beta=2.0, delta=6.0,
                                          checked=False)
    assert torch.isnan(regression.w[1]) and torch.isfinite(regression.w[0])
    with pytest.raises(InputError, match="predictions and targets"):  # shapes are checked anyway
        lilaw_weights_regression(values, torch.zeros(3), target_range=4.0, alpha=10.0, beta=2.0, delta=6.0,
                                 checked=False)
