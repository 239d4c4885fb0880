"""ECG (and any UCR time-series) domain: heartbeat classification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from lilaw_health.core.augment import Transform
from lilaw_health.core.data import TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.core.registry import Registry
from lilaw_health.core.synthetic import Artefacts
from lilaw_health.domains.ecg import artefacts, augment, data, models


class EcgDomain(Domain):
    """UCR/UEA time series (ECG5000 by default): FCN, LSTM and tsai encoders, signal augmentations."""

    name = "ecg"
    default_dataset = "ECG5000"
    default_model = "fcn"
    description = "time series of the UCR/UEA archive or a folder of them (ECG5000 by default)"

    def load_data(self, dataset: str, *, options: Mapping[str, Any]) -> TaskData:
        return data.load_data(dataset, options=options)

    def build_model(self, name: str, *, data: TaskData, options: Mapping[str, Any]) -> nn.Module:
        return models.build_model(name, data=data, options=dict(options))

    def model_names(self) -> list[str]:
        return models.MODELS.names()

    def augmentations(self) -> Registry[Transform]:
        return augment.AUGMENTATIONS

    def synthetic_artefacts(self) -> Artefacts:
        """Implausible generated beats: baseline wander, spikes or a flat-line, one per beat."""
        return lambda beats, rng: artefacts.plant_artefacts(beats, rng=rng)


DOMAIN = EcgDomain()
