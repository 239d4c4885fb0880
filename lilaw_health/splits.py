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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lilaw_health.core.data import ArrayDataset, LabeledView, TaskData, dataset_inputs, dataset_labels
from lilaw_health.core.data import dataset_sample_ids, group_split, shuffle_split, stratified_split
from lilaw_health.core.errors import ConfigError, InputError, unknown_name
from lilaw_health.core.sources import REAL, SYNTHETIC, SourcedDataset, sourced_train, train_sources
from lilaw_health.core.synthetic import Artefacts, array_inputs, generate, nearest_real_distance
from lilaw_health.core.noise import NOISE_MODELS, NoisyLabels, inject_label_noise, long_tailed_subsample
from lilaw_health.core.target_noise import TARGET_NOISE_MODELS, NoisyTargets, inject_target_noise
from lilaw_health.core.task import CLASSIFICATION, Regression, Task
from lilaw_health.recipe import MixSettings, Recipe


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
    """Keep the recipe's class-size profile of the training data (which samples exist) and its
    share of each source, inject its noise into their labels, then split off validation per source
    (stratified by class, by subject when the data names subjects, random for regression)."""
    if data.task == "regression" and recipe.mix.generator != "none":
        raise ConfigError(f"mix.generator={recipe.mix.generator} draws samples per class; {data.name or 'this dataset'} "
                          "is a regression. Give synthetic samples as data instead (mix.dataset), or mix.generator=none.")
    if data.task == "regression":
        return _regression_splits(data, recipe)
    if recipe.threshold is not None:
        raise ConfigError(f"threshold={recipe.threshold} turns regression targets into a binary outcome; "
                          f"{data.name or 'this dataset'} is a classification. Remove threshold.")
    NOISE_MODELS.get(recipe.noise.kind)
    clean = dataset_labels(data.train, arg="training data")
    sources = train_sources(data)
    kept = long_tailed_subsample(clean, imbalance_factor=recipe.imbalance.factor, n_classes=data.n_classes,
                                 seed=recipe.seed)
    kept = choose_samples(kept, clean, sources, recipe.mix, seed=recipe.seed, class_names=data.class_names)
    features = dataset_inputs(data.train)[kept] if recipe.noise.kind == "instance" else None
    noise = inject_label_noise(clean[kept], kind=recipe.noise.kind, rate=recipe.noise.rate, n_classes=data.n_classes,
                               seed=recipe.seed, transition_matrix=recipe.noise.matrix, features=features)
    test_labels = dataset_labels(data.test, arg="test data")
    test = LabeledView(data.test, np.arange(len(test_labels)), test_labels, dataset_sample_ids(data.test))
    parts = split_by_source(noise.labels, sources[kept], _kept(data.groups, kept), fraction=recipe.val_fraction,
                            seed=recipe.seed, class_names=data.class_names)
    if recipe.mix.generator == "none" and set(sources[kept]) == {REAL}:
        train_pos, val_pos = parts[REAL]
        ids = np.asarray(dataset_sample_ids(data.train), dtype=object)[kept]
        views = [LabeledView(data.train, kept[pos], noise.labels[pos], ids[pos].tolist()) for pos in (train_pos, val_pos)]
        return Splits(train=views[0], val=views[1], test=test, noise=noise, clean_labels=clean, kept=kept)
    pool = Pool(sourced_train(data), kept, noise.labels)
    measure_real_distance(pool, parts, data)
    if recipe.mix.generator != "none":
        pool = add_generated(pool, parts, data, recipe, artefacts=artefacts)
    train, val = mixed_views(pool, parts, recipe.mix)
    return Splits(train=train, val=val, test=test, noise=noise, clean_labels=clean, kept=kept)


def _kept(groups: np.ndarray | None, kept: np.ndarray) -> np.ndarray | None:
    return np.asarray(groups, dtype=object)[kept] if groups is not None else None


def split_by_source(targets: np.ndarray, sources: np.ndarray, groups: np.ndarray | None, *, fraction: float, seed: int,
                    class_names: list[str] | None = None, regression: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Source -> (train positions, validation positions): each source split on its own, whole
    subjects to one side when ``groups`` is given, else stratified by class (random for regression)."""
    parts = {}
    for source in dict.fromkeys(sources):  # first-seen order: real first
        members = np.flatnonzero(sources == source)
        try:
            if groups is not None:
                train, val = group_split(groups[members], fraction=fraction, seed=seed)
            elif regression:
                train, val = shuffle_split(len(members), fraction=fraction, seed=seed)
            elif source == REAL:
                train, val = stratified_split(targets[members], fraction=fraction, seed=seed, class_names=class_names,
                                              single_to_train=True)
            else:  # a class with one synthetic sample trains on it
                train, val = _share_per_class(targets[members], fraction=fraction, seed=seed)
        except InputError as error:
            raise InputError(f"the {source} samples: {error}") from None
        parts[str(source)] = (members[train], members[val])
    return parts


def _share_per_class(labels: np.ndarray, *, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`stratified_split`, but a class with a single sample keeps it for training."""
    rng = np.random.default_rng(seed)
    val = [rng.permutation(np.flatnonzero(labels == label))[: min(round(fraction * count), count - 1)]
           for label, count in zip(*np.unique(labels, return_counts=True))]
    chosen = np.sort(np.concatenate(val)) if val else np.zeros(0, dtype=np.int64)
    return np.setdiff1d(np.arange(len(labels)), chosen), chosen


@dataclass(frozen=True)
class Pool:
    """Every sample a run may train or validate on: a :class:`SourcedDataset`, the positions
    ``kept`` of its real-data part in the experiment, and their observed ``labels``; generated
    samples follow at ``generated`` (indices into the dataset) with their labels."""

    dataset: SourcedDataset
    kept: np.ndarray
    labels: np.ndarray
    generated: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    generated_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def mixed_views(pool: Pool, parts: dict[str, tuple[np.ndarray, np.ndarray]], mix: MixSettings) -> tuple[LabeledView, LabeledView]:
    """Training view over every source's training part (without the real one when
    ``mix.train_on_real`` is false) and validation view over the sources ``mix.meta_val`` names."""
    named = meta_val_sources(mix.meta_val, list(parts))
    indices = np.concatenate([pool.kept, pool.generated])
    labels = np.concatenate([pool.labels, pool.generated_labels])
    train = [pos for source, (pos, _) in parts.items() if mix.train_on_real or source != REAL]
    val = [parts[source][1] for source in named]
    if sum(len(pos) for pos in val) == 0:
        raise ConfigError(f"mix.meta_val={mix.meta_val}: no {mix.meta_val} samples are left for validation; "
                          "keep more of them (mix.real_train) or validate on another source.")

    def view(positions: list[np.ndarray]) -> LabeledView:
        pos = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        return LabeledView(pool.dataset, indices[pos], labels[pos], [pool.dataset.sample_ids[i] for i in indices[pos]])

    return view(train), view(val)


def measure_real_distance(pool: Pool, parts: dict[str, tuple[np.ndarray, np.ndarray]], data: TaskData, *,
                          by_class: bool = True) -> None:
    """Fill in the distance of every non-real sample of ``pool`` to the real training part (of its
    class, for a classification; :func:`nearest_real_distance`); left unknown (NaN) for data that
    is not in memory."""
    if REAL not in parts or not isinstance(data.train, ArrayDataset):
        return
    positions = np.flatnonzero(pool.dataset.sources[pool.kept] != REAL)
    if not len(positions):
        return
    real = parts[REAL][0]
    inputs = dataset_inputs(data.train)
    labels = pool.labels if by_class else np.zeros(len(pool.kept), dtype=np.int64)
    pool.dataset.real_distance[pool.kept[positions]] = nearest_real_distance(
        inputs[pool.kept[positions]], labels[positions], inputs[pool.kept[real]], labels[real])


def meta_val_sources(meta_val: str, sources: list[str]) -> list[str]:
    """The sources ``mix.meta_val`` names among those present: real, synthetic (every source but
    real), both (all), or one source by name."""
    choices = {REAL: [REAL], SYNTHETIC: [s for s in sources if s != REAL], "both": sources}
    named = choices.get(meta_val, [meta_val] if meta_val in sources else None)
    if not named or any(source not in sources for source in named):
        raise ConfigError(f"mix.meta_val={meta_val} names no source of the training data (sources: "
                          f"{', '.join(sources)}). Use real, synthetic, both or one of the sources by name; "
                          "real needs real training samples.")
    return named


def choose_samples(kept: np.ndarray, labels: np.ndarray, sources: np.ndarray, mix: MixSettings, *, seed: int,
                   class_names: list[str] | None = None) -> np.ndarray:
    """``kept`` reduced to ``mix.real_train`` real samples (stratified) and to the number of
    synthetic samples ``mix.ratio`` / ``mix.per_class`` asks for (all when neither is set, or
    when they size a generator's output instead)."""
    real = kept[sources[kept] == REAL]
    synthetic = kept[sources[kept] != REAL]
    if mix.real_train:
        real = real[stratified_subsample(labels[real], mix.real_train, seed=seed)]
    if len(synthetic) and mix.generator == "none" and (mix.ratio is not None or mix.per_class):
        synthetic = _synthetic_share(synthetic, labels, real, mix, seed=seed, class_names=class_names)
    return np.sort(np.concatenate([real, synthetic]))


def _synthetic_share(synthetic: np.ndarray, labels: np.ndarray | None, real: np.ndarray, mix: MixSettings, *,
                     seed: int, class_names: list[str] | None) -> np.ndarray:
    """Synthetic samples per class (one pool for regression: ``labels`` None) as ``mix`` asks."""
    rng = np.random.default_rng(seed + 2)
    classes = [None] if labels is None else sorted(set(labels[real].tolist()) | set(labels[synthetic].tolist()))
    chosen = []
    for label in classes:
        have = synthetic if labels is None else synthetic[labels[synthetic] == label]
        n_real = len(real) if labels is None else int((labels[real] == label).sum())
        want = mix.per_class if mix.per_class else int(round((mix.ratio or 0.0) * n_real))
        if want > len(have):
            key = f"mix.per_class={mix.per_class}" if mix.per_class else f"mix.ratio={mix.ratio}"
            what = "" if label is None else f" of class {class_names[label] if class_names else label!r}"
            most = "" if mix.per_class or not n_real else f" (at most {len(have) / n_real:.2f})"
            raise ConfigError(f"{key} asks for {want} synthetic samples{what}, but the synthetic data has "
                              f"{len(have)}; lower {key.partition('=')[0]}{most}, or add synthetic samples.")
        chosen.append(rng.permutation(have)[:want])
    return np.sort(np.concatenate(chosen)) if chosen else synthetic[:0]


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


def add_generated(pool: Pool, parts: dict[str, tuple[np.ndarray, np.ndarray]], data: TaskData, recipe: Recipe, *,
                  artefacts: Artefacts | None) -> Pool:
    """``pool`` with samples from the recipe's generator, fitted on the real training part (observed
    labels) only; they are split like the real ones and ``parts`` gains their source. A synthetic
    validation share is never trained on."""
    mix = recipe.mix
    if mix.ratio == 0 and mix.per_class == 0:
        raise ConfigError(f"mix.generator={mix.generator} asks for no synthetic samples (mix.ratio=0, mix.per_class=0); "
                          "set mix.ratio (e.g. 1.0) or mix.per_class, or mix.generator=none.")
    if not isinstance(data.train, ArrayDataset):
        raise ConfigError("mix.generator needs the training data in memory (an ArrayDataset); give synthetic "
                          "samples of a lazy dataset as data of their own (mix.dataset).")
    if SYNTHETIC in parts:
        raise ConfigError("mix.generator adds samples of source 'synthetic', and the data already has that source; "
                          "name the loaded synthetic samples otherwise (mix.source) or drop mix.generator.")
    real_train = parts[REAL][0] if REAL in parts else np.zeros(0, dtype=np.int64)
    inputs, labels = array_inputs(data.train)[pool.kept[real_train]], pool.labels[real_train]
    counts = synthetic_counts(labels, data.n_classes, ratio=1.0 if mix.ratio is None else mix.ratio,
                              per_class=mix.per_class)
    synthetic = generate(inputs, labels, counts=counts, generator=mix.generator, failures=mix.failures,
                         seed=recipe.seed, artefacts=artefacts)
    old = pool.dataset
    offset = len(old)
    n = len(synthetic.labels)
    distance = nearest_real_distance(synthetic.inputs, synthetic.labels, inputs, labels)
    dataset = SourcedDataset([old, ArrayDataset(synthetic.inputs, synthetic.labels)],
                             targets=np.concatenate([old.targets, synthetic.labels]),
                             sample_ids=[*old.sample_ids, *(f"{SYNTHETIC}_{i}" for i in range(n))],
                             sources=np.concatenate([old.sources, np.full(n, SYNTHETIC, dtype=object)]),
                             failure=np.concatenate([old.failure, synthetic.failure]),
                             real_distance=np.concatenate([old.real_distance, distance]),
                             attributes=pd.concat([old.attributes, pd.DataFrame(index=range(n))], ignore_index=True))
    syn_train, syn_val = stratified_split(synthetic.labels, fraction=recipe.val_fraction, seed=recipe.seed + 1,
                                          class_names=data.class_names)
    first = len(pool.kept)
    parts[SYNTHETIC] = (first + syn_train, first + syn_val)
    return Pool(dataset, pool.kept, pool.labels, generated=offset + np.arange(n), generated_labels=synthetic.labels)


def synthetic_counts(labels: np.ndarray, n_classes: int, *, ratio: float, per_class: int) -> list[int]:
    """Synthetic samples per class: ``per_class`` each, or ``ratio`` times the real count of the class
    (at least two, so that the synthetic samples can be split for validation like the real ones)."""
    if per_class:
        return [max(per_class, 2)] * n_classes
    real = np.bincount(labels, minlength=n_classes)
    return [max(2, int(round(ratio * count))) if count else 0 for count in real]


def _regression_splits(data: TaskData, recipe: Recipe) -> Splits:
    """Regression: the recipe's share of each source, its target noise, a seeded random split per
    source (by subject when the data names subjects)."""
    if recipe.imbalance.factor != 1:
        raise ConfigError(f"imbalance.factor={recipe.imbalance.factor} subsamples classes; a regression has none. "
                          "Remove imbalance.factor.")
    if recipe.noise.kind not in TARGET_NOISE_MODELS.names():
        raise unknown_name("noise model for regression targets", recipe.noise.kind, TARGET_NOISE_MODELS.names(),
                           "E.g. noise.kind=uniform noise.rate=0.3.")
    clean = dataset_labels(data.train, arg="training data", task="regression")
    sources = train_sources(data)
    kept = _regression_share(clean, sources, recipe.mix, seed=recipe.seed)
    noise = inject_target_noise(clean[kept], kind=recipe.noise.kind, rate=recipe.noise.rate, seed=recipe.seed,
                                target_range=data.target_range)
    observed = noise.targets.astype(np.float32)
    parts = split_by_source(observed, sources[kept], _kept(data.groups, kept), fraction=recipe.val_fraction,
                            seed=recipe.seed, regression=True)
    test_targets = dataset_labels(data.test, arg="test data", task="regression")
    test = LabeledView(data.test, np.arange(len(test_targets)), test_targets, dataset_sample_ids(data.test))
    task = Regression(noise.target_range)
    if set(sources[kept]) == {REAL}:
        ids = dataset_sample_ids(data.train)
        train, val = (LabeledView(data.train, kept[pos], observed[pos], [ids[i] for i in kept[pos]])
                      for pos in parts[REAL])
    else:
        pool = Pool(sourced_train(data), kept, observed)
        measure_real_distance(pool, parts, data, by_class=False)
        train, val = mixed_views(pool, parts, recipe.mix)
    return Splits(train=train, val=val, test=test, noise=noise, clean_labels=clean, kept=kept, task=task)


def _regression_share(targets: np.ndarray, sources: np.ndarray, mix: MixSettings, *, seed: int) -> np.ndarray:
    """Training positions kept for a regression: ``mix.real_train`` real ones (at random) and the
    synthetic share ``mix.ratio`` asks for (all by default)."""
    real, synthetic = np.flatnonzero(sources == REAL), np.flatnonzero(sources != REAL)
    if mix.real_train and mix.real_train < len(real):
        real = np.sort(np.random.default_rng(seed).permutation(real)[: mix.real_train])
    if mix.per_class:
        raise ConfigError("mix.per_class counts samples per class; a regression has none. Use mix.ratio.")
    if len(synthetic) and mix.ratio is not None:
        synthetic = _synthetic_share(synthetic, None, real, mix, seed=seed, class_names=None)
    return np.sort(np.concatenate([real, synthetic]))
