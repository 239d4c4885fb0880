"""From a domain's data and a recipe to the train, validation and test views of one run.

Classification: the recipe's class-size profile of the training data (``imbalance.factor``)
decides which samples exist, its label noise goes into their labels, then a stratified share
is held out for validation (model selection and LiLAW's meta step). Regression: target noise,
then a seeded random split. With a ``mix`` section, synthetic samples from a generator fitted
on the real training part join the training set (:mod:`lilaw_health.core.synthetic`), and the
validation set comes from the sources ``mix.meta_val`` names. The test set is always the
domain's real test data, never mixed, never noisy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lilaw_health.core.data import LabeledView, TaskData, dataset_inputs, dataset_labels, dataset_sample_ids
from lilaw_health.core.data import shuffle_split, stratified_split
from lilaw_health.core.errors import ConfigError, unknown_name
from lilaw_health.core.noise import NOISE_MODELS, NoisyLabels, inject_label_noise, long_tailed_subsample
from lilaw_health.core.target_noise import TARGET_NOISE_MODELS, NoisyTargets, inject_target_noise
from lilaw_health.core.task import CLASSIFICATION, Regression, Task
from lilaw_health.recipe import Recipe


@dataclass(frozen=True)
class Splits:
    """Train and validation views carved from the (noisy) training data, and the clean test.

    ``kept`` holds the indices of the training data in the experiment (all of them unless
    the recipe's ``imbalance.factor`` subsamples a long tail); ``noise`` describes those
    samples in that order, and ``clean_labels`` all training data by index.
    """

    train: LabeledView
    val: LabeledView
    test: LabeledView
    noise: NoisyLabels | NoisyTargets
    clean_labels: np.ndarray
    kept: np.ndarray
    task: Task = CLASSIFICATION

    @property
    def observed(self) -> np.ndarray:
        """(n_kept,) the labels or targets training sees (after noise)."""
        return self.noise.labels if isinstance(self.noise, NoisyLabels) else self.noise.targets

    @property
    def corrupted(self) -> np.ndarray:
        """(n_kept,) True where the injected noise changed the label or target."""
        return self.noise.flipped if isinstance(self.noise, NoisyLabels) else self.noise.corrupted


def prepare_splits(data: TaskData, recipe: Recipe) -> Splits:
    """Keep the recipe's class-size profile of the training data (which samples exist), inject
    its noise into their labels, then split off validation (stratified by class; a random
    split for regression)."""
    if data.task == "regression":
        return _regression_splits(data, recipe)
    if recipe.threshold is not None:
        raise ConfigError(f"threshold={recipe.threshold} turns regression targets into a binary outcome; "
                          f"{data.name or 'this dataset'} is a classification. Remove threshold.")
    NOISE_MODELS.get(recipe.noise.kind)
    clean = dataset_labels(data.train, arg="training data")
    kept = long_tailed_subsample(clean, imbalance_factor=recipe.imbalance.factor, n_classes=data.n_classes,
                                 seed=recipe.seed)
    features = dataset_inputs(data.train)[kept] if recipe.noise.kind == "instance" else None
    noise = inject_label_noise(clean[kept], kind=recipe.noise.kind, rate=recipe.noise.rate, n_classes=data.n_classes,
                               seed=recipe.seed, transition_matrix=recipe.noise.matrix, features=features)
    train_pos, val_pos = stratified_split(noise.labels, fraction=recipe.val_fraction, seed=recipe.seed,
                                          class_names=data.class_names)
    ids = np.asarray(dataset_sample_ids(data.train), dtype=object)[kept]
    test_labels = dataset_labels(data.test, arg="test data")

    def view(pos: np.ndarray) -> LabeledView:
        return LabeledView(data.train, kept[pos], noise.labels[pos], ids[pos].tolist())

    test_ids = dataset_sample_ids(data.test)
    return Splits(train=view(train_pos), val=view(val_pos),
                  test=LabeledView(data.test, np.arange(len(test_labels)), test_labels, test_ids),
                  noise=noise, clean_labels=clean, kept=kept)


def _regression_splits(data: TaskData, recipe: Recipe) -> Splits:
    """Regression: every training sample kept, the recipe's target noise, a seeded random split."""
    if recipe.imbalance.factor != 1:
        raise ConfigError(f"imbalance.factor={recipe.imbalance.factor} subsamples classes; a regression has none. "
                          "Remove imbalance.factor.")
    if recipe.noise.kind not in TARGET_NOISE_MODELS.names():
        raise unknown_name("noise model for regression targets", recipe.noise.kind, TARGET_NOISE_MODELS.names(),
                           "E.g. noise.kind=uniform noise.rate=0.3.")
    clean = dataset_labels(data.train, arg="training data", task="regression")
    noise = inject_target_noise(clean, kind=recipe.noise.kind, rate=recipe.noise.rate, seed=recipe.seed,
                                target_range=data.target_range)
    train_pos, val_pos = shuffle_split(len(clean), fraction=recipe.val_fraction, seed=recipe.seed)
    ids = dataset_sample_ids(data.train)
    observed = noise.targets.astype(np.float32)
    test_targets = dataset_labels(data.test, arg="test data", task="regression")

    def view(pos: np.ndarray) -> LabeledView:
        return LabeledView(data.train, pos, observed[pos], [ids[i] for i in pos])

    return Splits(train=view(train_pos), val=view(val_pos),
                  test=LabeledView(data.test, np.arange(len(test_targets)), test_targets, dataset_sample_ids(data.test)),
                  noise=noise, clean_labels=clean, kept=np.arange(len(clean)), task=Regression(noise.target_range))
