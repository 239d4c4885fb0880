"""The report section of :func:`~lilaw_health.fairness.groups.group_metrics`: one row per
(attribute, group) with every metric and its gap to the reference group, with intervals, and a
figure of the metrics per group."""

from __future__ import annotations

from os import PathLike

import pandas as pd

from lilaw_health.fairness.groups import HEADLINE, LABELS, GroupMetrics
from lilaw_health.fairness.plots import plot_group_metrics
from lilaw_health.reporting.html import MISSING, Section

HEADING = "Metrics per sensitive group"
INTRO = ("Each sensitive attribute of the {n} test samples splits them into groups. Brackets: {level:.0%} "
         "percentile bootstrap intervals over {n_boot} resamples of the test rows (the same resamples for every "
         "attribute; a group absent from a resample is left out of it). Δ columns: the group's value minus the "
         "reference group's (the largest group unless configured), with the interval of that difference; an "
         "interval that excludes 0 is a gap the test set resolves. n/a: undefined (see flags).")
NO_BOOTSTRAP = ("Each sensitive attribute of the {n} test samples splits them into groups. No bootstrap was run "
                "(n_boot = 0): values have no intervals. Δ columns: the group's value minus the reference "
                "group's (the largest group unless configured). n/a: undefined (see flags).")
DEFINITIONS = {
    "binary": ("Predictions are the most probable class; the positive class is the second one. Selection rate: "
               "share predicted positive; TPR: recall of positives; FPR: share of negatives predicted positive; "
               "PPV: precision; AUROC: of the positive-class probability within the group."),
    "multiclass": ("Predictions are the most probable class. Balanced accuracy: mean recall over the classes "
                   "present among the group's targets; macro-F1: mean F1 over the classes among the group's "
                   "targets or predictions; recall[c]: share of the group's class-c samples predicted c."),
    "regression": ("MAE: mean |prediction - target|; RMSE: root mean squared error; bias: mean(prediction - "
                   "target), positive when the model over-predicts for the group. Units are the target's."),
}
FIGURE_TEXT = ("Figure: the headline metrics ({metrics}) of each group, value (dot) and interval (bar); the "
               "reference group in orange. The table has every metric.")


def group_section(metrics: GroupMetrics, *, figure: str | PathLike[str] | None = None) -> Section:
    """A report section: one row per (feature, group), each metric as "value [low, high]", then
    each gap to the reference group, then the group's flags. With ``figure``, a PNG of the
    headline metrics (:data:`~lilaw_health.fairness.groups.HEADLINE`) per group is written there
    and shown in the section."""
    settings = metrics.settings
    template = INTRO if settings.get("n_boot", 0) else NO_BOOTSTRAP
    paragraphs = [template.format(n=settings.get("n_samples", MISSING), level=settings.get("confidence", 0.95),
                                  n_boot=settings.get("n_boot", 0)), DEFINITIONS[metrics.kind]]
    image = None
    if figure is not None:
        headline = HEADLINE[metrics.kind]
        image = plot_group_metrics(metrics.table[metrics.table["metric"].isin(headline)], figure, labels=LABELS)
        paragraphs.append(FIGURE_TEXT.format(metrics=", ".join(LABELS.get(m, m) for m in headline)))
    return Section(HEADING, paragraphs=paragraphs, table=_wide_table(metrics.table), image=image)


def _wide_table(table: pd.DataFrame) -> pd.DataFrame:
    metrics = list(dict.fromkeys(table["metric"]))
    rows = []
    for (feature, group), part in table.groupby(["feature", "group"], sort=False):
        part = part.set_index("metric")
        is_reference = bool(part["reference"].iloc[0])
        row = {"feature": feature, "group": group, "n": int(part["n"].iloc[0]),
               "reference": "yes" if is_reference else ""}
        for m in metrics:
            row[LABELS.get(m, m)] = _with_interval(*part.loc[m, ["value", "ci_low", "ci_high"]])
        for m in metrics:
            row[f"Δ {LABELS.get(m, m)}"] = ("reference" if is_reference else
                                            _with_interval(*part.loc[m, ["gap", "gap_ci_low", "gap_ci_high"]],
                                                           signed=True))
        flags = [text for flag in part["flag"] if flag for text in flag.split("; ")]
        row["flags"] = "; ".join(dict.fromkeys(flags))
        rows.append(row)
    return pd.DataFrame(rows)


def _with_interval(value: float, low: float, high: float, *, signed: bool = False) -> str:
    if pd.isna(value):
        return MISSING
    spec = "+.3f" if signed else ".3f"
    text = format(value, spec)
    return text if pd.isna(low) else f"{text} [{format(low, spec)}, {format(high, spec)}]"
