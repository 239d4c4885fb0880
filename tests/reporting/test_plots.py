"""Tests of lilaw_health.reporting.plots: files, best epoch, closed figures, atomic writes."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure

from lilaw_health.core.errors import InputError
from lilaw_health.reporting.plots import (
    EMPTY_FRAME,
    MISSING_COLUMNS,
    NO_METRICS,
    best_epoch,
    plot_comparison,
    plot_learning_curves,
    plot_lilaw_scalars,
    plot_metric_by_setting,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runs() -> pd.DataFrame:
    return pd.DataFrame({
        "method": ["erm", "erm", "lilaw", "lilaw", "lilaw"],
        "seed": [0, 1, 0, 1, 2],
        "accuracy": [0.80, 0.82, 0.90, 0.91, 0.92],
        "macro_f1": [0.70, 0.74, 0.85, 0.86, 0.84],
    })


def assert_png(path, folder):
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left behind
    assert plt.get_fignums() == []


def test_scalars_plot_is_written(tmp_path, trajectory):
    path = plot_lilaw_scalars(trajectory, tmp_path / "s.png")

    assert path == tmp_path / "s.png"
    assert_png(path, tmp_path)


@pytest.mark.parametrize("empty", [pd.DataFrame(), pd.DataFrame(columns=["step", "epoch", "alpha", "beta", "delta"])])
def test_empty_trajectory_writes_nothing(tmp_path, empty):
    assert plot_lilaw_scalars(empty, tmp_path / "s.png") is None
    assert list(tmp_path.iterdir()) == []


def test_learning_curves_plot_is_written(tmp_path, history):
    path = plot_learning_curves(history, tmp_path / "curves.png", monitor="accuracy")

    assert_png(path, tmp_path)


def test_best_epoch_maximises_metrics_and_minimises_loss(history):
    assert best_epoch(history, monitor="accuracy") == 6
    assert best_epoch(history, monitor="loss") == 5
    assert best_epoch(history.assign(val_accuracy=float("nan")), monitor="accuracy") is None


def test_learning_curves_name_missing_columns(tmp_path, history):
    message = MISSING_COLUMNS.format(
        arg="history", missing=["val_auroc"], received=list(history.columns),
        fix="Pass one row per epoch with columns epoch, train_loss, val_loss and val_<monitor>.",
    )
    with pytest.raises(InputError, match=re.escape(message)):
        plot_learning_curves(history, tmp_path / "c.png", monitor="auroc")


def test_learning_curves_refuse_an_empty_history(tmp_path, history):
    message = EMPTY_FRAME.format(
        arg="history", fix="Pass one row per epoch with columns epoch, train_loss, val_loss and val_<monitor>."
    )
    with pytest.raises(InputError, match=re.escape(message)):
        plot_learning_curves(history.iloc[:0], tmp_path / "c.png", monitor="accuracy")


def test_comparison_plot_is_written(tmp_path, runs):
    path = plot_comparison(runs, tmp_path / "cmp.png", metrics=["accuracy", "macro_f1"])

    assert_png(path, tmp_path)


def test_metric_by_setting_plot_is_written_and_checks_its_settings(tmp_path):
    table = pd.DataFrame({"method": ["erm", "erm", "gce"], "seed": [0, 1, 0],
                          "clean": [0.85, 0.86, 0.84], "noisy": [0.80, 0.82, float("nan")]})
    assert_png(plot_metric_by_setting(table, tmp_path / "s.png", settings=["clean", "noisy"], metric="accuracy"),
               tmp_path)
    with pytest.raises(InputError, match=re.escape("table is missing column(s) ['lt']")):
        plot_metric_by_setting(table, tmp_path / "s.png", settings=["clean", "lt"], metric="accuracy")
    with pytest.raises(InputError, match="at least one setting"):
        plot_metric_by_setting(table, tmp_path / "s.png", settings=[], metric="accuracy")
    assert plt.get_fignums() == []


def test_comparison_checks_its_metrics(tmp_path, runs):
    with pytest.raises(InputError, match=re.escape(NO_METRICS.format(metrics=[]))):
        plot_comparison(runs, tmp_path / "c.png", metrics=[])
    with pytest.raises(InputError, match=re.escape("table is missing column(s) ['auroc']")):
        plot_comparison(runs, tmp_path / "c.png", metrics=["auroc"])
    empty = EMPTY_FRAME.format(arg="table", fix="Pass one row per (method, seed).")
    with pytest.raises(InputError, match=re.escape(empty)):
        plot_comparison(runs.iloc[:0], tmp_path / "c.png", metrics=["accuracy"])
    assert plt.get_fignums() == []


def test_failed_save_keeps_the_old_file_and_closes_the_figure(tmp_path, history, monkeypatch):
    target = tmp_path / "curves.png"
    target.write_bytes(b"previous plot")

    def crash(self, handle, **kwargs):
        handle.write(b"half a png")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(Figure, "savefig", crash)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        plot_learning_curves(history, target, monitor="accuracy")

    assert target.read_bytes() == b"previous plot"
    assert list(tmp_path.iterdir()) == [target]
    assert plt.get_fignums() == []
