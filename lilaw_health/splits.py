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

from lilaw_health.core.data import ArrayDataset, LabeledView, TaskData, dataset_inputs, dataset_labels
from lilaw_health.core.data import dataset_sample_ids
from lilaw_health.core.data import shuffle_split, stratified_split
from lilaw_health.core.errors import ConfigError, unknown_name
from lilaw_health.core.synthetic import Artefacts, MixedDataset, array_inputs, generate, nearest_real_distance
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


def prepare_splits(data: TaskData, recipe: Recipe, *, artefacts: Artefacts | None = None) -> Splits:
    """Keep the recipe's class-size profile of the training data (which samples exist), inject
    its noise into their labels, then split off validation (stratified by class; a random
    split for regression)."""
    if data.task == "regression":
        if recipe.mix.generator != "none":
            raise ConfigError("mix.generator: synthetic regression samples are not supported yet; remove mix.")
        return _regression_splits(data, recipe)
    if recipe.threshold is not None:
        raise ConfigError(f"threshold={recipe.threshold} turns regression targets into a binary outcome; "
                          f"{data.name or 'this dataset'} is a classification. Remove threshold.")
    NOISE_MODELS.get(recipe.noise.kind)
    clean = dataset_labels(data.train, arg="training data")
    kept = long_tailed_subsample(clean, imbalance_factor=recipe.imbalance.factor, n_classes=data.n_classes,
                                 seed=recipe.seed)
    if recipe.mix.real_train:
        kept = kept[stratified_subsample(clean[kept], recipe.mix.real_train, seed=recipe.seed)]
    features = dataset_inputs(data.train)[kept] if recipe.noise.kind == "instance" else None
    noise = inject_label_noise(clean[kept], kind=recipe.noise.kind, rate=recipe.noise.rate, n_classes=data.n_classes,
                               seed=recipe.seed, transition_matrix=recipe.noise.matrix, features=features)
    train_pos, val_pos = stratified_split(noise.labels, fraction=recipe.val_fraction, seed=recipe.seed,
                                          class_names=data.class_names)
    ids = np.asarray(dataset_sample_ids(data.train), dtype=object)[kept]
    test_labels = dataset_labels(data.test, arg="test data")

    def view(pos: np.ndarray) -> LabeledView:
        return LabeledView(data.train, kept[pos], noise.labels[pos], ids[pos].tolist())

    test = LabeledView(data.test, np.arange(len(test_labels)), test_labels, dataset_sample_ids(data.test))
    if recipe.mix.generator != "none":
        train, val = mix_synthetic(data, recipe, view(train_pos), view(val_pos), artefacts=artefacts)
        return Splits(train=train, val=val, test=test, noise=noise, clean_labels=clean, kept=kept)
    return Splits(train=view(train_pos), val=view(val_pos), test=test, noise=noise, clean_labels=clean, kept=kept)


def stratified_subsample(labels: np.ndarray, n: int, *, seed: int) -> np.ndarray:
    """Sorted positions of about ``n`` samples in the class proportions of ``labels``, at least two
    of every class that has two (so that a validation split can still see every class)."""
    if n >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for label, count in zip(*np.unique(labels, return_counts=True)):
        take = min(count, max(2, int(round(n * count / len(labels)))))
        chosen.append(rng.permutation(np.flatnonzero(labels == label))[:take])
    return np.sort(np.concatenate(chosen))


def mix_synthetic(data: TaskData, recipe: Recipe, train: LabeledView, val: LabeledView, *,
                  artefacts: Artefacts | None) -> tuple[LabeledView, LabeledView]:
    """Training and validation views over real + synthetic samples (see the module docstring).

    The generator is fitted on ``train``'s real samples (observed labels) only. Its samples are
    split like the real ones (``val_fraction`` stratified); validation keeps the sources that
    ``mix.meta_val`` names, and the synthetic validation share is never trained on.
    """
    mix = recipe.mix
    if mix.ratio == 0 and mix.per_class == 0:
        raise ConfigError(f"mix.generator={mix.generator} asks for no synthetic samples (mix.ratio=0, mix.per_class=0); "
                          "set mix.ratio (e.g. 1.0) or mix.per_class, or mix.generator=none.")
    if not isinstance(data.train, ArrayDataset):
        raise ConfigError("mix.generator needs the training data in memory (an ArrayDataset); give synthetic "
                          "samples of a lazy dataset as data of their own.")
    inputs = array_inputs(data.train)[train.indices]
    counts = synthetic_counts(train.targets, data.n_classes, ratio=mix.ratio, per_class=mix.per_class)
    synthetic = generate(inputs, train.targets, counts=counts, generator=mix.generator, failures=mix.failures,
                         seed=recipe.seed, artefacts=artefacts)
    distance = nearest_real_distance(synthetic.inputs, synthetic.labels, inputs, train.targets)
    mixed = MixedDataset(data.train, ArrayDataset(synthetic.inputs, synthetic.labels), real_targets=data.train.targets,
                         real_ids=dataset_sample_ids(data.train), synthetic_failure=synthetic.failure,
                         synthetic_distance=distance)
    syn_train, syn_val = stratified_split(synthetic.labels, fraction=recipe.val_fraction, seed=recipe.seed + 1,
                                          class_names=data.class_names)
    offset = len(data.train)

    def over(real: LabeledView | None, syn: np.ndarray) -> LabeledView:
        real_idx = real.indices if real is not None else np.zeros(0, dtype=np.int64)
        real_y = real.targets if real is not None else np.zeros(0, dtype=np.int64)
        indices = np.concatenate([real_idx, offset + syn])
        return LabeledView(mixed, indices, np.concatenate([real_y, synthetic.labels[syn]]),
                           [mixed.sample_ids[i] for i in indices])

    no_synthetic = np.zeros(0, dtype=np.int64)
    validation = {"real": over(val, no_synthetic), "synthetic": over(None, syn_val), "both": over(val, syn_val)}
    return over(train if mix.train_on_real else None, syn_train), validation[mix.meta_val]


def synthetic_counts(labels: np.ndarray, n_classes: int, *, ratio: float, per_class: int) -> list[int]:
    """Synthetic samples per class: ``per_class`` each, or ``ratio`` times the real count of the class
    (at least two, so that the synthetic samples can be split for validation like the real ones)."""
    if per_class:
        return [max(per_class, 2)] * n_classes
    real = np.bincount(labels, minlength=n_classes)
    return [max(2, int(round(ratio * count))) if count else 0 for count in real]


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
