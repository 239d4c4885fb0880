"""ECG (and any UCR time-series) domain: heartbeat classification."""

from __future__ import annotations

from lilaw_health.domains import Domain
from lilaw_health.domains.ecg.augment import AUGMENTATIONS, compose
from lilaw_health.domains.ecg.data import load_data
from lilaw_health.domains.ecg.models import MODELS, build_model

DOMAIN = Domain(name="ecg", load_data=load_data, build_model=build_model, model_names=MODELS.names,
                default_dataset="ECG5000", build_augment=compose, augment_names=AUGMENTATIONS.names)
