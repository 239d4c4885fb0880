"""Print one Markdown table from several `lilaw-health compare` output folders.

Numbers are read from each folder's ``runs.csv`` (mean ± sample std over seeds), so a table
pasted into pipelines/README.md is exactly what the commands produced.

    .venv/bin/python benchmarks/results_table.py runs/ecg5000/clean runs/ecg5000/symmetric0.4 \\
        --metrics accuracy balanced_accuracy macro_f1 auroc detection_auroc
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def cell(values: pd.Series) -> str:
    if values.isna().all():
        return "n/a"
    std = values.std(ddof=1) if values.count() > 1 else 0.0
    return f"{values.mean():.4f} ± {std:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path, help="comparison output folders (each holds runs.csv)")
    parser.add_argument("--metrics", nargs="+", default=["accuracy", "balanced_accuracy", "macro_f1", "auroc"])
    args = parser.parse_args()
    print("| setting | method | seeds | " + " | ".join(args.metrics) + " |")
    print("|---|---|---|" + "---|" * len(args.metrics))
    for folder in args.folders:
        runs = pd.read_csv(folder / "runs.csv")
        for method, group in runs.groupby("method", sort=False):
            cells = [cell(group[m]) if m in group else "n/a" for m in args.metrics]
            print(f"| {folder.name} | {method} | {len(group)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
