"""Structured samples (image + landmarks, sequence + mask): a tuple or mapping of tensors per
item goes through the datasets, the trainer, every method and prediction, with no domain code."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from lilaw_health.core import ArrayDataset, LabeledView, TrainConfig, Trainer, build_method
from lilaw_health.core.data import STRUCTURE_MISMATCH, dataset_inputs, stack_samples
from lilaw_health.core.errors import InputError
from lilaw_health.core.losses import cross_entropy
from lilaw_health.core.methods import LiLAWMethod, MethodContext


class TwoPartModel(nn.Module):
    """A sequence with a padding mask plus a static vector, as a gait model would take them."""

    def __init__(self, n_classes: int = 3) -> None:
        super().__init__()
        self.sequence = nn.Linear(2, 8)
        self.static = nn.Linear(3, 8)
        self.head = nn.Linear(16, n_classes)

    def forward(self, inputs: dict) -> torch.Tensor:
        mask = inputs["mask"].unsqueeze(-1)  # (n, T, 1): 1 for real frames
        pooled = (self.sequence(inputs["sequence"]) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(torch.cat([pooled, self.static(inputs["static"])], dim=1))


def _data(n=90, length=6, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    sequence = rng.normal(size=(n, length, 2)) + y[:, None, None]
    mask = (np.arange(length)[None, :] < rng.integers(2, length + 1, size=(n, 1))).astype(np.float32)
    static = rng.normal(size=(n, 3)) + y[:, None]
    return {"sequence": sequence, "mask": mask, "static": static}, y


def _views(dataset):
    idx = np.arange(len(dataset))
    val = idx % 5 == 0
    return (LabeledView(dataset, idx[~val], dataset.targets[~val], idx[~val].tolist()),
            LabeledView(dataset, idx[val], dataset.targets[val], idx[val].tolist()))


def test_items_and_batches_keep_the_structure():
    inputs, y = _data()
    dataset = ArrayDataset(inputs, y)
    x, label = dataset[4]
    assert set(x) == {"sequence", "mask", "static"} and x["sequence"].shape == (6, 2) and label == 1
    view = LabeledView(dataset, np.arange(10), y[:10], list(range(10)))
    batch, targets = view.batch([3, 1, 2])
    assert batch["static"].shape == (3, 3) and targets.tolist() == [0, 1, 2]
    torch.testing.assert_close(batch["mask"][0], torch.as_tensor(inputs["mask"][3]))
    assert dataset_inputs(dataset).shape == (90, 6 * 2 + 6 + 3)


@pytest.mark.parametrize("method", ["erm", "lilaw", "dynamic_loss", "clean", "gce"])
def test_every_method_trains_on_structured_samples(method, tmp_path):
    torch.manual_seed(0)
    train, val = _views(ArrayDataset(*_data()))
    trainer = Trainer(TwoPartModel(), build_method(method, train_labels=train.targets, n_classes=3),
                      config=TrainConfig(epochs=3, batch_size=16), checkpoint_dir=tmp_path,
                      augment=lambda x, g: {**x, "static": x["static"] + 0.01 * torch.randn(x["static"].shape,
                                                                                           generator=g)})
    result = trainer.fit(train, val)
    assert result.epochs_run == 3 and np.isfinite(result.history["train_loss"]).all()
    proba = trainer.predict_proba(val)
    assert proba.shape == (len(val), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)


class Interrupted(LiLAWMethod):
    """Stops in the middle of epoch 2, as a killed process would."""

    def after_model_step(self, model, *, epoch, step, next_val_batch):
        if epoch == 2 and step % 4 == 1:
            raise KeyboardInterrupt
        return super().after_model_step(model, epoch=epoch, step=step, next_val_batch=next_val_batch)


def test_structured_runs_resume_exactly(tmp_path):
    train, val = _views(ArrayDataset(*_data()))
    config = TrainConfig(epochs=4, batch_size=16)

    def trainer(folder, interrupt=False):
        torch.manual_seed(0)
        method = (Interrupted if interrupt else LiLAWMethod)(MethodContext(loss_fn=cross_entropy, n_classes=3))
        return Trainer(TwoPartModel(), method, config=config, checkpoint_dir=tmp_path / folder)

    with pytest.raises(KeyboardInterrupt):
        trainer("run", interrupt=True).fit(train, val)
    resumed = trainer("run")
    resumed.fit(train, val)
    straight = trainer("straight")
    straight.fit(train, val)
    np.testing.assert_array_equal(resumed.predict_proba(val), straight.predict_proba(val))


class LazyPairs(Dataset):
    """Reads one (image, landmarks) tuple per item, as a frame dataset on disk would."""

    def __init__(self, lengths):
        self.lengths = lengths
        self.targets = np.arange(len(lengths)) % 2

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, i):
        return (torch.zeros(3, 4, 4), torch.zeros(self.lengths[i], 2)), int(self.targets[i])


def test_lazy_tuples_stack_and_mismatched_parts_name_the_part():
    view = LabeledView(LazyPairs([5, 5, 5]), np.arange(3), np.array([0, 1, 0]), [0, 1, 2])
    (image, landmarks), _ = view.batch([0, 2])
    assert image.shape == (2, 3, 4, 4) and landmarks.shape == (2, 5, 2)
    ragged = LabeledView(LazyPairs([5, 7]), np.arange(2), np.array([0, 1]), [0, 1])
    with pytest.raises(InputError) as error:
        ragged.batch([0, 1])
    assert str(error.value) == STRUCTURE_MISMATCH.format(where="[1]", detail="shapes ['(5, 2)', '(7, 2)']")
    with pytest.raises(InputError, match=r"inputs\['b'\] differ across the batch"):
        stack_samples([{"a": torch.zeros(2), "b": torch.zeros(3)}, {"a": torch.zeros(2), "b": torch.zeros(4)}])


def test_parts_must_share_their_first_axis_with_the_labels():
    with pytest.raises(InputError, match=r"inputs\['mask'\] and labels must have the same length"):
        ArrayDataset({"sequence": np.zeros((4, 2)), "mask": np.zeros((3, 2))}, [0, 1, 0, 1])
    with pytest.raises(InputError, match=r"inputs\[1\] contains 1 non-finite"):
        ArrayDataset((np.zeros((2, 2)), np.array([[0.0, np.nan], [0, 0]])), [0, 1])
