"""Write the report of one training run, or of a comparison of runs: PNGs, Markdown and HTML.

Each writer builds its list of sections once and renders it twice, so the Markdown and the
HTML say the same thing. Every file is written atomically. The writers are lenient about
the optional parts of ``metrics`` because they run at the end of a long training job,
where a missing entry should cost one section of the report, not the whole report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.reporting.html import MISSING, Section, format_cell, render_html, render_markdown
from lilaw_health.reporting.plots import SCALARS, plot_comparison, plot_learning_curves, plot_lilaw_scalars

logger = logging.getLogger(__name__)

TOP_SUSPECTS = 15
SUSPECT_COLUMNS = ("sample_id", "label", "predicted", "p", "W_alpha", "W", "aum", "bucket", "mislabel_score",
                   "is_flipped")
BUCKETS = ("easy", "moderate", "hard")
NO_META_STEPS = ("This run took no LiLAW meta steps (its method, e.g. ERM or Dynamic Loss, has no LiLAW scalars), "
                 "so there is nothing to plot.")
_DETECTION_TEXT = (
    "How well the mislabel score ranks the training samples whose labels were flipped by the injected "
    "noise (n_noisy of them); precision_at_k is the share of flipped labels among the top-k scores."
)
COST_TEXT = (
    "Wall time per training epoch (including any per-epoch pass a method makes, and validation) and peak "
    "memory during training above the level at its start, mean ± std over seeds; the ratios divide each "
    "method's mean by ERM's in this comparison. memory_measure names what was measured: heap_in_use = "
    "bytes malloc had handed out (CPU tensors included), sampled every 2 ms; cuda_max_allocated = "
    "torch.cuda.max_memory_allocated; rss = resident set size."
)
_BUCKET_TEXT = (
    "Training samples per difficulty bucket: the largest term of each sample's LiLAW weight "
    "(W_alpha easy, W_delta moderate, W_beta hard)."
)


def write_run_report(
    out_dir: str | PathLike[str],
    *,
    title: str,
    config_text: str,
    metrics: Mapping[str, Any],
    history: pd.DataFrame,
    trajectory: pd.DataFrame,
    difficulty: pd.DataFrame | None = None,
    monitor: str = "accuracy",
    notes: Sequence[str] | None = None,
    card: str | None = None,
    extra_sections: Sequence[Section] = (),
) -> dict[str, Path]:
    """Write the report of one training run into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Folder for the files; created if missing.
    title : str
        Report title.
    config_text : str
        The resolved configuration (YAML), shown verbatim.
    metrics : mapping
        ``test`` (metric -> value), ``final_scalars`` (alpha/beta/delta, or None for plain
        ERM), ``best_epoch``, ``epochs_run`` and optionally ``detection``, ``per_class``
        (list of row dicts) and ``confusion_matrix`` (list of lists, rows = true class).
    history : pandas.DataFrame of shape (n_epochs, >=4)
        One row per epoch: epoch, train_loss, val_loss, ``val_<monitor>``.
    trajectory : pandas.DataFrame of shape (n_meta_steps, 5)
        One row per meta step: step, epoch, alpha, beta, delta; empty for plain ERM.
    difficulty : pandas.DataFrame of shape (n_train, k), optional
        Per-sample difficulty export with columns such as bucket and mislabel_score.
    monitor : str, default "accuracy"
        Validation metric that chose the best epoch.
    notes : sequence of str, optional
        Free-text paragraphs for a Notes section.
    card : str, optional
        The dataset's data card (Markdown), shown verbatim in a "Data card" section.
    extra_sections : sequence of Section
        Shown after the results (e.g. metrics per sensitive group).

    Returns
    -------
    dict of str to Path
        File name -> path of every file written: learning_curves.png, lilaw_scalars.png
        (only if ``trajectory`` has rows), report.md and report.html.
    """
    out = Path(out_dir)
    curves = plot_learning_curves(history, out / "learning_curves.png", monitor=monitor)
    scalars = _plot_scalars(trajectory, out / "lilaw_scalars.png")
    training = _training_rows(difficulty)
    sections = [
        _summary_section(metrics, monitor=monitor),
        Section("Learning curves", paragraphs=[f"Dashed line: best epoch by validation {monitor}."], image=curves),
        Section("LiLAW scalars", image=scalars) if scalars else Section("LiLAW scalars", paragraphs=[NO_META_STEPS]),
        *_per_class_sections(metrics),
        *_detection_sections(metrics.get("detection"), training),
        *_bucket_sections(training),
        *extra_sections,
        *_notes_sections(notes),
        *([Section("Data card", preformatted=card)] if card else []),
        Section("Configuration", preformatted=config_text or "(no configuration recorded)"),
    ]
    written = {path.name: path for path in (curves, scalars) if path is not None}
    return written | _write_documents(out, "report", title=title, sections=sections)


def write_comparison_report(
    out_dir: str | PathLike[str],
    *,
    title: str,
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    metrics: Sequence[str],
    config_text: str = "",
    notes: Sequence[str] | None = None,
    cost: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write a report comparing methods over seeds into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Folder for the files; created if missing.
    title : str
        Report title.
    runs : pandas.DataFrame of shape (n_runs, >=2)
        One row per (method, seed) with one column per metric.
    summary : pandas.DataFrame of shape (n_methods, k)
        One row per method, metric cells already formatted (e.g. "0.9312 ± 0.0040").
    metrics : sequence of str
        Metric columns of ``runs`` to plot.
    config_text : str, optional
        Configuration shared by the runs, shown verbatim when given.
    notes : sequence of str, optional
        Free-text paragraphs for a Notes section.
    cost : pandas.DataFrame of shape (n_methods, k), optional
        One row per method: time per epoch and peak memory, and their ratios to ERM.

    Returns
    -------
    dict of str to Path
        File name -> path: comparison.png, comparison.md and comparison.html.
    """
    out = Path(out_dir)
    figure = plot_comparison(runs, out / "comparison.png", metrics=metrics)
    n_methods = runs["method"].nunique()
    sections = [
        Section("Summary", paragraphs=[f"{n_methods} methods, {len(runs)} runs; mean ± std over seeds."],
                table=summary),
        *([Section("Cost", paragraphs=[COST_TEXT], table=cost)] if cost is not None else []),
        Section("Comparison", paragraphs=["Bars: mean over seeds; error bars: one std (ddof=1)."], image=figure),
        Section("Per-run results", paragraphs=["One row per method and seed."], table=runs),
        *_notes_sections(notes),
        *([Section("Configuration", preformatted=config_text)] if config_text else []),
    ]
    return {figure.name: figure} | _write_documents(out, "comparison", title=title, sections=sections)


def _plot_scalars(trajectory: pd.DataFrame, path: Path) -> Path | None:
    written = plot_lilaw_scalars(trajectory, path)
    if written is None and path.exists():
        # A scalars plot left by an earlier run in this folder would contradict this report.
        logger.info("removing stale %s: this run took no meta steps", path)
        path.unlink()
    return written


def _summary_section(metrics: Mapping[str, Any], *, monitor: str) -> Section:
    best, epochs = metrics.get("best_epoch", MISSING), metrics.get("epochs_run", MISSING)
    final = metrics.get("final_scalars")
    scalars = (
        ", ".join(f"{name} = {format_cell(final.get(name))}" for name in SCALARS)
        if final
        else "none (this method takes no LiLAW meta steps)"
    )
    if metrics.get("model_selection") == "last_epoch":
        kept = (f"Evaluated model: the last epoch ({metrics.get('kept_epoch', MISSING)} of {epochs} run); "
                f"the best validation {monitor} was at epoch {best}.")
    else:
        kept = f"Best epoch: {best} of {epochs} run (by validation {monitor})."
    paragraphs = [
        kept,
        f"Final LiLAW scalars: {scalars}.",
    ]
    test = metrics.get("test")
    table = _key_value_table(test, key="test metric") if test else None
    return Section("Summary", paragraphs=paragraphs, table=table)


def _per_class_sections(metrics: Mapping[str, Any]) -> list[Section]:
    rows, matrix = metrics.get("per_class"), metrics.get("confusion_matrix")
    sections = []
    if rows:
        sections.append(Section("Per-class results", paragraphs=["Test set, one row per class."],
                                table=pd.DataFrame(rows)))
    if matrix is not None:
        counts = np.atleast_2d(np.asarray(matrix))
        names = _class_names(rows or [], len(counts))
        table = pd.DataFrame(counts, columns=names)
        table.insert(0, "true \\ predicted", names)
        sections.append(Section("Confusion matrix", paragraphs=["Test set; rows are true classes."], table=table))
    return sections


def _class_names(per_class: Sequence[Mapping[str, Any]], n_classes: int) -> list[str]:
    lookup = {row["class"]: str(row["name"]) for row in per_class if "class" in row and "name" in row}
    return [lookup.get(index, str(index)) for index in range(n_classes)]


def _detection_sections(detection: Mapping[str, Any] | None, difficulty: pd.DataFrame | None) -> list[Section]:
    sections = []
    if detection:
        sections.append(Section("Mislabel detection", paragraphs=[_DETECTION_TEXT],
                                table=_key_value_table(detection, key="detection metric")))
    if difficulty is not None and "mislabel_score" in difficulty.columns:
        columns = [name for name in SUSPECT_COLUMNS if name in difficulty.columns]
        top = difficulty.sort_values("mislabel_score", ascending=False, kind="stable").head(TOP_SUSPECTS)
        text = (f"The {len(top)} training samples with the highest mislabel score (minus the area under the "
                "margin), most suspect first; predicted is the label the model suggests instead.")
        if "is_flipped" in columns:
            text += " is_flipped marks labels that the injected noise flipped."
        sections.append(Section("Most suspect training samples", paragraphs=[text], table=top[columns]))
    return sections


def _training_rows(difficulty: pd.DataFrame | None) -> pd.DataFrame | None:
    # The difficulty export also describes the validation (meta) samples; the report is about training.
    if difficulty is None or "split" not in difficulty.columns:
        return difficulty
    return difficulty[difficulty["split"] == "train"]


def _bucket_sections(difficulty: pd.DataFrame | None) -> list[Section]:
    if difficulty is None or "bucket" not in difficulty.columns:
        return []
    counts = difficulty["bucket"].dropna().astype(str).value_counts()
    order = [*BUCKETS, *sorted(set(counts.index) - set(BUCKETS))]
    counts = counts.reindex(order, fill_value=0)
    share = counts / counts.sum() if counts.sum() else counts.astype(float)
    table = pd.DataFrame({"bucket": order, "count": counts.to_numpy(), "share": share.to_numpy()})
    return [Section("Difficulty buckets", paragraphs=[_BUCKET_TEXT], table=table)]


def _notes_sections(notes: Sequence[str] | None) -> list[Section]:
    return [Section("Notes", paragraphs=notes)] if notes else []


def _key_value_table(values: Mapping[str, Any], *, key: str) -> pd.DataFrame:
    # object dtype keeps integers (n_noisy, support) from being shown as 40.0000.
    return pd.DataFrame({key: list(values), "value": pd.Series(list(values.values()), dtype=object)})


def _write_documents(out: Path, stem: str, *, title: str, sections: list[Section]) -> dict[str, Path]:
    markdown = atomic_write_text(out / f"{stem}.md", render_markdown(title, sections))
    page = atomic_write_text(out / f"{stem}.html", render_html(title, sections))
    logger.info("wrote %s and %s", markdown, page)
    return {markdown.name: markdown, page.name: page}
