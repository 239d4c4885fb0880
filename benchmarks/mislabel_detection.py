"""How well each per-sample score finds injected label flips, next to cleanlab.

Not a test. For each noise setting and seed it trains one recipe (its own noise overridden),
reads ``difficulty.csv`` and scores the flip mask with every candidate score. When cleanlab
is installed (optional; it is AGPL and never a dependency of lilaw_health) it adds
cleanlab's label-quality score from 5-fold cross-validated logistic-regression
probabilities on the same noisy labels, as cleanlab's documentation recommends.

    .venv/bin/python benchmarks/mislabel_detection.py --recipe ecg5000_noisy \\
        --noise symmetric:0.2 symmetric:0.4 symmetric:0.6 asymmetric:0.4 instance:0.4 --seeds 0 1 2

Prints mean ± std over seeds of AUROC, AUPRC and precision at the true noise count, and
writes the rows to ``<out>/detection.csv``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lilaw_health.core.data import dataset_inputs
from lilaw_health.core.metrics import detection_metrics
from lilaw_health.domains import get_domain
from lilaw_health.experiment import prepare_splits, run_experiment
from lilaw_health.recipe import NoiseSettings, load_recipe

# score name -> (difficulty.csv column, sign): higher score = more suspect
SCORES = {
    "mislabel_score": ("mislabel_score", 1.0),
    "1 - W_alpha (best epoch)": ("W_alpha", -1.0),
    "1 - W_alpha mean over epochs": ("w_alpha_mean", -1.0),
    "1 - W_alpha early (epochs 1-9)": ("w_alpha_early", -1.0),
    "-AUM": ("aum", -1.0),
    "forgetting events": ("forgetting_events", 1.0),
    "loss (best epoch)": ("loss", 1.0),
}


def cleanlab_scores(recipe, seed: int) -> np.ndarray | None:
    """1 - cleanlab label quality from 5-fold CV logistic regression, in difficulty.csv's row order."""
    try:
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    data = get_domain(recipe.domain).load_data(recipe.dataset, options=recipe.data)
    splits = prepare_splits(data, dataclasses.replace(recipe, seed=seed))
    features = dataset_inputs(data.train)
    order = np.r_[splits.train.indices, splits.val.indices]  # difficulty.csv lists train rows, then val rows
    labels = splits.noise.labels
    proba = cross_val_predict(LogisticRegression(max_iter=2000), features, labels, cv=5, method="predict_proba")
    return 1.0 - get_label_quality_scores(labels, proba)[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="ecg5000_noisy")
    parser.add_argument("--noise", nargs="+", default=["symmetric:0.2", "symmetric:0.4", "symmetric:0.6"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], help="recipe overrides, e.g. method=erm")
    parser.add_argument("--out", type=Path, default=Path("runs/mislabel_detection"))
    args = parser.parse_args()
    rows = []
    for setting in args.noise:
        kind, _, rate = setting.partition(":")
        for seed in args.seeds:
            recipe = load_recipe(args.recipe, args.overrides)
            recipe = dataclasses.replace(recipe, seed=seed, noise=NoiseSettings(kind=kind, rate=float(rate)))
            run_dir = args.out / f"{kind}{rate}" / recipe.method / f"seed{seed}"
            if not (run_dir / "difficulty.csv").exists() or not (run_dir / "metrics.json").exists():
                run_experiment(recipe, run_dir)
            table = pd.read_csv(run_dir / "difficulty.csv")
            flipped = table["is_flipped"].to_numpy(bool)
            candidates = {name: sign * table[column].to_numpy(float) for name, (column, sign) in SCORES.items()}
            # Toneva et al.: a sample never learned counts as forgotten more often than any other
            never = ~table["ever_correct"].to_numpy(bool)
            candidates["forgetting events"][never] = table["forgetting_events"].max() + 1
            cleanlab = cleanlab_scores(recipe, seed)
            if cleanlab is not None:
                candidates["cleanlab (5-fold CV logistic regression)"] = cleanlab
            for name, score in candidates.items():
                rows.append({"noise": setting, "seed": seed, "score": name, **detection_metrics(flipped, score)})
    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / "detection.csv", index=False)
    summary = frame.groupby(["noise", "score"], sort=False)[["auroc", "auprc", "precision_at_k"]].agg(["mean", "std"])
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.4f}".format):
        print(summary)


if __name__ == "__main__":
    main()
