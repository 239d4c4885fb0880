"""The "Synthetic data" section of a run report: samples and value per source, how well the
value score finds planted generator failures, and the value distribution per source and class."""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.reporting.html import Section
from lilaw_health.reporting.plots import new_figure, save_figure

INTRO = ("Training mixed {n_real} real and {n_synthetic} synthetic samples ({origin}); validation for model selection and LiLAW's meta step came from "
         "{meta_val} samples. A synthetic sample's value is the mean of two percentile ranks among the synthetic "
         "samples: how far the model agrees with the label the generator gave it (mean W_alpha over epochs) and "
         "how close it lies to the real samples of its class (synthetic_value.csv ranks them, lowest first).")
FOUND = ("The planted failures ({planted} samples) are found with AUROC {value:.3f} by the value score (low "
         "value = suspect); by its parts, {w_alpha:.3f} (agreement) and {distance:.3f} (distance to real "
         "samples); by the mislabel score, {mislabel:.3f}.")


BY_ATTRIBUTE = ("Value per group of the synthetic samples' descriptive columns (lowest mean value first "
                "within each): ")


def synthetic_section(summary: Mapping[str, Any], difficulty: pd.DataFrame, *, value: pd.DataFrame | None = None,
                      figure: str | PathLike[str]) -> Section:
    """The report section for a mixed run; ``summary`` is ``metrics["synthetic"]``, ``difficulty``
    the run's difficulty table (every sample with its ``source``, ``failure`` and ``w_alpha_mean``),
    ``value`` its synthetic_value table (with the descriptive columns, if any)."""
    per_source = summary["per_source"]
    mix = summary["mix"]
    origin = (f"generator {mix['generator']}, {mix['failures']:.0%} planted failures" if mix["generator"] != "none"
              else f"dataset {mix['dataset']}" if mix.get("dataset") else "labelled by the data's loader")
    paragraphs = [INTRO.format(n_real=per_source.get("real", {}).get("n", 0), n_synthetic=summary["n_synthetic"],
                               origin=origin, meta_val=mix["meta_val"])]
    if "value_auroc" in summary:
        paragraphs.append(FOUND.format(planted=summary["planted_failures"], value=summary["value_auroc"],
                                       w_alpha=summary["w_alpha_auroc"], distance=summary["real_distance_auroc"],
                                       mislabel=summary["mislabel_auroc"]))
    table = pd.DataFrame([{"source": name, **stats} for name, stats in per_source.items()])
    if value is not None and summary.get("by_attribute"):
        by_attribute = pd.DataFrame(summary["by_attribute"])
        paragraphs.append(BY_ATTRIBUTE + "; ".join(
            f"{row.attribute}={row.group}: {row.mean_value:.3f} (n={row.n})" for row in by_attribute.itertuples()) + ".")
    return Section("Synthetic data", paragraphs=paragraphs, table=table, image=plot_value(difficulty, figure))


MAX_PANELS = 12  # one histogram per class up to this many classes


def plot_value(difficulty: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Histogram of the agreement part of the value (mean W_alpha, defined for real samples too)
    per class (one panel of all samples for a regression, or beyond :data:`MAX_PANELS` classes):
    real samples, clean synthetic draws and planted failures apart."""
    value = difficulty.assign(value=difficulty["w_alpha_mean"])  # comparable for real and synthetic samples
    labels = value["label"].dropna().unique()
    per_class = len(labels) <= MAX_PANELS and bool(np.all(np.mod(labels.astype(float), 1) == 0))
    classes = sorted(labels) if per_class else [None]
    fig, axes = new_figure(1, max(len(classes), 1), figsize=(3.2 * max(len(classes), 1), 2.8))
    bins = np.linspace(0, 1, 21)
    for ax, label in zip(axes.ravel(), classes):
        part = value if label is None else value[value["label"] == label]
        failure, real = part["failure"].astype(str), part["source"] == "real"
        for name, mask in (("real", real), ("synthetic, clean draw", ~real & (failure == "")),
                           ("off-class", failure.str.startswith("off_class")),
                           ("implausible", failure.str.startswith("implausible"))):
            if mask.any():
                ax.hist(part.loc[mask, "value"], bins=bins, alpha=0.6, label=name)
        ax.set_title("all samples" if label is None else f"class {label}", fontsize="small")
        ax.set_xlabel("value (mean W_alpha)")
        ax.legend(fontsize="x-small")
    return save_figure(fig, path)
