"""Wall time per epoch of LiLAW relative to ERM, same model and data, in one process.

Not a test: timings on a shared machine are noisy, so this prints medians and ratios
measured side by side (the methods alternate, so drift hits both alike).

    .venv/bin/python benchmarks/lilaw_overhead.py [--recipe ecg5000_noisy] [--model fcn] [--epochs 5] [--repeats 3]

Any recipe: its domain, data, model (or --model) and batch size, e.g. ``--recipe adult`` for the
tabular MLP (batch 256).

Then the parts of one step, through the methods' own code: ERM's and LiLAW's model steps,
LiLAW's meta step and the no-grad forward of a batch, which bounds LiLAW's cost from below.

Targets (issue 15): LiLAW at meta_every=1 costs at most 1.15x ERM per epoch for the CNN
encoders and 1.3x for the tabular MLP; the extra work is one no-grad forward of a validation
batch per training step, plus LiLAW's per-step bookkeeping.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from lilaw_health.core import METHODS, LiLAWConfig, MethodContext, TrainConfig, Trainer
from lilaw_health.core.loaders import meta_batches
from lilaw_health.core.losses import cross_entropy
from lilaw_health.domains import get_domain
from lilaw_health.experiment import prepare_splits
from lilaw_health.recipe import load_recipe


def epoch_seconds(method: str, meta_every: int, args: argparse.Namespace, splits, data) -> list[float]:
    torch.manual_seed(0)
    model = args.domain.build_model(args.model, data=data, options=args.model_args)
    # warm-up 0: every timed epoch of LiLAW takes its meta steps
    context = MethodContext(loss_fn=cross_entropy, n_classes=data.n_classes,
                            lilaw=LiLAWConfig(warmup_epochs=0, meta_every=meta_every))
    trainer = Trainer(model, METHODS.get(method)(context),
                      config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu"))
    history = trainer.fit(splits.train, splits.val).history
    return history["seconds"].tolist()[1:]  # the first epoch pays one-off allocation costs


def component_seconds(args: argparse.Namespace, splits, data, repeats: int = 15,
                      calls: int = 20) -> dict[str, float]:
    """Median seconds per call of each part of a training step, through the methods' own code on
    one real batch (any input structure): ERM's model step (forward, loss, backward, Adam),
    LiLAW's model step (its weighted loss, gradient through W), LiLAW's meta step
    (``after_model_step``: draw a validation batch, no-grad forward, closed-form update of the
    three scalars) and the no-grad forward of the training batch alone, which bounds LiLAW's cost
    from below (the meta batch is as large, unless the validation set is smaller)."""
    torch.manual_seed(0)
    model = args.domain.build_model(args.model, data=data, options=args.model_args)
    optimizer = torch.optim.Adam(model.parameters())
    size = min(args.batch_size, len(splits.train))
    x, y = splits.train.batch(np.arange(size))
    positions = torch.arange(size)
    context = MethodContext(loss_fn=cross_entropy, n_classes=data.n_classes, lilaw=LiLAWConfig(warmup_epochs=0))
    erm, lilaw = METHODS.get("erm")(context), METHODS.get("lilaw")(context)
    next_val_batch = meta_batches(splits.val, batch_size=args.batch_size, seed=0, device=torch.device("cpu"))

    def model_step(method) -> Callable[[], None]:
        def step() -> None:
            model.train()
            loss = method.training_loss(model(x), y, epoch=1, positions=positions)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return step

    def forward() -> None:
        model.eval()
        with torch.no_grad():
            model(x)
        model.train()

    parts = {"ERM model step": model_step(erm), "LiLAW model step": model_step(lilaw),
             "LiLAW meta step": lambda: lilaw.after_model_step(model, epoch=1, step=0, next_val_batch=next_val_batch),
             "no-grad forward of the batch": forward}
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(repeats):  # the parts alternate, so drift hits all alike
        for name, call in parts.items():
            call()
            started = time.perf_counter()
            for _ in range(calls):
                call()
            times[name].append((time.perf_counter() - started) / calls)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="ecg5000_noisy", help="recipe whose domain, data and model are timed")
    parser.add_argument("--model", help="model name of the recipe's domain (default: the recipe's)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    args.domain = get_domain(recipe.domain)
    args.model_args = recipe.model_args if args.model is None else {}
    args.model = args.model or recipe.model
    args.batch_size = args.batch_size or recipe.batch_size
    data = args.domain.load_data(recipe.dataset, options=recipe.data)
    splits = prepare_splits(data, recipe)
    variants = [("erm", 1), ("lilaw", 1), ("lilaw", 4)]
    times: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for variant in variants:
            times[variant] += epoch_seconds(*variant, args, splits, data)
    erm = statistics.median(times[("erm", 1)])
    print(f"{recipe.dataset}, model {args.model}, batch {args.batch_size}, {len(splits.train)} training samples, "
          f"torch threads {torch.get_num_threads()}, {args.repeats} x {args.epochs - 1} timed epochs each")
    print(f"{'method':<22}{'median s/epoch':>16}{'IQR':>16}{'ratio to ERM':>14}")
    for (method, every), seconds in times.items():
        q1, q3 = np.percentile(seconds, [25, 75])
        label = method if method == "erm" else f"{method} meta_every={every}"
        print(f"{label:<22}{statistics.median(seconds):>16.3f}{f'{q1:.3f}-{q3:.3f}':>16}"
              f"{statistics.median(seconds) / erm:>14.2f}")
    parts = component_seconds(args, splits, data)
    for name, seconds in parts.items():
        print(f"{name:<32}{seconds * 1000:>8.2f} ms per call")
    erm_step = parts["ERM model step"]
    print(f"per step at meta_every=1: LiLAW {(parts['LiLAW model step'] + parts['LiLAW meta step']) / erm_step:.2f}x "
          f"ERM; the no-grad forward alone makes it at least "
          f"{(erm_step + parts['no-grad forward of the batch']) / erm_step:.2f}x")


if __name__ == "__main__":
    main()
