"""ECG (and any UCR time-series) domain: heartbeat classification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from lilaw_health.core.augment import Pipeline, Transform
from lilaw_health.core.data import TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.registry import Registry
from lilaw_health.core.synthetic import Artefacts
from lilaw_health.domains.ecg import artefacts, augment, baselines, data, models
from lilaw_health.domains.ecg.data import UcrOptions
from lilaw_health.domains.ecg.features import AUGMENT_ON_FEATURES, series_data


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

    def build_augment(self, specs: Sequence[Mapping[str, Any]], *, data: TaskData) -> Pipeline | None:
        """The signal augmentations; refused on feature vectors (``data.features``)."""
        if specs and data.extras.get("features"):
            names = [str(spec.get("name")) if isinstance(spec, Mapping) else repr(spec) for spec in specs]
            raise ConfigError(AUGMENT_ON_FEATURES.format(names=", ".join(names), features=data.extras["features"]))
        return super().build_augment(specs, data=data)

    def synthetic_artefacts(self) -> Artefacts:
        """Implausible generated beats: baseline wander, spikes or a flat-line, one per beat."""
        return lambda beats, rng: artefacts.plant_artefacts(beats, rng=rng)

    def evaluate(self, data: TaskData, *, y_true: Any, proba: Any, out_dir: Path, recipe: Any = None,
                 train_labels: Any = None, train_indices: Any = None) -> dict[str, Any] | None:
        """1-NN Euclidean and MiniRocket-ridge fitted on the run's training labels, beside the network.

        Runs the baselines the recipe's ``data.baselines`` names (both by default, and without a
        recipe; none when empty); a warning when the network is below 1-NN. Nothing is written:
        the result goes into ``metrics.json`` and the run's report
        (:func:`baselines.evaluate_baselines` describes it and runs any baselines without a recipe).
        With ``data.features`` the baselines see the raw series (MiniRocket + ridge then uses
        the very features the network was trained on).
        """
        options = UcrOptions.from_mapping(recipe.data) if recipe is not None else None
        names = options.baselines if options is not None else baselines.DEFAULT_BASELINES
        if not names or data.task != "classification":
            return None
        return baselines.evaluate_baselines(series_data(data), y_true=np.asarray(y_true), proba=np.asarray(proba),
                                            names=names, train_labels=train_labels, train_indices=train_indices,
                                            seed=recipe.seed if recipe is not None else 0,
                                            features=options.features if options is not None else "none")


DOMAIN = EcgDomain()
