"""Compare methods on the same data with the same seeds: a table of mean +- std.

Each (method, seed) run has its own folder ``<out>/<method>/seed<k>``; a finished run (its
``metrics.json`` exists) is read back instead of retrained, and an interrupted one resumes
from its checkpoint, so a comparison can be continued across invocations.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.core.methods import METHODS
from lilaw_health.domains import get_domain
from lilaw_health.experiment import run_experiment
from lilaw_health.recipe import Recipe
from lilaw_health.reporting import write_comparison_report

logger = logging.getLogger(__name__)

METRICS = ["accuracy", "balanced_accuracy", "macro_f1", "auroc"]


def run_comparison(recipe: Recipe, out_dir: str | Path, *, methods: Sequence[str] | None = None,
                   seeds: Sequence[int] | None = None, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every method with every seed; returns (one row per run, one row per method)."""
    out_dir = Path(out_dir)
    methods = list(methods or recipe.methods)
    seeds = list(seeds if seeds is not None else recipe.seeds)
    for name in methods:
        METHODS.get(name)
    rows, run_dirs = [], {}
    jobs = [(m, s) for s in seeds for m in methods]
    for method, seed in tqdm(jobs, desc="runs", disable=not progress):
        run_dir = run_dirs[method, seed] = out_dir / method / f"seed{seed}"
        done = run_dir / "metrics.json"
        if done.exists():
            metrics = json.loads(done.read_text())
        else:
            metrics = run_experiment(dataclasses.replace(recipe, method=method, seed=seed), run_dir, progress=progress)
        rows.append(_row(method, seed, metrics))
    runs = pd.DataFrame(rows)
    summary = summarise(runs, methods)
    atomic_write_text(out_dir / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out_dir / "summary.csv", summary.to_csv(index=False))
    domain = get_domain(recipe.domain)
    if domain.compare_report is not None:
        domain.compare_report(out_dir, runs=run_dirs)
    write_comparison_report(out_dir, title=f"{recipe.name}: {', '.join(methods)} over seeds {seeds}",
                            runs=runs, summary=summary, metrics=_metric_columns(runs), config_text=recipe.to_yaml())
    return runs, summary


def _row(method: str, seed: int, metrics: dict) -> dict:
    row = {"method": method, "seed": seed, **metrics["test"]}
    if metrics.get("detection"):
        row["detection_auroc"] = metrics["detection"]["auroc"]
    row.update((metrics.get("domain") or {}).get("summary", {}))
    row["seconds_per_epoch"] = metrics["seconds_per_epoch"]
    row.update({k: v for k, v in (metrics.get("final_scalars") or {}).items()})
    return row


def _metric_columns(runs: pd.DataFrame) -> list[str]:
    """The standard metrics, mislabel detection, then any domain summary columns."""
    fixed = [*METRICS, "detection_auroc"]
    domain = [c for c in runs.columns if c not in {*fixed, "method", "seed", "seconds_per_epoch",
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


def _mean_std(mean: float, std: float) -> str:
    return f"{mean:.4f} ± {0.0 if pd.isna(std) else std:.4f}"
