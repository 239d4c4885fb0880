"""The cost table of `compare`: time and memory per method, relative to ERM."""

from __future__ import annotations

import math

import pandas as pd

from lilaw_health.compare import _metric_columns, cost_table


def _runs():
    return pd.DataFrame({
        "method": ["erm", "lilaw", "dynamic_loss"] * 2, "seed": [0, 0, 0, 1, 1, 1],
        "accuracy": [0.9, 0.91, 0.92, 0.9, 0.9, 0.9],
        "seconds_per_epoch": [1.0, 1.2, 3.0, 1.0, 1.4, 3.2],
        "peak_memory_mb": [10.0, 11.0, 30.0, 12.0, 13.0, 36.0],
        "memory_measure": ["heap_in_use"] * 6, "best_epoch": [3, 9, 5, 4, 8, 6],
    })


def test_cost_is_relative_to_erm_in_the_same_table():
    table = cost_table(_runs(), ["erm", "lilaw", "dynamic_loss"])
    assert table["method"].tolist() == ["erm", "lilaw", "dynamic_loss"] and table["runs"].tolist() == [2, 2, 2]
    assert table["time_vs_erm"].tolist() == [1.0, 1.3, 3.1]
    assert table["memory_vs_erm"].tolist() == [1.0, round(12 / 11, 2), 3.0]
    assert table.loc[1, "seconds_per_epoch"] == "1.300 ± 0.141"
    assert table.loc[2, "peak_memory_mb"] == "33.0 ± 4.2"
    assert table["memory_measure"].tolist() == ["heap_in_use"] * 3


def test_without_erm_the_ratios_are_nan_and_cost_is_no_metric():
    runs = _runs()
    table = cost_table(runs[runs["method"] != "erm"], ["lilaw", "dynamic_loss"])
    assert all(math.isnan(v) for v in table["time_vs_erm"])
    assert _metric_columns(runs) == ["accuracy"]
