"""Dynamic Loss: initial trust, margins only in training, the look-ahead meta-gradient against
finite differences, hierarchical metadata sampling, loss-rank bins, exact resume, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core import METHODS, ArrayDataset, LabeledView, MethodContext, TrainConfig, Trainer
from lilaw_health.core.dynamic_loss import (
    NOT_STARTED,
    DynamicLoss,
    DynamicLossMethod,
    LabelCorrector,
    MarginGenerator,
    corrected_targets,
    gumbel_hard_sample,
    hierarchical_sample,
    lookahead_meta_loss,
    rank_bins,
)
from lilaw_health.core.errors import LENGTH_MISMATCH, ConfigError, InputError
from lilaw_health.core.losses import cross_entropy, soft_cross_entropy
from lilaw_health.core.methods import INVALID_DYNAMIC_LOSS, DynamicLossConfig

SMALL = DynamicLossConfig(hidden=16, rank_bins=10, warmup_epochs=1)


def _views(n=120, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    data = ArrayDataset(rng.normal(size=(n, 4)).astype(np.float32) + y[:, None], y)
    idx = np.arange(n)
    val = idx % 5 == 0
    return (LabeledView(data, idx[~val], y[~val], list(idx[~val])),
            LabeledView(data, idx[val], y[val], list(idx[val])))


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


def _method(config=SMALL, cls=DynamicLossMethod, seed=0):
    torch.manual_seed(seed)
    return cls(MethodContext(loss_fn=cross_entropy, n_classes=3, dynamic_loss=config))


def test_registered_and_the_corrector_starts_at_the_configured_trust():
    assert METHODS.get("dynamic_loss") is DynamicLossMethod
    corrector = LabelCorrector(5, rank_bins=100, hidden=64, trust_init=0.98)
    bins = torch.arange(100).repeat_interleave(5)
    observed = torch.arange(5).repeat(100)
    torch.testing.assert_close(corrector(bins, observed), torch.full((500,), 0.98))
    torch.testing.assert_close(MarginGenerator(5)(), torch.zeros(5))


def test_corrected_target_mixes_observed_label_and_prediction():
    trust, observed = torch.tensor([1.0, 0.0, 0.75]), torch.tensor([0, 1, 2])
    mix = torch.tensor([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.25, 0.0, 0.75]])
    torch.testing.assert_close(corrected_targets(trust, observed, mix), expected)


def test_gumbel_samples_follow_the_tempered_softmax():
    logits = torch.tensor([[1.0, 0.0, -1.0]]).repeat(20000, 1)
    for temperature in (1.0, 0.5):
        sample = gumbel_hard_sample(logits, temperature=temperature, generator=torch.Generator().manual_seed(1))
        assert bool((sample.sum(1) == 1).all())
        torch.testing.assert_close(sample.mean(0), torch.softmax(logits[0] / temperature, 0), atol=0.015, rtol=0)


def test_rank_bins_are_loss_ranks_within_each_class():
    labels = np.array([0, 0, 0, 0, 1, 1])
    losses = np.array([0.4, 0.1, 0.3, 0.2, 5.0, 1.0])
    np.testing.assert_array_equal(rank_bins(labels, losses, n_bins=100), [75, 0, 50, 25, 50, 0])
    big = rank_bins(np.zeros(200, int), np.arange(200.0), n_bins=100)
    np.testing.assert_array_equal(big, np.arange(200) // 2)


def test_hierarchical_sample_is_class_balanced_and_low_loss():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], [40, 20, 10])
    losses = rng.random(70)
    meta = hierarchical_sample(labels, losses, ratio1=0.5, ratio2=0.5, rng=rng)
    assert np.bincount(labels[meta], minlength=3).tolist() == [3, 3, 3]  # ceil(0.5 * ceil(0.5 * 10))
    # with every sample of a class drawn (ratio1 = 1, equal classes), the lowest-loss half is kept exactly
    labels = np.repeat([0, 1], 10)
    meta = hierarchical_sample(labels, losses[:20], ratio1=1.0, ratio2=0.5, rng=rng)
    for k in (0, 1):
        members = np.flatnonzero(labels == k)
        expected = members[np.argsort(losses[members])[:5]]
        np.testing.assert_array_equal(np.sort(meta[labels[meta] == k]), np.sort(expected))


def test_lookahead_meta_gradient_matches_finite_differences():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    dynamic = DynamicLoss(3, DynamicLossConfig(hidden=6, rank_bins=4)).double()
    with torch.no_grad():  # move off the zero-initialised last layers so every parameter has a gradient
        for p in dynamic.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randint(0, 3, (8,))
    meta_x, meta_y = torch.randn(5, 3, dtype=torch.float64), torch.randint(0, 3, (5,))
    bins, mix = torch.randint(0, 4, (8,)), torch.softmax(torch.randn(8, 3, dtype=torch.float64), 1)

    def meta_loss():
        return lookahead_meta_loss(model, dynamic(model(x), y, bins, mix).mean(), meta_x, meta_y, lr=0.5)

    params = list(dynamic.parameters())
    grads = torch.autograd.grad(meta_loss(), params)
    checked = 0
    for p, g in zip(params, grads):
        flat, flat_grad = p.data.view(-1), g.view(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 4)):
            original = flat[i].item()
            flat[i] = original + 1e-6
            plus = meta_loss().item()
            flat[i] = original - 1e-6
            minus = meta_loss().item()
            flat[i] = original
            assert flat_grad[i].item() == pytest.approx((plus - minus) / 2e-6, rel=1e-5, abs=1e-9)
            checked += 1
    assert checked > 20 and any(g.abs().sum() > 0 for g in grads)


def test_lookahead_leaves_the_model_and_its_batchnorm_statistics_alone():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    margin = torch.zeros(2, requires_grad=True)
    loss = cross_entropy(model(torch.randn(6, 3)) + margin, torch.randint(0, 2, (6,))).mean()
    before = {k: v.clone() for k, v in model.state_dict().items()}  # after the training batch's forward
    lookahead_meta_loss(model, loss, torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), lr=0.1).backward()
    assert margin.grad is not None and margin.grad.abs().sum() > 0
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_margins_enter_the_training_loss_but_never_evaluation():
    train, val = _views()
    method = _method()
    trainer = Trainer(_model(), method, config=TrainConfig(epochs=4, batch_size=16, lr=0.01))
    trainer.fit(train, val)
    margins = method.dynamic_loss.margins().detach()
    assert margins.abs().max() > 1e-4  # the meta steps moved them
    inputs = torch.stack([val[i][1] for i in range(len(val))])
    trainer.model.eval()
    with torch.no_grad():
        logits = trainer.model(inputs)
    np.testing.assert_allclose(trainer.predict_proba(val), torch.softmax(logits, 1).numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(trainer.predict_proba(val), torch.softmax(logits + margins, 1).numpy(), atol=1e-4)
    # in training (here a warm-up epoch: no meta step, softmax mixing) the loss is taken with the margins
    targets, positions = torch.as_tensor(train.targets[:5]), torch.arange(5)
    got = method.training_loss(logits[:5], targets, epoch=0, positions=positions)
    trust = method.dynamic_loss.corrector(method._bins[:5], targets)
    target = corrected_targets(trust, targets, torch.softmax(logits[:5], 1))
    torch.testing.assert_close(got, soft_cross_entropy(logits[:5] + margins, target).mean())


def test_metadata_is_held_out_of_each_epoch_after_warm_up():
    train, _ = _views()
    method = _method()
    model = _model()
    positions = method.on_epoch_start(0, model=model, train=train, predict_logits=_logits(model), seed=3)
    assert positions is None  # warm-up: train on everything
    positions = method.on_epoch_start(1, model=model, train=train, predict_logits=_logits(model), seed=3)
    meta = method.meta_positions_
    assert len(meta) == 3 * 8  # 32 per class: keep ceil(0.5 * ceil(0.5 * 32)) of each
    np.testing.assert_array_equal(np.sort(np.r_[positions, meta]), np.arange(len(train)))
    assert np.bincount(train.targets[meta], minlength=3).tolist() == [8, 8, 8]


def _logits(model):
    def predict(view):
        model.eval()
        with torch.no_grad():
            return model(torch.stack([view[i][1] for i in range(len(view))]))

    return predict


@pytest.mark.parametrize("finetune", [True, False])
def test_finetune_on_the_last_epochs_metadata(finetune):
    train, _ = _views()
    method = _method(DynamicLossConfig(hidden=16, rank_bins=10, warmup_epochs=0, finetune=finetune))
    model = _model()
    method.on_epoch_start(0, model=model, train=train, predict_logits=_logits(model), seed=0)
    method.batch_size_ = 16
    before = [p.detach().clone() for p in model.parameters()]
    method.on_epoch_start(1, model=model, train=train, predict_logits=_logits(model), seed=1)
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed == finetune


class _Interrupt(DynamicLossMethod):
    """Raises in the middle of epoch 2, as a killed process would stop."""

    def after_model_step(self, model, *, epoch, step, next_val_batch):
        if epoch == 2 and step % 4 == 1:
            raise KeyboardInterrupt
        return super().after_model_step(model, epoch=epoch, step=step, next_val_batch=next_val_batch)


def test_resumed_run_equals_uninterrupted(tmp_path):
    train, val = _views()
    config = TrainConfig(epochs=4, batch_size=16, seed=7)
    straight = Trainer(_model(), _method(), config=config, checkpoint_dir=tmp_path / "a")
    expected = straight.fit(train, val)
    broken = Trainer(_model(), _method(cls=_Interrupt), config=config, checkpoint_dir=tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        broken.fit(train, val)
    resumed = Trainer(_model(seed=99), _method(seed=99), config=config, checkpoint_dir=tmp_path / "b")
    got = resumed.fit(train, val)
    for key, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[key]), key
    for key, tensor in straight.method.dynamic_loss.state_dict().items():
        assert torch.equal(tensor, resumed.method.dynamic_loss.state_dict()[key]), key
    columns = ["epoch", "train_loss", "train_objective", "val_loss", "val_accuracy"]
    assert got.history[columns].equals(expected.history[columns])
    np.testing.assert_array_equal(resumed.method.meta_positions_, straight.method.meta_positions_)


def test_errors_are_named():
    with pytest.raises(ConfigError, match=re.escape(INVALID_DYNAMIC_LOSS.format(
            problems="ratio1 must be in (0, 1] (received 0.0); trust_init must be in (0, 1) (received 1.0)"))):
        DynamicLossConfig(ratio1=0.0, trust_init=1.0)
    message = LENGTH_MISMATCH.format(arg_a="labels", arg_b="losses", len_a=3, len_b=2)
    with pytest.raises(InputError, match=re.escape(message)):
        rank_bins(np.array([0, 1, 1]), np.zeros(2), n_bins=4)
    with pytest.raises(InputError, match=re.escape(message)):
        hierarchical_sample(np.array([0, 1, 1]), np.zeros(2), ratio1=0.5, ratio2=0.5, rng=np.random.default_rng())
    with pytest.raises(ConfigError, match=re.escape(NOT_STARTED)):
        _method().training_loss(torch.zeros(2, 3), torch.tensor([0, 1]), epoch=0, positions=torch.arange(2))
