"""How well a mixed run's synthetic-data valuation finds the synthetic samples known to be bad.

The demo generators record, outside the published formats, which synthetic samples carry a
wrong label (``render_truth.csv``: pain ``file``/``wrong_label``, gait ``name``/``wrong_label``).
For every run folder under ``--runs`` that has a ``synthetic_value.csv``, this joins its rows to
the truth by the sample id (``<source>:<file or name>[#region]``) and prints the AUROC with which
a low value, a high mislabel score and a low mean W_alpha find the wrong labels, then mean ± std
over the runs of each (setting, method).

    python benchmarks/valuation_truth.py --runs runs/pain_demo \\
        --truth ~/.cache/lilaw_health/pain_demo/synpain_i48_w0.2_seed0/render_truth.csv --key file
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def truth_table(path: Path, key: str, label: str) -> pd.Series:
    truth = pd.read_csv(path)
    return pd.Series(truth[label].astype(bool).to_numpy(), index=truth[key].astype(str))


def run_scores(value_csv: Path, truth: pd.Series) -> dict[str, float]:
    value = pd.read_csv(value_csv)
    names = value["sample_id"].astype(str).str.partition(":")[2].str.partition("#")[0]
    bad = names.map(truth)
    known = bad.notna()
    if known.sum() == 0 or bad[known].nunique() < 2:
        return {}
    bad = bad[known].astype(bool).to_numpy()
    rows = value[known]
    return {"n": int(known.sum()), "wrong": int(bad.sum()),
            "value_auroc": roc_auc_score(bad, -rows["value"].to_numpy()),
            "mislabel_auroc": roc_auc_score(bad, rows["mislabel_score"].to_numpy()),
            "w_alpha_auroc": roc_auc_score(bad, -rows["w_alpha_mean"].to_numpy())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, required=True, help="a compare output folder")
    parser.add_argument("--truth", type=Path, required=True, help="the generator's render_truth.csv")
    parser.add_argument("--key", default="file", help="truth column matching the sample ids (pain: file, gait: name)")
    parser.add_argument("--label", default="wrong_label", help="truth column marking the bad samples")
    args = parser.parse_args()
    truth = truth_table(args.truth, args.key, args.label)
    rows = []
    for value_csv in sorted(args.runs.rglob("synthetic_value.csv")):
        scores = run_scores(value_csv, truth)
        if scores:
            parts = value_csv.parent.relative_to(args.runs).parts
            rows.append({"run": "/".join(parts[:-1]), "seed": parts[-1], **scores})
    if not rows:
        raise SystemExit(f"no synthetic_value.csv under {args.runs} matches {args.truth}")
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print()
    for run, part in table.groupby("run"):
        stats = ", ".join(f"{c} {part[c].mean():.3f} ± {part[c].std(ddof=1) if len(part) > 1 else np.nan:.3f}"
                          for c in ("value_auroc", "mislabel_auroc", "w_alpha_auroc"))
        print(f"{run} ({len(part)} runs, {part['wrong'].iloc[0]} of {part['n'].iloc[0]} wrong): {stats}")


if __name__ == "__main__":
    main()
