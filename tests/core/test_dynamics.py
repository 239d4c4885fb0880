"""Training dynamics on hand-built logit sequences: AUM, forgetting, W_alpha, alignment."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lilaw_health.core.dynamics import TrainingDynamics
from lilaw_health.core.task import Regression

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


def test_regression_dynamics_score_the_mean_relative_residual():
    """Regression: the margin is -|f(x) - y| / R, so the mislabel score (-AUM) is the mean over
    epochs of the relative residual; a sample presented in no epoch has none."""
    dynamics = TrainingDynamics(3, task=Regression((0.0, 16.0)))
    targets = torch.tensor([0.0, 0.0, 0.0])
    for predicted in ([1.0, -8.0], [-3.0, 8.0]):  # sample 2 is never presented
        dynamics.record(torch.tensor([0, 1]), torch.tensor(predicted)[:, None], targets[:2], alpha=10.0)
        dynamics.end_epoch()
    scores = dynamics.scores()
    np.testing.assert_allclose(scores["mislabel_score"].to_numpy()[:2], [0.125, 0.5])
    assert np.isnan(scores["mislabel_score"].iloc[2]) and dynamics.last_predicted[1] == 8.0
