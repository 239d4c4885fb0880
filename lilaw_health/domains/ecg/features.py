"""Frozen features in place of series: ``data.features=minirocket``, the frozen-feature regime.

The LiLAW paper reports its largest gains for linear probes on fixed features. With
``data.features=minirocket`` the loader replaces every series by its MiniRocket features
(tsai's ``MiniRocketFeatures``: 10,000 requested, 9,996 produced, from kernels whose biases
are fitted on every training series, without labels, with seed 0). They come from
:func:`~lilaw_health.domains.ecg.baselines.minirocket_features`, which caches them on disk by
the series' content: a dataset's features are computed once for every method, seed and
rerun of a comparison (and shared with the MiniRocket + ridge baseline), never per forward
pass. A sample is then a float32 vector (n_features,), ``TaskData.input_shape`` is
``(n_features,)`` and the model is ``minirocket_linear``, a linear layer over it.

The raw series stay in ``extras["series"]`` so that the baselines still compare against the
series (:func:`series_data`); augmentations act on raw series and are refused
(:data:`AUGMENT_ON_FEATURES`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from lilaw_health.core.data import ArrayDataset, TaskData, dataset_inputs
from lilaw_health.core.errors import InputError
from lilaw_health.domains.ecg.baselines import MINIROCKET_MIN_LENGTH, BaselineSkipped, minirocket_features

FEATURES = ("none", "minirocket")
FEATURES_TOO_SHORT = ("data.features=minirocket needs series of at least {minimum} time steps (the span of "
                      "MiniRocket's kernels); {dataset} has {length}. Resample them longer (data.length_policy="
                      "resample data.length={minimum}), or train a model on the raw series (remove data.features).")
FEATURES_UNAVAILABLE = "data.features=minirocket: {reason}"
AUGMENT_ON_FEATURES = ("augment: the augmentations ({names}) act on raw series, but data.features={features} "
                       "replaced each series by a feature vector. Remove augment from the recipe (augment=[]), "
                       "or train on the raw series (remove data.features).")
FEATURES_NOTE = ("data.features=minirocket: each series is replaced by its {n_features} MiniRocket features "
                 "(tsai; kernel biases fitted once on all {n_train} training series, no labels, seed 0; cached on "
                 "disk). The network is trained on these fixed features; the baselines still see the series.")


def with_features(data: TaskData, *, kind: str) -> TaskData:
    """``data`` with every series replaced by its ``kind`` features (``"none"``: unchanged).

    Parameters
    ----------
    data : TaskData
        Series (n_samples, n_channels, length) in ArrayDatasets, as :func:`~.data.load_data` builds them.
    kind : {"none", "minirocket"}

    Returns
    -------
    TaskData
        Inputs (n_samples, n_features) float32, ``input_shape`` (n_features,), and in ``extras``:
        ``features`` (the kind), ``series`` (the raw train and test arrays) and a note for the report.

    Raises
    ------
    InputError
        Series shorter than MiniRocket's kernels, or tsai missing.
    """
    if kind == "none":
        return data
    shape = (-1, *data.input_shape)
    train_x, test_x = (np.ascontiguousarray(dataset_inputs(split).reshape(shape)) for split in (data.train, data.test))
    if train_x.shape[-1] < MINIROCKET_MIN_LENGTH:
        raise InputError(FEATURES_TOO_SHORT.format(minimum=MINIROCKET_MIN_LENGTH, dataset=data.name or "the dataset",
                                                   length=train_x.shape[-1]))
    try:
        train_f, test_f = minirocket_features(train_x, test_x, seed=0)
    except BaselineSkipped as reason:  # tsai missing: the message names the extra to install
        raise InputError(FEATURES_UNAVAILABLE.format(reason=reason)) from None
    note = FEATURES_NOTE.format(n_features=train_f.shape[1], n_train=len(train_x))
    extras = {**data.extras, "features": kind, "series": (train_x, test_x),
              "notes": [*data.extras.get("notes", []), note]}
    return dataclasses.replace(data, train=_like(data.train, train_f), test=_like(data.test, test_f),
                               input_shape=train_f.shape[1:], extras=extras)


def series_data(data: TaskData) -> TaskData:
    """The raw-series twin of feature data (``data`` itself when it holds series): same labels,
    sample ids and classes, inputs (n_samples, n_channels, length)."""
    if "series" not in data.extras:
        return data
    train_x, test_x = data.extras["series"]
    extras = {key: value for key, value in data.extras.items() if key not in ("features", "series")}
    return dataclasses.replace(data, train=_like(data.train, train_x), test=_like(data.test, test_x),
                               input_shape=train_x.shape[1:], extras=extras)


def _like(dataset: Any, inputs: np.ndarray) -> ArrayDataset:
    """An ArrayDataset of ``inputs`` with the labels and sample ids of ``dataset``."""
    return ArrayDataset(inputs, dataset.targets, sample_ids=dataset.sample_ids)

