"""The ``lilaw-health`` command: run a recipe, compare methods, list what is registered."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import MISSING, fields
from pathlib import Path

from lilaw_health import __version__
from lilaw_health.core import distributed
from lilaw_health.core.errors import ConfigError, LilawError
from lilaw_health.recipe import (SECTIONS, Recipe, builtin_recipes, load_recipe, recipe_fields, recipe_summary,
                                 valid_keys)

KEY_HELP = {
    "name": "experiment name; default output folder is runs/<name>",
    "domain": "data domain (lilaw-health list)",
    "dataset": "dataset name within the domain; default the domain's (ecg: any UCR/UEA dataset; tabular: adult, "
               "diabetes or csv)",
    "model": "model name within the domain; default the domain's (lilaw-health list shows each domain's models)",
    "method": "training method for `run`: erm, lilaw, clean (filter-and-retrain), dynamic_loss, or ERM with a "
              "fixed robust loss: gce, sce, focal, label_smoothing, cb_ce (class-balanced CE)",
    "methods": "methods for `compare`, e.g. [erm, lilaw]",
    "seed": "seed of `run`: noise, split, initialisation, shuffling",
    "seeds": "seeds for `compare`, e.g. [0, 1, 2]",
    "epochs": "training epochs (at least: min_steps may raise them; early stopping may end sooner)",
    "min_steps": "minimum optimiser steps: epochs become max(epochs, ceil(min_steps / steps per epoch)), so a small "
                 "training set trains enough; the cosine schedule follows (0 = off; ecg5000 sets 900)",
    "batch_size": "mini-batch size (also the meta step's validation batch)",
    "lr": "Adam learning rate of the model",
    "weight_decay": "Adam weight decay of the model",
    "keep": "the model a run evaluates: best (its best validation epoch) or last (its last epoch); a validation "
            "split too small to choose an epoch keeps the last",
    "patience": "early stopping after this many epochs without improvement (0 = off)",
    "monitor": "validation score for best-epoch selection: accuracy, balanced_accuracy, macro_f1, auroc, loss; "
               "regression: mae, rmse, r2, loss",
    "val_fraction": "stratified share of the (noisy) training data held out for validation (random for regression); "
                    "with fewer than 10 validation samples (or 2 per class) the run keeps the last epoch instead",
    "loss": "per-sample loss of erm, lilaw, clean: cross_entropy, focal, gce, sce, label_smoothing (e.g. LiLAW + GCE); "
            "regression: mse (the default there), huber",
    "class_weight": "none; balanced: weigh each sample's loss by n / (n_classes * count of its class), as "
                    "scikit-learn; effective_number: Cui et al. 2019 class-balanced weights (beta 0.999)",
    "sampler": "uniform, or balanced: draw every class equally often (with replacement)",
    "scheduler": "learning-rate schedule: none, or cosine (anneal to 0 over the epochs)",
    "threshold": "regression only: also report the binary metrics of target >= threshold (e.g. 3 for PSPI pain)",
    "augment": "training-batch augmentations, e.g. [{name: jitter, p: 0.5, sigma: 0.03}] (lilaw-health list)",
    "device": "auto (CUDA if available), cpu, cuda, cuda:1, ...; cuda where there is none is refused",
    "amp": "mixed precision of the model step on CUDA (float16 autocast + gradient scaler): auto (on with CUDA, "
           "off on the CPU), on (refused on the CPU), off; LiLAW's scalars and meta step stay float32",
    "workers": "DataLoader worker processes (0 = read batches in the training process); the result is the same "
               "for any count",
    "threads": "PyTorch CPU threads for the run; 0 keeps PyTorch's default (OMP_NUM_THREADS or the core count). "
               "Results can differ in the last digits between thread counts, so the shipped recipes fix 1",
    "noise.kind": "label noise: none, symmetric, asymmetric, pairflip, transition, instance, long_tailed "
                  "(new labels drawn in proportion to class frequency); regression targets: uniform (draws over "
                  "the range), shift (by half the range)",
    "noise.rate": "noise rate in [0, 1] (train and validation only; test labels stay clean)",
    "noise.matrix": "row-stochastic transition matrix for noise.kind=transition",
    "imbalance.factor": "long-tailed training set before noise: class k by size keeps n_max * factor^(-k/(C-1)) "
                        "samples (e.g. 10, 100; 1 keeps all)",
    "mix.generator": "synthetic samples mixed into training: none, or class_pca (per-class PCA + Gaussian, fitted "
                     "on the real training part only)",
    "mix.dataset": "a synthetic dataset of the same domain (name or folder) whose samples all join training",
    "mix.data": "data options of mix.dataset, over the recipe's data options (e.g. mix.data.root=synthetic/)",
    "mix.source": "the source name of mix.dataset's samples in difficulty.csv and the report (default synthetic)",
    "mix.ratio": "synthetic : real training samples, in the real class proportions (generator default 1.0; "
                 "data default: all of it)",
    "mix.per_class": "synthetic samples of every class (> 0 overrides mix.ratio)",
    "mix.failures": "share of planted generator failures: off-class draws and (ECG) implausible artefacts",
    "mix.meta_val": "validation (model selection, LiLAW's meta step) from real, synthetic (every other source), "
                    "both, or one source by name",
    "mix.real_train": "keep only this many real training samples, stratified (0 keeps all)",
    "mix.train_on_real": "false: train on the synthetic samples alone (the generator still fits the real ones)",
    "lilaw.alpha": "initial alpha (easy weight), >= 1; paper default 10",
    "lilaw.beta": "initial beta (hard weight); paper default 2",
    "lilaw.delta": "initial delta (moderate weight), >= beta; paper default 6",
    "lilaw.lr": "meta learning rate of the scalars (0.005)",
    "lilaw.weight_decay": "meta weight decay (1e-4)",
    "lilaw.warmup_epochs": "epochs with the plain loss and no meta step (1)",
    "lilaw.detach_weights": "stop the model gradient through W (ablation; off in the paper)",
    "lilaw.meta_every": "meta step every k training steps (1)",
    "clean.detect_epochs": "method clean: epochs of training whose dynamics score the samples before the restart",
    "clean.fraction": "method clean: share of training samples with the highest mislabel score to act on",
    "clean.threshold": "method clean: act on samples whose mislabel score exceeds this (instead of fraction)",
    "clean.action": "method clean: drop the suspects, or relabel them with the model's prediction",
    "clean.scope": "method clean: all samples, or synthetic: drop the lowest-valued clean.fraction of the synthetic "
                   "samples (the valuation filter) and retrain",
    "dynamic_loss.meta_lr": "dynamic_loss: Adam learning rate of the label corrector and margin generator",
    "dynamic_loss.hidden": "dynamic_loss: width of the embeddings and MLPs",
    "dynamic_loss.rank_bins": "dynamic_loss: R, loss-rank bins per class (ranks recomputed every epoch)",
    "dynamic_loss.ratio1": "dynamic_loss: metadata draw ceil(ratio1 * n_min) samples per class",
    "dynamic_loss.ratio2": "dynamic_loss: ... and keep the lowest-loss ratio2 of them",
    "dynamic_loss.warmup_epochs": "dynamic_loss: epochs without meta steps or metadata (softmax mixing)",
    "dynamic_loss.trust_init": "dynamic_loss: initial trust in the observed labels",
    "dynamic_loss.temperature": "dynamic_loss: Gumbel sample drawn from softmax(logits / temperature)",
    "dynamic_loss.virtual_lr": "dynamic_loss: step size of the virtual SGD step of the look-ahead",
    "dynamic_loss.finetune": "dynamic_loss: fine-tune on the metadata (one-hot + margins) between epochs",
    "dynamic_loss.finetune_lr": "dynamic_loss: SGD learning rate of that fine-tune",
    "data.<any>": "domain data options (ecg: root, format, length_policy, znorm, corrupt_fraction, features, ...; "
                  "tabular: protocol, path, target, sensitive, reference, baselines, mitigators, ...; "
                  "gait, pain: lazy (read each walk or face per access), ...)",
    "model_args.<any>": "keyword arguments of the model constructor",
}


def _keys_epilog() -> str:
    defaults = {f.name: f.default for f in recipe_fields() if f.name not in SECTIONS}
    for section, cls in SECTIONS.items():
        defaults.update({f"{section}.{f.name}": f.default for f in fields(cls)})
    lines = ["recipe keys (YAML, or --set key=value):"]
    width = max(map(len, valid_keys()))
    for key in valid_keys():
        default = defaults.get(key, "")
        if isinstance(default, tuple):
            default = "[" + ", ".join(map(str, default)) + "]"
        shown = "" if default in ("", None, MISSING) or callable(default) else f" [default: {default}]"
        lines.append(f"  {key:<{width}} {KEY_HELP.get(key, '')}{shown}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lilaw-health",
        description="Train reliable models on noisy clinical data with LiLAW (learnable adaptive sample "
                    "weighting) and compare robust-training methods.",
        epilog="Examples:\n  lilaw-health compare ecg5000_noisy\n"
               "  lilaw-health run ecg5000_noisy --set method=lilaw epochs=3 noise.rate=0.4\n"
               "  lilaw-health list",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,compare,list}")
    for name, summary in (("run", "train and evaluate one method with one seed"),
                          ("compare", "methods x seeds (x named settings) on the same data; print mean ± std")):
        cmd = sub.add_parser(name, help=summary, description=summary, epilog=_keys_epilog(),
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.add_argument("recipe", help="registered recipe name (lilaw-health list) or path to a YAML recipe")
        cmd.add_argument("--out", type=Path, help="output folder (default: runs/<recipe name>[/<method>/seed<k>])")
        cmd.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                         help="override recipe keys, e.g. --set epochs=3 noise.kind=symmetric noise.rate=0.4")
        cmd.add_argument("--quiet", action="store_true", help="no progress bars, warnings only")
        if name == "run":
            cmd.add_argument("--no-resume", action="store_true",
                             help="ignore an existing checkpoint in the output folder and start over")
        else:
            cmd.add_argument("--methods", nargs="+", help="methods to compare (default: the recipe's `methods`)")
            cmd.add_argument("--seeds", nargs="+", type=int, help="seeds (default: the recipe's `seeds`)")
            cmd.add_argument("--jobs", type=int, default=1, metavar="N",
                             help="train N runs at a time in separate processes (e.g. one per core; each gets "
                                  "cores/N PyTorch threads when the recipe's threads is 0); default 1")
            cmd.add_argument("--setting", dest="settings", nargs="+", action="append", default=[],
                             metavar=("NAME", "KEY=VALUE"),
                             help="a named setting (repeatable): its overrides on top of --set; each setting "
                                  "gets its own comparison in <out>/NAME and one row per method in "
                                  "<out>/settings.csv, e.g. --setting clean noise.kind=none "
                                  "--setting symmetric40 noise.kind=symmetric noise.rate=0.4")
    sub.add_parser("list", help="list recipes, methods, domains, models, noise models, losses and monitors",
                   description="List everything that can be chosen by name.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False) or distributed.env_rank() > 0  # under torchrun, rank 0 reports
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except LilawError as error:
        print(f"lilaw-health: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a file system refusal (disk full, permission) names its file, not a traceback
        if error.filename is None:
            raise
        print(f"lilaw-health: error: cannot write or read {error.filename}: {error.strerror}. Check the disk "
              "and the permissions of the output folder, then rerun the same command to resume.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lilaw-health: interrupted; rerun the same command to resume from the last checkpoint.",
              file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from lilaw_health.experiment import run_experiment

    recipe = load_recipe(args.recipe, args.overrides)
    out = args.out or Path("runs") / recipe.name / recipe.method / f"seed{recipe.seed}"
    metrics = run_experiment(recipe, out, progress=not args.quiet, resume=not args.no_resume)
    if not distributed.is_main():
        return 0
    test = metrics["test"]
    print(f"{recipe.name} | {recipe.method} | seed {recipe.seed} | " +
          " | ".join(f"{k} {v:.4f}" for k, v in test.items()))
    if metrics.get("final_scalars"):
        print("final scalars: " + ", ".join(f"{k}={v:.4f}" for k, v in metrics["final_scalars"].items()))
    print(f"outputs: {out}/ (report.html, metrics.json, difficulty.csv)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from lilaw_health.compare import BASELINE, run_comparison

    if args.settings:
        return _compare_settings(args)
    recipe = load_recipe(args.recipe, args.overrides)
    out = args.out or Path("runs") / recipe.name
    _, summary, cost = run_comparison(recipe, out, methods=args.methods, seeds=args.seeds, progress=not args.quiet,
                                      jobs=args.jobs)
    print(f"\n{recipe.name}: {recipe.dataset}, noise {recipe.noise.kind} {recipe.noise.rate}, test set clean")
    print(summary.to_string(index=False))
    print(f"\ncost per epoch and peak training memory, relative to {BASELINE}:")
    print(cost.to_string(index=False))
    print(f"\noutputs: {out}/ (comparison.html, summary.csv, cost.csv, runs.csv; one folder per run)")
    return 0


def _compare_settings(args: argparse.Namespace) -> int:
    from lilaw_health.compare import run_settings

    recipes: dict[str, Recipe] = {}
    for name, *overrides in args.settings:
        if name in recipes:
            raise ConfigError(f"--setting {name} is given twice; give each setting its own name.")
        recipes[name] = load_recipe(args.recipe, args.overrides, setting=overrides)
    first = next(iter(recipes.values()))
    out = args.out or Path("runs") / first.name
    table = run_settings(recipes, out, methods=args.methods, seeds=args.seeds, progress=not args.quiet,
                         jobs=args.jobs)
    print(f"\n{first.name}: {first.dataset}, {len(recipes)} settings, test set clean")
    print(table.to_string(index=False))
    print(f"\noutputs: {out}/ (settings.csv, settings.md, settings.png; one comparison folder per setting)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lilaw_health.core.losses import CLASS_WEIGHTS, PER_SAMPLE_LOSSES
    from lilaw_health.core.methods import METHODS
    from lilaw_health.core.metrics import MONITORS
    from lilaw_health.core.noise import NOISE_MODELS
    from lilaw_health.domains import DOMAIN_MODULES, get_domain

    sections = {"recipes": sorted(builtin_recipes()), "methods": METHODS.names(), "domains": sorted(DOMAIN_MODULES),
                "noise models": NOISE_MODELS.names(), "losses": PER_SAMPLE_LOSSES.names(),
                "class weights": CLASS_WEIGHTS.names(),
                "monitors": MONITORS.names()}
    for name in sorted(DOMAIN_MODULES):
        domain = get_domain(name)
        sections[f"{name} models"] = domain.model_names()
        if domain.augment_names():
            sections[f"{name} augmentations"] = domain.augment_names()
    recipes = builtin_recipes()
    sections["recipes"] = [f"{name:<20} {recipe_summary(recipes[name])}".rstrip() for name in sorted(recipes)]
    for title, names in sections.items():
        print(f"{title}:\n" + textwrap.indent("\n".join(names) or "(none)", "  "))
    return 0


COMMANDS = {"run": _run, "compare": _compare, "list": _list}

if __name__ == "__main__":
    sys.exit(main())
