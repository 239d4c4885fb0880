"""Filter-and-retrain (method ``clean``): detection, drop/relabel, restart, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core import ArrayDataset, LabeledView, MethodContext, TrainConfig, Trainer, inject_label_noise
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.losses import cross_entropy
from lilaw_health.core.methods import CleanConfig, FilterAndRetrain, _warn_if_lopsided


def _noisy_blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    clean = np.arange(n) % 3
    x = rng.normal(scale=0.6, size=(n, 4)).astype(np.float32) + 2 * clean[:, None]
    noise = inject_label_noise(clean, kind="symmetric", rate=0.4, seed=seed)
    data = ArrayDataset(x, noise.labels)
    idx = np.arange(n)
    val = idx % 10 == 0
    views = (LabeledView(data, idx[~val], noise.labels[~val], list(idx[~val])),
             LabeledView(data, idx[val], noise.labels[val], list(idx[val])))
    return views, noise.flipped[~val], clean[~val]


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))


def _method(cls=FilterAndRetrain, **clean):
    return cls(MethodContext(loss_fn=cross_entropy, n_classes=3, clean=CleanConfig(**clean)))


def test_drop_removes_mostly_flipped_labels_and_restarts():
    (train, val), flipped, _ = _noisy_blobs()
    method = _method(detect_epochs=4, fraction=float(flipped.mean()))
    trainer = Trainer(_model(), method, config=TrainConfig(epochs=8, batch_size=32, lr=0.01))
    result = trainer.fit(train, val)
    dropped = method.keep.numpy() == 0
    assert dropped.sum() == round(flipped.mean() * len(flipped))
    assert flipped[dropped].mean() > 2 * flipped.mean()  # precision of the drop: far above chance
    assert result.best_epoch >= 4  # the best model is chosen after the restart only


def test_validation_suspects_are_left_out_of_model_selection_after_the_restart():
    (train, val), flipped, _ = _noisy_blobs()
    val_flipped = val.targets != np.asarray(val.indices) % 3
    method = _method(detect_epochs=4, fraction=float(flipped.mean()))
    result = Trainer(_model(), method, config=TrainConfig(epochs=6, batch_size=32, lr=0.01)).fit(train, val)
    keep = method.validation_keep()
    share_dropped = float((method.keep.numpy() == 0).mean())
    assert (~keep).sum() == round(share_dropped * len(val))  # the same share as of the training samples
    assert val_flipped[~keep].mean() > 2 * val_flipped.mean()  # chosen by their own dynamics, not at random
    assert result.history["val_samples"].tolist() == [len(val)] * 4 + [int(keep.sum())] * 2
    assert _method().validation_keep() is None  # before any restart: every validation sample counts


def test_relabel_gives_suspects_the_predicted_label():
    (train, val), flipped, clean = _noisy_blobs()
    method = _method(detect_epochs=4, fraction=float(flipped.mean()), action="relabel")
    Trainer(_model(), method, config=TrainConfig(epochs=5, batch_size=32, lr=0.01)).fit(train, val)
    new_labels = method.labels.numpy()
    assert (new_labels == clean).mean() > (train.targets == clean).mean() + 0.1
    assert bool((method.keep == 1).all())


class _Interrupt(FilterAndRetrain):
    def after_model_step(self, model, *, epoch, step, next_val_batch):
        if epoch == 3 and step % 3 == 2:
            raise KeyboardInterrupt
        return None


def test_resume_across_the_restart_is_exact(tmp_path):
    (train, val), flipped, _ = _noisy_blobs()
    config = TrainConfig(epochs=5, batch_size=32, lr=0.01, seed=3)
    straight = Trainer(_model(), _method(detect_epochs=2), config=config, checkpoint_dir=tmp_path / "a")
    straight.fit(train, val)
    with pytest.raises(KeyboardInterrupt):
        Trainer(_model(), _method(_Interrupt, detect_epochs=2), config=config, checkpoint_dir=tmp_path / "b").fit(train, val)
    torch.manual_seed(123)
    resumed = Trainer(nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3)), _method(detect_epochs=2),
                      config=config, checkpoint_dir=tmp_path / "b")
    resumed.fit(train, val)
    for key, tensor in straight.model.state_dict().items():
        assert torch.equal(tensor, resumed.model.state_dict()[key]), key
    assert torch.equal(straight.method.keep, resumed.method.keep)
    assert np.array_equal(straight.method.validation_keep(), resumed.method.validation_keep())


def test_threshold_and_bad_settings():
    method = _method(threshold=0.5)
    assert method._suspects(np.array([0.2, 0.7, np.nan, 0.9])).tolist() == [False, True, False, True]
    with pytest.raises(ConfigError, match=r"invalid clean settings: detect_epochs must be >= 1 \(received 0\)\. "):
        CleanConfig(detect_epochs=0)
    expected = (r"settings: fraction must be in \[0, 1\) \(received 1\.5\); "
                r"action must be one of drop, relabel \(received 'fix'\)\. Set them")
    with pytest.raises(ConfigError, match=expected):
        CleanConfig(fraction=1.5, action="fix")


def test_a_class_losing_most_of_its_labels_is_warned_about(caplog):
    observed = np.array([0] * 90 + [1] * 10)
    suspect = np.zeros(100, dtype=bool)
    suspect[85:95] = True  # 5 of class 0, 5 of class 1: 10 % overall, 50 % of class 1 (not above half)
    _warn_if_lopsided(suspect, observed, action="drop")
    assert not caplog.records
    suspect[95] = True  # 6 of the 10 labelled class 1
    _warn_if_lopsided(suspect, observed, action="drop")
    (record,) = caplog.records
    assert record.getMessage().startswith("clean will drop 6 of the 10 training samples labelled class 1 (60%, "
                                          "against 11% of all samples).")
