"""Figures of the fairness reports: gaps to the reference group and disparities, per model, and
the metrics of each group (:mod:`~lilaw_health.fairness.groups`).

Error bars are the bootstrap confidence intervals (averaged over seeds). Group and model
names come from data, so a "$" is escaped: matplotlib would otherwise parse it as math.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.reporting.plots import DPI, new_figure

GAP_LABELS = {"selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR", "ppv": "PPV", "accuracy": "accuracy"}
DISPARITY_LABELS = {"dp_difference": "demographic-parity difference", "eo_difference": "equalized-odds difference"}


def plot_gaps(groups: pd.DataFrame, path: str | PathLike[str], *, models: Sequence[str]) -> Path | None:
    """One panel per (feature, metric): each non-reference group's gap, one bar per model.

    ``groups`` is the aggregated per-group table (model, feature, group, is_reference and
    ``gap_<metric>`` with ``_low`` / ``_high``). Returns None when no group has a gap.
    """
    rows = groups[~groups["is_reference"].astype(bool) & groups["count"].gt(0)]
    features = list(dict.fromkeys(rows["feature"]))
    if not features:
        return None
    fig, axes = new_figure(len(features), len(GAP_LABELS), figsize=(3.4 * len(GAP_LABELS), 2.9 * len(features)))
    for i, feature in enumerate(features):
        part = rows[rows["feature"] == feature]
        reference = groups.loc[(groups["feature"] == feature) & groups["is_reference"].astype(bool), "group"]
        for j, (metric, label) in enumerate(GAP_LABELS.items()):
            ax = axes[i][j]
            _bars(ax, part, f"gap_{metric}", models)
            ax.axhline(0.0, color="0.3", linewidth=0.8)
            ax.set_title(_safe(f"{feature}: {label} gap vs {reference.iloc[0] if len(reference) else '?'}"),
                         fontsize=9)
    _legend(fig, axes[0][0])
    return _save(fig, path)


def plot_disparities(disparities: pd.DataFrame, path: str | PathLike[str], *, models: Sequence[str]) -> Path:
    """Demographic-parity and equalized-odds differences per feature, one bar per model."""
    fig, axes = new_figure(1, len(DISPARITY_LABELS), figsize=(6.0 * len(DISPARITY_LABELS), 3.6))
    table = disparities.rename(columns={"feature": "group"})
    for ax, (metric, label) in zip(axes[0], DISPARITY_LABELS.items()):
        _bars(ax, table, metric, models)
        ax.set_title(label, fontsize=10)
    _legend(fig, axes[0][0])
    return _save(fig, path)


def _bars(ax, table: pd.DataFrame, column: str, models: Sequence[str]) -> None:
    """Grouped bars of ``column`` per group, one colour per model, CI error bars."""
    labels = list(dict.fromkeys(table["group"]))
    width = 0.8 / max(len(models), 1)
    for k, model in enumerate(models):
        part = table[table["model"] == model].set_index("group").reindex(labels)
        value = part[column].to_numpy(dtype=float)
        bounds = [part[f"{column}_{side}"].to_numpy(dtype=float) if f"{column}_{side}" in part else value
                  for side in ("low", "high")]  # no interval without a bootstrap
        low, high = np.nan_to_num(value - bounds[0], nan=0.0), np.nan_to_num(bounds[1] - value, nan=0.0)
        positions = np.arange(len(labels)) + (k - (len(models) - 1) / 2) * width
        # lists, not arrays: matplotlib probes arrays of one bar with a deprecated scalar conversion
        errors = [np.maximum(low, 0).tolist(), np.maximum(high, 0).tolist()]
        ax.bar(positions, np.nan_to_num(value), width, label=_safe(model), yerr=errors, capsize=2,
               error_kw={"linewidth": 0.8})
    ax.set_xticks(np.arange(len(labels)), [_safe(label) for label in labels], rotation=30, ha="right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def _legend(fig, ax) -> None:
    """One legend for the figure, above the panels, where it hides no bar."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=max(len(labels), 1), fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))


def _safe(text: object) -> str:
    return str(text).replace("$", r"\$")


def _save(fig, path: str | PathLike[str]) -> Path:
    return atomic_write(Path(path), lambda handle: fig.savefig(handle, dpi=DPI, format="png"))


def plot_group_metrics(table: pd.DataFrame, path: str | PathLike[str], *,
                       labels: Mapping[str, str] | None = None) -> Path:
    """One panel per (feature, metric) of a long per-group table (``GroupMetrics.table``): each
    group's value as a dot with its bootstrap interval as a bar, the reference group in orange."""
    labels = labels or {}
    features, metrics = list(dict.fromkeys(table["feature"])), list(dict.fromkeys(table["metric"]))
    fig, axes = new_figure(len(features), len(metrics), figsize=(2.8 * len(metrics), 2.7 * len(features)))
    for i, feature in enumerate(features):
        rows = table[table["feature"] == feature]
        for j, metric in enumerate(metrics):
            ax, part = axes[i][j], rows[rows["metric"] == metric]
            value = part["value"].to_numpy(dtype=float)
            below = np.maximum(np.nan_to_num(value - part["ci_low"].to_numpy(dtype=float)), 0)
            above = np.maximum(np.nan_to_num(part["ci_high"].to_numpy(dtype=float) - value), 0)
            is_reference = part["reference"].to_numpy(dtype=bool)
            for mask, colour in ((~is_reference, "C0"), (is_reference, "C1")):
                positions = np.flatnonzero(mask)
                # lists, not arrays: matplotlib probes arrays of one bar with a deprecated scalar conversion
                ax.errorbar(positions.tolist(), value[mask].tolist(), yerr=[below[mask].tolist(), above[mask].tolist()],
                            fmt="o", color=colour, capsize=2, markersize=4, linewidth=0.8)
            ax.set_xticks(np.arange(len(part)), [_safe(g) for g in part["group"]], rotation=30, ha="right",
                          fontsize=8)
            ax.set_xlim(-0.5, len(part) - 0.5)
            ax.set_title(_safe(f"{feature}: {labels.get(metric, metric)}"), fontsize=9)
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)
