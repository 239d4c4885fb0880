"""fairlearn mitigators by name, wrapping any scikit-learn classifier."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import equalized_odds_difference
from sklearn.linear_model import LogisticRegression

from lilaw_health.fairness.mitigators import MITIGATORS, mitigated_predictions


def test_names_and_unknown_name():
    assert MITIGATORS.names() == ["exponentiated_gradient", "threshold_optimizer"]
    with pytest.raises(KeyError, match="unknown mitigator 'reweigh'; valid names are: exponentiated_gradient"):
        MITIGATORS.get("reweigh")


def test_mitigators_reduce_the_equalized_odds_gap():
    rng = np.random.default_rng(0)
    n = 2000
    group = rng.choice(["a", "b"], n)
    X = np.column_stack([rng.normal(size=n), group == "a"]).astype(float)
    y = (X[:, 0] + 1.5 * X[:, 1] + rng.normal(0, 0.5, n) > 0.7).astype(int)
    plain = LogisticRegression().fit(X, y).predict(X)
    predictions = mitigated_predictions(LogisticRegression(), X, y, group, X, group,
                                        names=MITIGATORS.names(), max_iter=20, seed=0)
    before = equalized_odds_difference(y, plain, sensitive_features=group)
    for name, pred in predictions.items():
        assert pred.dtype == np.int64 and set(pred) <= {0, 1}
        assert equalized_odds_difference(y, pred, sensitive_features=group) < before, name
