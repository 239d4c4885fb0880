"""Wall time and peak memory of the robust-training methods relative to ERM, in one process.

Not a test: timings on a shared machine are noisy, so the methods alternate (drift hits all
alike) and medians are printed. Every timed epoch takes its method's full cost: LiLAW and
Dynamic Loss run without warm-up, so each step has its meta step. Per step = seconds per
epoch / training steps in that epoch (Dynamic Loss holds its metadata out, so it takes
slightly fewer steps; its per-epoch ranking pass and fine-tune are spread over them).

    .venv/bin/python benchmarks/robust_methods_cost.py [--model fcn] [--epochs 4] [--repeats 3]

Expectation (issue 5): Dynamic Loss near 3x ERM per step (two extra backward passes through
the look-ahead), LiLAW near 1.1-1.3x, the robust losses ~1x.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics

import torch

from lilaw_health.core import METHODS, LiLAWConfig, MethodContext, PeakMemory, TrainConfig, Trainer
from lilaw_health.core.losses import PER_SAMPLE_LOSSES
from lilaw_health.core.methods import DynamicLossConfig, method_loss
from lilaw_health.domains.ecg import DOMAIN
from lilaw_health.experiment import prepare_splits
from lilaw_health.recipe import load_recipe

METHOD_NAMES = ("erm", "gce", "sce", "focal", "lilaw", "dynamic_loss")


def measure(method: str, args: argparse.Namespace, splits, data) -> tuple[list[float], float, float]:
    """Seconds of each timed epoch, training steps per epoch, peak memory (MiB)."""
    torch.manual_seed(0)
    model = DOMAIN.build_model(args.model, data=data)
    loss, _ = method_loss(method)
    context = MethodContext(loss_fn=PER_SAMPLE_LOSSES.get(loss), n_classes=data.n_classes,
                            lilaw=LiLAWConfig(warmup_epochs=0), dynamic_loss=DynamicLossConfig(warmup_epochs=0))
    instance = METHODS.get(method)(context)
    steps = []
    counted = instance.training_loss

    def counting(*a, **k):
        steps.append(k["epoch"])
        return counted(*a, **k)

    instance.training_loss = counting  # type: ignore[method-assign]
    trainer = Trainer(model, instance, config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device="cpu"))
    with PeakMemory("cpu") as memory:
        history = trainer.fit(splits.train, splits.val).history
    per_epoch = len(steps) / args.epochs
    return history["seconds"].tolist()[1:], per_epoch, memory.peak_mb  # epoch 0 pays one-off allocations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fcn", help="ecg model name (fcn, lstm)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--methods", nargs="+", default=list(METHOD_NAMES))
    args = parser.parse_args()
    recipe = dataclasses.replace(load_recipe("ecg5000_noisy"), seed=0)
    data = DOMAIN.load_data("ECG5000")
    splits = prepare_splits(data, recipe)
    seconds: dict[str, list[float]] = {m: [] for m in args.methods}
    steps: dict[str, float] = {}
    memory: dict[str, list[float]] = {m: [] for m in args.methods}
    measure(args.methods[0], args, splits, data)  # the process's first run pays one-off allocations: discard it
    for _ in range(args.repeats):
        for method in args.methods:
            timed, steps[method], peak = measure(method, args, splits, data)
            seconds[method] += timed
            memory[method].append(peak)
    base = args.methods[0]
    base_epoch, base_step = statistics.median(seconds[base]), statistics.median(seconds[base]) / steps[base]
    base_memory = statistics.median(memory[base])
    print(f"ECG5000, model {args.model}, batch {args.batch_size}, {len(splits.train)} training beats, torch threads "
          f"{torch.get_num_threads()}, {args.repeats} x {args.epochs - 1} timed epochs each; ratios to {base}")
    print(f"{'method':<14}{'s/epoch':>9}{'steps':>7}{'ms/step':>9}{'epoch x':>9}{'step x':>8}{'peak MiB':>10}{'mem x':>7}")
    for method in args.methods:
        epoch = statistics.median(seconds[method])
        step = epoch / steps[method]
        peak = statistics.median(memory[method])
        print(f"{method:<14}{epoch:>9.3f}{steps[method]:>7.0f}{1000 * step:>9.1f}{epoch / base_epoch:>9.2f}"
              f"{step / base_step:>8.2f}{peak:>10.1f}{peak / base_memory:>7.2f}")


if __name__ == "__main__":
    main()
