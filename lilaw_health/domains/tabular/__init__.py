"""Tabular domain: UCI Adult or any CSV / Parquet table, a 3-layer MLP, an scikit-learn
estimator, and a fairness audit of every run (:mod:`lilaw_health.fairness`).

fairlearn is imported when the domain is (``lilaw-health list`` included); core never
imports it.
"""

from __future__ import annotations

from lilaw_health.domains import Domain
from lilaw_health.domains.tabular.data import load_data
from lilaw_health.domains.tabular.estimator import LiLAWClassifier
from lilaw_health.domains.tabular.hooks import compare_report, evaluate
from lilaw_health.domains.tabular.models import MODELS, build_model

DOMAIN = Domain(name="tabular", load_data=load_data, build_model=build_model, model_names=MODELS.names,
                default_dataset="adult", evaluate=evaluate, compare_report=compare_report)

__all__ = ["DOMAIN", "LiLAWClassifier", "load_data"]
