"""Training methods, chosen by name: how a mini-batch's loss is formed, what follows the
model step, and what happens at the start and end of an epoch. The trainer owns the loop; a
method owns only these hooks.

Registered here: ``erm``; ``lilaw``; ``clean`` (filter-and-retrain); and ERM with a robust loss
fixed by the method's name, so that one ``compare`` can line them up:
``gce``, ``sce``, ``focal``, ``label_smoothing`` and ``cb_ce`` (class-balanced cross-entropy).
A method that fixes its loss says so in ``loss_name`` / ``class_weight_name``;
:func:`method_loss` resolves them against a recipe's ``loss`` and ``class_weight``. Any other
method (``erm``, ``lilaw``, ``clean``) trains with the recipe's loss, e.g. LiLAW with GCE.
``dynamic_loss`` registers itself at the bottom of :mod:`~lilaw_health.core.dynamic_loss`
(which ``lilaw_health.core`` imports); its settings, :class:`DynamicLossConfig`, live here
beside the other methods' so that :class:`MethodContext` can carry them without an import cycle.

Add a method with ``METHODS.add("name", factory)``, the factory taking a ``MethodContext``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lilaw_health.core import distributed
from lilaw_health.core.data import LabeledView, Sample
from lilaw_health.core.dynamics import TrainingDynamics
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.lilaw import LiLAWConfig
from lilaw_health.core.losses import (
    CLASS_WEIGHTS, PER_SAMPLE_LOSSES, REGRESSION_LOSSES, PerSampleLoss, with_class_weight,
)
from lilaw_health.core.device import full_precision, without_autocast
from lilaw_health.core.registry import Registry
from lilaw_health.core.synthetic import value_score
from lilaw_health.core.task import CLASSIFICATION, Task

logger = logging.getLogger(__name__)

Batch = tuple[Sample, Tensor]  # (inputs, possibly structured; targets)
Scalars = Mapping[str, "float | Tensor"]  # logged after a model step; 0-d tensors are read on the host later
CLEAN_ACTIONS = ("drop", "relabel")
CLEAN_SCOPES = ("all", "synthetic")
DEFAULT_LOSS, NO_CLASS_WEIGHT = "cross_entropy", "none"
LOPSIDED_CLEAN = ("clean will {action} {acted} of the {count} training samples labelled class {label} ({share:.0%}, "
                  "against {overall:.0%} of all samples). Right if that label is mostly noise; if the class is "
                  "just rare, its correct labels go too: lower clean.fraction towards the share of wrong labels "
                  "you expect, or set clean.threshold.")
SINGLE_PROCESS_METHOD = ("method {method!r} trains in one process only: {why}. This run has {world} processes "
                         "(torchrun). Run it without torchrun, or train data-parallel with another method: {methods}.")
# methods whose learnable parts train outside DDP's gradient synchronisation, and why
SINGLE_PROCESS_ONLY = {"dynamic_loss": "its label corrector and margins learn through a look-ahead step of one "
                                       "process's model, which DistributedDataParallel does not synchronise"}
FIXED_LOSS_CONFLICT = ("method {method!r} trains with {key}={fixed!r}, but the recipe sets {key}={asked!r}. "
                       "Remove the {key} key, or pick a method that takes the recipe's loss "
                       "(erm, lilaw, clean), e.g. method=lilaw {key}={asked}.")


def _failed_checks(settings: object, checks: list[tuple[str, bool, str]]) -> list[str]:
    """"<name> must be <rule> (received <value>)" for each (name, passed, rule) that failed."""
    return [f"{name} must be {rule} (received {getattr(settings, name)!r})" for name, ok, rule in checks if not ok]


@dataclass(frozen=True)
class CleanConfig:
    """Filter-and-retrain (method ``clean``).

    Attributes
    ----------
    detect_epochs : int
        Epochs of plain training whose dynamics score the samples; then the model is
        re-initialised and trained for the remaining epochs on the cleaned labels.
    fraction : float
        Share of the training samples with the highest mislabel score to act on.
    threshold : float or None
        If set, act on every sample whose mislabel score exceeds it (``fraction`` unused).
    action : {"drop", "relabel"}
        Drop the suspects, or give them the label the model predicted at their last presentation.
    scope : {"all", "synthetic"}
        ``synthetic``: act only on synthetic training samples, the ``fraction`` of them with the
        lowest value (:func:`~lilaw_health.core.synthetic.value_score` over the detection epochs,
        as in ``synthetic_value.csv``);
        real samples and the validation set are left alone. The valuation filter: drop the
        lowest-valued synthetic share and retrain.
    """

    detect_epochs: int = 10
    fraction: float = 0.2
    threshold: float | None = None
    action: str = "drop"
    scope: str = "all"

    def __post_init__(self) -> None:
        problems = _failed_checks(self, [
            ("detect_epochs", self.detect_epochs >= 1, ">= 1"), ("fraction", 0 <= self.fraction < 1, "in [0, 1)"),
            ("action", self.action in CLEAN_ACTIONS, f"one of {', '.join(CLEAN_ACTIONS)}"),
            ("scope", self.scope in CLEAN_SCOPES, f"one of {', '.join(CLEAN_SCOPES)}")])
        if problems:
            raise ConfigError(f"invalid clean settings: {'; '.join(problems)}. Set them with e.g. "
                              "--set clean.fraction=0.2 clean.action=drop.")


INVALID_DYNAMIC_LOSS = ("invalid dynamic_loss settings: {problems}. The reference defaults are meta_lr=0.003, "
                        "hidden=64, rank_bins=100, ratio1=0.5, ratio2=0.5, trust_init=0.98.")


@dataclass(frozen=True)
class DynamicLossConfig:
    """Hyperparameters of Dynamic Loss (method ``dynamic_loss``); defaults are the reference
    CIFAR-10 configuration (:mod:`~lilaw_health.core.dynamic_loss`).

    Attributes
    ----------
    meta_lr : float
        Adam learning rate of the corrector and margin generator (3e-3).
    hidden : int
        Width of the embeddings and MLP layers (64).
    rank_bins : int
        R, the number of loss-rank bins per class (100).
    ratio1, ratio2 : float in (0, 1]
        Hierarchical sampling: draw ``ceil(ratio1 * n_min)`` samples per class, keep the
        lowest-loss ``ratio2`` of them (0.5, 0.5).
    warmup_epochs : int
        Epochs without meta steps or metadata, mixing with the plain softmax (5).
    trust_init : float in (0, 1)
        Initial trust in the observed labels (0.98), set through the corrector's last bias.
    temperature : float > 0
        The Gumbel sample q is drawn from ``softmax(logits / temperature)`` (1: the model's
        own distribution; towards 0: its argmax).
    virtual_lr : float > 0
        Step size of the virtual SGD step. The meta optimiser is Adam, which normalises the
        scale of the meta-gradient, so only its direction (nearly independent of a small step)
        matters (0.1, the reference's classifier learning rate).
    finetune : bool
        Fine-tune the classifier on the metadata (one-hot labels plus margins) once per epoch
        (off: the metadata's rare classes are mostly mislabelled when the noise outnumbers them;
        on ECG5000 with 40 % symmetric noise, one pass per epoch cut the last-epoch test
        accuracy from 0.90 to 0.79).
    finetune_lr : float > 0
        SGD learning rate of that fine-tune (0.01).
    """

    meta_lr: float = 3e-3
    hidden: int = 64
    rank_bins: int = 100
    ratio1: float = 0.5
    ratio2: float = 0.5
    warmup_epochs: int = 5
    trust_init: float = 0.98
    temperature: float = 1.0
    virtual_lr: float = 0.1
    finetune: bool = False
    finetune_lr: float = 0.01

    def __post_init__(self) -> None:
        problems = _failed_checks(self, [
            ("meta_lr", self.meta_lr > 0, "> 0"), ("hidden", self.hidden >= 1, ">= 1"),
            ("rank_bins", self.rank_bins >= 1, ">= 1"), ("ratio1", 0 < self.ratio1 <= 1, "in (0, 1]"),
            ("ratio2", 0 < self.ratio2 <= 1, "in (0, 1]"), ("warmup_epochs", self.warmup_epochs >= 0, ">= 0"),
            ("trust_init", 0 < self.trust_init < 1, "in (0, 1)"), ("temperature", self.temperature > 0, "> 0"),
            ("virtual_lr", self.virtual_lr > 0, "> 0"), ("finetune_lr", self.finetune_lr > 0, "> 0")])
        if problems:
            raise ConfigError(INVALID_DYNAMIC_LOSS.format(problems="; ".join(problems)))


@dataclass(frozen=True)
class MethodContext:
    """What a method factory may use to build itself."""

    loss_fn: PerSampleLoss
    n_classes: int
    lilaw: LiLAWConfig = LiLAWConfig()
    clean: CleanConfig = CleanConfig()
    dynamic_loss: DynamicLossConfig = DynamicLossConfig()
    sample_weight: Tensor | None = None  # (n_train,) by training-set position, e.g. from scikit-learn's fit
    task: Task = CLASSIFICATION
    synthetic: np.ndarray | None = None  # (n_train,) True for a synthetic training sample (mixing)
    real_distance: np.ndarray | None = None  # (n_train,) distance to the real samples of its class (mixing)


class Method:
    """Plain empirical risk minimisation: the mean per-sample loss. Base of every method.

    ``loss_name`` / ``class_weight_name``: the per-sample loss and class weighting the method
    is defined by, or None to take the recipe's (see :func:`method_loss`).
    """

    name = "erm"
    loss_name: str | None = None
    class_weight_name: str | None = None

    def __init__(self, context: MethodContext) -> None:
        self.loss_fn = context.loss_fn
        self.sample_weight = context.sample_weight

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        """The objective of one mini-batch; ``positions`` (n,) index the training set."""
        return self.per_sample_loss(outputs, targets, positions).mean()

    def per_sample_loss(self, outputs: Tensor, targets: Tensor, positions: Tensor) -> Tensor:
        """The per-sample training loss (n,), times the user's ``sample_weight`` when given."""
        return self._weighted(self.loss_fn(outputs, targets), positions)

    def _weighted(self, loss: Tensor, positions: Tensor) -> Tensor:
        """A per-sample loss (n,) times the user's ``sample_weight`` of those positions, if any."""
        if self.sample_weight is None:
            return loss
        return loss * self.sample_weight.to(loss.device)[positions.to(loss.device, non_blocking=True)]

    def after_model_step(self, model: nn.Module, *, epoch: int, step: int,
                         next_val_batch: Callable[[], Batch]) -> Scalars | None:
        """Work after the optimiser step; returns logged scalars when it did any (floats, or 0-d
        tensors that the trainer reads on the host a few steps later, so that the step does not
        wait for the device). Under mixed precision it runs inside the model's autocast."""
        return None

    def weight_alpha(self) -> float | Tensor:
        """The alpha the training dynamics compute W_alpha with: LiLAW's default here; a method
        that learns it returns it as a 0-d tensor on its device (read without a host sync)."""
        return LiLAWConfig.alpha

    def on_epoch_start(self, epoch: int, *, model: nn.Module, train: LabeledView,
                       predict_logits: Callable[[LabeledView], Tensor], seed: int) -> np.ndarray | None:
        """Called before each epoch; may return the training positions to use this epoch
        (None = all). ``predict_logits(train)`` runs an eval-mode pass (a cost only methods that
        need it pay); randomness must come from ``seed`` for runs to resume exactly."""
        return None

    def on_epoch_end(self, epoch: int, *, dynamics: TrainingDynamics,
                     val_dynamics: TrainingDynamics | None = None) -> bool:
        """Called after each epoch with the training and validation dynamics so far; return True
        to have the trainer re-initialise the model."""
        return False

    def validation_keep(self) -> np.ndarray | None:
        """Boolean mask of the validation samples that model selection should score (None = all)."""
        return None

    def scalars(self) -> dict[str, float] | None:
        return None

    def to(self, device: torch.device) -> Method:
        if self.sample_weight is not None:  # indexed every step: keep it where the losses are
            self.sample_weight = self.sample_weight.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state


class ModeSwitch:
    """``model.train(mode)`` for a switch on every step: the ``training`` flag of each module set
    directly (nn.Module's recursion costs about 0.1 ms per switch on a small MLP, a tenth of
    LiLAW's meta step), with the same result. A model with a module that overrides ``train``
    (e.g. to keep batch norm frozen) goes through its own ``train``. The module list is read
    again when the model object changes."""

    def __init__(self) -> None:
        self._model: nn.Module | None = None
        self._modules: list[nn.Module] | None = None

    def __call__(self, model: nn.Module, training: bool) -> None:
        if model is not self._model:
            modules = list(model.modules())
            plain = all(type(module).train is nn.Module.train for module in modules)
            self._model, self._modules = model, modules if plain else None
        if self._modules is None:
            model.train(training)
            return
        for module in self._modules:
            object.__setattr__(module, "training", training)  # what nn.Module.train sets, without its checks


class LiLAWMethod(Method):
    """LiLAW (Moturu et al., arXiv:2509.20786): weighted loss, then a meta step on a
    random validation batch every ``meta_every`` steps after the warm-up epochs."""

    name = "lilaw"

    def __init__(self, context: MethodContext) -> None:
        super().__init__(context)
        self.lilaw = context.task.lilaw(context.lilaw)
        self._switch_mode = ModeSwitch()

    def _warming_up(self, epoch: int) -> bool:
        return epoch < self.lilaw.config.warmup_epochs

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        per_sample = self.per_sample_loss(outputs, targets, positions)
        if self._warming_up(epoch):
            return per_sample.mean()
        # unchecked: the labels were checked with the dataset, and the trainer stops on a non-finite loss
        return self.lilaw.loss(outputs, targets, per_sample, checked=False)

    def after_model_step(self, model: nn.Module, *, epoch: int, step: int,
                         next_val_batch: Callable[[], Batch]) -> Scalars | None:
        if self._warming_up(epoch) or step % self.lilaw.config.meta_every:
            return None
        inputs, targets = next_val_batch()
        was_training = model.training
        self._switch_mode(model, False)
        with torch.no_grad():
            outputs = full_precision(model(inputs))  # the forward may run in float16; the rest in float32
            with without_autocast(outputs.device):
                per_sample = self.loss_fn(outputs, targets)
        self._switch_mode(model, was_training)
        if distributed.world_size() == 1:
            self.lilaw.meta_step(outputs, targets, per_sample, checked=False)
        else:  # each process holds a share of the meta batch: one update from the mean over all of it
            _, grads = self.lilaw.meta_gradients(outputs, targets, per_sample, checked=False)
            self.lilaw.apply_meta_gradients(distributed.sample_mean(grads, len(targets))[0])
        return self.lilaw.scalar_tensors()

    def weight_alpha(self) -> Tensor:
        return self.lilaw.alpha.detach()

    def scalars(self) -> dict[str, float]:
        return self.lilaw.scalars()

    def to(self, device: torch.device) -> LiLAWMethod:
        super().to(device)
        self.lilaw.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        return self.lilaw.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lilaw.load_state_dict(state)


class FilterAndRetrain(Method):
    """The usual filter-and-retrain workflow, inside one run: train ``detect_epochs`` epochs,
    score every sample with its training dynamics (:func:`~lilaw_health.core.dynamics.mislabel_score`, -AUM),
    drop or relabel the suspects, re-initialise the model and train on the rest.

    The validation labels are as noisy as the training labels, so the same share of validation
    samples (those with the highest score from their own dynamics) is left out of model
    selection after the restart; they are dropped, never relabelled, so the monitor does not
    grade the model against its own predictions.
    """

    name = "clean"

    def __init__(self, context: MethodContext) -> None:
        super().__init__(context)
        self.config = context.clean
        if self.config.scope == "synthetic" and (context.synthetic is None or not context.synthetic.any()):
            raise ConfigError("clean.scope=synthetic drops low-valued synthetic samples, but this run has none; "
                              "add synthetic samples (mix.generator) or use clean.scope=all.")
        self.synthetic, self.real_distance = context.synthetic, context.real_distance
        self.keep: Tensor | None = None  # (n_train,) 1.0 kept, 0.0 dropped
        self.labels: Tensor | None = None  # (n_train,) the labels trained on after cleaning
        self.val_keep: np.ndarray | None = None  # (n_val,) True for validation samples model selection scores

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        if self.keep is None or self.labels is None:
            return self.per_sample_loss(outputs, targets, positions).mean()
        index = positions.to(self.keep.device, non_blocking=True)
        keep = self.keep[index].to(outputs.device, non_blocking=True)
        labels = self.labels[index].to(targets.device, non_blocking=True)
        labels = torch.where(labels < 0, targets, labels)  # not presented before the cleaning: its own label
        per_sample = self.per_sample_loss(outputs, labels, positions)
        if distributed.world_size() == 1:
            return (per_sample * keep).sum() / keep.sum().clamp(min=1.0)
        # data-parallel: divide by the kept samples of the whole batch, as one process does, in the form
        # the trainer expects (a mean over this process's share, which it weighs by the share's size)
        kept, size = distributed.all_reduce_sum(torch.stack([keep.sum(), keep.new_tensor(float(len(keep)))]))
        return (per_sample * keep).mean() * size / kept.clamp(min=1.0)

    def on_epoch_end(self, epoch: int, *, dynamics: TrainingDynamics,
                     val_dynamics: TrainingDynamics | None = None) -> bool:
        if epoch + 1 != self.config.detect_epochs:
            return False
        scores = dynamics.scores(early_epochs=(1, self.config.detect_epochs))
        if self.synthetic is not None and self.config.scope == "synthetic":
            value = np.full(len(self.synthetic), np.inf)
            distance = self.real_distance if self.real_distance is not None else np.zeros(len(value))
            value[self.synthetic] = value_score(scores["w_alpha_mean"].to_numpy(dtype=float)[self.synthetic],
                                                distance[self.synthetic])
            suspect = _top(-value, int(round(self.config.fraction * self.synthetic.sum()))) & self.synthetic
        else:
            suspect = self._suspects(scores["mislabel_score"].to_numpy())
            _warn_if_lopsided(suspect, np.asarray(dynamics.observed_labels), action=self.config.action)
        if val_dynamics is not None and val_dynamics.n_samples > 1 and self.config.scope == "all":
            val_score = val_dynamics.scores()["mislabel_score"].to_numpy()
            n_drop = min(int(round(suspect.mean() * len(val_score))), len(val_score) - 1)
            self.val_keep = ~_top(val_score, n_drop)
        observed = torch.as_tensor(dynamics.observed_labels)
        if self.config.action == "relabel":
            predicted = torch.as_tensor(scores["last_predicted"].to_numpy(copy=True))
            self.labels = torch.where(torch.as_tensor(suspect), predicted, observed)
            self.keep = torch.ones(len(observed))
        else:
            self.labels = observed
            self.keep = torch.as_tensor(~suspect, dtype=torch.float32)
        return True

    def _suspects(self, score: np.ndarray) -> np.ndarray:
        if self.config.threshold is not None:
            return np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf) > self.config.threshold
        return _top(score, int(round(self.config.fraction * len(score))))

    def validation_keep(self) -> np.ndarray | None:
        return self.val_keep

    def state_dict(self) -> dict[str, Any]:
        return {"keep": self.keep, "labels": self.labels, "val_keep": self.val_keep}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.keep, self.labels, self.val_keep = state["keep"], state["labels"], state.get("val_keep")


def _warn_if_lopsided(suspect: np.ndarray, observed: np.ndarray, *, action: str) -> None:
    """Warn about each observed class that would lose over half of its labels, and over twice the overall share."""
    overall = float(suspect.mean()) if len(suspect) else 0.0
    for label in np.unique(observed[observed >= 0]):  # -1: a sample the method never presented
        in_class = observed == label
        share = float(suspect[in_class].mean())
        if share > max(0.5, 2 * overall):
            logger.warning(LOPSIDED_CLEAN.format(action=action, acted=int(suspect[in_class].sum()),
                                                 count=int(in_class.sum()), label=int(label), share=share,
                                                 overall=overall))


def _top(score: np.ndarray, count: int) -> np.ndarray:
    """Boolean mask of the ``count`` highest scores (NaN counts as lowest; ties keep order)."""
    score = np.nan_to_num(np.asarray(score, dtype=float), nan=-np.inf)
    mask = np.zeros(len(score), dtype=bool)
    mask[np.argsort(-score, kind="stable")[:count]] = True
    return mask


class GeneralizedCrossEntropy(Method):
    """ERM with generalized cross-entropy, q = 0.7 (Zhang & Sabuncu, NeurIPS 2018)."""

    name = loss_name = "gce"


class SymmetricCrossEntropy(Method):
    """ERM with symmetric cross-entropy, alpha = 0.1, beta = 1, A = -4 (Wang et al., ICCV 2019)."""

    name = loss_name = "sce"


class FocalLoss(Method):
    """ERM with focal loss, gamma = 2 (Lin et al., ICCV 2017)."""

    name = loss_name = "focal"


class LabelSmoothing(Method):
    """ERM with label smoothing 0.1 (Szegedy et al., CVPR 2016)."""

    name = loss_name = "label_smoothing"


class ClassBalancedCrossEntropy(Method):
    """ERM with class-balanced cross-entropy: effective-number class weights, beta = 0.999
    (Cui et al., CVPR 2019), from the observed training labels."""

    name = "cb_ce"
    loss_name = DEFAULT_LOSS
    class_weight_name = "effective_number"


METHODS: Registry[Callable[[MethodContext], Method]] = Registry("method")
for _method in (Method, LiLAWMethod, FilterAndRetrain, GeneralizedCrossEntropy, SymmetricCrossEntropy, FocalLoss,
                LabelSmoothing, ClassBalancedCrossEntropy):
    METHODS.add(_method.name, _method)


def method_loss(method: str, *, loss: str = DEFAULT_LOSS, class_weight: str = NO_CLASS_WEIGHT) -> tuple[str, str]:
    """The (per-sample loss, class weighting) names a run of ``method`` trains with.

    A method that fixes them (``gce``, ``cb_ce``, ``dynamic_loss``, ...) wins over the recipe's
    defaults; a recipe that asks for something else is an error rather than silently ignored.

    Examples
    --------
    >>> method_loss("gce", class_weight="balanced")
    ('gce', 'balanced')
    >>> method_loss("lilaw", loss="sce")
    ('sce', 'none')
    """
    factory = METHODS.get(method)
    resolved = []
    for key, asked, default in (("loss", loss, DEFAULT_LOSS), ("class_weight", class_weight, NO_CLASS_WEIGHT)):
        fixed = getattr(factory, f"{key}_name", None)
        if fixed is not None and asked not in (default, fixed):
            raise ConfigError(FIXED_LOSS_CONFLICT.format(method=method, key=key, fixed=fixed, asked=asked))
        resolved.append(asked if fixed is None else fixed)
    return resolved[0], resolved[1]


def check_data_parallel(method: str, *, world_size: int) -> None:
    """Refuse to train ``method`` in ``world_size`` > 1 processes when it cannot keep them in step."""
    if world_size > 1 and method in SINGLE_PROCESS_ONLY:
        able = [name for name in METHODS.names() if name not in SINGLE_PROCESS_ONLY]
        raise ConfigError(SINGLE_PROCESS_METHOD.format(method=method, why=SINGLE_PROCESS_ONLY[method],
                                                       world=world_size, methods=", ".join(able)))


def build_method(method: str, *, train_labels: np.ndarray, n_classes: int, loss: str = DEFAULT_LOSS,
                 class_weight: str = NO_CLASS_WEIGHT, lilaw: LiLAWConfig | None = None,
                 clean: CleanConfig | None = None, dynamic_loss: DynamicLossConfig | None = None,
                 sample_weight: Tensor | None = None, task: Task = CLASSIFICATION,
                 synthetic: np.ndarray | None = None, real_distance: np.ndarray | None = None) -> Method:
    """The one constructor of a training method, for the recipe path and the estimator alike.

    The per-sample loss and class weighting come from :func:`method_loss` (so ``gce`` trains
    with GCE however it is called); class weights are computed from ``train_labels`` (n_train,),
    the observed, possibly noisy, labels: all a user has. A regression takes ``erm`` or
    ``lilaw`` with a loss of :data:`~lilaw_health.core.losses.REGRESSION_LOSSES` (the default
    ``cross_entropy`` becomes ``mse``).
    """
    METHODS.get(method)
    task.check_method(method)
    context = MethodContext(loss_fn=_loss_fn(method, loss, class_weight, train_labels, n_classes, task),
                            n_classes=n_classes, lilaw=lilaw or LiLAWConfig(), clean=clean or CleanConfig(),
                            dynamic_loss=dynamic_loss or DynamicLossConfig(), sample_weight=sample_weight, task=task,
                            synthetic=synthetic, real_distance=real_distance)
    return METHODS.get(method)(context)


def _loss_fn(method: str, loss: str, class_weight: str, train_labels: np.ndarray, n_classes: int,
             task: Task) -> PerSampleLoss:
    if task.name == "regression":
        if class_weight != NO_CLASS_WEIGHT:
            raise ConfigError(f"class_weight={class_weight} weighs classes; a regression has none. Remove the key.")
        return REGRESSION_LOSSES.get("mse" if loss == DEFAULT_LOSS else loss)
    loss_name, class_weight_name = method_loss(method, loss=loss, class_weight=class_weight)
    loss_fn = PER_SAMPLE_LOSSES.get(loss_name)
    if class_weight_name != NO_CLASS_WEIGHT:
        loss_fn = with_class_weight(loss_fn, CLASS_WEIGHTS.get(class_weight_name)(np.asarray(train_labels), n_classes))
    return loss_fn
