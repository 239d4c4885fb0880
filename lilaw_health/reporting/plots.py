"""Figures for the reports: LiLAW scalars, learning curves and a comparison of methods.

Figures are drawn off-screen, saved as PNG at 120 dpi through a temporary file that
replaces the target only once complete, and always closed, so a long sweep neither leaks
figures nor leaves half-written images behind.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.core.errors import InputError

logger = logging.getLogger(__name__)

DPI = 120
SCALARS = ("alpha", "beta", "delta")
MISSING_COLUMNS = "{arg} is missing column(s) {missing}; received columns {received}. {fix}"
EMPTY_FRAME = "{arg} has no rows. {fix}"
NO_METRICS = "metrics must name at least one metric column of table; received {metrics!r}."
_HISTORY_FIX = "Pass one row per epoch with columns epoch, train_loss, val_loss and val_<monitor>."


def plot_lilaw_scalars(trajectory: pd.DataFrame, path: str | PathLike[str]) -> Path | None:
    """Plot alpha, beta and delta against the training step.

    Parameters
    ----------
    trajectory : pandas.DataFrame of shape (n_meta_steps, >=5)
        One row per meta step with columns step, epoch, alpha, beta, delta.
    path : str or path-like
        Where to write the PNG.

    Returns
    -------
    Path or None
        ``path``; None, with nothing written, when ``trajectory`` is empty (a plain ERM
        run takes no meta steps).
    """
    if trajectory.empty:
        logger.info("no meta steps in trajectory; not writing %s", path)
        return None
    require_columns(trajectory, ("step", *SCALARS), arg="trajectory", fix="Pass the meta-step log of the run.")
    with _figure(1, figsize=(7.0, 4.0)) as (fig, (ax,)):
        for name in SCALARS:
            ax.plot(trajectory["step"], trajectory[name], label=name, linewidth=1.5)
        ax.set(title="LiLAW scalars over training", xlabel="training step", ylabel="value")
        _finish(ax)
        return save_figure(fig, path)


def best_epoch(history: pd.DataFrame, *, monitor: str) -> int | None:
    """Epoch with the best ``val_<monitor>``: its maximum, or its minimum when monitor is "loss".

    Ties go to the earliest epoch. Returns None when every value is missing.
    """
    column = f"val_{monitor}"
    require_columns(history, ("epoch", column), arg="history", fix=_HISTORY_FIX)
    scores = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float)
    if np.isnan(scores).all():
        return None
    position = np.nanargmin(scores) if monitor == "loss" else np.nanargmax(scores)
    return int(history["epoch"].iloc[position])


def plot_learning_curves(history: pd.DataFrame, path: str | PathLike[str], *, monitor: str) -> Path:
    """Plot train/validation loss and the validation monitor metric per epoch.

    Parameters
    ----------
    history : pandas.DataFrame of shape (n_epochs, >=4)
        One row per epoch with columns epoch, train_loss, val_loss and ``val_<monitor>``.
    path : str or path-like
        Where to write the PNG.
    monitor : str
        Metric that chose the best epoch, e.g. "accuracy"; a dashed line marks that epoch.

    Returns
    -------
    Path
        ``path``.
    """
    require_columns(history, ("epoch", "train_loss", "val_loss", f"val_{monitor}"), arg="history", fix=_HISTORY_FIX)
    if history.empty:
        raise InputError(EMPTY_FRAME.format(arg="history", fix=_HISTORY_FIX))
    best = best_epoch(history, monitor=monitor)
    with _figure(2, figsize=(11.0, 4.0)) as (fig, (loss_ax, metric_ax)):
        loss_ax.plot(history["epoch"], history["train_loss"], marker="o", markersize=3, label="train")
        loss_ax.plot(history["epoch"], history["val_loss"], marker="o", markersize=3, label="validation")
        loss_ax.set(title="Loss", xlabel="epoch", ylabel="loss")
        metric_ax.plot(history["epoch"], history[f"val_{monitor}"], marker="o", markersize=3, color="C2",
                       label=f"validation {monitor}")
        metric_ax.set(title=f"Validation {monitor}", xlabel="epoch", ylabel=monitor)
        for ax in (loss_ax, metric_ax):
            if best is not None:
                ax.axvline(best, linestyle="--", color="0.4", linewidth=1.0, label=f"best epoch ({best})")
            _finish(ax)
        return save_figure(fig, path)


def plot_comparison(table: pd.DataFrame, path: str | PathLike[str], *, metrics: Sequence[str]) -> Path:
    """Grouped bar chart of each method's mean over seeds, with one-std error bars.

    Parameters
    ----------
    table : pandas.DataFrame of shape (n_runs, >=2)
        One row per (method, seed) with a column method and one column per metric.
    path : str or path-like
        Where to write the PNG.
    metrics : sequence of str
        Metric columns to plot; one group of bars per metric, one bar per method.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    The std uses ddof=1; a method with a single seed gets no error bar.
    """
    if not metrics:
        raise InputError(NO_METRICS.format(metrics=metrics))
    require_columns(table, ("method", *metrics), arg="table", fix="Pass one row per (method, seed).")
    if table.empty:
        raise InputError(EMPTY_FRAME.format(arg="table", fix="Pass one row per (method, seed)."))
    grouped = table.groupby("method", sort=False)[list(metrics)]
    means, stds, counts = grouped.mean(), grouped.std(ddof=1).fillna(0.0), grouped.size()
    centres, width = np.arange(len(metrics)), 0.8 / len(means)
    with _figure(1, figsize=(float(np.clip(2.0 + 1.6 * len(metrics), 6.0, 16.0)), 4.5)) as (fig, (ax,)):
        for i, method in enumerate(means.index):
            ax.bar(centres - 0.4 + width * (i + 0.5), means.loc[method], width, yerr=stds.loc[method],
                   capsize=3, label=f"{method} (n={counts[method]})")
        ax.set_xticks(centres, [str(name) for name in metrics])
        ax.set(title="Comparison of methods (mean ± std over seeds)", ylabel="value")
        _finish(ax)
        return save_figure(fig, path)


def plot_metric_by_setting(table: pd.DataFrame, path: str | PathLike[str], *, settings: Sequence[str],
                           metric: str) -> Path:
    """One metric of every method across settings: mean over seeds as a dot, one std as a bar.

    Dots rather than bars, so the y axis can zoom in on the differences without suggesting
    that a bar's length is the value.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per (method, seed) with a column method and one column per setting holding
        ``metric`` (NaN where a method did not run in a setting).
    path : str or path-like
        Where to write the PNG.
    settings : sequence of str
        Setting columns, left to right.
    metric : str
        Name of the metric, for the title and the y label.
    """
    require_columns(table, ("method", *settings), arg="table", fix="Pass one row per (method, seed).")
    if table.empty or not settings:
        raise InputError(EMPTY_FRAME.format(arg="table",
                                            fix="Pass one row per (method, seed) and at least one setting."))
    grouped = table.groupby("method", sort=False)[list(settings)]
    means, stds = grouped.mean(), grouped.std(ddof=1).fillna(0.0)
    centres, width = np.arange(len(settings)), 0.8 / len(means)
    with _figure(1, figsize=(float(np.clip(2.5 + 2.0 * len(settings), 6.0, 16.0)), 4.5)) as (fig, (ax,)):
        for i, method in enumerate(means.index):
            ax.errorbar(centres - 0.4 + width * (i + 0.5), means.loc[method], yerr=stds.loc[method], fmt="o",
                        capsize=3, label=str(method))
        ax.set_xticks(centres, [str(name) for name in settings])
        ax.set(title=f"{metric} by setting (mean ± std over seeds)", ylabel=metric)
        _finish(ax)
        return save_figure(fig, path)


@contextmanager
def _figure(ncols: int, *, figsize: tuple[float, float]) -> Iterator[tuple[Figure, Sequence[Axes]]]:
    """A figure with ``ncols`` panels side by side."""
    fig, axes = new_figure(1, ncols, figsize=figsize)
    yield fig, list(axes.ravel())


def new_figure(nrows: int, ncols: int, *, figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A figure and its (nrows, ncols) axes, made without pyplot.

    Reports are drawn on headless machines and inside notebooks: a ``Figure`` made directly
    needs no display, leaves the user's pyplot backend alone and is freed like any object.
    """
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, arg: str, fix: str) -> None:
    """Raise :class:`InputError` naming the ``columns`` that ``frame`` lacks."""
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        received = [str(name) for name in frame.columns]
        raise InputError(MISSING_COLUMNS.format(arg=arg, missing=missing, received=received, fix=fix))


def _finish(ax: Axes) -> None:
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def save_figure(fig: Figure, path: str | PathLike[str]) -> Path:
    fig.tight_layout()
    # Saving to a file handle, matplotlib cannot infer the format from the file name.
    target = atomic_write(Path(path), lambda handle: fig.savefig(handle, dpi=DPI, format="png"))
    logger.debug("wrote %s", target)
    return target
