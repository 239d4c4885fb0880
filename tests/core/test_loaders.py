"""Loaders: worker processes change no result, worker seeding, global batch sizes, resume across versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core import METHODS, LiLAWConfig, MethodContext, TrainConfig, Trainer
from lilaw_health.core.checkpoint import load_checkpoint, save_checkpoint
from lilaw_health.core.distributed import ShardedBatchSampler
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.loaders import WorkerSeed
from lilaw_health.core.losses import cross_entropy
from tests.core.toy_data import blob_views


def _views(n=90):
    return blob_views(n, seed=1)


def _trainer(checkpoint_dir=None, **config):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3))
    method = METHODS.get("lilaw")(MethodContext(loss_fn=cross_entropy, n_classes=3, lilaw=LiLAWConfig(warmup_epochs=0)))
    return Trainer(model, method, config=TrainConfig(**{"epochs": 2, "batch_size": 16, "seed": 4, **config}),
                   checkpoint_dir=checkpoint_dir)


def _jitter(inputs, generator):
    return inputs + 0.1 * torch.randn(inputs.shape, generator=generator)


def test_workers_give_the_result_of_the_training_process():
    train, val = _views()
    alone, pooled = _trainer(), _trainer(workers=2)
    alone.augment = pooled.augment = _jitter
    expected, got = alone.fit(train, val), pooled.fit(train, val)
    for key, tensor in alone.model.state_dict().items():
        assert torch.equal(tensor, pooled.model.state_dict()[key]), key
    columns = ["epoch", "train_loss", "train_objective", "val_loss", "val_accuracy", "alpha", "beta", "delta"]
    assert got.history[columns].equals(expected.history[columns])
    assert got.trajectory.equals(expected.trajectory) and len(got.trajectory) > 0
    assert got.train_dynamics.scores().equals(expected.train_dynamics.scores())


def test_negative_workers_are_refused():
    with pytest.raises(ConfigError, match=r"workers must be >= 0 \(0 reads batches in the training process\); "
                                          r"received -1"):
        TrainConfig(workers=-1)


def test_worker_seed_depends_on_the_seed_and_the_worker():
    def draws(seed, worker):
        WorkerSeed(seed)(worker)
        return torch.rand(3), np.random.random(3)

    state = torch.random.get_rng_state(), np.random.get_state()
    try:
        first, again, other = draws(5, 1), draws(5, 1), draws(5, 2)
    finally:
        torch.random.set_rng_state(state[0])
        np.random.set_state(state[1])
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not torch.equal(first[0], other[0]) and not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("n, batch_size", [(10, 4), (9, 4), (12, 4), (3, 8)])
def test_global_counts_match_the_batches_drawn(n, batch_size):
    sampler = ShardedBatchSampler(range(n), batch_size=batch_size)  # type: ignore[arg-type]
    assert sampler.global_counts() == [len(batch) for batch in sampler]
    assert len(sampler.global_counts()) == len(sampler)


def test_a_checkpoint_without_the_new_keys_resumes_and_workers_may_change(tmp_path):
    train, val = _views()
    first = _trainer(tmp_path, epochs=1).fit(train, val)
    saved = load_checkpoint(tmp_path / "last.pt")
    for key in ("amp", "workers"):  # as a checkpoint written before these keys existed
        del saved["train_config"][key]
    del saved["scaler"]
    save_checkpoint(tmp_path / "last.pt", saved)
    again = _trainer(tmp_path, epochs=1, workers=1).fit(train, val)
    assert again.epochs_run == 1 and again.history.equals(first.history)
    with pytest.raises(ConfigError, match="was written by a different configuration"):
        _trainer(tmp_path, epochs=1, amp="off").fit(train, val)
