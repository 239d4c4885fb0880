"""No host read of the device per training step: deferred loss check, logged scalars and dynamics."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from lilaw_health.core import (
    METHODS,
    InputError,
    LiLAWConfig,
    MethodContext,
    TrainConfig,
    Trainer,
)
from lilaw_health.core.host_reads import READ_EVERY, DeferredReads
from lilaw_health.core.losses import cross_entropy
from tests.core.toy_data import blob_views

READS = ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__")
# callers whose reads are of host tensors on any device: the meta batch's index draw (a host
# generator's) and Adam's per-parameter step counters (kept on the host by PyTorch)
HOST_SIDE = ("lilaw_health/core/loaders.py", "torch/optim/")


def _views(n=120):
    return blob_views(n, seed=2)


def _fit(method, model=None, **config):
    torch.manual_seed(0)
    model = model or nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    context = MethodContext(loss_fn=cross_entropy, n_classes=3, lilaw=LiLAWConfig(warmup_epochs=0))
    trainer = Trainer(model, METHODS.get(method)(context), config=TrainConfig(**{"epochs": 1, **config}))
    return trainer.fit(*_views())


def _reads_in_training_loop(monkeypatch, method, batch_size):
    """Calls of Tensor's host-read methods made inside Trainer._train_epoch, except HOST_SIDE's."""
    count = [0]
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(tensor, *args, _original=original, **kwargs):
            caller = sys._getframe(1)
            frame = caller
            while frame is not None and frame.f_code.co_name != "_train_epoch":
                frame = frame.f_back
            if frame is not None and not any(part in caller.f_code.co_filename for part in HOST_SIDE):
                count[0] += 1
            return _original(tensor, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    _fit(method, batch_size=batch_size)
    monkeypatch.undo()
    return count[0]


@pytest.mark.parametrize("method", ["erm", "lilaw"])
def test_the_training_loop_reads_the_device_per_epoch_not_per_step(monkeypatch, method):
    many_steps = _reads_in_training_loop(monkeypatch, method, batch_size=4)  # 24 steps (< READ_EVERY)
    few_steps = _reads_in_training_loop(monkeypatch, method, batch_size=48)  # 2 steps
    assert 24 < READ_EVERY
    assert many_steps == few_steps


class _InfFrom(nn.Module):
    """Finite logits for the first ``finite`` training forwards, then infinite ones."""

    def __init__(self, finite):
        super().__init__()
        self.linear, self.finite, self.calls = nn.Linear(4, 3), finite, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = self.linear(x)
        return out if self.calls <= self.finite else out * float("inf")


@pytest.mark.parametrize("method", ["erm", "lilaw"])
def test_a_non_finite_loss_still_stops_the_run_naming_its_step(method):
    with pytest.raises(InputError, match=r"training loss \(epoch 0, step 5\) contains 1 non-finite"):
        _fit(method, model=_InfFrom(finite=5), batch_size=4)


def test_deferred_reads_sum_in_order_and_read_logged_tensors():
    trajectory: list = []
    reads = DeferredReads(epoch=3, trajectory=trajectory)
    values = [0.1, 0.2, 0.3]
    for step, value in enumerate(values):
        reads.add(step, torch.tensor(value), 2, {"step": step, "alpha": torch.tensor(value * 10)})
    reads.flush()
    expected = 0.0
    for value in values:
        expected += torch.tensor(value).item() * 2
    assert reads.objective_sum == expected
    assert [row["alpha"] for row in trajectory] == [torch.tensor(v * 10).item() for v in values]
    reads.add(3, torch.tensor(float("nan")), 2)
    with pytest.raises(InputError, match=r"training loss \(epoch 3, step 3\) contains 1 non-finite"):
        reads.flush()
