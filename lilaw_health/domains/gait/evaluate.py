"""What gait studies report beyond the core's metrics: macro-F1 over classes 0-2 (CARE-PD's
convention, for cohorts scored 0-2) and results per subject (the mean probability over a
subject's test walks), written to ``subjects.csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from lilaw_health.core.checkpoint import atomic_write_text


def gait_metrics(y_true: np.ndarray, proba: np.ndarray, *, subjects: np.ndarray | None,
                 out_dir: Path | None = None) -> dict[str, Any]:
    """Macro-F1 over all classes and over 0-2, and per-subject results (the core's metrics already
    hold per-class recall and the confusion matrix).

    A subject's predicted score is the argmax of its walks' mean probability; its true score the
    median of its walks' scores (rounded down), as walks of one visit share a score.
    """
    y_true = np.asarray(y_true)
    y_pred = proba.argmax(axis=1)
    low = y_true <= 2
    summary = {"macro_f1_0_3": float(f1_score(y_true, y_pred, labels=[0, 1, 2, 3], average="macro", zero_division=0)),
               "macro_f1_0_2": float(f1_score(y_true[low], y_pred[low], labels=[0, 1, 2], average="macro",
                                              zero_division=0)) if low.any() else float("nan")}
    result: dict[str, Any] = {}
    if subjects is not None and len(subjects):
        table = per_subject(y_true, proba, subjects)
        summary["subject_macro_f1"] = float(f1_score(table["score"], table["predicted"], labels=[0, 1, 2, 3],
                                                     average="macro", zero_division=0))
        summary["subject_accuracy"] = float((table["score"] == table["predicted"]).mean())
        result["n_subjects"] = len(table)
        if out_dir is not None:
            atomic_write_text(Path(out_dir) / "subjects.csv", table.to_csv(index=False))
    result["summary"] = summary
    result["report"] = [f"Macro-F1 over classes 0-3 {summary['macro_f1_0_3']:.3f}, over 0-2 (CARE-PD's convention) "
                        f"{summary['macro_f1_0_2']:.3f}."]
    if "subject_macro_f1" in summary:
        result["report"].append(f"Per subject (mean probability over each subject's walks; {len(y_true)} test "
                                f"walks of {result['n_subjects']} subjects; subjects.csv): macro-F1 "
                                f"{summary['subject_macro_f1']:.3f}, accuracy {summary['subject_accuracy']:.3f}.")
    return result


def per_subject(y_true: np.ndarray, proba: np.ndarray, subjects: np.ndarray) -> pd.DataFrame:
    """One row per subject: walks, true score, mean probability per class, predicted score."""
    frame = pd.DataFrame(proba, columns=[f"p{c}" for c in range(proba.shape[1])]).assign(
        subject=np.asarray(subjects).astype(str), score=np.asarray(y_true))
    table = frame.groupby("subject").agg(walks=("score", "size"), score=("score", "median"),
                                         **{c: (c, "mean") for c in frame.columns if c.startswith("p")})
    table["score"] = np.floor(table["score"]).astype(int)
    table["predicted"] = table[[f"p{c}" for c in range(proba.shape[1])]].to_numpy().argmax(axis=1)
    return table.reset_index()
