"""The training loop: exact resume, early stopping, best checkpoint, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core import (
    METHODS,
    ArrayDataset,
    InputError,
    LabeledView,
    LiLAWConfig,
    MethodContext,
    TrainConfig,
    Trainer,
)
from lilaw_health.core.checkpoint import load_checkpoint
from lilaw_health.core.errors import ConfigError, UnknownNameError
from lilaw_health.core.losses import cross_entropy
from lilaw_health.core.methods import LiLAWMethod


def _blobs(n=120, c=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    x = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None]
    return ArrayDataset(x, y)


def _views(dataset):
    idx = np.arange(len(dataset))
    val = idx % 5 == 0
    labels = dataset.targets
    return (LabeledView(dataset, idx[~val], labels[~val], [f"s{i}" for i in idx[~val]]),
            LabeledView(dataset, idx[val], labels[val], [f"s{i}" for i in idx[val]]))


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


def _method(name="lilaw", cls=None):
    context = MethodContext(loss_fn=cross_entropy, n_classes=3, lilaw=LiLAWConfig(warmup_epochs=1))
    return (cls or METHODS.get(name))(context)


class _Interrupt(LiLAWMethod):
    """Raises in the middle of epoch 2, as a killed process would stop."""

    def after_model_step(self, model, *, epoch, step, next_val_batch):
        if epoch == 2 and step % 4 == 1:
            raise KeyboardInterrupt
        return super().after_model_step(model, epoch=epoch, step=step, next_val_batch=next_val_batch)


def _jitter(inputs, generator):
    return inputs + 0.1 * torch.randn(inputs.shape, generator=generator)


@pytest.mark.parametrize("sampler, scheduler", [("uniform", "none"), ("balanced", "cosine")])
def test_resumed_run_equals_uninterrupted(tmp_path, sampler, scheduler):
    train, val = _views(_blobs())
    config = TrainConfig(epochs=4, batch_size=16, seed=7, sampler=sampler, scheduler=scheduler)
    straight = Trainer(_model(), _method(), config=config, checkpoint_dir=tmp_path / "a", augment=_jitter)
    expected = straight.fit(train, val)

    broken = Trainer(_model(), _method(cls=_Interrupt), config=config, checkpoint_dir=tmp_path / "b",
                     augment=_jitter)
    with pytest.raises(KeyboardInterrupt):
        broken.fit(train, val)
    resumed = Trainer(_model(seed=99), _method(), config=config, checkpoint_dir=tmp_path / "b", augment=_jitter)
    got = resumed.fit(train, val)

    for key, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[key]), key
    assert resumed.method.scalars() == straight.method.scalars()
    columns = ["epoch", "train_loss", "val_loss", "val_accuracy", "alpha", "beta", "delta"]
    assert got.history[columns].equals(expected.history[columns])
    assert got.trajectory.equals(expected.trajectory)
    assert len(got.trajectory) > 0 and got.best_epoch == expected.best_epoch


@pytest.mark.parametrize("seconds, saved_epoch", [(float("inf"), 1), (0.0, 2)])
def test_last_checkpoint_is_written_after_the_first_epoch_then_at_most_every_checkpoint_seconds(
        tmp_path, seconds, saved_epoch):
    train, val = _views(_blobs())
    config = TrainConfig(epochs=4, batch_size=16, seed=7)
    broken = Trainer(_model(), _method(cls=_Interrupt), config=config, checkpoint_dir=tmp_path)
    broken.checkpoint_seconds = seconds
    with pytest.raises(KeyboardInterrupt):  # in epoch 2: epochs 0 and 1 finished
        broken.fit(train, val)
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["state"]["epoch"] == saved_epoch
    best = load_checkpoint(tmp_path / "best.pt")["model"]  # written with last.pt: its best epoch's weights
    assert saved["state"]["best_epoch"] < saved_epoch
    resumed = Trainer(_model(seed=99), _method(), config=config, checkpoint_dir=tmp_path)
    resumed.fit(train, val)
    assert load_checkpoint(tmp_path / "last.pt")["state"]["epoch"] == 4  # the final epoch is always written
    assert set(best) == set(resumed.model.state_dict())


def test_lilaw_warmup_takes_no_meta_step_then_one_per_step():
    train, val = _views(_blobs())
    result = Trainer(_model(), _method(), config=TrainConfig(epochs=3, batch_size=16)).fit(train, val)
    steps_per_epoch = -(-len(train) // 16)
    assert set(result.trajectory["epoch"]) == {1, 2}
    assert len(result.trajectory) == 2 * steps_per_epoch


def test_meta_every_thins_the_meta_steps():
    train, val = _views(_blobs())
    context = MethodContext(loss_fn=cross_entropy, n_classes=3, lilaw=LiLAWConfig(meta_every=3))
    result = Trainer(_model(), METHODS.get("lilaw")(context), config=TrainConfig(epochs=3, batch_size=16)).fit(train, val)
    assert (result.trajectory["step"] % 3 == 0).all()
    assert len(result.trajectory) < 2 * -(-len(train) // 16)


def test_early_stopping_and_best_weights_restored(tmp_path):
    train, val = _views(_blobs())
    config = TrainConfig(epochs=10, batch_size=16, lr=0.0, patience=2)  # lr 0: nothing ever improves
    trainer = Trainer(_model(), _method("erm"), config=config, checkpoint_dir=tmp_path)
    result = trainer.fit(train, val)
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 0
    best = load_checkpoint(tmp_path / "best.pt")["model"]
    for key, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, best[key])
    again = Trainer(_model(), _method("erm"), config=config, checkpoint_dir=tmp_path).fit(train, val)
    assert again.epochs_run == 3  # a finished run is not trained further on resume


def test_resume_refuses_a_different_configuration(tmp_path):
    train, val = _views(_blobs())
    Trainer(_model(), _method("erm"), config=TrainConfig(epochs=1), checkpoint_dir=tmp_path).fit(train, val)
    with pytest.raises(ConfigError, match="was written by a different configuration"):
        Trainer(_model(), _method("erm"), config=TrainConfig(epochs=1, lr=0.1), checkpoint_dir=tmp_path).fit(train, val)


def test_predictions_keep_dataset_order():
    train, val = _views(_blobs())
    trainer = Trainer(_model(), _method("erm"), config=TrainConfig(epochs=1))
    trainer.fit(train, val)
    proba = trainer.predict_proba(val)
    trainer.model.eval()
    with torch.no_grad():
        direct = torch.softmax(trainer.model(torch.stack([val[i][1] for i in range(len(val))])), 1)
    np.testing.assert_allclose(proba, direct.numpy(), rtol=1e-5, atol=1e-6)


def test_non_finite_loss_is_named():
    class Exploding(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.scale * torch.full((len(x), 3), float("inf"))

    train, val = _views(_blobs())
    with pytest.raises(InputError, match=r"training loss \(epoch 0, step 0\) contains 1 non-finite"):
        Trainer(Exploding(), _method("erm"), config=TrainConfig(epochs=1)).fit(train, val)


def test_bad_inputs_are_named():
    with pytest.raises(InputError, match="inputs contains 1 non-finite values"):
        ArrayDataset(np.array([[0.0], [np.nan]]), [0, 1])
    with pytest.raises(InputError, match="inputs and labels must have the same length; received 2 and 3"):
        ArrayDataset(np.zeros((2, 1)), [0, 1, 1])
    with pytest.raises(InputError, match="labels must hold integer class ids; received dtype float64"):
        ArrayDataset(np.zeros((2, 1)), [0.0, 1.0])
    with pytest.raises(UnknownNameError, match="unknown method 'lilwa'; valid names are: cb_ce, clean, dynamic_loss"):
        METHODS.get("lilwa")
    with pytest.raises(UnknownNameError, match="unknown monitor 'acc'; valid names are: accuracy"):
        TrainConfig(monitor="acc")
    with pytest.raises(ConfigError, match=r"patience must be >= 0 \(0 disables early stopping\)"):
        TrainConfig(patience=-1)


def test_balanced_sampler_draws_classes_equally():
    x = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
    y = np.r_[np.zeros(360, int), np.ones(30, int), np.full(10, 2)]
    data = ArrayDataset(x, y)
    view = LabeledView(data, np.arange(400), y, list(range(400)))
    trainer = Trainer(_model(), _method("erm"), config=TrainConfig(batch_size=400, sampler="balanced"))
    _, _, drawn = next(iter(trainer._loader(view, shuffle=True, seed=1, balanced=True)))
    counts = np.bincount(drawn.numpy(), minlength=3)
    assert counts.sum() == 400 and counts.min() > 100
    with pytest.raises(ConfigError, match="sampler must be one of uniform, balanced; received 'even'"):
        TrainConfig(sampler="even")


def test_augment_touches_training_batches_only():
    seen = []

    def spy(inputs, generator):
        seen.append(len(inputs))
        return inputs

    train, val = _views(_blobs())
    trainer = Trainer(_model(), _method(), config=TrainConfig(epochs=2, batch_size=16), augment=spy)
    trainer.fit(train, val)
    assert sum(seen) == 2 * len(train)


def test_dynamics_cost_no_extra_forward_pass():
    calls = []
    model = _model()
    model.register_forward_hook(lambda module, args, output: calls.append(len(args[0])))
    train, val = _views(_blobs())
    result = Trainer(model, _method("erm"), config=TrainConfig(epochs=3, batch_size=16)).fit(train, val)
    # exactly one training pass and one validation pass per epoch, nothing more
    assert sum(calls) == 3 * (len(train) + len(val))
    scores = result.train_dynamics.scores()
    assert len(scores) == len(train) and scores["aum"].notna().all()
    assert len(result.val_dynamics.scores()) == len(val)


def test_sample_weight_scales_each_samples_loss():
    outputs, targets = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    weight = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0])
    positions = torch.tensor([4, 0, 2, 1])
    for name in ("erm", "lilaw", "clean"):
        context = MethodContext(loss_fn=cross_entropy, n_classes=3, sample_weight=weight)
        method = METHODS.get(name)(context)
        got = method.per_sample_loss(outputs, targets, positions)
        assert torch.allclose(got, cross_entropy(outputs, targets) * weight[positions])


@pytest.mark.parametrize("monitor", ["loss", "macro_f1"])
def test_progress_bar_with_every_monitor(monitor):
    train, val = _views(_blobs())
    config = TrainConfig(epochs=2, batch_size=16, monitor=monitor)
    result = Trainer(_model(), _method(), config=config, progress=True).fit(train, val)
    assert f"val_{monitor}" in result.history.columns


def test_on_epoch_start_can_hold_samples_out_of_an_epoch():
    from lilaw_health.core.methods import Method

    class EvenOnly(Method):
        seen: list

        def on_epoch_start(self, epoch, *, model, train, predict_logits, seed):
            assert predict_logits(train).shape == (len(train), 3)
            return np.arange(0, len(train), 2)

        def training_loss(self, outputs, targets, *, epoch, positions):
            self.seen.extend(positions.tolist())
            return super().training_loss(outputs, targets, epoch=epoch, positions=positions)

    train, val = _views(_blobs())
    method = EvenOnly(MethodContext(loss_fn=cross_entropy, n_classes=3))
    method.seen = []
    Trainer(_model(), method, config=TrainConfig(epochs=2, batch_size=16)).fit(train, val)
    assert sorted(method.seen) == sorted(list(range(0, len(train), 2)) * 2)
