"""A scikit-learn classifier that trains a tabular network with ERM or LiLAW.

It follows scikit-learn's estimator rules (the constructor only stores its arguments,
learned state ends in ``_``), so it works in a ``Pipeline``, in ``clone`` / grid search,
and inside fairlearn's mitigators: ``ExponentiatedGradient`` calls ``fit`` with
``sample_weight``; ``ThresholdOptimizer`` reads ``predict_proba``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from lilaw_health.core.data import ArrayDataset, LabeledView, stratified_split
from lilaw_health.core.errors import InputError
from lilaw_health.core.lilaw import LiLAWConfig
from lilaw_health.core.methods import Method, build_method
from lilaw_health.core.trainer import TrainConfig, Trainer
from lilaw_health.domains.tabular.models import build

ONE_CLASS = ("y has one class only ({cls!r}); a classifier needs at least two, each with at least two samples "
             "(one for validation). Check the labels passed to fit.")
BAD_SAMPLE_WEIGHT = ("sample_weight must be non-negative with a positive sum over the training rows; received "
                     "min {low}, sum {total}. Pass one non-negative weight per row of X.")


class LiLAWClassifier(ClassifierMixin, BaseEstimator):
    """Train a registered tabular model (default the 3-layer MLP) with ERM or LiLAW.

    ``fit`` carves a stratified, seeded ``val_fraction`` of the rows as validation (best-epoch
    selection and, for LiLAW, the meta step), trains with :class:`~lilaw_health.core.Trainer`
    and keeps the best epoch's weights.

    Parameters
    ----------
    method : {"erm", "lilaw"} or any registered method
        Training method (LiLAW: Moturu et al., arXiv:2509.20786).
    model : str
        Registered tabular model, e.g. "mlp".
    model_args : dict, optional
        Keyword arguments of the model, e.g. ``{"hidden_sizes": (128, 64)}``.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training settings.
    val_fraction : float
        Share of the rows held out for validation (10 % for Adult in the paper).
    monitor : str
        Validation score selecting the best epoch (accuracy, macro_f1, loss, ...).
    lilaw : LiLAWConfig or dict, optional
        LiLAW's initial scalars and meta settings; default the paper's.
    loss : str
        Registered per-sample loss (cross_entropy, focal, gce, ...) for methods that take one
        (erm, lilaw, clean); a method defined by its loss (gce, sce, focal, label_smoothing,
        cb_ce) uses its own, exactly as in a recipe.
    random_state : int
        Seeds the split, initialisation, shuffling and meta batches; the global torch random
        state is left as it was.
    device : str
        "cpu", "cuda", or "auto".

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    model_ : torch.nn.Module
        The trained network (best epoch), in evaluation mode.
    history_ : pandas.DataFrame
        One row per epoch.
    scalars_ : dict or None
        LiLAW's final alpha, beta, delta.
    """

    def __init__(self, method: str = "lilaw", *, model: str = "mlp", model_args: dict[str, Any] | None = None,
                 epochs: int = 20, batch_size: int = 256, lr: float = 1e-3, weight_decay: float = 0.0,
                 val_fraction: float = 0.1, monitor: str = "accuracy", lilaw: LiLAWConfig | dict | None = None,
                 loss: str = "cross_entropy", random_state: int = 0, device: str = "cpu") -> None:
        self.method = method
        self.model = model
        self.model_args = model_args
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.monitor = monitor
        self.lilaw = lilaw
        self.loss = loss
        self.random_state = random_state
        self.device = device

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> LiLAWClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        ``sample_weight`` (n_samples,) multiplies each training row's loss; it is rescaled to
        mean 1 over the training rows, because in mini-batch training its overall scale would
        only change the learning rate. Validation rows are scored unweighted.
        """
        inputs, targets = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(targets)
        encoder = LabelEncoder().fit(targets)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise InputError(ONE_CLASS.format(cls=self.classes_[0]))
        labels = encoder.transform(targets).astype(np.int64)
        weight = _check_sample_weight(sample_weight, inputs, dtype=np.float64) if sample_weight is not None else None
        train_idx, val_idx = stratified_split(labels, fraction=self.val_fraction, seed=self.random_state)
        base = ArrayDataset(inputs, labels)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.random_state)
            network = build(self.model, n_features=inputs.shape[1], n_classes=len(self.classes_),
                            options=self.model_args)
            trainer = Trainer(network, self._method(labels, len(self.classes_), weight, train_idx),
                              config=self._config())
            result = trainer.fit(LabeledView(base, train_idx, labels[train_idx], train_idx.tolist()),
                                 LabeledView(base, val_idx, labels[val_idx], val_idx.tolist()), resume=False)
        self.model_ = network.eval()
        self.history_ = result.history
        self.scalars_ = trainer.method.scalars()
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``."""
        check_is_fitted(self, "model_")
        inputs: np.ndarray = validate_data(self, X, dtype=np.float32, reset=False)
        self.model_.eval()
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            parts = [torch.softmax(self.model_(torch.as_tensor(inputs[i:i + 4096], device=device)), dim=1).cpu()
                     for i in range(0, len(inputs), 4096)]
        return torch.cat(parts).numpy().astype(np.float64)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable class of each row (n_samples,)."""
        check_is_fitted(self, "model_")
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _method(self, labels: np.ndarray, n_classes: int, weight: np.ndarray | None, train_idx: np.ndarray) -> Method:
        """The method exactly as a recipe builds it (``gce`` trains with GCE, ``cb_ce`` with class weights)."""
        lilaw = self.lilaw if isinstance(self.lilaw, LiLAWConfig) else LiLAWConfig(**(self.lilaw or {}))
        return build_method(self.method, train_labels=labels[train_idx], n_classes=n_classes, loss=self.loss,
                            lilaw=lilaw, sample_weight=None if weight is None else _rescaled(weight[train_idx]))

    def _config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
                           monitor=self.monitor, device=self.device, seed=self.random_state)


def _rescaled(weight: np.ndarray) -> torch.Tensor:
    total = float(weight.sum())
    if weight.min() < 0 or total <= 0:
        raise InputError(BAD_SAMPLE_WEIGHT.format(low=float(weight.min()), total=total))
    return torch.as_tensor(weight * (len(weight) / total), dtype=torch.float32)
