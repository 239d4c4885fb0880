"""Gait domain: Parkinson's gait severity (UPDRS-gait 0-3) from pose sequences: PD-GaM, GAITGen
synthetic walks, CARE-PD (demo: walks from a kinematic walking model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from lilaw_health.core.augment import Pipeline, Transform
from lilaw_health.core.data import TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.core.registry import Registry
from lilaw_health.domains.gait import augment, data, models
from lilaw_health.domains.gait.evaluate import gait_metrics


class GaitDomain(Domain):
    """Walks -> UPDRS-gait score: temporal CNN, transformer, GRU, ST-GCN and an MLP head over your
    embeddings; mirroring, temporal crops, speed changes, jitter and rotations."""

    name = "gait"
    default_dataset = "demo"
    default_model = "tcn"
    description = "Parkinson's gait severity from pose sequences: PD-GaM, GAITGen, CARE-PD (demo: generated walks)"

    def load_data(self, dataset: str, *, options: Mapping[str, Any]) -> TaskData:
        return data.load_data(dataset, options=options)

    def build_model(self, name: str, *, data: TaskData, options: Mapping[str, Any]) -> nn.Module:
        return models.build_model(name, data=data, options=dict(options))

    def model_names(self) -> list[str]:
        return models.MODELS.names()

    def augmentations(self) -> Registry[Transform]:
        return augment.AUGMENTATIONS

    def build_augment(self, specs: Sequence[Mapping[str, Any]], *, data: TaskData) -> Pipeline | None:
        """Mirroring, rotation and speed changes act on physical units: they get the features' normalisation."""
        mean, std = data.extras.get("feature_mean"), data.extras.get("feature_std")
        if mean is not None:
            specs = augment.with_feature_stats(specs, mean=mean, std=std)
        return super().build_augment(specs, data=data)

    def evaluate(self, data: TaskData, *, y_true: Any, proba: Any, out_dir: Path, recipe: Any = None,
                 train_labels: Any = None, train_indices: Any = None) -> dict[str, Any]:
        """Macro-F1 over classes 0-3 and 0-2, and per-subject results (subjects.csv)."""
        return gait_metrics(y_true, proba, subjects=data.test_groups, out_dir=out_dir)


DOMAIN = GaitDomain()
