"""Tabular domain: UCI Adult, the diabetes regression data, or any CSV / Parquet table (binary
or numeric target), a 3-layer MLP, an scikit-learn estimator, and a fairness audit of every
classification run (:mod:`lilaw_health.fairness`).

fairlearn is imported when the domain is (``lilaw-health list`` included); core never
imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from lilaw_health.core.data import TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.domains.tabular import hooks, models
from lilaw_health.domains.tabular.data import load_data
from lilaw_health.domains.tabular.estimator import LiLAWClassifier


class TabularDomain(Domain):
    """Adult, diabetes, COMPAS or any CSV/Parquet table; the paper's MLP; a fairness audit per classification run."""

    name = "tabular"
    default_dataset = "adult"
    default_model = "mlp"
    description = ("tables: UCI Adult, COMPAS, or any CSV/Parquet file (dataset: csv), with a fairness audit; "
                   "diabetes (regression)")

    def load_data(self, dataset: str, *, options: Mapping[str, Any]) -> TaskData:
        return load_data(dataset, options=options)

    def build_model(self, name: str, *, data: TaskData, options: Mapping[str, Any]) -> nn.Module:
        return models.build_model(name, data=data, options=dict(options))

    def model_names(self) -> list[str]:
        return models.MODELS.names()

    def evaluate(self, data: TaskData, *, y_true: Any, proba: Any, out_dir: Path, recipe: Any = None,
                 train_labels: Any = None, train_indices: Any = None) -> dict[str, Any] | None:
        return hooks.evaluate(data, y_true=y_true, proba=proba, out_dir=out_dir, recipe=recipe,
                              train_labels=train_labels)

    def compare_report(self, out_dir: Path, *, runs: Mapping[tuple[str, int], Path],
                       recipe: Any = None) -> list[Path]:
        return hooks.compare_report(out_dir, runs=runs, recipe=recipe)


DOMAIN = TabularDomain()

__all__ = ["DOMAIN", "LiLAWClassifier", "TabularDomain", "load_data"]
