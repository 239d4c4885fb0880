"""The default time-series recipe on every dataset the installed UCR archive ships, beside its baselines.

Each dataset runs the recipe (``ucr`` by default: MiniRocket features and a linear head; 60 epochs
and at least 900 optimiser steps, 5 % validation, a split of fewer than 10 series keeps the last
epoch; ``--recipe ecg5000`` for the FCN) with ERM and one seed;
the run itself fits the 1-NN Euclidean and MiniRocket-ridge baselines on the same training
labels (``lilaw_health.domains.ecg.baselines``). Printed per dataset: the network's test
accuracy, both baselines', and ROCKET's published accuracy; then wins / ties / losses of the
network against each and the mean ranks. Runs go to ``--runs/<dataset>/erm/seed<seed>``; a
finished run is read back, so an interrupted benchmark resumes. A dataset that cannot run
(e.g. missing values inside series: ``--set data.nan_policy=interpolate``) gets its error in
the ``note`` column instead of stopping the others.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ucr_archive.py [--jobs 2] [--epochs 10]
        [--datasets Chinatown ECG200] [--set key=value ...] [--out ucr_archive.csv] [--finished-only]

Without ``--datasets`` the cheapest datasets run first (training steps x batch x length), so an
interrupted pass has covered as many as it could; rerun the same command to continue.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.compare import exit_with_parent
from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.domains.ecg.data import _package_folder, dataset_names

# ROCKET (Dempster, Petitjean and Webb 2020), mean test accuracy over 10 runs on the official
# train/test split, rounded to 4 decimals: results/results_ucr.csv of github.com/angus924/rocket
# (commit 41cfd4b5b1f6eb4b1adcab7e71d9ee6d27fb1e08). Only the datasets this archive ships.
ROCKET_PUBLISHED = {
    "ACSF1": 0.886, "Adiac": 0.7834, "AllGestureWiimoteX": 0.79, "AllGestureWiimoteY": 0.7727,
    "AllGestureWiimoteZ": 0.7661, "ArrowHead": 0.8143, "BME": 1.0, "Beef": 0.8333, "BeetleFly": 0.9,
    "BirdChicken": 0.9, "CBF": 1.0, "Car": 0.8467, "Chinatown": 0.9825, "ChlorineConcentration": 0.8145,
    "CinCECGTorso": 0.8362, "Coffee": 1.0, "Computers": 0.7612, "CricketX": 0.8195, "CricketY": 0.8523,
    "CricketZ": 0.8559, "Crop": 0.7513, "DiatomSizeReduction": 0.9699, "DistalPhalanxOutlineAgeGroup": 0.759,
    "DistalPhalanxOutlineCorrect": 0.7696, "DistalPhalanxTW": 0.7187, "DodgerLoopDay": 0.5725,
    "DodgerLoopGame": 0.8732, "DodgerLoopWeekend": 0.9746, "ECG200": 0.906, "ECG5000": 0.9472,
    "ECGFiveDays": 1.0, "EOGHorizontalSignal": 0.639, "EOGVerticalSignal": 0.5414, "Earthquakes": 0.7482,
    "ElectricDevices": 0.7294, "EthanolLevel": 0.5828, "FaceAll": 0.9465, "FaceFour": 0.9773, "FacesUCR": 0.9614,
    "FiftyWords": 0.8303, "Fish": 0.9794, "FordA": 0.9444, "FordB": 0.8051, "FreezerRegularTrain": 0.9976,
    "FreezerSmallTrain": 0.9496, "Fungi": 1.0, "GestureMidAirD1": 0.7169, "GestureMidAirD2": 0.6608,
    "GestureMidAirD3": 0.4146, "GesturePebbleZ1": 0.9058, "GesturePebbleZ2": 0.8304,
}
ACCURACIES = {"model": "network", "knn1": "1-NN", "minirocket_ridge": "MiniRocket-ridge",
              "rocket_published": "ROCKET (published)"}


def run_dataset(dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    """One dataset's row: accuracies, best epoch, wall time and a note (skipped baselines, errors)."""
    from threadpoolctl import threadpool_limits

    from lilaw_health.experiment import check_same_recipe, run_experiment
    from lilaw_health.recipe import load_recipe

    row: dict[str, Any] = {"dataset": dataset, "rocket_published": ROCKET_PUBLISHED.get(dataset, np.nan)}
    start = time.perf_counter()
    try:
        overrides = [f"dataset={dataset}", "method=erm", f"seed={args.seed}", *args.overrides]
        recipe = load_recipe(args.recipe, overrides + ([f"epochs={args.epochs}"] if args.epochs else []))
        run_dir = Path(args.runs) / dataset / "erm" / f"seed{args.seed}"
        check_same_recipe(run_dir, recipe)  # a finished run is read back only if it ran this recipe
        done = run_dir / "metrics.json"
        read_back = done.exists()
        if args.finished_only and not read_back:
            return {**row, "seconds": 0.0, "note": "not run (--finished-only: no finished run in --runs)"}
        with threadpool_limits(1 if args.jobs > 1 else None):  # BLAS threads too: the processes share the cores
            metrics = json.loads(done.read_text()) if read_back else run_experiment(recipe, run_dir)
    except (ValueError, KeyError, RuntimeError, OSError, MemoryError) as error:  # reported in its row; others run
        return {**row, "seconds": time.perf_counter() - start, "note": f"{type(error).__name__}: {error}"}
    domain = metrics.get("domain") or {}
    notes = [f"{name} {reason}" for name, reason in (domain.get("not_run") or {}).items()]
    row.update(model=metrics["test"]["accuracy"], kept_epoch=metrics.get("kept_epoch", metrics["best_epoch"]),
               seconds=time.perf_counter() - start, note="; ".join(["read back"] * read_back + notes))
    row.update({name: values["accuracy"] for name, values in (domain.get("baselines") or {}).items()})
    return row


def estimated_cost(dataset: str, *, epochs: int = 60, min_steps: int = 900, batch_size: int = 32) -> float:
    """Samples x length the default recipe trains on: optimiser steps (the epochs, or the
    min_steps budget) x batch x series length, read off the training file (a proxy for time)."""
    path = next(_package_folder().glob(f"**/{dataset}_TRAIN*"))
    with open(path) as handle:
        lines = [line for line in handle if line.strip()]
    length = max(len(line.replace(",", " ").split()) for line in lines[:50]) - 1
    steps = max(epochs * -(-len(lines) // batch_size), min_steps)
    return float(steps * min(batch_size, len(lines)) * length)


def run_all(datasets: list[str], args: argparse.Namespace) -> pd.DataFrame:
    """Rows in ``datasets`` order; each printed as it finishes (runs resume from their folders)."""
    rows: dict[str, dict[str, Any]] = {}

    def finished(row: dict[str, Any]) -> None:
        rows[row["dataset"]] = row
        print(f"[{len(rows)}/{len(datasets)}] {row['dataset']}: network {_accuracy(row.get('model', np.nan))}, "
              f"1-NN {_accuracy(row.get('knn1', np.nan))}, MiniRocket-ridge "
              f"{_accuracy(row.get('minirocket_ridge', np.nan))} ({row['seconds']:.0f} s) {row.get('note') or ''}",
              flush=True)

    if args.jobs == 1:
        for name in datasets:
            finished(run_dataset(name, args))
    else:  # spawn: forked PyTorch/OpenMP state can deadlock a child
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=exit_with_parent) as pool:  # a killed benchmark leaves no worker
            for future in as_completed([pool.submit(run_dataset, name, args) for name in datasets]):
                finished(future.result())
    table = pd.DataFrame([rows[name] for name in datasets])
    for column in ("model", "knn1", "minirocket_ridge", "rocket_published", "kept_epoch", "seconds", "note"):
        if column not in table:
            table[column] = np.nan
    table["seconds"] = table["seconds"].round(1)
    return table[["dataset", "model", "knn1", "minirocket_ridge", "rocket_published", "kept_epoch", "seconds", "note"]]


def summary(table: pd.DataFrame, *, tie: float) -> list[str]:
    """Wins / ties / losses of the network against each baseline, and mean ranks (1 = best)."""
    lines = []
    for baseline in ("knn1", "minirocket_ridge", "rocket_published"):
        both = table[["model", baseline]].dropna()
        diff = both["model"] - both[baseline]
        wins, ties = int((diff > tie).sum()), int((diff.abs() <= tie).sum())
        lines.append(f"network vs {ACCURACIES[baseline]}: {wins} wins, {ties} ties, {len(both) - wins - ties} losses "
                     f"over {len(both)} datasets; mean accuracy {both['model'].mean():.4f} vs "
                     f"{both[baseline].mean():.4f}")
    for columns in (["model", "knn1", "minirocket_ridge"], ["model", "knn1", "minirocket_ridge", "rocket_published"]):
        complete = table[columns].dropna()
        if len(complete):
            ranks = complete.rank(axis=1, ascending=False).mean()  # ties share the mean rank
            lines.append(f"mean rank over {len(complete)} datasets: " +
                         ", ".join(f"{ACCURACIES[c]} {ranks[c]:.2f}" for c in columns))
    at_least = table[["model", "knn1"]].dropna()
    if len(at_least):
        share = float((at_least["model"] >= at_least["knn1"] - tie).mean())
        lines.append(f"network >= 1-NN on {share:.0%} of {len(at_least)} datasets (issue 16 target: 90 %)")
    return lines


def _accuracy(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="ucr", help="recipe name or YAML path (default ucr)")
    parser.add_argument("--datasets", nargs="+", help="dataset names (default: every dataset of the archive, "
                        "cheapest first by training steps x batch x length)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs (a quick pass)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                        help="more recipe overrides, e.g. data.nan_policy=interpolate")
    parser.add_argument("--jobs", type=int, default=1, help="datasets run in this many processes")
    parser.add_argument("--tie", type=float, default=0.0, help="accuracy differences up to this count as ties")
    parser.add_argument("--runs", default="runs/ucr_archive", help="folder of the run folders")
    parser.add_argument("--out", help="write the table to this CSV file")
    parser.add_argument("--finished-only", action="store_true",
                        help="train nothing: tabulate the finished runs in --runs (the others are listed as not run)")
    args = parser.parse_args()
    datasets = args.datasets or sorted(dataset_names(), key=estimated_cost)  # cheapest first
    unknown = sorted(set(datasets) - set(dataset_names()))
    if unknown:
        parser.error(f"unknown dataset(s) {unknown}; the archive holds {', '.join(dataset_names())}")
    start = time.perf_counter()
    table = run_all(datasets, args)
    formatters = {**{c: _accuracy for c in ACCURACIES}, "kept_epoch": lambda v: "" if pd.isna(v) else f"{v:.0f}"}
    print(table.drop(columns="note").to_string(index=False, formatters=formatters, na_rep=""))
    print("".join(f"\n{row.dataset}: {row.note}" for row in table.itertuples()
                  if isinstance(row.note, str) and row.note))
    print(f"\nrecipe {args.recipe}, ERM, seed {args.seed}, epochs {args.epochs or 'as in the recipe'}, "
          f"{args.jobs} process(es), {time.perf_counter() - start:.0f} s")
    print("\n".join(summary(table, tie=args.tie)))
    if args.out:
        atomic_write_text(args.out, table.to_csv(index=False))
        print(f"table: {args.out}")


if __name__ == "__main__":
    main()
