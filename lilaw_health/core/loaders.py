"""The trainer's batches: one DataLoader per epoch and pass, LiLAW's meta batches, and their
way to the device.

Every loader is built from the seed of its epoch (shuffling, the balanced sampler, a
data-parallel share), so a resumed run draws exactly the batches an uninterrupted one did.

Workers (``workers``, the DataLoader's ``num_workers``): the order of the samples is drawn in
the main process from the epoch's generator, and the DataLoader takes the same single number
from that generator (its workers' base seed) with or without workers; the trainer's
augmentation runs in the main process on whole batches. So a dataset whose items depend on
their index only (every dataset of lilaw_health) gives bit-identical batches, and results,
with any number of workers. A dataset that draws randomness while reading an item gets it from
:class:`WorkerSeed` (torch, NumPy and ``random`` seeded from the epoch's seed and the worker's
id): reproducible for a given seed and worker count, not across worker counts, since which
items a worker reads depends on how many workers there are. Workers start with each loader
(no ``persistent_workers``): an epoch's dataset can change (a method may hold samples out),
and persistent workers would keep their first epoch's seeds.

On CUDA, loader batches are read into pinned memory and every batch is copied with
``non_blocking=True``, so the copy overlaps the work queued before it instead of making the
host wait for the device.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler

from lilaw_health.core import distributed
from lilaw_health.core.data import LabeledView, PositionSubset, Sample, collate_items, map_sample

MetaBatch = tuple[Sample, Tensor]  # (inputs, possibly structured; targets) on the training device


class WorkerSeed:
    """``worker_init_fn``: seeds torch, NumPy and ``random`` in a DataLoader worker from the
    loader's seed and the worker's id (a class, so that it pickles for any start method)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, worker_id: int) -> None:
        state = np.random.SeedSequence([self.seed, worker_id]).generate_state(2)
        torch.manual_seed(int(state[0]))
        np.random.seed(int(state[1]))
        random.seed(int(state[1]))


def batch_loader(dataset: LabeledView | PositionSubset, *, batch_size: int, device: torch.device, seed: int = 0,
                 shuffle: bool = False, balanced: bool = False, shard: bool = False, workers: int = 0) -> DataLoader:
    """Batches ``(positions, inputs, targets)`` of ``dataset``, drawn with a generator seeded by ``seed``.

    ``balanced`` draws every class equally often (with replacement); with ``shard`` in a
    data-parallel run, this process's share of the batches one process would draw (same
    generator, same sampler, see :class:`~lilaw_health.core.distributed.ShardedBatchSampler`).
    """
    generator = torch.Generator().manual_seed(seed)
    sampler: RandomSampler | WeightedRandomSampler | None = None
    if balanced:
        counts = np.bincount(dataset.targets)
        weight = (1.0 / counts[dataset.targets]).tolist()
        sampler = WeightedRandomSampler(weight, num_samples=len(dataset), replacement=True, generator=generator)
    common = {"generator": generator, "collate_fn": collate_items, "pin_memory": device.type == "cuda",
              "num_workers": workers, "worker_init_fn": WorkerSeed(seed) if workers else None}
    if shard and distributed.world_size() > 1:
        batches = distributed.ShardedBatchSampler(sampler or RandomSampler(dataset, generator=generator),
                                                  batch_size=batch_size)
        return DataLoader(dataset, batch_sampler=batches, **common)  # type: ignore[arg-type]
    # BatchNorm over 2-D features cannot train on one sample: drop a last training batch of one
    drop_last = shuffle and len(dataset) % batch_size == 1
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      drop_last=drop_last, **common)  # type: ignore[arg-type]


def global_batch_sizes(loader: DataLoader) -> list[int] | None:
    """Samples in each global batch of a data-parallel training loader, known without
    communication; None for a loader of one process."""
    sampler = loader.batch_sampler
    return sampler.global_counts() if isinstance(sampler, distributed.ShardedBatchSampler) else None


def copy_to_device(sample: Sample, device: torch.device, *, pin: bool = False) -> Sample:
    """A (structured) batch on ``device``, copied asynchronously (``pin``: through pinned memory
    first, for a batch no pinning loader read; only on CUDA)."""
    return map_sample(lambda tensor: _copy(tensor, device, pin=pin), sample)


def _copy(tensor: Tensor, device: torch.device, *, pin: bool) -> Tensor:
    if pin and device.type == "cuda":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)


def meta_batches(val: LabeledView, *, batch_size: int, seed: int,
                 device: torch.device) -> Callable[[], MetaBatch]:
    """LiLAW's meta batches: ``batch_size`` random validation samples per call, drawn from a
    generator seeded by ``seed``, the same on every process, which takes its share."""
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(val))

    def next_meta_batch() -> MetaBatch:
        chosen = torch.randperm(len(val), generator=generator)[:size].numpy()  # host-side draw
        inputs, targets = val.batch(distributed.shard(chosen))
        return copy_to_device(inputs, device, pin=True), _copy(targets, device, pin=True)

    return next_meta_batch
