"""Three Gaussian blobs in four features, split 4:1 into training and validation views."""

from __future__ import annotations

import numpy as np

from lilaw_health.core import ArrayDataset, LabeledView


def blob_views(n: int, *, seed: int) -> tuple[LabeledView, LabeledView]:
    """(train, validation) over ``n`` samples of 3 classes; every fifth sample validates."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    data = ArrayDataset(rng.normal(size=(n, 4)).astype(np.float32) + y[:, None], y)
    idx = np.arange(n)
    val = idx % 5 == 0
    return (LabeledView(data, idx[~val], y[~val], list(idx[~val])), LabeledView(data, idx[val], y[val], list(idx[val])))
