"""Datasets the trainer accepts, and the seeded stratified validation split.

The trainer needs three things of a dataset: ``dataset[i] -> (x, y)``, its labels without
loading every ``x`` (``targets`` or ``labels`` attribute, as torchvision datasets have) and,
optionally, ``sample_ids``. Datasets may be lazy (read a file per item): nothing here
loads all inputs except :func:`dataset_inputs`, used only by feature-dependent noise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch.utils.data import Dataset

from lilaw_health.core.errors import LENGTH_MISMATCH, InputError
from lilaw_health.core.validation import check_finite_array, check_label_array

LOGGER = logging.getLogger(__name__)

Sample = Union[Tensor, tuple["Sample", ...], dict[str, "Sample"]]
"""One model input: a tensor, or a tuple or mapping of them (image + landmarks, sequence + mask)."""

STRUCTURE_MISMATCH = ("inputs{where} differ across the batch: {detail}. Every sample must have the same parts "
                      "with the same shapes; pad or crop variable-length parts to one length (with a mask part).")


def as_tensors(inputs: Any, arg: str) -> Sample:
    """Array-likes as float32 tensors (a copy), keeping a tuple or mapping structure."""
    if isinstance(inputs, dict):
        return {key: as_tensors(value, f"{arg}[{key!r}]") for key, value in inputs.items()}
    if isinstance(inputs, tuple):
        return tuple(as_tensors(value, f"{arg}[{i}]") for i, value in enumerate(inputs))
    tensor = torch.as_tensor(np.array(inputs, dtype=np.float32))
    check_finite_array(tensor.numpy(), arg=arg)
    return tensor


def sample_parts(sample: Sample) -> list[tuple[str, Tensor]]:
    """(path, tensor) of every leaf of a structured sample, e.g. ``("['image']", tensor)``."""
    return _parts(sample)


def _parts(sample: Sample, where: str = "") -> list[tuple[str, Tensor]]:
    """(path, tensor) of every leaf of a structured sample, e.g. ``("['image']", tensor)``."""
    if isinstance(sample, dict):
        return [part for key, value in sample.items() for part in _parts(value, f"{where}[{key!r}]")]
    if isinstance(sample, tuple):
        return [part for i, value in enumerate(sample) for part in _parts(value, f"{where}[{i}]")]
    return [(where, sample)]


def map_sample(fn: Any, sample: Sample) -> Sample:
    """``fn`` applied to every tensor of a structured sample, keeping its structure."""
    if isinstance(sample, dict):
        return {key: map_sample(fn, value) for key, value in sample.items()}
    if isinstance(sample, tuple):
        return tuple(map_sample(fn, value) for value in sample)
    return fn(sample)


def to_device(sample: Sample, device: torch.device) -> Sample:
    """A (structured) batch moved to ``device``."""
    return map_sample(lambda tensor: tensor.to(device), sample)


def stack_samples(samples: Sequence[Sample]) -> Sample:
    """Stack samples of one structure into a batch, part by part.

    Raises
    ------
    InputError
        If the samples' structures or part shapes differ, naming the part.
    """
    first = samples[0]
    if isinstance(first, (dict, tuple)):
        _check_same_structure(samples)
        if isinstance(first, dict):
            return {key: stack_samples([s[key] for s in samples]) for key in first}  # type: ignore[index, call-overload]
        return tuple(stack_samples([s[i] for s in samples]) for i in range(len(first)))  # type: ignore[index]
    tensors = [torch.as_tensor(s) for s in samples]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise InputError(STRUCTURE_MISMATCH.format(where="", detail=f"shapes {sorted(shapes)}"))
    return torch.stack(tensors)


def _check_same_structure(samples: Sequence[Sample]) -> None:
    layout = [[(path, tuple(t.shape)) for path, t in _parts(s)] for s in samples]
    for other in layout[1:]:
        if other != layout[0]:
            paths = {path for path, _ in layout[0]} | {path for path, _ in other}
            for path in sorted(paths):
                shapes = {dict(lay).get(path) for lay in (layout[0], other)}
                if len(shapes) > 1:
                    detail = f"shapes {sorted(str(s) for s in shapes)}"
                    raise InputError(STRUCTURE_MISMATCH.format(where=path, detail=detail))


def collate_items(items: Sequence[tuple[int, Sample, Any]]) -> tuple[Tensor, Sample, Tensor]:
    """DataLoader collate for :class:`LabeledView` items ``(position, x, y)``; ``x`` may be structured."""
    positions, inputs, targets = zip(*items)
    values = np.asarray(targets)
    return (torch.as_tensor(positions), stack_samples(inputs),
            torch.as_tensor(values.astype(np.float32) if values.dtype.kind == "f" else values))


def batch_length(sample: Sample) -> int:
    """Number of samples in a (structured) batch."""
    return len(_parts(sample)[0][1])


TASKS = ("classification", "regression")
TASK_MISMATCH = ("TaskData.task is {task!r} but the {split} targets have dtype {dtype}. Build the datasets with "
                 "ArrayDataset(..., task={task!r}) (regression targets are floats, class labels integers).")


def as_targets(values: Any, *, task: str = "classification", arg: str = "labels") -> np.ndarray:
    """Class ids as int64 (checked to be 0..C-1), or regression targets as finite float32.

    Raises
    ------
    InputError
        If the values do not fit the task (e.g. float labels for classification).
    """
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}; received {task!r}.")
    values = np.asarray(values)
    if task == "classification":
        check_label_array(values, arg=arg)
        return values.astype(np.int64)
    if values.dtype.kind not in "iuf" or values.ndim != 1:
        raise InputError(f"{arg} of a regression must be 1-D numbers; received dtype {values.dtype} and shape "
                         f"{values.shape}.")
    check_finite_array(values.astype(np.float64), arg=arg)
    return values.astype(np.float32)


def target_item(value: np.generic) -> int | float:
    """One target as a Python int (class id) or float (regression)."""
    return value.item()  # type: ignore[no-any-return]


class ArrayDataset(Dataset):
    """In-memory inputs (n_samples, ...) and targets (n_samples,): integer class ids, or float
    values with ``task="regression"``.

    ``inputs`` may be a tuple or mapping of arrays that share their first axis (e.g.
    ``{"image": (n, 3, 64, 64), "landmarks": (n, 468, 3)}``); items are then the same
    structure of tensors.
    """

    def __init__(self, inputs: Any, labels: np.ndarray | Sequence[float], *,
                 sample_ids: Sequence[Any] | None = None, task: str = "classification") -> None:
        inputs = as_tensors(inputs, "inputs")  # a copy: callers keep their arrays
        labels_np = np.asarray(labels)
        for where, part in _parts(inputs):
            if len(part) != len(labels_np):
                raise InputError(LENGTH_MISMATCH.format(arg_a=f"inputs{where}", arg_b="labels", len_a=len(part),
                                                        len_b=len(labels_np)))
        self.inputs = inputs
        self.targets = as_targets(labels_np, task=task)
        self.sample_ids = list(sample_ids) if sample_ids is not None else list(range(len(labels_np)))
        if len(self.sample_ids) != len(labels_np):
            raise InputError(LENGTH_MISMATCH.format(arg_a="sample_ids", arg_b="labels",
                                                    len_a=len(self.sample_ids), len_b=len(labels_np)))

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Sample, int | float]:
        return map_sample(lambda part: part[index], self.inputs), target_item(self.targets[index])

    def gather(self, indices: Tensor) -> Sample:
        """The inputs of several samples in one ``index_select`` per part (the same values as
        ``part[indices]``, a few times faster on a batch: LiLAW draws one every step)."""
        return map_sample(lambda part: part.index_select(0, indices), self.inputs)


class LabeledView(Dataset):
    """A subset of a base dataset with replacement labels; items are ``(position, x, y)``.

    ``position`` indexes this view, so per-sample records (difficulty, training dynamics)
    align with ``sample_ids`` whatever order the loader draws in.
    """

    def __init__(self, base: Dataset, indices: np.ndarray, labels: np.ndarray, sample_ids: Sequence[Any]) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        labels = np.asarray(labels)
        self.targets = labels.astype(np.float32 if labels.dtype.kind == "f" else np.int64)
        self.sample_ids = list(sample_ids)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[int, Sample, int | float]:
        x, _ = self.base[int(self.indices[position])]
        return position, x, target_item(self.targets[position])

    def batch(self, positions: Sequence[int] | np.ndarray) -> tuple[Sample, Tensor]:
        """Inputs and labels of several positions, stacked in that order. An in-memory
        :class:`ArrayDataset` base is read with one gather instead of one item at a time."""
        chosen = np.asarray(positions, dtype=np.int64)
        targets = torch.as_tensor(self.targets[chosen])
        if type(self.base) is ArrayDataset:  # a subclass may change what an item is
            return self.base.gather(torch.as_tensor(self.indices[chosen])), targets
        return stack_samples([self[int(p)][1] for p in chosen]), targets


class PositionSubset(Dataset):
    """Some positions of a :class:`LabeledView`; items keep the view's positions (for one epoch's loader)."""

    def __init__(self, view: LabeledView, positions: np.ndarray) -> None:
        self.view = view
        self.positions = np.asarray(positions, dtype=np.int64)
        self.targets = view.targets[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, index: int) -> tuple[int, Sample, int | float]:
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
    task: str = "classification"
    target_range: tuple[float, float] | None = None  # regression: the scale's (low, high), e.g. (0, 16)
    # one row per test sample, one column per sensitive attribute (e.g. sex, age band): audited per group
    sensitive_test: pd.DataFrame | None = None
    reference_groups: dict[str, Any] = field(default_factory=dict)  # attribute -> its reference group
    # per training sample: its source ("real", "synthetic", "synpain", ...; None: all real), its subject
    # (validation splits keep a subject on one side) and descriptive columns copied into difficulty.csv
    sources: np.ndarray | None = None
    groups: np.ndarray | None = None
    train_attributes: pd.DataFrame | None = None
    test_groups: np.ndarray | None = None  # per test sample: its subject (per-subject results)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InputError(f"TaskData.task must be one of {', '.join(TASKS)}; received {self.task!r}.")
        if self.sensitive_test is not None:
            _check_sensitive(self.sensitive_test, len(self.test), self.name)  # type: ignore[arg-type]
        for split in ("train", "test"):
            targets = getattr(getattr(self, split), "targets", None)
            if targets is not None and (np.asarray(targets).dtype.kind == "f") != (self.task == "regression"):
                raise InputError(TASK_MISMATCH.format(task=self.task, split=split,
                                                      dtype=np.asarray(targets).dtype))
        for arg, value, split in (("sources", self.sources, "train"), ("groups", self.groups, "train"),
                                  ("train_attributes", self.train_attributes, "train"),
                                  ("test_groups", self.test_groups, "test")):
            n = len(getattr(self, split))  # type: ignore[arg-type]
            if value is not None and len(value) != n:
                raise InputError(LENGTH_MISMATCH.format(arg_a=f"TaskData.{arg}", arg_b=f"the {split} set",
                                                        len_a=len(value), len_b=n))
        reserved = set(RESERVED_COLUMNS) & set(self.train_attributes.columns if self.train_attributes is not None else [])
        if reserved:
            raise InputError(f"TaskData.train_attributes may not use the difficulty table's column names "
                             f"{sorted(reserved)}; rename them (e.g. 'subject_source').")


# columns of difficulty.csv that descriptive training attributes may not shadow
RESERVED_COLUMNS = ("sample_id", "split", "label", "clean_label", "source", "failure", "value", "rank", "W",
                    "w_alpha_mean", "mislabel_score", "real_distance", "is_flipped")

SENSITIVE_MISSING = ("sensitive attribute {column!r} of {dataset} is missing for {count} of {total} test samples "
                     "(first at test position {first}). Give every test sample a value (e.g. 'unknown' as its own "
                     "group) or leave the attribute out.")


def _check_sensitive(frame: pd.DataFrame, n_test: int, dataset: str) -> None:
    """Sensitive attributes must describe every test sample, in test order."""
    if len(frame) != n_test:
        raise InputError(LENGTH_MISMATCH.format(arg_a="sensitive_test", arg_b="the test set", len_a=len(frame),
                                                len_b=n_test))
    for column in frame.columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise InputError(SENSITIVE_MISSING.format(column=column, dataset=dataset or "the data",
                                                      count=int(missing.sum()), total=n_test,
                                                      first=int(np.argmax(missing))))


def dataset_labels(dataset: Dataset, *, arg: str = "dataset", task: str = "classification") -> np.ndarray:
    """The targets of a dataset (class ids, or regression values with ``task="regression"``), read
    without loading inputs when possible."""
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            return as_targets(getattr(dataset, attr), task=task, arg=f"{arg}.{attr}")
    values = [target_item(np.asarray(dataset[i][1])) for i in range(len(dataset))]  # type: ignore[arg-type]
    return as_targets(values, task=task, arg=f"{arg} labels")


def dataset_sample_ids(dataset: Dataset) -> list[Any]:
    """``dataset.sample_ids`` if present, else positions 0..n-1."""
    ids = getattr(dataset, "sample_ids", None)
    return list(ids) if ids is not None else list(range(len(dataset)))  # type: ignore[arg-type]


def dataset_inputs(dataset: Dataset) -> np.ndarray:
    """All inputs flattened to (n_samples, n_features), the parts of structured inputs side by
    side; loads the whole dataset (every item of a lazy one, logged as a warning)."""
    if isinstance(dataset, ArrayDataset):
        return _flat(dataset.inputs, len(dataset))
    LOGGER.warning("reading all %d inputs of a %s into memory (e.g. for noise.kind=instance)", len(dataset),  # type: ignore[arg-type]
                   type(dataset).__name__)
    return np.stack([_flat(dataset[i][0], None) for i in range(len(dataset))])  # type: ignore[arg-type]


def _flat(sample: Sample, n: int | None) -> np.ndarray:
    """A (batch of a) structured sample as one float32 row per sample (or one row)."""
    parts = [np.asarray(part, dtype=np.float32).reshape((n, -1) if n is not None else (-1,)) for _, part in _parts(sample)]
    return np.concatenate(parts, axis=-1)


SINGLE_SAMPLE_CLASSES = ("class(es) {names} have a single training sample each: it trains, and the validation split "
                         "has no sample of them, so model selection does not see those classes. Add samples to "
                         "validate on them.")


def stratified_split(labels: np.ndarray, *, fraction: float, seed: int, class_names: Sequence[str] | None = None,
                     single_to_train: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified split into (train_indices, val_indices).

    Every class puts ``round(fraction * n_class)`` samples in validation, at least one and
    at most ``n_class - 1``, so both sides see every class. ``class_names`` (by class id)
    lets errors name classes as the data file does. With ``single_to_train`` a class of a
    single sample keeps it for training (validation has none of that class; logged as a warning).

    Raises
    ------
    InputError
        If ``fraction`` is not in (0, 1), or a class has fewer than two samples (every class,
        with ``single_to_train``).
    """
    if not 0 < fraction < 1:
        raise InputError(f"val_fraction must be in (0, 1); received {fraction}, which would leave an empty "
                         "split. Use e.g. 0.05 (ECG5000) or 0.1 (Adult).")
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    lonely = classes[counts < 2]
    named = [class_names[int(c)] if class_names is not None and int(c) < len(class_names) else int(c)
             for c in lonely]
    if lonely.size and (not single_to_train or lonely.size == classes.size):
        raise InputError(f"the validation split would miss class(es) {named}: each has a single "
                         "training sample, and both train and validation need one. Drop or merge those "
                         "classes, or add samples.")
    if lonely.size:
        LOGGER.warning(SINGLE_SAMPLE_CLASSES.format(names=named))
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls, count in zip(classes, counts):
        if count < 2:  # single_to_train: the one sample trains, validation has none of its class
            continue
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(min(max(round(fraction * count), 1), count - 1))
        val_parts.append(members[:n_val])
    val = np.sort(np.concatenate(val_parts))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def shuffle_split(n_samples: int, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into (train_indices, val_indices) with ``round(fraction * n)`` (at
    least one) validation samples: for regression targets, which have no classes to stratify by.
    """
    if not 0 < fraction < 1:
        raise InputError(f"val_fraction must be in (0, 1); received {fraction}, which would leave an empty "
                         "split. Use e.g. 0.1.")
    if n_samples < 2:
        raise InputError(f"a validation split needs at least 2 training samples; received {n_samples}.")
    n_val = int(min(max(round(fraction * n_samples), 1), n_samples - 1))
    order = np.random.default_rng(seed).permutation(n_samples)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def group_split(groups: Sequence[Any] | np.ndarray, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split into (train_indices, val_indices) that keeps every group (subject) on one side:
    whole groups, in a random order, go to validation until it holds ``fraction`` of the samples
    (at least one group, never all).

    Raises
    ------
    InputError
        If ``fraction`` is not in (0, 1) or there are fewer than two groups.
    """
    if not 0 < fraction < 1:
        raise InputError(f"val_fraction must be in (0, 1); received {fraction}, which would leave an empty split.")
    groups = np.asarray(groups, dtype=object)
    names, codes = np.unique(groups.astype(str), return_inverse=True)
    if len(names) < 2:
        raise InputError(f"a validation split by subject needs at least 2 subjects; received {len(names)} "
                         f"({', '.join(names[:3])}). Add subjects, or drop the subject column (TaskData.groups).")
    sizes = np.bincount(codes)
    val_groups: list[int] = []
    for group in np.random.default_rng(seed).permutation(len(names)):
        if val_groups and sizes[val_groups].sum() >= fraction * len(groups):
            break
        if len(val_groups) == len(names) - 1:
            break
        val_groups.append(int(group))
    in_val = np.isin(codes, val_groups)
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)
