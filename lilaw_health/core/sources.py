"""Where each training sample comes from: real data, or synthetic data of a named source.

A domain's loader may label its training samples with ``TaskData.sources`` (e.g. a CSV with
a ``source`` column, or SynPAIN frames as ``synpain``); a recipe may add a whole synthetic
dataset (``mix.dataset``, joined here by :func:`join_synthetic`) or generated samples
(``mix.generator``). Either way the run trains on one :class:`SourcedDataset` that knows each
sample's source, the generator failure planted in it (if any), its distance to the real data
and its descriptive attributes, so that the core can split, weight, value and report by source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from lilaw_health.core.data import ArrayDataset, Sample, TaskData, dataset_labels, dataset_sample_ids, map_sample
from lilaw_health.core.data import sample_parts, target_item
from lilaw_health.core.errors import InputError

REAL, SYNTHETIC = "real", "synthetic"

MISMATCH = ("mix.dataset {dataset!r} does not match the real data {real!r}: its {what} is {theirs}, the real data's "
            "{ours}. {fix}")


class SourcedDataset(Dataset):
    """Datasets one after another, with per-sample ``targets``, ``sample_ids``, ``sources``,
    planted ``failure`` ("" for none), ``real_distance`` (0 for real samples, NaN when unknown)
    and ``attributes`` (a DataFrame, one row per sample; may have no columns)."""

    def __init__(self, parts: Sequence[Dataset], *, targets: np.ndarray, sample_ids: Sequence[Any],
                 sources: np.ndarray, failure: np.ndarray | None = None, real_distance: np.ndarray | None = None,
                 attributes: pd.DataFrame | None = None) -> None:
        self.parts = list(parts)
        self.offsets = np.cumsum([0, *(len(part) for part in self.parts)])  # type: ignore[arg-type]
        n = int(self.offsets[-1])
        self.targets = np.asarray(targets)
        self.sample_ids = list(sample_ids)
        self.sources = np.asarray(sources, dtype=object)
        self.failure = np.asarray(failure, dtype=object) if failure is not None else np.full(n, "", dtype=object)
        if real_distance is None:
            real_distance = np.where(self.sources == REAL, 0.0, np.nan)
        self.real_distance = np.asarray(real_distance, dtype=float)
        self.attributes = attributes.reset_index(drop=True) if attributes is not None else pd.DataFrame(index=range(n))
        lengths = {len(self.targets), len(self.sample_ids), len(self.sources), len(self.failure),
                   len(self.real_distance), len(self.attributes)}
        if lengths != {n}:
            raise InputError(f"SourcedDataset: every per-sample field needs {n} entries; received lengths {lengths}.")

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Sample, int | float]:
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        x, _ = self.parts[part][index - int(self.offsets[part])]
        return x, target_item(self.targets[index])


def dataset_sources(dataset: Dataset) -> np.ndarray:
    """The source of every sample (``dataset.sources``), or "real" for all."""
    sources = getattr(dataset, "sources", None)
    return np.asarray(sources, dtype=object) if sources is not None else np.full(len(dataset), REAL, dtype=object)  # type: ignore[arg-type]


def train_sources(data: TaskData) -> np.ndarray:
    """(n_train,) the source of each training sample: ``data.sources``, or "real" for all."""
    return np.asarray(data.sources, dtype=object) if data.sources is not None else dataset_sources(data.train)


def sourced_train(data: TaskData) -> SourcedDataset:
    """``data.train`` with its sources and attributes attached (one part)."""
    targets = dataset_labels(data.train, arg="training data", task=data.task)
    return SourcedDataset([data.train], targets=targets, sample_ids=dataset_sample_ids(data.train),
                          sources=train_sources(data), attributes=data.train_attributes)


def join_synthetic(real: TaskData, synthetic: TaskData, *, source: str = SYNTHETIC, dataset: str = "") -> TaskData:
    """``real`` with every sample of ``synthetic`` (its train and test parts) added to its training
    data. Samples the synthetic loader calls "real" take the name ``source``; sample ids are
    prefixed with their source. The real test data is untouched.

    Raises
    ------
    InputError
        If the two differ in task, classes or input shape (naming ``dataset`` and the fix).
    """
    name = dataset or synthetic.name
    checks = (("task", real.task, synthetic.task, "Give a synthetic set of the same task."),
              ("classes", real.class_names, synthetic.class_names,
               "Give the synthetic set the same classes (same label names and positive label)."),
              ("input shape", tuple(real.input_shape), tuple(synthetic.input_shape),
               "Load it with the same data options (e.g. length, crop size) as the real data (mix.data)."))
    layout = (("sample parts", _layout(real.train), _layout(synthetic.train),
               "Load both with the same input options (e.g. data.reference for paired faces) (mix.data)."),)
    for what, ours, theirs, fix in (*checks, *layout):
        if ours != theirs:
            raise InputError(MISMATCH.format(dataset=name, real=real.name, what=what, theirs=theirs, ours=ours,
                                             fix=fix))
    parts = [synthetic.train, synthetic.test]
    n_real, n_train, n_test = (_size(d) for d in (real.train, *parts))
    sources = np.concatenate([train_sources(synthetic), np.array([REAL] * n_test, dtype=object)])
    sources = np.where(sources == REAL, source, sources)
    targets = np.concatenate([dataset_labels(part, arg=f"mix.dataset {name}", task=real.task) for part in parts])
    ids = [f"{src}:{i}" for src, i in zip(sources, [*dataset_sample_ids(parts[0]), *dataset_sample_ids(parts[1])])]
    train = _concat([real.train, *parts], targets=np.concatenate(
        [dataset_labels(real.train, arg="training data", task=real.task), targets]),
        sample_ids=[*dataset_sample_ids(real.train), *ids])
    notes = [*real.extras.get("notes", []), *synthetic.extras.get("notes", [])]  # data preparation, for the report
    return dataclasses.replace(real, train=train, sources=np.concatenate([train_sources(real), sources]),
                               extras={**real.extras, **({"notes": notes} if notes else {})},
                               groups=_joined(real.groups, n_real, synthetic.groups, synthetic.test_groups, n_train,
                                              n_test, prefix=f"{source}:"),
                               train_attributes=_attributes(real.train_attributes, n_real,
                                                            synthetic.train_attributes, n_train, n_test))


def _layout(dataset: Dataset) -> list[tuple[str, tuple[int, ...]]]:
    """(part, shape) of the first sample: image + landmarks, sequence + mask, ..."""
    if _size(dataset) == 0:
        return []
    return [(path, tuple(part.shape)) for path, part in sample_parts(dataset[0][0])]


def _size(dataset: Dataset) -> int:
    return len(dataset)  # type: ignore[arg-type]


def _concat(datasets: Sequence[Dataset], *, targets: np.ndarray, sample_ids: list[Any]) -> Dataset:
    """In-memory datasets of one structure as one :class:`ArrayDataset` (fast batch gathers), else
    a :class:`SourcedDataset` over them."""
    if all(type(d) is ArrayDataset for d in datasets):
        try:
            inputs = _cat([d.inputs for d in datasets])  # type: ignore[attr-defined]
        except (RuntimeError, KeyError, TypeError):
            inputs = None
        if inputs is not None:
            task = "regression" if targets.dtype.kind == "f" else "classification"
            return ArrayDataset(map_sample(lambda t: t.numpy(), inputs), targets, sample_ids=sample_ids, task=task)
    return SourcedDataset(datasets, targets=targets, sample_ids=sample_ids, sources=np.full(len(targets), REAL))


def _cat(inputs: list[Any]) -> Any:
    first = inputs[0]
    if isinstance(first, dict):
        return {key: _cat([part[key] for part in inputs]) for key in first}
    if isinstance(first, tuple):
        return tuple(_cat([part[i] for part in inputs]) for i in range(len(first)))
    return torch.cat(inputs)


def _attributes(real: pd.DataFrame | None, n_real: int, synthetic: pd.DataFrame | None, n_synthetic: int,
                n_synthetic_test: int) -> pd.DataFrame | None:
    """Descriptive columns of the joined training data (empty where a part has none)."""
    if real is None and synthetic is None:
        return None
    real_part = real if real is not None else pd.DataFrame(index=range(n_real))
    syn_part = synthetic if synthetic is not None else pd.DataFrame(index=range(n_synthetic))
    filler = pd.DataFrame(index=range(n_synthetic_test), columns=syn_part.columns)
    return pd.concat([real_part, syn_part, filler], ignore_index=True)


def _joined(real: np.ndarray | None, n_real: int, syn_train: np.ndarray | None, syn_test: np.ndarray | None,
            n_syn_train: int, n_syn_test: int, *, prefix: str) -> np.ndarray | None:
    """Subject ids of the joined training data (synthetic ids prefixed; a sample without a
    subject is its own group)."""
    if real is None and syn_train is None and syn_test is None:
        return None
    real_part = list(real) if real is not None else [f"real:{i}" for i in range(n_real)]
    train = [f"{prefix}{g}" for g in syn_train] if syn_train is not None else [f"{prefix}{i}" for i in range(n_syn_train)]
    test = [f"{prefix}{g}" for g in syn_test] if syn_test is not None else [f"{prefix}t{i}" for i in range(n_syn_test)]
    return np.asarray(real_part + train + test, dtype=object)


