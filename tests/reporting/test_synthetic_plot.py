"""The synthetic-value histogram: one panel per class, one panel for a regression's targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image

from lilaw_health.reporting.synthetic import plot_value


def _difficulty(labels: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(labels)
    return pd.DataFrame({"label": labels, "w_alpha_mean": rng.uniform(size=n),
                         "source": np.where(np.arange(n) % 2 == 0, "real", "synthetic"),
                         "failure": [""] * n})


def _width(path) -> int:
    with Image.open(path) as image:
        return image.size[0]


def test_one_panel_per_class_and_one_for_a_regression(tmp_path):
    three_classes = _width(plot_value(_difficulty(np.arange(60) % 3), tmp_path / "classes.png"))
    one_class = _width(plot_value(_difficulty(np.zeros(60, dtype=int)), tmp_path / "one.png"))
    # 150 distinct float targets: one panel of all samples, not 150 (it took 80 s to draw them)
    regression = _width(plot_value(_difficulty(np.linspace(25.0, 346.0, 150)), tmp_path / "regression.png"))
    assert regression == one_class < three_classes
