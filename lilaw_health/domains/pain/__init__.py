"""Pain domain: facial pain from face frames (SynPAIN synthetic pairs, UNBC-McMaster, any frames
folder + CSV), MediaPipe Face Mesh landmarks and eye-aligned crops, binary pain or PSPI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from lilaw_health.core.augment import Transform
from lilaw_health.core.data import TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.core.registry import Registry
from lilaw_health.domains.pain import augment, data, models


class PainDomain(Domain):
    """Face frames -> pain: landmark MLP, small CNN, ResNet-18 and two-stream encoders; flips that
    swap left/right landmarks, geometric and colour augmentations."""

    name = "pain"
    default_dataset = "demo"
    default_model = "two_stream"
    description = "facial pain from face frames: SynPAIN, UNBC-McMaster HDF5, frames + CSV (demo: rendered faces)"

    def load_data(self, dataset: str, *, options: Mapping[str, Any]) -> TaskData:
        return data.load_data(dataset, options=options)

    def build_model(self, name: str, *, data: TaskData, options: Mapping[str, Any]) -> nn.Module:
        return models.build_model(name, data=data, options=dict(options))

    def model_names(self) -> list[str]:
        return models.MODELS.names()

    def augmentations(self) -> Registry[Transform]:
        return augment.AUGMENTATIONS


DOMAIN = PainDomain()
