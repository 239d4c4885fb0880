"""The fairness report: models side by side (e.g. ERM and LiLAW over seeds) as a
self-contained HTML page, Markdown and JSON, with the data card and the run configuration.

Numbers over seeds are shown as "mean ± std" (training randomness); per-group numbers as
"mean [low, high]", the bootstrap interval over test rows averaged over seeds. Every text
that comes from data (group, feature and model names) is placed in tables or preformatted
blocks, which both renderers escape, never in headings or paragraphs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.fairness.audit import DISPARITIES, METRICS, Audit
from lilaw_health.fairness.plots import plot_disparities, plot_gaps
from lilaw_health.reporting.html import MISSING, Section, render_html, render_markdown

OVERALL = ("accuracy", "macro_f1", "selection_rate", "tpr", "fpr", "ppv")
LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "selection_rate": "selection rate", "tpr": "TPR",
          "fpr": "FPR", "ppv": "PPV", "base_rate": "base rate", "dp_difference": "DP difference",
          "dp_ratio": "DP ratio", "eo_difference": "EO difference"}
INTRO = ("Test rows: {n}. Predictions are the most probable class (threshold 0.5). Models: {models}. "
         "Overall and disparity values are mean ± std over {seeds} (training randomness). Brackets give "
         "{level:.0%} percentile bootstrap intervals over the test rows ({n_boot} resamples, averaged over "
         "seeds). Gaps are group minus reference group.")
GROUP_TEXT = ("One table per metric: each group's size and base rate (share of positives), then each model's "
              "value with its interval. TPR is undefined (n/a) for a group without positives, PPV for a group "
              "without predicted positives.")
GAP_TEXT = ("Each group's metric minus the reference group's (the reference is listed under Disparities), with "
            "the bootstrap interval of the difference; the figure shows the same numbers.")
DISPARITY_TEXT = ("fairlearn's demographic-parity difference (largest minus smallest selection rate between "
                  "groups) and ratio (smallest over largest), and equalized-odds difference (the larger of the "
                  "TPR and FPR differences between groups); 0 difference and ratio 1 mean parity.")


def aggregate(audits: Mapping[str, Sequence[Audit | Mapping[str, Any]]]) -> dict[str, pd.DataFrame]:
    """Per model, over its audits (one per seed): overall, per-group and disparity tables.

    Columns hold the mean of each value, ``<value>_std`` (sample std over seeds) and the
    mean of the interval bounds; ``runs`` counts the audits.
    """
    parts: dict[str, list[pd.DataFrame]] = {"overall": [], "groups": [], "disparities": []}
    for model, items in audits.items():
        loaded = [a if isinstance(a, Audit) else Audit.from_dict(a) for a in items]
        overall = pd.DataFrame([a.overall for a in loaded])
        row = {"model": model, "runs": len(loaded), **overall.mean().to_dict(),
               **{f"{k}_std": v for k, v in overall.std(ddof=1).to_dict().items()}}
        parts["overall"].append(pd.DataFrame([row]))
        for name, keys in (("groups", ["feature", "group"]), ("disparities", ["feature", "reference"])):
            stacked = pd.concat([getattr(a, name) for a in loaded], ignore_index=True)
            numbers = stacked.drop(columns=["is_reference"], errors="ignore")
            grouped = numbers.groupby(keys, sort=False, dropna=False)
            table = grouped.mean(numeric_only=True).join(grouped.std(ddof=1, numeric_only=True).add_suffix("_std"))
            table = table.reset_index()
            if name == "groups":  # same keys, same order
                table["is_reference"] = stacked.groupby(keys, sort=False)["is_reference"].any().to_numpy(dtype=bool)
            table.insert(0, "model", model)
            parts[name].append(table)
    return {name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame() for name, frames in parts.items()}


def write_audit_report(out_dir: str | PathLike[str], audits: Mapping[str, Sequence[Audit | Mapping[str, Any]]], *,
                       title: str, card: str | None = None, config_text: str | None = None,
                       notes: Sequence[str] = ()) -> list[Path]:
    """Write ``audit.html``, ``audit.md``, ``audit.json`` and the two PNGs into ``out_dir``.

    ``audits`` maps a model label (e.g. "erm", "lilaw", "logistic_regression") to its audits,
    one per seed, as :class:`Audit` or its ``to_dict()``. Returns the paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = list(audits)
    tables = aggregate(audits)
    first = next(iter(audits.values()))[0]
    settings = (first if isinstance(first, Audit) else Audit.from_dict(first)).settings
    gaps_png = plot_gaps(tables["groups"], out / "audit_gaps.png", models=models)
    disparities_png = plot_disparities(tables["disparities"], out / "audit_disparities.png", models=models)
    seeds = sorted({len(items) for items in audits.values()})
    intro = INTRO.format(n=int(tables["overall"]["count"].iloc[0]), models=", ".join(models),
                         seeds=" or ".join(f"{k} run(s)" for k in seeds), level=settings.get("confidence", 0.95),
                         n_boot=settings.get("n_boot", 0))
    sections = [Section("Overview", paragraphs=[intro, *notes]),
                Section("Overall metrics", table=_overall_table(tables["overall"])),
                Section("Disparities per sensitive feature", paragraphs=[DISPARITY_TEXT],
                        table=_disparity_table(tables["disparities"]), image=disparities_png),
                *(Section(f"Per-group {LABELS[m]}", paragraphs=[GROUP_TEXT] if m == METRICS[0] else [],
                          table=_metric_table(tables["groups"], m, models)) for m in METRICS),
                Section("Gaps to the reference group", paragraphs=[GAP_TEXT], image=gaps_png),
                *(Section(f"Gap in {LABELS[m]}", table=_metric_table(tables["groups"], f"gap_{m}", models, gaps=True))
                  for m in METRICS),
                Section("Warnings", paragraphs=["Small groups and undefined rates; read their intervals."],
                        table=_warning_table(audits))]
    if card:
        sections.append(Section("Data card", preformatted=card))
    if config_text:
        sections.append(Section("Run configuration", preformatted=config_text))
    payload = {"title": title, "models": {m: [a.to_dict() if isinstance(a, Audit) else a for a in items]
                                          for m, items in audits.items()},
               "aggregate": {k: json.loads(v.to_json(orient="records")) for k, v in tables.items()}}
    written = [atomic_write_text(out / "audit.json", json.dumps(payload, indent=1)),
               atomic_write_text(out / "audit.md", render_markdown(title, sections)),
               atomic_write_text(out / "audit.html", render_html(title, sections))]
    return written + [p for p in (gaps_png, disparities_png) if p is not None]


def _mean_std(row: Mapping[str, Any], key: str) -> str:
    value, std = row.get(key, np.nan), row.get(f"{key}_std", np.nan)
    if pd.isna(value):
        return MISSING
    return f"{value:.4f}" if pd.isna(std) else f"{value:.4f} ± {std:.4f}"


def _value(row: Mapping[str, Any], key: str) -> str:
    return MISSING if pd.isna(row.get(key, np.nan)) else f"{row[key]:.3f}"


def _with_ci(row: Mapping[str, Any], key: str, *, std: bool = False) -> str:
    text = _mean_std(row, key) if std else _value(row, key)
    low, high = row.get(f"{key}_low", np.nan), row.get(f"{key}_high", np.nan)
    return text if text == MISSING or pd.isna(low) else f"{text} [{low:.3f}, {high:.3f}]"


def _overall_table(overall: pd.DataFrame) -> pd.DataFrame:
    rows = [{"model": r["model"], "runs": int(r["runs"]), **{LABELS[k]: _mean_std(r, k) for k in OVERALL}}
            for r in overall.to_dict("records")]
    return pd.DataFrame(rows)


def _disparity_table(disparities: pd.DataFrame) -> pd.DataFrame:
    rows = [{"feature": r["feature"], "reference": r["reference"], "model": r["model"],
             **{LABELS[k]: _with_ci(r, k, std=True) for k in DISPARITIES}} for r in disparities.to_dict("records")]
    return _sorted(rows)


def _metric_table(groups: pd.DataFrame, key: str, models: Sequence[str], *, gaps: bool = False) -> pd.DataFrame:
    """One row per (feature, group) in audit order, one column per model: "value [low, high]"."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in groups.to_dict("records"):
        if gaps and (r["is_reference"] or r["count"] == 0):
            continue
        row = rows.setdefault((r["feature"], r["group"]), {"feature": r["feature"], "group": r["group"],
                                                           "n": int(r["count"]), "base rate": _value(r, "base_rate")})
        row[r["model"]] = _with_ci(r, key)
    return pd.DataFrame(list(rows.values()), columns=["feature", "group", "n", "base rate", *models])


def _sorted(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows grouped by feature in first-seen order, so the models of one feature sit together."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    order = frame.groupby("feature", sort=False).ngroup()
    return frame.iloc[np.argsort(order.to_numpy(), kind="stable")]


def _warning_table(audits: Mapping[str, Sequence[Audit | Mapping[str, Any]]]) -> pd.DataFrame:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for model, items in audits.items():
        for audit in items:
            for w in audit.warnings if isinstance(audit, Audit) else audit.get("warnings", []):
                entry = found.setdefault((w["feature"], w["group"], w["issue"]),
                                         {"feature": w["feature"], "group": w["group"], "n": w["count"],
                                          "issue": w["issue"], "models": []})
                if model not in entry["models"]:
                    entry["models"].append(model)
    rows = [{**e, "models": ", ".join(e["models"])} for e in found.values()]
    return pd.DataFrame(rows, columns=["feature", "group", "n", "issue", "models"])
