"""The diabetes data of Efron, Hastie, Johnstone and Tibshirani (2004), as scikit-learn ships it.

442 patients, ten baseline variables in their original units (``load_diabetes(scaled=False)``:
age in years, sex, body mass index, average blood pressure and six blood serum measurements
s1-s6), and the target: a quantitative measure of disease progression one year after baseline
(25 to 346). ``sex`` is coded 1 or 2; neither scikit-learn's description nor the source it
cites says which code is which, so its groups keep those names. See ``data_cards/diabetes.md``.

Rows keep scikit-learn's order: sample ``diabetes:<i>`` is row ``i`` (0-based) of
``load_diabetes().frame``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

COLUMNS = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
TARGET = "target"
SOURCE = "sklearn.datasets.load_diabetes"  # where messages say the rows come from


def read_diabetes() -> pd.DataFrame:
    """The 442 rows: the ten features as float (original units) and ``target`` (float)."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame[[*COLUMNS, TARGET]].astype(float).reset_index(drop=True)


def sample_ids(n: int) -> np.ndarray:
    """``diabetes:<row>`` for rows 0..n-1 of scikit-learn's frame."""
    return np.array([f"diabetes:{i}" for i in range(n)], dtype=object)
