"""Baselines fitted beside every time-series run, by name: is the network better than a trivial model?

``knn1`` is the UCR archive's reference baseline, the exact 1-nearest neighbour in Euclidean
distance (channels flattened side by side); ``minirocket_ridge`` is the standard ROCKET
recipe: tsai's MiniRocket features (10,000 of them, random kernels fitted on the training
inputs) and scikit-learn's ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))`` on standardised
features. Each predictor is ``predict(train_x, train_y, test_x, *, seed) -> test predictions``
with inputs (n_samples, n_channels, length) and class ids; :func:`run_baselines` times them and
turns a baseline that cannot run into a stated reason instead of an error.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.core.data import TaskData, dataset_inputs, dataset_labels
from lilaw_health.core.errors import InputError
from lilaw_health.core.metrics import classification_metrics
from lilaw_health.core.paths import default_cache
from lilaw_health.core.registry import Registry
from lilaw_health.domains.ecg.models import MINIROCKET_MIN_LENGTH, import_tsai, numpy_random_preserved

DEFAULT_BASELINES = ("knn1", "minirocket_ridge")
LABELS = {"knn1": "1-NN Euclidean", "minirocket_ridge": "MiniRocket + ridge"}
METRIC_NAMES = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "macro_f1": "macro F1"}
CHUNK_BYTES = 2**27  # working memory of one chunk of distances or MiniRocket activations (128 MiB)

NOT_FINITE_INPUTS = ("{count} of the {split} series hold missing or infinite values (e.g. NaN padding of "
                     "variable-length series); load them with data.length_policy and data.nan_policy so that "
                     "every series is finite.")
LABELS_MISALIGNED = ("the run trained on {count} of the {total} training series (imbalance.factor or mix.real_train "
                     "keeps a subsample) and the domain is not told which; the baselines would not see the "
                     "network's training set, so they were skipped.")
BELOW_KNN = ("The trained model's test accuracy {model:.4f} is below the 1-NN Euclidean baseline's {knn:.4f} "
             "(fitted on the same {n_train} training series and labels): the network learned less than a "
             "nearest-neighbour lookup. {advice}")
TRY_UCR = ("Check that the training loss fell (train longer: epochs), or try another model: the `ucr` recipe "
           "(MiniRocket features and a linear head) is the stronger default on the UCR archive (pipelines/README.md).")
TRY_RIDGE = ("The network already sees MiniRocket features (data.features=minirocket): with few training series its "
             "head can fit them exactly, or a small validation split can keep an early, barely trained epoch "
             "(see kept_epoch in metrics.json). The MiniRocket + ridge baseline of this run fits the same features "
             "with a penalty chosen by leave-one-out; compare with it, or try the `ecg5000` recipe (an FCN on the "
             "raw series).")
PADDED = ("Series of different lengths were made equal by data.length_policy={policy} before the baselines ran: "
          "they compare the series as the model saw them, which is not how the archive's published baselines "
          "treat variable-length sets.")
TOO_SHORT = ("the series have {length} time steps, fewer than MiniRocket's kernels span ({minimum}); "
             "resample them longer (data.length_policy=resample data.length={minimum}) to compare against it.")

LOGGER = logging.getLogger(__name__)
Predictor = Callable[..., np.ndarray]
BASELINES: Registry[Predictor] = Registry("ecg baseline",
                                          fix="Set data.baselines to a list of these names, or [] to skip them.")


class BaselineSkipped(Exception):
    """A baseline cannot run on these series; the message says why and what to change."""


@dataclass(frozen=True)
class BaselineResult:
    """One baseline's test metrics and cost, or why it did not run (``metrics`` None, ``reason`` set)."""

    name: str
    metrics: dict[str, float] | None
    seconds: float
    reason: str = ""

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


@BASELINES.register("knn1")
def nearest_neighbour(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, *, seed: int = 0,
                      pool: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """Exact 1-NN in Euclidean distance over the flattened series; deterministic (``seed`` unused).

    Distances are computed in float64 as ``|a|^2 - 2 a.b`` (the test series' own norm does not
    change which training series is nearest), a chunk of test series at a time so that memory
    stays near :data:`CHUNK_BYTES`. A tie goes to the first training series.

    Returns
    -------
    numpy.ndarray, shape (n_test,)
        The label of each test series' nearest training series.
    """
    del seed, pool, rows  # exact and supervised: nothing to share across runs
    train = _finite(train_x, "training").reshape(len(train_x), -1).astype(np.float64)
    test = _finite(test_x, "test").reshape(len(test_x), -1).astype(np.float64)
    train_sq = np.einsum("ij,ij->i", train, train)
    chunk = max(1, CHUNK_BYTES // (8 * len(train)))
    nearest = np.concatenate([(train_sq - 2.0 * test[start:start + chunk] @ train.T).argmin(axis=1)
                              for start in range(0, len(test), chunk)])
    return np.asarray(train_y)[nearest]


@BASELINES.register("minirocket_ridge")
def minirocket_ridge(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, *, seed: int = 0,
                     pool: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """MiniRocket features (tsai) and a ridge classifier with leave-one-out choice of alpha.

    The features (unsupervised) are fitted on ``pool``, every training series of the dataset
    (``train_x`` is ``pool[rows]``; default ``train_x`` itself) with seed 0, so that every run,
    method and seed of a comparison on one dataset shares one cached computation; the ridge
    learns from ``train_y``. Raises :class:`BaselineSkipped` for series shorter than the
    kernels, or when tsai cannot be imported.
    """
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = _finite(train_x if pool is None else pool, "training"), _finite(test_x, "test")
    train_f, test_f = minirocket_features(train, test, seed=0)
    if pool is not None and rows is not None:
        train_f = train_f[rows]
    classifier = make_pipeline(StandardScaler(with_mean=False), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    return np.asarray(classifier.fit(train_f, train_y).predict(test_f))


def minirocket_features(train_x: np.ndarray, test_x: np.ndarray, *, seed: int = 0,
                        num_features: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """tsai's ``MiniRocketFeatures`` fitted on ``train_x``, applied to both splits in chunks.

    Returns float32 arrays (n_train, n_features) and (n_test, n_features); numpy's global
    random state is left as it was (tsai reseeds it while fitting). Cached on disk
    (``$LILAW_HEALTH_CACHE/minirocket``) by the series' content, the seed and the feature count,
    so the methods and reruns of a comparison compute them once.
    """
    n_channels, length = train_x.shape[1:]
    if length < MINIROCKET_MIN_LENGTH:
        raise BaselineSkipped(TOO_SHORT.format(length=length, minimum=MINIROCKET_MIN_LENGTH))
    try:
        module = import_tsai("minirocket_ridge", "MINIROCKET_Pytorch")
    except InputError as error:
        raise BaselineSkipped(str(error)) from None
    cache = default_cache() / "minirocket" / f"{_features_key(train_x, test_x, seed, num_features)}.npz"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            return stored["train"], stored["test"]
    with numpy_random_preserved(), torch.no_grad():
        features = module.MiniRocketFeatures(n_channels, length, num_features=num_features, random_state=seed)
        conv_bytes = 4 * features.num_kernels * length * n_channels
        features.fit(train_x, chunksize=max(features.num_kernels, CHUNK_BYTES // conv_bytes))
        # one chunk holds the convolutions and the (kernels/2, length, biases) comparisons of the widest dilation
        per_series = conv_bytes + 5 * (features.num_kernels // 2 + 1) * length * int(
            max(features.num_features_per_dilation))
        rows = max(1, CHUNK_BYTES // per_series)
        train_f, test_f = (torch.cat([features(chunk) for chunk in torch.split(torch.from_numpy(x), rows)]).numpy()
                           for x in (train_x, test_x))
    cache.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cache, lambda handle: np.savez(handle, train=train_f, test=test_f))
    return train_f, test_f


def _features_key(train_x: np.ndarray, test_x: np.ndarray, seed: int, num_features: int) -> str:
    """The features depend on the series, the seed and the feature count only (not on labels):
    every method and run of a comparison reuses one computation."""
    digest = hashlib.sha256()
    for x in (train_x, test_x):
        array = np.ascontiguousarray(x, dtype=np.float32)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    digest.update(f"{seed}-{num_features}-{_tsai_version()}".encode())
    return digest.hexdigest()[:32]


def _tsai_version() -> str:
    from importlib.metadata import version

    return version("tsai")


def run_baselines(names: Sequence[str], train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
                  test_y: np.ndarray, *, n_classes: int, seed: int = 0, pool: np.ndarray | None = None,
                  rows: np.ndarray | None = None) -> list[BaselineResult]:
    """Fit each named baseline on (train_x, train_y), score it on test_y, and time it.

    Parameters
    ----------
    train_x, test_x : numpy.ndarray, shape (n, n_channels, length)
    train_y, test_y : numpy.ndarray of int, shape (n,)
    n_classes : int
        Number of classes (macro F1 counts every class).
    pool, rows : numpy.ndarray, optional
        Every training series of the dataset and the positions of ``train_x`` among them, for
        baselines with unsupervised features (MiniRocket).

    Returns
    -------
    list of BaselineResult
        In the order of ``names``; a baseline that could not run has ``metrics`` None and a
        ``reason``: ``skipped: <why>`` (a :class:`BaselineSkipped` message) or ``failed: <error>``.
    """
    train_x, test_x = (np.ascontiguousarray(x, dtype=np.float32) for x in (train_x, test_x))
    results = []
    for name in names:
        predict = BASELINES.get(name)
        start = time.perf_counter()
        try:
            y_pred = predict(train_x, train_y, test_x, seed=seed, pool=pool, rows=rows)
        except BaselineSkipped as skipped:
            results.append(BaselineResult(name, None, time.perf_counter() - start, f"skipped: {skipped}"))
            continue
        except (ValueError, RuntimeError, MemoryError) as error:  # an optional comparison must not cost the run
            results.append(BaselineResult(name, None, time.perf_counter() - start, f"failed: {error}"))
            continue
        seconds = time.perf_counter() - start
        results.append(BaselineResult(name, prediction_metrics(test_y, y_pred, n_classes=n_classes), seconds))
    return results


def prediction_metrics(y_true: np.ndarray, y_pred: np.ndarray, *, n_classes: int) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro F1 of hard predictions, computed as for the network."""
    one_hot = np.eye(n_classes)[np.asarray(y_pred, dtype=np.int64)]
    scores = classification_metrics(y_true, one_hot, n_classes=n_classes)
    return {name: scores[name] for name in METRIC_NAMES}


def _finite(x: np.ndarray, split: str) -> np.ndarray:
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        raise BaselineSkipped(NOT_FINITE_INPUTS.format(count=int(bad.sum()), split=split))
    return x


def evaluate_baselines(data: TaskData, *, y_true: np.ndarray, proba: np.ndarray, names: Sequence[str],
                       train_labels: np.ndarray | None = None, train_indices: np.ndarray | None = None,
                       seed: int = 0, features: str = "none") -> dict[str, Any]:
    """The baselines of one run beside the network: ``metrics["domain"]`` of the run.

    Parameters
    ----------
    data : TaskData
        The run's data; the baselines train on every series of ``data.train`` (the network's
        validation part included: neither baseline needs a held-out set) and test on ``data.test``.
    y_true : numpy.ndarray of int, shape (n_test,)
    proba : numpy.ndarray, shape (n_test, n_classes)
        The network's test probabilities.
    names : sequence of str
        Baselines to run (names in :data:`BASELINES`).
    train_labels : numpy.ndarray of int, shape (n_kept,), optional
        The labels the network trained on (injected noise included), one per kept training
        series; default the dataset's own labels.
    train_indices : numpy.ndarray of int, shape (n_kept,), optional
        Which series of ``data.train`` those are (the recipe may keep a subset: imbalance,
        ``mix.real_train``); default all of them.
    features : str
        The network's input (``data.features``: "none" for the raw series, "minirocket"); it
        chooses the advice of the below-1-NN warning.

    Returns
    -------
    dict
        ``baselines`` (name -> accuracy, balanced_accuracy, macro_f1, seconds), ``not_run``
        (name -> "skipped: why" or "failed: error"), ``summary`` (``<name>_accuracy`` of each
        baseline that ran: ``compare`` columns), ``model`` (the network's three metrics),
        ``warnings`` (the network below 1-NN) and ``report`` (paragraphs, with each baseline's seconds).
    """
    model = prediction_metrics(y_true, np.asarray(proba).argmax(axis=1), n_classes=data.n_classes)
    labels = dataset_labels(data.train) if train_labels is None else np.asarray(train_labels, dtype=np.int64)
    kept = np.arange(len(data.train)) if train_indices is None else np.asarray(train_indices)  # type: ignore[arg-type]
    n_train = len(kept)
    if len(labels) != n_train:
        skipped = "skipped: " + LABELS_MISALIGNED.format(count=len(labels), total=n_train)
        results = [BaselineResult(name, None, 0.0, skipped) for name in names]
    else:
        shape = (-1, *data.input_shape)
        pool = np.ascontiguousarray(dataset_inputs(data.train).reshape(shape), dtype=np.float32)
        results = run_baselines(names, pool[kept], labels, dataset_inputs(data.test).reshape(shape), y_true,
                                n_classes=data.n_classes, seed=seed, pool=pool, rows=kept)
    scores = {r.name: {**r.metrics, "seconds": r.seconds} for r in results if r.metrics is not None}
    not_run = {r.name: r.reason for r in results if r.metrics is None}
    for name, reason in not_run.items():
        LOGGER.info("baseline %s %s", name, reason)
    warnings = []
    if "knn1" in scores and model["accuracy"] < scores["knn1"]["accuracy"]:
        advice = TRY_RIDGE if features == "minirocket" else TRY_UCR
        warnings.append(BELOW_KNN.format(model=model["accuracy"], knn=scores["knn1"]["accuracy"], n_train=n_train,
                                         advice=advice))
    return {"baselines": scores, "not_run": not_run, "model": model, "warnings": warnings,
            "summary": {f"{name}_accuracy": values["accuracy"] for name, values in scores.items()},
            "report": _report(data, model, results, n_train=n_train, n_test=len(y_true))}


def _report(data: TaskData, model: dict[str, float], results: list[BaselineResult], *, n_train: int,
            n_test: int) -> list[str]:
    lines = [(f"Baselines fitted on all {n_train} training series with the labels the network saw (its training "
              f"and validation parts, injected label noise included), scored on the same {n_test} test series."),
             f"Network: {_scores(model)}."]
    for result in results:
        if result.metrics is None:
            lines.append(f"{result.label}: {result.reason}")
        else:
            lines.append(f"{result.label}: {_scores(result.metrics)} ({result.seconds:.2f} s).")
    if data.extras.get("length_policy"):
        lines.append(PADDED.format(policy=data.extras["length_policy"]))
    return lines


def _scores(metrics: dict[str, float]) -> str:
    return ", ".join(f"{label} {metrics[name]:.4f}" for name, label in METRIC_NAMES.items())
