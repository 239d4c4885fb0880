"""scikit-learn baselines audited beside the networks, by name.

Each factory takes the run's seed and returns an unfitted classifier; it is fitted on the
same preprocessed features and training labels as the network (all training rows: the
network's validation part included, since neither baseline needs a held-out set).
"""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from lilaw_health.core.registry import Registry

BASELINES: Registry[Callable[[int], ClassifierMixin]] = Registry(
    "baseline", fix="Set data.baselines to a list of these names.")


@BASELINES.register("logistic_regression")
def logistic_regression(seed: int) -> ClassifierMixin:
    """L2-regularised logistic regression (C=1, lbfgs); deterministic, so ``seed`` is unused."""
    del seed
    return LogisticRegression(C=1.0, max_iter=2000)


@BASELINES.register("gradient_boosting")
def gradient_boosting(seed: int) -> ClassifierMixin:
    """Histogram gradient boosting with scikit-learn's defaults (early stopping on its own
    10 % split of the training rows, seeded)."""
    return HistGradientBoostingClassifier(random_state=seed)
