"""Per-sample losses and class weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lilaw_health.core.losses import PER_SAMPLE_LOSSES, balanced_class_weight, focal, with_class_weight


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


def test_unknown_loss_lists_valid_names():
    with pytest.raises(KeyError, match="unknown loss 'mse'; valid names are: cross_entropy, focal"):
        PER_SAMPLE_LOSSES.get("mse")
