"""Compare methods on the same data with the same seeds: a table of mean +- std, and their cost.

Each (method, seed) run has its own folder ``<out>/<method>/seed<k>``; a finished run (its
``metrics.json`` exists) is read back instead of retrained, and an interrupted one resumes
from its checkpoint, so a comparison can be continued across invocations.

The cost table (``cost.csv``) gives each method's wall time per epoch and peak memory during
training (see :mod:`lilaw_health.core.memory` for what is measured), and both relative to
ERM's in the same comparison. Each run records its own cost while it trains, so runs read
back from an earlier invocation carry the cost measured then; the report says how many.

``jobs`` > 1 trains the grid's runs in that many separate processes (one per core), each
writing its own folder; the table is the same as one run at a time, only faster.

:func:`run_settings` adds a third axis, named settings (e.g. clean, 40 % symmetric noise,
long-tailed): one comparison per setting in ``<out>/<setting>/``, and ``settings.csv`` /
``settings.md`` with every (setting, method) row and its cost ratios, and ``settings.png``
(test accuracy per setting and method).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from tqdm.auto import tqdm

from lilaw_health.core import distributed
from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.methods import METHODS
from lilaw_health.domains import get_domain
from lilaw_health.core.trainer import resolve_device
from lilaw_health.experiment import check_output_folder, check_same_recipe, run_experiment
from lilaw_health.recipe import Recipe
from lilaw_health.reporting import write_comparison_report
from lilaw_health.reporting.html import markdown_table
from lilaw_health.reporting.plots import plot_metric_by_setting

logger = logging.getLogger(__name__)

METRICS = ["accuracy", "balanced_accuracy", "macro_f1", "auroc",  # classification
           "mae", "rmse", "r2", "pearson", "binary_accuracy", "binary_balanced_accuracy", "binary_f1",
           "binary_auroc"]  # regression, and its binary outcome at the recipe's threshold
COSTS = ["seconds_per_epoch", "peak_memory_mb"]
BASELINE = "erm"


class Comparison(NamedTuple):
    """What :func:`run_comparison` wrote: one row per run, and one row per method of metrics and of cost."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    cost: pd.DataFrame


def run_comparison(recipe: Recipe, out_dir: str | Path, *, methods: Sequence[str] | None = None,
                   seeds: Sequence[int] | None = None, progress: bool = False, jobs: int = 1) -> Comparison:
    """Run every method with every seed (finished runs are read back), ``jobs`` runs at a time
    in separate processes (:func:`run_grid`)."""
    out_dir = Path(out_dir)
    methods = list(methods or recipe.methods)
    seeds = list(seeds if seeds is not None else recipe.seeds)
    for name in methods:
        METHODS.get(name)
    check_jobs(jobs)
    check_output_folder(out_dir)
    resolve_device(recipe.device)
    grid = [(m, s) for s in seeds for m in methods]
    run_dirs = {(m, s): out_dir / m / f"seed{s}" for m, s in grid}
    todo: dict[tuple[str, int], Recipe] = {}
    finished: dict[tuple[str, int], dict] = {}
    for method, seed in grid:
        run_recipe = dataclasses.replace(recipe, method=method, seed=seed)
        check_same_recipe(run_dirs[method, seed], run_recipe)
        done = run_dirs[method, seed] / "metrics.json"
        if done.exists():
            finished[method, seed] = json.loads(done.read_text())
        else:
            todo[method, seed] = run_recipe
    read_back = len(finished)
    finished.update(run_grid(todo, run_dirs, jobs=jobs, progress=progress))
    runs = pd.DataFrame([_row(method, seed, finished[method, seed]) for method, seed in grid])
    summary, cost = summarise(runs, methods), cost_table(runs, methods)
    atomic_write_text(out_dir / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out_dir / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out_dir / "cost.csv", cost.to_csv(index=False))
    get_domain(recipe.domain).compare_report(out_dir, runs=run_dirs, recipe=recipe)
    notes = ([READ_BACK.format(count=read_back, total=len(grid))] if read_back else []) + (
        [SHARED_MACHINE.format(jobs=jobs)] if jobs > 1 and todo else [])
    write_comparison_report(out_dir, title=f"{recipe.name}: {', '.join(methods)} over seeds {seeds}",
                            runs=runs, summary=summary, metrics=_metric_columns(runs), config_text=recipe.to_yaml(),
                            cost=cost, notes=notes or None)
    return Comparison(runs, summary, cost)


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1 (runs trained at a time); received {jobs}. E.g. --jobs 2 on two cores.")
    if jobs > 1 and distributed.world_size() > 1:
        raise ConfigError(f"--jobs {jobs} cannot be combined with torchrun: a data-parallel comparison trains one "
                          "run at a time on all processes. Drop --jobs, or run without torchrun.")


def run_grid(recipes: Mapping[tuple[str, int], Recipe], run_dirs: Mapping[tuple[str, int], Path], *, jobs: int,
             progress: bool) -> dict[tuple[str, int], dict]:
    """Train each (method, seed) recipe into its folder; its metrics by key. With ``jobs`` > 1
    the runs train in that many spawned processes, each with ``threads`` PyTorch threads (0:
    the cores shared out, at least 1) and, with several GPUs, one GPU each (:func:`worker_gpus`),
    so a grid takes about 1/jobs of the time on idle cores; results are the same as one at a time
    for a fixed ``threads``. A failed run stops the rest."""
    if jobs == 1 or len(recipes) <= 1:
        return {key: run_experiment(recipe, run_dirs[key], progress=progress)
                for key, recipe in tqdm(recipes.items(), desc="runs", disable=not progress)}
    threads = max(1, (os.cpu_count() or 1) // jobs)
    workers = min(jobs, len(recipes))
    context = multiprocessing.get_context("spawn")  # a forked child inherits PyTorch's thread pools and can deadlock
    gpus = worker_gpus(next(iter(recipes.values())).device, workers)
    claimed = context.Queue()
    for gpu in gpus:
        claimed.put(gpu)
    results: dict[tuple[str, int], dict] = {}
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_claim_gpu, initargs=(claimed, bool(gpus))) as pool:
        futures = {pool.submit(_run_in_process, recipe, run_dirs[key], threads): key for key, recipe in recipes.items()}
        try:
            for future in tqdm(as_completed(futures), total=len(futures), desc=f"runs ({jobs} at a time)",
                               disable=not progress):
                results[futures[future]] = future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # finished runs keep their folders; a rerun resumes
            raise
    return results


def worker_gpus(device: str, workers: int) -> list[str]:
    """The GPU each worker process trains on (one each, round robin), as ``CUDA_VISIBLE_DEVICES``
    entries: with ``device`` auto or cuda and more than one GPU visible; else none (an explicit
    ``cuda:<index>`` keeps every run on that GPU)."""
    import torch

    count = torch.cuda.device_count() if device in ("auto", "cuda") and torch.cuda.is_available() else 0
    if count < 2:
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [name.strip() for name in visible.split(",")][:count] if visible else [str(i) for i in range(count)]
    return [names[i % len(names)] for i in range(workers)]


def _claim_gpu(claimed: Any, use: bool) -> None:
    """Worker initialiser: it ends with the process that started it (:func:`exit_with_parent`)
    and, with ``use``, sees one GPU (as cuda:0), taken from ``claimed``, before CUDA starts."""
    exit_with_parent()
    if use:
        os.environ["CUDA_VISIBLE_DEVICES"] = claimed.get()


def exit_with_parent() -> None:
    """On Linux, ask for SIGTERM when the parent process dies: a compare killed with ``kill``
    leaves no worker training on into its folders (Ctrl-C reaches the workers anyway)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _run_in_process(recipe: Recipe, run_dir: Path, threads: int) -> dict:
    """One run in a spawned process: warnings only, tagged with the run; ``threads`` PyTorch
    threads unless the recipe fixes its own (the recipe itself is unchanged: it is the run's)."""
    import torch

    logging.basicConfig(level=logging.WARNING, format=f"%(levelname)s {recipe.method} seed {recipe.seed}: %(message)s")
    if not recipe.threads:
        torch.set_num_threads(threads)
    return run_experiment(recipe, run_dir)


def _row(method: str, seed: int, metrics: dict) -> dict:
    row = {"method": method, "seed": seed, **metrics["test"]}
    if metrics.get("detection"):
        row["detection_auroc"] = metrics["detection"]["auroc"]
    row.update((metrics.get("domain") or {}).get("summary", {}))
    row.update(metrics.get("group_summary") or {})
    synthetic = metrics.get("synthetic") or {}
    row.update({key: synthetic[key] for key in ("value_auroc", "value_auroc_off_class", "value_auroc_implausible",
                                                "w_alpha_auroc", "real_distance_auroc") if key in synthetic})  # how well the synthetic-sample value finds planted generator failures
    row["best_epoch"] = metrics.get("kept_epoch", metrics["best_epoch"])  # the evaluated epoch: early picks flag a mismatched monitor
    row["seconds_per_epoch"] = metrics["seconds_per_epoch"]
    row["peak_memory_mb"] = metrics.get("peak_memory_mb", float("nan"))  # absent from runs of older versions
    row["memory_measure"] = metrics.get("memory_measure", "unavailable")
    row.update({k: v for k, v in (metrics.get("final_scalars") or {}).items()})
    return row


def _metric_columns(runs: pd.DataFrame) -> list[str]:
    """The standard metrics, mislabel detection, then any domain summary columns."""
    fixed = [*METRICS, "detection_auroc"]
    domain = [c for c in runs.columns if c not in {*fixed, *COSTS, "memory_measure", "best_epoch", "method", "seed",
                                                    "alpha", "beta", "delta"}]
    return [c for c in fixed if c in runs.columns] + domain


def summarise(runs: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """One row per method: "mean ± std" (sample std over seeds) of each metric, and the run count."""
    columns = _metric_columns(runs) + ["seconds_per_epoch"]
    grouped = runs.groupby("method", sort=False)
    summary = pd.DataFrame({"method": list(methods)})
    summary["runs"] = [int(grouped.size().get(m, 0)) for m in methods]
    for column in columns:
        stats = grouped[column].agg(["mean", "std"])
        summary[column] = [_mean_std(stats.loc[m, "mean"], stats.loc[m, "std"]) for m in methods]
    return summary


def cost_table(runs: pd.DataFrame, methods: Sequence[str], *, baseline: str = BASELINE) -> pd.DataFrame:
    """One row per method: "mean ± std" over seeds of the seconds per epoch and of the peak
    training memory (MiB above the level at the start of training), and the ratio of each mean
    to ``baseline``'s (NaN when the baseline is not among the runs)."""
    grouped = runs.groupby("method", sort=False)
    table = pd.DataFrame({"method": list(methods), "runs": [int(grouped.size().get(m, 0)) for m in methods]})
    for column, ratio, digits in (("seconds_per_epoch", f"time_vs_{baseline}", 3),
                                  ("peak_memory_mb", f"memory_vs_{baseline}", 1)):
        stats = grouped[column].agg(["mean", "std"])
        table[column] = [_mean_std(stats.loc[m, "mean"], stats.loc[m, "std"], digits=digits) for m in methods]
        reference = stats.loc[baseline, "mean"] if baseline in stats.index else float("nan")
        table[ratio] = [round(float(stats.loc[m, "mean"] / reference), 2) for m in methods]
    measures = grouped["memory_measure"].agg(lambda values: "/".join(sorted(set(values))))
    table["memory_measure"] = [measures.get(m, "") for m in methods]
    return table


PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): the signal a process gets when its parent dies
SETTING_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def run_settings(recipes: Mapping[str, Recipe], out_dir: str | Path, *, methods: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None, progress: bool = False, jobs: int = 1) -> pd.DataFrame:
    """Run :func:`run_comparison` for each named setting (same methods and seeds) in
    ``<out_dir>/<setting>``; returns one row per (setting, method): the summary's mean ± std
    columns and the cost ratios to ERM within that setting, also written to ``settings.csv``
    and ``settings.md``, with the accuracies plotted in ``settings.png``."""
    out_dir = Path(out_dir)
    for name in recipes:
        if not SETTING_NAME.fullmatch(name):
            raise ConfigError(f"setting name {name!r} must be a folder name: letters, digits, '_', '.', '-' "
                              "(e.g. clean, symmetric40, long_tailed).")
    parts, headline = [], []
    for name, recipe in recipes.items():
        runs, summary, cost = run_comparison(recipe, out_dir / name, methods=methods, seeds=seeds, progress=progress,
                                             jobs=jobs)
        part = summary.merge(cost[["method", f"time_vs_{BASELINE}", f"memory_vs_{BASELINE}"]], on="method")
        parts.append(part.assign(setting=name)[["setting", *part.columns]])
        metric = _metric_columns(runs)[0]  # accuracy, or MAE for a regression
        headline.append(runs.set_index(["method", "seed"])[metric].rename(name))
    table = pd.concat(parts, ignore_index=True)
    cost_columns = ["seconds_per_epoch", f"time_vs_{BASELINE}", f"memory_vs_{BASELINE}"]
    table = table[[c for c in table.columns if c not in cost_columns] + cost_columns]
    atomic_write_text(out_dir / "settings.csv", table.to_csv(index=False))
    plot_metric_by_setting(pd.concat(headline, axis=1).reset_index(), out_dir / "settings.png",
                           settings=list(recipes), metric=metric)
    figure = f"![Test {metric} by setting](settings.png)"
    atomic_write_text(out_dir / "settings.md", f"{markdown_table(table)}\n\n{figure}\n")
    return table


SHARED_MACHINE = ("Runs trained {jobs} at a time in separate processes (compare --jobs {jobs}): their time per epoch "
                  "was measured while sharing the machine; compare costs within this table only.")
READ_BACK = ("{count} of {total} runs were read back from an earlier invocation; their time and memory were "
             "measured when they trained, under whatever load the machine had then.")


def _mean_std(mean: float, std: float, *, digits: int = 4) -> str:
    return f"{mean:.{digits}f} ± {0.0 if pd.isna(std) else std:.{digits}f}"
