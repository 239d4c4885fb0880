"""fairlearn mitigators wrapping any scikit-learn classifier, by name.

``exponentiated_gradient`` (Agarwal et al. 2018) refits the estimator with
``sample_weight`` ``max_iter`` times under an equalized-odds constraint and predicts with
the randomised mixture; ``threshold_optimizer`` (Hardt et al. 2016) fits the estimator once
and picks group-specific thresholds on its ``predict_proba``. Both need the sensitive
feature at training time; the threshold optimizer also at prediction time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import EqualizedOdds, ExponentiatedGradient
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone

from lilaw_health.core.registry import Registry

Mitigate = Callable[..., np.ndarray]
MITIGATORS: Registry[Mitigate] = Registry("mitigator", fix="Set data.mitigators to a list of these names.")


@MITIGATORS.register("exponentiated_gradient")
def exponentiated_gradient(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike, sensitive: ArrayLike,
                           X_test: ArrayLike, sensitive_test: ArrayLike, *, max_iter: int = 10,
                           seed: int = 0) -> np.ndarray:
    """Predictions of ``ExponentiatedGradient(estimator, EqualizedOdds())`` on ``X_test``."""
    del sensitive_test  # the reduction's classifier does not see the sensitive feature at test time
    mitigator = ExponentiatedGradient(clone(estimator), constraints=EqualizedOdds(), max_iter=max_iter)
    mitigator.fit(X, y, sensitive_features=sensitive)
    return np.asarray(mitigator.predict(X_test, random_state=seed))


@MITIGATORS.register("threshold_optimizer")
def threshold_optimizer(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike, sensitive: ArrayLike,
                        X_test: ArrayLike, sensitive_test: ArrayLike, *, max_iter: int = 10,
                        seed: int = 0) -> np.ndarray:
    """Predictions of ``ThresholdOptimizer(estimator, constraints="equalized_odds")`` on ``X_test``."""
    del max_iter  # one fit of the estimator
    mitigator = ThresholdOptimizer(estimator=clone(estimator), constraints="equalized_odds",
                                   objective="accuracy_score", predict_method="predict_proba")
    mitigator.fit(X, y, sensitive_features=sensitive)
    return np.asarray(mitigator.predict(X_test, sensitive_features=sensitive_test, random_state=seed))


def mitigated_predictions(estimator: BaseEstimator, X: ArrayLike, y: ArrayLike, sensitive: ArrayLike,
                          X_test: ArrayLike, sensitive_test: ArrayLike, *, names: Sequence[str],
                          **options: Any) -> dict[str, np.ndarray]:
    """0/1 test predictions (n_test,) of each named mitigator wrapping ``estimator``."""
    mitigators = {name: MITIGATORS.get(name) for name in names}
    return {name: mitigate(estimator, X, y, sensitive, X_test, sensitive_test, **options).astype(np.int64)
            for name, mitigate in mitigators.items()}
