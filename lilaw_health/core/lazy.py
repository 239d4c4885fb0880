"""Datasets larger than memory: an index in memory, one item read per access.

A :class:`LazyDataset` holds only what every sample needs without its input: the targets,
the sample ids and one key per item (a file path, a path and an offset, ...). A ``reader``
turns a key into the item's input when the item is accessed, so memory stays the size of
the index whatever the size of the data, and the per-sample records of a run (training
dynamics, difficulty) are sized by the index as well. The trainer, :class:`LabeledView`,
:func:`~lilaw_health.core.data.collate_items`, the splits and DataLoader worker processes read
it like an :class:`~lilaw_health.core.data.ArrayDataset`; ``dataset_labels`` and
``dataset_sample_ids`` never read an item.

The reader must be picklable (a module-level function or a small class instance, not a
lambda or closure) for DataLoader workers under the ``spawn`` start method. What it returns
goes through the same float32 conversion and finiteness check as an ``ArrayDataset``'s
inputs, so a lazy and an in-memory dataset of the same arrays give bit-identical batches.

>>> import numpy as np
>>> rows = {"a": np.zeros(3), "b": np.ones(3)}
>>> dataset = LazyDataset(rows.__getitem__, ["a", "b"], [0, 1])
>>> x, y = dataset[1]
>>> x.tolist(), y
([1.0, 1.0, 1.0], 1)
"""

from __future__ import annotations

import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from lilaw_health.core.data import Sample, as_targets, as_tensors, target_item
from lilaw_health.core.errors import BAD_VALUE, LENGTH_MISMATCH, InputError, LilawError

Reader = Callable[[Any], Any]
"""key -> one item's input: an array-like, or a tuple or mapping of them."""

ITEM_UNREADABLE = ("item {index} (sample {sample_id!r}) of a lazy dataset could not be read from {key}: {error}. "
                   "{fix}")
DEFAULT_FIX = ("Restore or re-export that file (the dataset's index was built when the data was loaded), or "
               "remove the item from the data's listing and load it again.")


class LazyDataset(Dataset):
    """Items read on access: ``reader(keys[i])`` is the input of item ``i``.

    Parameters
    ----------
    reader : callable
        key -> input (array-like, or a tuple or mapping of them), picklable for worker processes.
    keys : sequence, (n_samples,)
        What ``reader`` needs to find each item (e.g. its file path).
    labels : array-like, (n_samples,)
        Class ids, or float targets with ``task="regression"``.
    sample_ids : sequence, (n_samples,), optional
        Default: positions 0..n-1.
    task : {"classification", "regression"}
    cache_size : int, default 0
        Items kept in memory after their read, least recently used first out (per process:
        each DataLoader worker has its own). 0 keeps none.
    fix : str
        How to repair a file that cannot be read; ends the error that names the item's key.

    Raises
    ------
    InputError
        On access, if the reader fails: the item, its sample id, its key, the reader's error and
        ``fix``. A reader's own :class:`~lilaw_health.core.errors.LilawError` (which already
        names the file and the fix) passes through unchanged.
    """

    def __init__(self, reader: Reader, keys: Sequence[Any], labels: np.ndarray | Sequence[float], *,
                 sample_ids: Sequence[Any] | None = None, task: str = "classification", cache_size: int = 0,
                 fix: str = DEFAULT_FIX) -> None:
        self.reader = reader
        self.keys = list(keys)
        self.targets = as_targets(np.asarray(labels), task=task)
        self.sample_ids = list(sample_ids) if sample_ids is not None else list(range(len(self.keys)))
        for arg, values in (("labels", self.targets), ("sample_ids", self.sample_ids)):
            if len(values) != len(self.keys):
                raise InputError(LENGTH_MISMATCH.format(arg_a=arg, arg_b="keys", len_a=len(values),
                                                        len_b=len(self.keys)))
        if not isinstance(cache_size, int) or isinstance(cache_size, bool) or cache_size < 0:
            raise InputError(BAD_VALUE.format(arg="cache_size", expected="an integer >= 0 (0: no cache)",
                                              received=repr(cache_size), fix=""))
        self.cache_size = cache_size
        self.fix = fix
        self._cache: OrderedDict[int, Sample] = OrderedDict()

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> tuple[Sample, int | float]:
        return self.read(index), target_item(self.targets[index])

    def read(self, index: int) -> Sample:
        """The input of item ``index`` (from the cache when it holds it)."""
        index = int(index)
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        try:
            raw = self.reader(self.keys[index])
        except LilawError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:  # missing, truncated, malformed
            raise self._unreadable(index, error) from error
        try:
            sample = as_tensors(raw, "inputs")
        except InputError as error:  # e.g. NaN values: the checks an in-memory dataset makes at construction
            raise self._unreadable(index, error) from error
        if self.cache_size:
            self._cache[index] = sample
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return sample

    def _unreadable(self, index: int, error: Exception) -> InputError:
        return InputError(ITEM_UNREADABLE.format(index=index, sample_id=self.sample_ids[index], key=self.keys[index],
                                                 error=error, fix=self.fix))

    def __getstate__(self) -> dict[str, Any]:
        """Workers start with an empty cache: their copy is pickled without the parent's items."""
        return {**self.__dict__, "_cache": OrderedDict()}
