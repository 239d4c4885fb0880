"""Training dynamics on hand-built logit sequences: AUM, forgetting, W_alpha, alignment."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from lilaw_health.core.dynamics import TrainingDynamics, regression_mislabel_score
from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.metrics import detection_metrics

# epochs x samples: logits of two classes; labels 0, 0, 1
SEQUENCE = [
    [[2.0, 0.0], [0.0, 1.0], [1.0, 0.0]],  # correct, wrong, wrong
    [[0.0, 3.0], [2.0, 0.0], [0.0, 2.0]],  # wrong (forgot), correct, correct
    [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],  # correct, wrong (forgot), correct
]
LABELS = torch.tensor([0, 0, 1])


def _run(order_per_epoch):
    dynamics = TrainingDynamics(3)
    for epoch, order in enumerate(order_per_epoch):
        logits = torch.tensor(SEQUENCE[epoch])[order]
        for start in range(0, 3, 2):  # two mini-batches per epoch
            idx = order[start:start + 2]
            dynamics.record(torch.tensor(idx), logits[start:start + 2], LABELS[idx], alpha=10.0)
        dynamics.end_epoch()
    return dynamics.scores()


def test_aum_and_forgetting_by_hand():
    scores = _run([[0, 1, 2]] * 3)
    np.testing.assert_allclose(scores["aum"], [0.0, 0.0, 2 / 3], atol=1e-6)
    assert scores["forgetting_events"].tolist() == [1, 1, 0]
    assert scores["ever_correct"].tolist() == [True, True, True]
    p0 = 1 / (1 + math.exp(-2.0))  # epoch 0, sample 0: p = m
    first = 1 / (1 + math.exp(-(10 * p0 - p0)))
    assert scores.loc[0, "w_alpha_mean"] == pytest.approx(np.mean([first, *_w_alpha_later(0)]), rel=1e-5)


def _w_alpha_later(sample):
    out = []
    for epoch in (1, 2):
        probs = torch.softmax(torch.tensor(SEQUENCE[epoch][sample]), 0)
        p, m = float(probs[LABELS[sample]]), float(probs.max())
        out.append(1 / (1 + math.exp(-(10 * p - m))))
    return out


def test_scores_follow_positions_not_batch_order():
    straight = _run([[0, 1, 2]] * 3)
    shuffled = _run([[2, 0, 1], [1, 2, 0], [0, 2, 1]])
    np.testing.assert_allclose(straight[["aum", "w_alpha_mean", "w_alpha_early"]],
                               shuffled[["aum", "w_alpha_mean", "w_alpha_early"]], rtol=1e-6)
    assert straight["forgetting_events"].tolist() == shuffled["forgetting_events"].tolist()


def test_multiclass_margin_uses_the_largest_other_logit():
    dynamics = TrainingDynamics(1)
    dynamics.record(torch.tensor([0]), torch.tensor([[1.0, 3.0, 2.0]]), torch.tensor([0]), alpha=10.0)
    dynamics.end_epoch()
    assert dynamics.scores().loc[0, "aum"] == pytest.approx(-2.0)


def test_unseen_samples_are_nan_and_state_round_trips():
    dynamics = TrainingDynamics(3)
    dynamics.record(torch.tensor([1]), torch.tensor([[0.0, 1.0]]), torch.tensor([1]), alpha=10.0)
    dynamics.end_epoch()
    scores = dynamics.scores()
    assert np.isnan(scores.loc[0, "aum"]) and scores.loc[1, "aum"] == pytest.approx(1.0)
    copy = TrainingDynamics(3)
    copy.load_state_dict(dynamics.state_dict())
    assert copy.scores().equals(scores)


def test_early_window():
    dynamics = TrainingDynamics(1)
    for value in (0.0, 1.0, 2.0, 3.0):
        dynamics.record(torch.tensor([0]), torch.tensor([[value, 0.0]]), torch.tensor([0]), alpha=1.0)
        dynamics.end_epoch()
    expected = np.mean([dynamics.w_alpha[e][0] for e in (1, 2)])
    assert dynamics.scores(early_epochs=(1, 3)).loc[0, "w_alpha_early"] == pytest.approx(expected)


def test_mislabel_score_is_minus_aum():
    scores = _run([[0, 1, 2]] * 3)
    np.testing.assert_allclose(scores["mislabel_score"], -scores["aum"])


def test_regression_mislabel_score_by_hand():
    history = np.array([[2.0, -4.0, np.nan, 0.0],
                        [-2.0, 12.0, np.nan, np.nan],
                        [4.0, 8.0, np.nan, 1.0]])
    score = regression_mislabel_score(history, target_range=16.0)
    np.testing.assert_allclose(score[[0, 1, 3]], [8 / 3 / 16, 24 / 3 / 16, 0.5 / 16])  # unseen epochs skipped
    assert np.isnan(score[2]) and score.shape == (4,) and score.dtype == np.float64


def test_regression_mislabel_score_scales_with_the_range_and_follows_positions():
    rng = np.random.default_rng(0)
    history = rng.normal(size=(5, 30))
    score = regression_mislabel_score(history, target_range=4.0)
    np.testing.assert_allclose(regression_mislabel_score(10 * history, target_range=40.0), score)
    order = rng.permutation(30)
    np.testing.assert_allclose(regression_mislabel_score(history[:, order], target_range=4.0), score[order])
    np.testing.assert_allclose(regression_mislabel_score(history[:1], target_range=4.0), np.abs(history[0]) / 4)


def test_regression_mislabel_score_finds_targets_the_model_keeps_missing():
    # A model that fits the clean signal leaves residuals of about R / 2 on shifted targets.
    rng = np.random.default_rng(1)
    corrupted = rng.random(400) < 0.2
    history = rng.normal(0, 1.0, (8, 400)) + np.where(corrupted, 8.0, 0.0) * rng.choice([-1, 1], 400)
    metrics = detection_metrics(corrupted, regression_mislabel_score(history, target_range=16.0))
    assert metrics["auroc"] > 0.99


@pytest.mark.parametrize("history", [np.zeros(3), np.zeros((2, 3, 1)), np.array([["a"]])])
def test_error_regression_mislabel_score_shape(history):
    message = SHAPE.format(arg="residual_history", expected="(n_epochs, n_samples) of real numbers",
                           received=f"{history.shape} of dtype {history.dtype}",
                           fix="Stack one row of residuals f(x) - y per epoch; reshape a single epoch to "
                               "(1, n_samples).")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_mislabel_score(history, target_range=16.0)


def test_error_regression_mislabel_score_infinite():
    message = BAD_VALUE.format(
        arg="residual_history", expected="finite where recorded (NaN marks an epoch a sample was not presented)",
        received="1 infinite values, first at (epoch, sample) = (1, 0)",
        fix="Lower the learning rate or standardise the targets; the model diverged.")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_mislabel_score([[0.0, 1.0], [np.inf, 0.0]], target_range=16.0)


@pytest.mark.parametrize("target_range", [0.0, -1.0, float("nan"), float("inf"), True])
def test_error_regression_mislabel_score_target_range(target_range):
    message = BAD_VALUE.format(arg="target_range", expected="a finite number > 0", received=repr(target_range),
                               fix="Pass the width R of the target range, e.g. 16 for PSPI 0..16.")
    with pytest.raises(InputError, match=re.escape(message)):
        regression_mislabel_score([[0.0]], target_range=target_range)
