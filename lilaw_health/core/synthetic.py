"""Synthetic training samples: a class-conditional generator fitted on real training data, and
the dataset that mixes real and synthetic samples with a source per sample.

:class:`ClassPCAGenerator` (registered as ``class_pca`` in :data:`GENERATORS`) fits, per class,
a principal-component model of the flattened real samples and a Gaussian over the component
scores; a synthetic sample is a draw from that Gaussian projected back. It is fitted on the
real TRAINING samples only. Its ``failures`` share plants the two failure modes users see from
generative models, recorded per sample so that a valuation score can be checked:

- ``off_class``: drawn from another class's model but labelled with the requested class;
- ``implausible``: a clean draw passed through a domain's artefact function (for ECG: baseline
  wander, spikes or a flat-line), when the domain gives one.

Half of the failures are of each kind (all off-class when there is no artefact function).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from lilaw_health.core.data import ArrayDataset
from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.core.sources import REAL

Artefacts = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, list[str]]]


@dataclass(frozen=True)
class SyntheticSet:
    """Generated samples: ``inputs`` (n, ...) float32, ``labels`` (n,) int64, and ``failure`` (n,)
    of str: "" for a clean draw, "off_class", or "implausible:<artefact>"."""

    inputs: np.ndarray
    labels: np.ndarray
    failure: np.ndarray


class ClassPCAGenerator:
    """Per class: PCA of the flattened samples, Gaussian component scores, projection back.

    Parameters
    ----------
    n_components : int
        Components per class (fewer when a class has fewer samples). A class with one sample
        is modelled as that sample plus noise of 10 % of the per-feature spread of all samples.
    """

    def __init__(self, n_components: int = 8) -> None:
        self.n_components = n_components

    def fit(self, inputs: np.ndarray, labels: np.ndarray, *, n_classes: int) -> ClassPCAGenerator:
        flat = np.asarray(inputs, dtype=np.float64).reshape(len(inputs), -1)
        self.shape_ = tuple(np.asarray(inputs).shape[1:])
        spread = flat.std(axis=0) + 1e-8
        self.models_: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for label in range(n_classes):
            members = flat[labels == label]
            if len(members) == 0:
                continue
            mean = members.mean(axis=0)
            k = min(self.n_components, len(members) - 1)
            if k < 1:
                self.models_[label] = (mean, np.diag(0.1 * spread), np.ones(len(spread)))
                continue
            _, singular, components = np.linalg.svd(members - mean, full_matrices=False)
            scale = singular[:k] / np.sqrt(len(members) - 1)  # std of each component's scores
            self.models_[label] = (mean, components[:k], scale)
        return self

    def sample(self, label: int, n: int, rng: np.random.Generator) -> np.ndarray:
        mean, components, scale = self.models_[label]
        scores = rng.normal(size=(n, len(scale))) * scale
        return (mean + scores @ components).reshape(n, *self.shape_).astype(np.float32)


GENERATORS: Registry[Callable[[], ClassPCAGenerator]] = Registry(
    "synthetic generator", fix="Or give the synthetic samples as a dataset of their own.")
GENERATORS.add("class_pca", ClassPCAGenerator)


def generate(inputs: np.ndarray, labels: np.ndarray, *, counts: Sequence[int], generator: str = "class_pca",
             failures: float = 0.0, seed: int = 0, artefacts: Artefacts | None = None) -> SyntheticSet:
    """``counts[c]`` synthetic samples of each class c from a generator fitted on ``inputs``/``labels``.

    Raises
    ------
    InputError
        If ``failures`` is not in [0, 1] or a class asked for has no real samples to fit.
    """
    if not 0 <= failures <= 1:
        raise InputError(BAD_VALUE.format(arg="mix.failures", expected="a share in [0, 1]", received=repr(failures),
                                          fix="E.g. mix.failures=0.3 plants 30 % generator failures."))
    labels = np.asarray(labels)
    model = GENERATORS.get(generator)().fit(inputs, labels, n_classes=len(counts))
    missing = [c for c, n in enumerate(counts) if n and c not in model.models_]
    if missing:
        raise InputError(f"the generator has no real training samples of class(es) {missing} to fit; lower "
                         "mix.per_class for them or keep more real samples (mix.real_train).")
    rng = np.random.default_rng(seed)
    wanted = np.repeat(np.arange(len(counts)), counts)
    kinds = _failure_kinds(len(wanted), failures, rng, with_artefacts=artefacts is not None)
    parts = []
    for i, label in enumerate(wanted):
        source = label
        if kinds[i] == "off_class":
            others = [c for c in model.models_ if c != label]
            source = rng.choice(others) if others else label
        parts.append(model.sample(int(source), 1, rng)[0])
    drawn = np.stack(parts) if parts else np.zeros((0, *model.shape_), dtype=np.float32)
    implausible = kinds == "implausible"
    if implausible.any() and artefacts is not None:
        drawn[implausible], applied = artefacts(drawn[implausible], rng)
        kinds = kinds.astype(object)
        kinds[implausible] = [f"implausible:{kind}" for kind in applied]
    return SyntheticSet(drawn.astype(np.float32), wanted.astype(np.int64), np.asarray(kinds, dtype=object))


def _failure_kinds(n: int, failures: float, rng: np.random.Generator, *, with_artefacts: bool) -> np.ndarray:
    kinds = np.full(n, "", dtype=object)
    chosen = rng.permutation(n)[: int(round(failures * n))]
    half = len(chosen) // 2 if with_artefacts else 0
    kinds[chosen[:half]] = "implausible"
    kinds[chosen[half:]] = "off_class"
    return kinds


def array_inputs(dataset: ArrayDataset) -> np.ndarray:
    """The in-memory inputs of an :class:`ArrayDataset` as one array (generators need arrays)."""
    if not isinstance(dataset.inputs, torch.Tensor):
        raise InputError("the class_pca generator needs array inputs; structured samples need a generator of their "
                         "own (or a synthetic dataset given as data).")
    return dataset.inputs.numpy()


VALUE_COLUMNS = ["sample_id", "split", "source", "label", "failure", "w_alpha_mean", "real_distance", "W",
                 "mislabel_score", "value", "rank"]


def nearest_real_distance(synthetic: np.ndarray, synthetic_labels: np.ndarray, real: np.ndarray,
                          real_labels: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """(n_synthetic,) how far each synthetic sample lies from the real samples of its class.

    The Euclidean distance (flattened inputs) to the nearest real sample of the same class,
    divided by the median nearest-neighbour distance among that class's real samples (1: as far
    as real samples are from each other); inf for a class without real samples, and the raw
    distance for a class with a single one.
    """
    synthetic = np.asarray(synthetic, dtype=np.float64).reshape(len(synthetic), -1)
    real = np.asarray(real, dtype=np.float64).reshape(len(real), -1)
    out = np.full(len(synthetic), np.inf)
    for label in np.unique(synthetic_labels):
        members, queries = real[real_labels == label], np.flatnonzero(synthetic_labels == label)
        if len(members) == 0:
            continue
        scale = 1.0
        if len(members) > 1:
            within = _pairwise(members, members)
            np.fill_diagonal(within, np.inf)
            scale = max(float(np.median(within.min(axis=1))), 1e-12)
        for start in range(0, len(queries), chunk):
            part = queries[start:start + chunk]
            out[part] = _pairwise(synthetic[part], members).min(axis=1) / scale
    return out


def _pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0.0))


def value_score(w_alpha_mean: np.ndarray, real_distance: np.ndarray) -> np.ndarray:
    """The documented value of synthetic samples, in (0, 1]: the mean of two percentile ranks
    among them, agreement with its label (higher mean W_alpha: LiLAW's "easy" weight over the
    epochs, from training on the mix with its validation set) and closeness to the real samples
    of its class (lower :func:`nearest_real_distance`, from the inputs alone). The first finds
    samples whose label the real-validated model contradicts (off-class draws); the second
    samples unlike any real one of their class (artefacts, off-class draws)."""
    agreement = pd.Series(np.nan_to_num(w_alpha_mean, nan=0.0)).rank(pct=True).to_numpy()
    distance = np.asarray(real_distance, dtype=float)
    if np.isnan(distance).all():  # inputs not in memory: agreement alone
        return agreement
    closeness = pd.Series(-np.nan_to_num(distance, nan=np.inf)).rank(pct=True).to_numpy()
    return (agreement + closeness) / 2


def synthetic_value(difficulty: pd.DataFrame, *, attributes: Sequence[str] = ()) -> pd.DataFrame:
    """One row per synthetic sample of a run's difficulty table, lowest value first
    (:func:`value_score`; ``rank`` 1 is the least valuable). ``W`` (the full LiLAW weight at the
    best epoch) and ``mislabel_score`` (-AUM) are shown beside it, and the descriptive columns
    ``attributes`` (identity, age, severity, ...) after them."""
    synthetic = difficulty[difficulty["source"] != REAL]
    value = value_score(synthetic["w_alpha_mean"].to_numpy(dtype=float), synthetic["real_distance"].to_numpy(float))
    table = synthetic.assign(value=value).sort_values("value", kind="stable")
    table = table.assign(rank=np.arange(1, len(table) + 1))
    return table[[*VALUE_COLUMNS, *attributes]].reset_index(drop=True)


def value_by_attribute(value: pd.DataFrame, attributes: Sequence[str], *, max_groups: int = 20) -> pd.DataFrame:
    """Mean value, mean W_alpha and count of the synthetic samples per group of each descriptive
    column with at most ``max_groups`` groups (which synthetic identities, ages, severities helped),
    lowest mean value first within each column."""
    rows = []
    for column in attributes:
        known = value[value[column].notna() & (value[column].astype(str) != "")]
        if known.empty or known[column].nunique() > max_groups:
            continue
        stats = known.groupby(known[column].astype(str)).agg(n=("value", "size"), mean_value=("value", "mean"),
                                                             mean_w_alpha=("w_alpha_mean", "mean"))
        stats = stats.sort_values("mean_value").reset_index().rename(columns={column: "group"})
        rows.append(stats.assign(attribute=column))
    columns = ["attribute", "group", "n", "mean_value", "mean_w_alpha"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def valuation_summary(difficulty: pd.DataFrame, value: pd.DataFrame) -> dict[str, Any]:
    """Counts and mean value per source, and how well the value score (low = suspect), its two
    parts and the mislabel score find the planted generator failures: AUROC overall and per
    failure kind."""
    per_source = {str(source): {"n": int(len(part)), "mean_w_alpha": float(part["w_alpha_mean"].mean()),
                                "mean_mislabel_score": float(part["mislabel_score"].mean())}
                  for source, part in difficulty.groupby("source")}
    summary: dict[str, Any] = {"per_source": per_source, "n_synthetic": int(len(value))}
    planted = value["failure"].astype(str) != ""
    if planted.any() and not planted.all():
        summary["planted_failures"] = int(planted.sum())
        summary["value_auroc"] = _auroc(planted, -value["value"].to_numpy(dtype=float))
        summary["mislabel_auroc"] = _auroc(planted, value["mislabel_score"].to_numpy(dtype=float))
        summary["w_alpha_auroc"] = _auroc(planted, -value["w_alpha_mean"].to_numpy(dtype=float))
        summary["real_distance_auroc"] = _auroc(planted, value["real_distance"].to_numpy(dtype=float))
        for kind in ("off_class", "implausible"):
            of_kind = value["failure"].astype(str).str.startswith(kind)
            if of_kind.any():
                keep = of_kind | ~planted
                summary[f"value_auroc_{kind}"] = _auroc(of_kind[keep], -value["value"][keep].to_numpy(dtype=float))
    return summary


def _auroc(positive: pd.Series | np.ndarray, score: np.ndarray) -> float:
    finite = np.isfinite(score)
    positive = np.asarray(positive)[finite]
    if len(set(positive.tolist())) < 2:
        return float("nan")
    return float(roc_auc_score(positive, score[finite]))
