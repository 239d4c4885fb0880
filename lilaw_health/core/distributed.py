"""Data-parallel training on PyTorch's own engine: ``torch.distributed``, launched by ``torchrun``.

``torchrun --nproc_per_node=N -m lilaw_health run RECIPE`` starts N processes and sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`init_from_env` joins them into one process
group (gloo on the CPU, nccl on CUDA). Without those variables, or with ``WORLD_SIZE=1``, nothing
is initialised and every helper here answers as the one process would (``shard`` returns its
input, ``world_size`` is 1), so a single-process run executes exactly what it did before.

How the trainer shares work (each rule keeps a run close to the single-process run with the
same ``batch_size``, which stays the global batch):

- every process draws the same seeded global batches and takes its contiguous share of each
  (:class:`ShardedBatchSampler`, :func:`shard`); DDP averages the gradients, which the trainer
  weighs by each share's size so that an uneven last batch counts every sample once;
- scalars a method learns from its own gradients (LiLAW's alpha, beta, delta) are updated from
  the sample-weighted mean of every process's gradient (:func:`sample_mean`), one rule on
  identical numbers, so they stay bit-identical on every process;
- per-sample records (training dynamics, validation logits) are gathered from every process
  (:func:`all_gather_array`), so each process holds the whole training and validation set.
"""

from __future__ import annotations

import atexit
import json
import os
from datetime import timedelta
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import BatchSampler, Sampler

from lilaw_health.core.checkpoint import atomic_write_text

TRACE_VARIABLE = "LILAW_HEALTH_RANK_TRACE"  # a folder: each process writes rank<k>.json there (tests read it)


EXIT_BARRIER_TIMEOUT = timedelta(seconds=60)


def env_world_size() -> int:
    """The number of processes ``torchrun`` started (1 without it)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def env_rank() -> int:
    """This process's rank as ``torchrun`` set it (0 without it); readable before :func:`init_from_env`."""
    return int(os.environ.get("RANK", "0"))


def init_from_env(device: torch.device) -> bool:
    """Join the process group ``torchrun`` describes; returns whether this run is data-parallel.

    nccl for a CUDA ``device`` (each process then uses the GPU ``LOCAL_RANK``), gloo otherwise.
    Calling it again, or without ``WORLD_SIZE > 1``, does nothing.
    """
    if env_world_size() <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        atexit.register(_destroy)
    return True


def _destroy() -> None:
    """At exit: wait for every process (up to a minute), then leave the group. A process that
    left while another still wrote its reports could make gloo abort the other at its own exit
    ("terminate called without an active exception", seen once in CI)."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=EXIT_BARRIER_TIMEOUT)
        else:
            dist.barrier()
    except RuntimeError:  # another process failed or is gone: leave anyway, torchrun reports it
        pass
    dist.destroy_process_group()


def world_size() -> int:
    """Processes training together (1 when no process group is initialised)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if world_size() > 1 else 0


def is_main() -> bool:
    """Whether this process writes the run's files (rank 0, or the only process)."""
    return rank() == 0


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def local_device(device: torch.device) -> torch.device:
    """This process's device: with several processes, ``cuda`` means the GPU ``LOCAL_RANK``."""
    if device.type == "cuda" and device.index is None and world_size() > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def data_parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel`` for the training forward; itself in one process."""
    if world_size() == 1:
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def broadcast_buffers(model: nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every process. Each process's last
    training forward updated its own; validation and checkpoints need one model."""
    if world_size() > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def shard(items: np.ndarray) -> np.ndarray:
    """This process's contiguous share of ``items`` (sizes differ by at most one); all of them
    in one process, or when there are fewer items than processes (every process takes all)."""
    world = world_size()
    if world == 1 or len(items) < world:
        return items
    return np.array_split(items, world)[rank()]


def _collective_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce_sum(value: Tensor) -> Tensor:
    """The sum over processes of ``value`` (a copy; ``value`` itself in one process)."""
    if world_size() == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total


def sample_mean(means: Sequence[Tensor], count: int) -> tuple[list[Tensor], Tensor]:
    """Means over every process's samples, from each process's means over its ``count`` samples.

    Returns the global means (0-d tensors, identical on every process) and the global count.
    One all-reduce, of ``len(means) + 1`` numbers.
    """
    packed = torch.stack([*(mean.detach().reshape(()) * count for mean in means),
                          torch.tensor(float(count), device=means[0].device)])
    packed = all_reduce_sum(packed)
    return list(packed[:-1] / packed[-1]), packed[-1]


def all_gather_array(array: np.ndarray) -> list[np.ndarray]:
    """Every process's ``array`` (any first-axis length, the same trailing shape), in rank order."""
    if world_size() == 1:
        return [array]
    device = _collective_device()
    boolean = array.dtype == np.bool_
    local = torch.as_tensor(np.ascontiguousarray(array.astype(np.uint8) if boolean else array), device=device)
    lengths = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(world_size())]
    dist.all_gather(lengths, torch.tensor([len(local)], dtype=torch.int64, device=device))
    longest = max(int(length) for length in lengths)
    padded = torch.zeros((longest, *local.shape[1:]), dtype=local.dtype, device=device)
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in lengths]
    dist.all_gather(parts, padded)
    gathered = [part[:int(length)].cpu().numpy() for part, length in zip(parts, lengths)]
    return [part.astype(bool) for part in gathered] if boolean else gathered


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` (a picklable object made in this run) on every process."""
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class ShardedBatchSampler(Sampler[list[int]]):
    """This process's share of each global batch drawn from ``sampler``.

    Every process iterates the same seeded ``sampler``, cuts it into batches of ``batch_size``
    (the global batch: the batches a single process would train on) and keeps its contiguous
    share (:func:`shard`). A last, partial batch too small to give every process two samples is
    dropped, as one process drops a last batch of one (BatchNorm cannot train on one sample).
    """

    def __init__(self, sampler: Sampler[int], *, batch_size: int) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self._minimum = 2 * world_size()

    def __iter__(self) -> Iterator[list[int]]:
        for batch in BatchSampler(self.sampler, self.batch_size, drop_last=False):
            if len(batch) < self.batch_size and len(batch) < self._minimum:
                continue
            yield shard(np.asarray(batch)).tolist()

    def __len__(self) -> int:
        full, rest = divmod(len(self.sampler), self.batch_size)  # type: ignore[arg-type]
        return full + int(rest >= self._minimum)

    def global_counts(self) -> list[int]:
        """The samples all processes train on in each batch, in order (the sum of the shares;
        each process holds the whole of a batch smaller than the process count), known
        without communication."""
        full, rest = divmod(len(self.sampler), self.batch_size)  # type: ignore[arg-type]
        sizes = [self.batch_size] * full + ([rest] if rest >= self._minimum else [])
        world = world_size()
        return [size if size >= world else size * world for size in sizes]


def write_rank_trace(state: dict[str, Any], model: nn.Module) -> None:
    """When ``$LILAW_HEALTH_RANK_TRACE`` names a folder, write what this process learned there
    (``rank<k>.json``: the trainer's per-step LiLAW trajectory, per-epoch history without times,
    and each parameter tensor's sum), for tests that check the processes agree bit for bit."""
    folder = os.environ.get(TRACE_VARIABLE)
    if not folder:
        return
    payload = {"trajectory": state["trajectory"],
               "history": [{key: value for key, value in row.items() if key != "seconds"} for row in state["history"]],
               "parameters": [float(parameter.detach().double().sum()) for parameter in model.parameters()]}
    atomic_write_text(Path(folder) / f"rank{rank()}.json", json.dumps(payload))
