"""LazyDataset: an index in memory, one item read per access; the views, collation, splits and
worker processes read it like an in-memory dataset."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lilaw_health.core.data import (
    ArrayDataset,
    LabeledView,
    collate_items,
    dataset_inputs,
    dataset_labels,
    dataset_sample_ids,
)
from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.core.lazy import DEFAULT_FIX, ITEM_UNREADABLE, LazyDataset


class NpyReader:
    """Reads one ``.npy`` file per key and counts its reads (a picklable class, as workers need)."""

    def __init__(self) -> None:
        self.reads: list[str] = []

    def __call__(self, path: str) -> dict[str, np.ndarray]:
        self.reads.append(path)
        values = np.load(path, allow_pickle=False)
        return {"series": values, "mean": values.mean(keepdims=True)}


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    arrays = rng.normal(size=(12, 5)).astype(np.float32)
    paths = []
    for i, row in enumerate(arrays):
        paths.append(str(tmp_path / f"item_{i}.npy"))
        np.save(paths[-1], row)
    return paths, arrays, np.arange(12) % 3


def test_items_are_read_only_on_access(files):
    paths, _, labels = files
    reader = NpyReader()
    dataset = LazyDataset(reader, paths, labels, sample_ids=[f"s{i}" for i in range(12)])
    indices = np.array([3, 7, 1])
    view = LabeledView(dataset, indices, dataset_labels(dataset)[indices], dataset_sample_ids(dataset)[:3])
    assert reader.reads == []  # labels, ids and views come from the index
    position, x, y = view[1]
    assert (position, y) == (1, 1) and reader.reads == [paths[7]]
    inputs, targets = view.batch([2, 0])
    assert reader.reads == [paths[7], paths[1], paths[3]] and targets.tolist() == [1, 0]
    assert inputs["series"].shape == (2, 5)


def test_a_lazy_dataset_gives_the_batches_of_the_in_memory_one(files):
    paths, arrays, labels = files
    lazy = LazyDataset(NpyReader(), paths, labels)
    eager = ArrayDataset({"series": arrays, "mean": arrays.mean(axis=1, keepdims=True)}, labels)
    indices = np.array([0, 5, 9, 11])
    views = [LabeledView(d, indices, labels[indices], list(indices)) for d in (lazy, eager)]
    batches = [collate_items([view[i] for i in range(len(view))]) for view in views]
    for part in ("series", "mean"):
        assert torch.equal(batches[0][1][part], batches[1][1][part])
    assert torch.equal(batches[0][2], batches[1][2])
    assert np.array_equal(dataset_inputs(lazy), dataset_inputs(eager))  # the one full read (instance noise)


def test_a_worker_process_reads_its_own_pickled_copy(files):
    paths, arrays, labels = files
    dataset = LazyDataset(NpyReader(), paths, labels, cache_size=4)
    dataset[0]
    copy = pickle.loads(pickle.dumps(dataset))
    assert copy._cache == {} and copy.keys == dataset.keys  # workers start without the parent's cached items
    view = LabeledView(dataset, np.arange(12), labels, list(range(12)))
    loader = DataLoader(view, batch_size=5, num_workers=1, collate_fn=collate_items)
    inputs = torch.cat([batch[1]["series"] for batch in loader])
    assert torch.equal(inputs, torch.as_tensor(arrays))


def test_the_cache_keeps_the_most_recently_read_items(files):
    paths, _, labels = files
    reader = NpyReader()
    dataset = LazyDataset(reader, paths, labels, cache_size=2)
    for index in (0, 1, 0, 2, 0, 1):
        dataset[index]
    assert reader.reads == [paths[0], paths[1], paths[2], paths[1]]  # 1 left when 2 came in; 0 stayed
    with pytest.raises(InputError) as error:
        LazyDataset(reader, paths, labels, cache_size=-1)
    assert str(error.value) == BAD_VALUE.format(arg="cache_size", expected="an integer >= 0 (0: no cache)",
                                                received="-1", fix="")


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_corrupt_item_names_its_file_and_the_fix(files, damage):
    paths, _, labels = files
    dataset = LazyDataset(NpyReader(), paths, labels, sample_ids=[f"s{i}" for i in range(12)])
    if damage == "missing":
        os.remove(paths[2])
    else:
        with open(paths[2], "r+b") as handle:
            handle.truncate(40)
    with pytest.raises(InputError) as error:
        dataset[2]
    head, tail = ITEM_UNREADABLE.format(index=2, sample_id="s2", key=paths[2], error="ERROR", fix=DEFAULT_FIX).split(
        "ERROR")
    assert str(error.value).startswith(head) and str(error.value).endswith(tail)


def test_non_finite_values_are_refused_with_the_items_key(tmp_path):
    path = tmp_path / "nan.npy"
    np.save(path, np.array([1.0, np.nan], dtype=np.float32))
    dataset = LazyDataset(np.load, [str(path)], [0], fix="Re-export it.")
    with pytest.raises(InputError, match=f"item 0 \\(sample 0\\) of a lazy dataset could not be read from {path}: "
                                         ".*non-finite.*Re-export it."):
        dataset[0]
