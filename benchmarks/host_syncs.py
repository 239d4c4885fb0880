"""Host synchronisations per training step of ``Trainer.fit``, counted on the CPU.

On a GPU, reading a value the device computed (``Tensor.item``, ``.cpu``, ``.tolist``,
``.numpy``, ``float(t)``, ``int(t)``, ``bool(t)``, e.g. ``if t.any():``) makes the host wait
for every kernel queued before it, and so does a copy to or from the device without
``non_blocking=True`` (``t.to(device)``); one such call per training step stalls the pipeline
every step. On the CPU nothing waits, but the calls are the same. This benchmark wraps those Tensor
methods while ``Trainer.fit`` runs and counts the calls made inside the training loop
(``Trainer._train_epoch``: the model step, the method's hooks, the dynamics bookkeeping),
divided by the number of optimiser steps, for ``erm`` and ``lilaw`` (meta step every step, no
warm-up) on ECG5000 with the FCN. Calls made elsewhere in ``fit`` (validation, checkpoints)
are reported per epoch. Each call site is listed with its calls per step.

What the count is: an upper bound of the device-to-host reads. Reads inside PyTorch of tensors
that stay on the host on any device (the DataLoader's base seed, Adam's per-parameter step
counters) are listed apart and not counted; a read in lilaw_health of a tensor that lives on the
host anyway (e.g. the loader's sample positions) counts. What it misses: operations
whose output size depends on the data (``nonzero``, boolean-mask indexing), which also
synchronise on CUDA but call none of the wrapped methods.

    .venv/bin/python benchmarks/host_syncs.py [--epochs 2] [--train-size 0] [--batch-size 32]

Run it from a copy of an older commit (``git archive <commit> | tar -x -C /tmp/old`` and
``PYTHONPATH=/tmp/old``) to count that version: it uses only ``Trainer`` / ``TrainConfig``
arguments every version has.
"""

from __future__ import annotations

import argparse
import collections
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import lilaw_health
from lilaw_health.core import METHODS, LabeledView, LiLAWConfig, MethodContext, TrainConfig, Trainer
from lilaw_health.core.losses import cross_entropy
from lilaw_health.domains.ecg import DOMAIN
from lilaw_health.experiment import prepare_splits
from lilaw_health.recipe import load_recipe

WRAPPED = ("item", "cpu", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__", "to")
PACKAGE = str(Path(lilaw_health.__file__).parent)
# reads inside PyTorch of tensors that live on the host whatever the device: not counted as syncs
HOST_SIDE = {"torch/optim/": "torch.optim (Adam's step counters, kept on the host)",
             "torch/utils/data/": "torch.utils.data (the loader's base seed, drawn on the host)"}


class HostReads:
    """Counts calls of the WRAPPED Tensor methods by call site while active (nested calls once)."""

    def __init__(self) -> None:
        self.in_loop: collections.Counter[str] = collections.Counter()
        self.elsewhere: collections.Counter[str] = collections.Counter()
        self.host_side: collections.Counter[str] = collections.Counter()
        self._originals: dict[str, Callable[..., Any]] = {}
        self._depth = 0

    def __enter__(self) -> HostReads:
        for name in WRAPPED:
            original = getattr(torch.Tensor, name)
            self._originals[name] = original
            setattr(torch.Tensor, name, self._wrap(name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            if self._depth == 0 and (name != "to" or _blocking_copy(args, kwargs)):
                self._count(name)
            self._depth += 1
            try:
                return original(tensor, *args, **kwargs)
            finally:
                self._depth -= 1
        return counted

    def _count(self, name: str) -> None:
        frame: Any = sys._getframe(2)
        site, in_loop = None, False
        while frame is not None:
            path = frame.f_code.co_filename
            if site is None and any(part in path for part in HOST_SIDE):
                site = next(label for part, label in HOST_SIDE.items() if part in path)
            if site is None and path.startswith(PACKAGE):
                site = f"{Path(path).relative_to(PACKAGE).as_posix()}:{frame.f_lineno} {frame.f_code.co_name}"
            if frame.f_code.co_name == "_train_epoch" and path.endswith("trainer.py"):
                in_loop = True
                break
            frame = frame.f_back
        if site in HOST_SIDE.values():
            self.host_side[site] += 1
        else:
            (self.in_loop if in_loop else self.elsewhere)[f"{site} .{name}"] += 1


def _blocking_copy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a ``Tensor.to`` call names a device (or a tensor's) and does not pass ``non_blocking=True``:
    on CUDA, PyTorch waits for such a copy (either way) before returning."""
    to_device = "device" in kwargs or (args and isinstance(args[0], (torch.device, str, torch.Tensor)))
    non_blocking = kwargs.get("non_blocking", len(args) > 1 and isinstance(args[1], bool) and args[1])
    return bool(to_device) and not non_blocking


def run(method: str, args: argparse.Namespace, train: LabeledView, val: LabeledView, data: Any) -> None:
    torch.manual_seed(0)
    model = DOMAIN.build_model("fcn", data=data, options={})
    context = MethodContext(loss_fn=cross_entropy, n_classes=data.n_classes, lilaw=LiLAWConfig(warmup_epochs=0))
    trainer = Trainer(model, METHODS.get(method)(context),
                      config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu"))
    steps = [0]
    handle = register_optimizer_step_post_hook(lambda *_: steps.__setitem__(0, steps[0] + 1))
    try:
        with HostReads() as reads:
            trainer.fit(train, val)
    finally:
        handle.remove()
    in_loop, elsewhere = sum(reads.in_loop.values()), sum(reads.elsewhere.values())
    # a site called at least once per step is in the hot path; the others run per epoch (or every few steps)
    every_step = sum(calls for calls in reads.in_loop.values() if calls >= steps[0])
    print(f"\n{method}: {steps[0]} steps, {args.epochs} epochs; host reads in the training loop "
          f"{in_loop / steps[0]:.2f} per step ({in_loop} calls): {every_step / steps[0]:.2f} per step at sites "
          f"called every step, {(in_loop - every_step) / args.epochs:.1f} per epoch at the others; "
          f"elsewhere in fit {elsewhere / args.epochs:.1f} per epoch")
    for site, calls in reads.in_loop.most_common():
        print(f"  {calls / steps[0]:6.2f}/step  {site}")
    for site, calls in reads.host_side.items():
        print(f"  not counted, host data: {calls / steps[0]:.2f}/step in {site}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=0, help="first N training beats (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = DOMAIN.load_data("ECG5000", options={})
    splits = prepare_splits(data, load_recipe("ecg5000_noisy"))
    train, val = splits.train, splits.val
    if args.train_size:
        keep = np.arange(min(args.train_size, len(train)))
        train = LabeledView(train.base, train.indices[keep], train.targets[keep], train.sample_ids[: len(keep)])
    print(f"lilaw_health from {PACKAGE}; ECG5000, FCN, {len(train)} training beats, {len(val)} validation, "
          f"batch {args.batch_size} ({math.ceil(len(train) / args.batch_size)} steps per epoch)")
    for method in ("erm", "lilaw"):
        run(method, args, train, val, data)


if __name__ == "__main__":
    main()
