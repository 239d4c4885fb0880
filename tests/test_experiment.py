"""From recipe to splits and loss: the long-tailed setting, and losses fixed by the method."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lilaw_health.core import ArrayDataset, TaskData
from lilaw_health.core.losses import cross_entropy, effective_number_class_weight, generalized_cross_entropy
from lilaw_health.core.methods import build_method
from lilaw_health.splits import prepare_splits
from lilaw_health.recipe import ImbalanceSettings, NoiseSettings, Recipe


def _data(counts=(300, 300, 300), seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    train = ArrayDataset(rng.normal(size=(len(y), 2)), y, sample_ids=[f"s{i}" for i in range(len(y))])
    test = ArrayDataset(rng.normal(size=(30, 2)), np.arange(30) % len(counts))
    return TaskData(train=train, test=test, n_classes=len(counts), class_names=["a", "b", "c"], input_shape=(2,))


def test_long_tailed_setting_subsamples_then_adds_frequency_noise():
    data = _data()
    recipe = Recipe(imbalance=ImbalanceSettings(factor=100.0), noise=NoiseSettings(kind="long_tailed", rate=0.3),
                    val_fraction=0.1, seed=4)
    splits = prepare_splits(data, recipe)
    assert np.bincount(data.train.targets[splits.kept]).tolist() == [300, 30, 3]
    views = (splits.train, splits.val)
    indices = np.concatenate([v.indices for v in views])
    assert sorted(indices.tolist()) == splits.kept.tolist()
    assert len(splits.noise.labels) == len(splits.kept) == 333
    for view in views:  # every view's labels are the noisy labels of its samples, ids follow the samples
        position = np.searchsorted(splits.kept, view.indices)
        np.testing.assert_array_equal(view.targets, splits.noise.labels[position])
        assert view.sample_ids == [f"s{i}" for i in view.indices]
    frequency = np.array([300, 30, 3]) / 333  # flips land mostly in the head class, so few labels change
    assert splits.noise.rate == pytest.approx(0.3 * (1 - (frequency**2).sum()), abs=0.03)
    assert len(splits.test) == 30


def test_default_recipe_keeps_every_training_sample():
    data = _data()
    splits = prepare_splits(data, Recipe(val_fraction=0.1))
    np.testing.assert_array_equal(splits.kept, np.arange(900))
    assert not splits.noise.flipped.any()


def test_loss_comes_from_the_method_when_it_fixes_one():
    data = _data((60, 30, 10))
    splits = prepare_splits(data, Recipe(val_fraction=0.1))
    logits, targets = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    cb = build_method("cb_ce", train_labels=splits.train.targets, n_classes=3).loss_fn(logits, targets)
    weight = effective_number_class_weight(splits.train.targets, 3)
    torch.testing.assert_close(cb, cross_entropy(logits, targets) * weight[targets])
    lilaw_gce = build_method("lilaw", loss="gce", train_labels=splits.train.targets, n_classes=3)
    torch.testing.assert_close(lilaw_gce.loss_fn(logits, targets),
                               generalized_cross_entropy(logits, targets))
