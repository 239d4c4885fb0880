"""Datasets the trainer accepts, and the seeded stratified validation split.

The trainer needs three things of a dataset: ``dataset[i] -> (x, y)``, its labels without
loading every ``x`` (``targets`` or ``labels`` attribute, as torchvision datasets have) and,
optionally, ``sample_ids``. Datasets may be lazy (read a file per item): nothing here
loads all inputs except :func:`dataset_inputs`, used only by feature-dependent noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from lilaw_health.core.errors import LENGTH_MISMATCH, InputError
from lilaw_health.core.validation import check_finite_array, check_label_array


class ArrayDataset(Dataset):
    """In-memory inputs (n_samples, ...) and integer labels (n_samples,)."""

    def __init__(self, inputs: np.ndarray | Tensor, labels: np.ndarray | Sequence[int], *,
                 sample_ids: Sequence[Any] | None = None) -> None:
        inputs = torch.as_tensor(np.array(inputs, dtype=np.float32))  # a copy: callers keep their array
        labels_np = np.asarray(labels)
        if len(inputs) != len(labels_np):
            raise InputError(LENGTH_MISMATCH.format(arg_a="inputs", arg_b="labels", len_a=len(inputs),
                                                    len_b=len(labels_np)))
        check_label_array(labels_np)
        check_finite_array(inputs.numpy(), arg="inputs")
        self.inputs = inputs
        self.targets = labels_np.astype(np.int64)
        self.sample_ids = list(sample_ids) if sample_ids is not None else list(range(len(labels_np)))
        if len(self.sample_ids) != len(labels_np):
            raise InputError(LENGTH_MISMATCH.format(arg_a="sample_ids", arg_b="labels",
                                                    len_a=len(self.sample_ids), len_b=len(labels_np)))

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.inputs[index], int(self.targets[index])


class LabeledView(Dataset):
    """A subset of a base dataset with replacement labels; items are ``(position, x, y)``.

    ``position`` indexes this view, so per-sample records (difficulty, training dynamics)
    align with ``sample_ids`` whatever order the loader draws in.
    """

    def __init__(self, base: Dataset, indices: np.ndarray, labels: np.ndarray, sample_ids: Sequence[Any]) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.targets = np.asarray(labels, dtype=np.int64)
        self.sample_ids = list(sample_ids)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[int, Tensor, int]:
        x, _ = self.base[int(self.indices[position])]
        return position, x, int(self.targets[position])

    def batch(self, positions: Sequence[int] | np.ndarray) -> tuple[Tensor, Tensor]:
        """Inputs and labels of several positions, stacked in that order. An in-memory
        :class:`ArrayDataset` base is read with one gather instead of one item at a time."""
        chosen = np.asarray(positions, dtype=np.int64)
        targets = torch.as_tensor(self.targets[chosen])
        if type(self.base) is ArrayDataset:  # a subclass may change what an item is
            return self.base.inputs[torch.as_tensor(self.indices[chosen])], targets
        return torch.stack([torch.as_tensor(self[int(p)][1]) for p in chosen]), targets


class PositionSubset(Dataset):
    """Some positions of a :class:`LabeledView`; items keep the view's positions (for one epoch's loader)."""

    def __init__(self, view: LabeledView, positions: np.ndarray) -> None:
        self.view = view
        self.positions = np.asarray(positions, dtype=np.int64)
        self.targets = view.targets[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int) -> tuple[int, Tensor, int]:
        return self.view[int(self.positions[index])]


@dataclass(frozen=True)
class TaskData:
    """What a domain hands to the pipeline: datasets plus their description."""

    train: Dataset
    test: Dataset
    n_classes: int
    class_names: list[str]
    input_shape: tuple[int, ...]
    name: str = ""
    card: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def dataset_labels(dataset: Dataset, *, arg: str = "dataset") -> np.ndarray:
    """Integer labels of a dataset, read without loading inputs when possible."""
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            labels = np.asarray(getattr(dataset, attr))
            check_label_array(labels, arg=f"{arg}.{attr}")
            return labels.astype(np.int64)
    labels = np.asarray([int(dataset[i][1]) for i in range(len(dataset))])  # type: ignore[arg-type]
    check_label_array(labels, arg=f"{arg} labels")
    return labels


def dataset_sample_ids(dataset: Dataset) -> list[Any]:
    """``dataset.sample_ids`` if present, else positions 0..n-1."""
    ids = getattr(dataset, "sample_ids", None)
    return list(ids) if ids is not None else list(range(len(dataset)))  # type: ignore[arg-type]


def dataset_inputs(dataset: Dataset) -> np.ndarray:
    """All inputs flattened to (n_samples, n_features); loads the whole dataset."""
    if isinstance(dataset, ArrayDataset):
        return dataset.inputs.reshape(len(dataset), -1).numpy()
    return np.stack([np.asarray(dataset[i][0], dtype=np.float32).reshape(-1) for i in range(len(dataset))])  # type: ignore[arg-type]


def stratified_split(labels: np.ndarray, *, fraction: float, seed: int,
                     class_names: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split into (train_indices, val_indices).

    Every class puts ``round(fraction * n_class)`` samples in validation, at least one and
    at most ``n_class - 1``, so both sides see every class. ``class_names`` (by class id)
    lets errors name classes as the data file does.

    Raises
    ------
    InputError
        If ``fraction`` is not in (0, 1) or a class has fewer than two samples.
    """
    if not 0 < fraction < 1:
        raise InputError(f"val_fraction must be in (0, 1); received {fraction}, which would leave an empty "
                         "split. Use e.g. 0.05 (ECG5000) or 0.1 (Adult).")
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    lonely = classes[counts < 2]
    if lonely.size:
        named = [class_names[int(c)] if class_names is not None and int(c) < len(class_names) else int(c)
                 for c in lonely]
        raise InputError(f"the validation split would miss class(es) {named}: each has a single "
                         "training sample, and both train and validation need one. Drop or merge those "
                         "classes, or add samples.")
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls, count in zip(classes, counts):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(min(max(round(fraction * count), 1), count - 1))
        val_parts.append(members[:n_val])
    val = np.sort(np.concatenate(val_parts))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val
