"""Dynamic Loss (Jiang, Li, Zhang, Wang, Xu; IEEE TPAMI 2023, arXiv:2211.12506): the learnable parts.

A meta-learned loss for labels that are noisy and long-tailed, in two parts:

- a label corrector: each training sample's loss rank within its observed class, bucketed
  into ``rank_bins`` bins, goes through a rank embedding and an MLP to a trust
  ``w`` in (0, 1); the corrected soft target is ``w * onehot(observed) + (1 - w) * q`` with
  ``q`` a hard Gumbel sample of the model's detached prediction (its softmax during warm-up);
- a margin generator: one learnable embedding through an MLP to one additive logit margin
  per class, used in the training loss only (a learned logit adjustment).

Both learn by a look-ahead meta step (:func:`lookahead_meta_loss`): one differentiable SGD
step of the classifier on the training batch, then plain cross-entropy on a metadata batch
with the virtual weights, back-propagated into the corrector and margins. The metadata come
from the noisy training set itself, by :func:`hierarchical_sample`. :class:`DynamicLossMethod`
(method ``dynamic_loss``) puts the parts into the trainer's hooks; its settings are
:class:`~lilaw_health.core.methods.DynamicLossConfig`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from lilaw_health.core.data import LabeledView, Sample, map_sample, to_device
from lilaw_health.core.errors import LENGTH_MISMATCH, ConfigError, InputError
from lilaw_health.core.losses import cross_entropy, soft_cross_entropy
from lilaw_health.core.methods import (
    DEFAULT_LOSS,
    METHODS,
    NO_CLASS_WEIGHT,
    Batch,
    DynamicLossConfig,
    Method,
    MethodContext,
)

logger = logging.getLogger(__name__)

NOT_STARTED = ("dynamic_loss needs on_epoch_start (which ranks the training samples) before training_loss; "
               "train it with lilaw_health.core.Trainer, or call on_epoch_start at the start of every epoch.")


def _mlp(hidden: int, n_out: int) -> nn.Sequential:
    """The 3-layer MLP of both parts: hidden-hidden-hidden-n_out with ReLU."""
    return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class LabelCorrector(nn.Module):
    """Trust in the observed label from the sample's loss-rank bin: rank embedding -> MLP -> sigmoid.

    The last layer starts with zero weights and bias ``logit(trust_init)``, so every (class,
    bin) starts at exactly ``trust_init``; the weights learn from the first meta step on.
    """

    def __init__(self, n_classes: int, *, rank_bins: int = 100, hidden: int = 64, trust_init: float = 0.98) -> None:
        super().__init__()
        self.embedding = nn.Embedding(rank_bins, hidden)
        self.mlp = _mlp(hidden, n_classes)
        last = self.mlp[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.constant_(last.bias, math.log(trust_init / (1 - trust_init)))

    def forward(self, bins: Tensor, observed: Tensor) -> Tensor:
        """Trust (n,) in (0, 1) of samples with loss-rank ``bins`` (n,) and ``observed`` labels (n,)."""
        logits = self.mlp(self.embedding(bins))
        return torch.sigmoid(logits.gather(1, observed.long()[:, None]).squeeze(1))


class MarginGenerator(nn.Module):
    """One additive logit margin per class: a learnable embedding -> MLP.

    The last layer starts at zero, so training starts without margins.
    """

    def __init__(self, n_classes: int, *, hidden: int = 64) -> None:
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(1, hidden))
        self.mlp = _mlp(hidden, n_classes)
        last = self.mlp[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self) -> Tensor:
        """The margins, shape (n_classes,)."""
        return self.mlp(self.embedding).squeeze(0)


class DynamicLoss(nn.Module):
    """The label corrector and the margin generator together, with the per-sample training loss.

    Parameters
    ----------
    n_classes : int
    config : DynamicLossConfig, optional
    """

    def __init__(self, n_classes: int, config: DynamicLossConfig | None = None) -> None:
        super().__init__()
        self.config = config or DynamicLossConfig()
        self.corrector = LabelCorrector(n_classes, rank_bins=self.config.rank_bins, hidden=self.config.hidden,
                                        trust_init=self.config.trust_init)
        self.margins = MarginGenerator(n_classes, hidden=self.config.hidden)

    def forward(self, logits: Tensor, observed: Tensor, bins: Tensor, mix: Tensor) -> Tensor:
        """Per-sample loss (n,): soft cross-entropy of ``logits + margins`` against the corrected targets.

        ``logits`` (n, c) are the model's; ``bins`` (n,) the samples' loss-rank bins; ``mix``
        (n, c) the distribution the corrector mixes in (a Gumbel sample or the softmax of the
        detached logits).
        """
        target = corrected_targets(self.corrector(bins, observed), observed, mix)
        return soft_cross_entropy(logits + self.margins(), target)


def corrected_targets(trust: Tensor, observed: Tensor, mix: Tensor) -> Tensor:
    """Soft targets (n, c): ``trust * onehot(observed) + (1 - trust) * mix``; ``mix`` (n, c) rows sum to 1."""
    onehot = F.one_hot(observed.long(), mix.shape[1]).to(mix.dtype)
    return trust[:, None] * onehot + (1 - trust[:, None]) * mix


def gumbel_hard_sample(logits: Tensor, *, temperature: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """One-hot samples (n, c) from ``softmax(logits / temperature)`` by the Gumbel-max trick.

    The uniform noise is drawn on the CPU from ``generator`` (so a seeded run repeats exactly
    on any device). No gradient flows: Dynamic Loss mixes with the detached prediction.
    """
    uniform = torch.rand(logits.shape, generator=generator, dtype=torch.float64).clamp_(min=1e-20)
    gumbel = -torch.log(-torch.log(uniform)).to(device=logits.device, dtype=logits.dtype)
    index = (logits.detach() / temperature + gumbel).argmax(dim=1)
    return F.one_hot(index, logits.shape[1]).to(logits.dtype)


def rank_bins(labels: np.ndarray, losses: np.ndarray, *, n_bins: int) -> np.ndarray:
    """Each sample's loss-rank bin within its class: ``floor(rank * n_bins / n_class)``.

    Rank 0 is the lowest loss of the class (ties broken by position), so bin 0 holds a class's
    easiest samples and bin ``n_bins - 1`` its hardest, whatever the class size.

    Parameters
    ----------
    labels : array of int, shape (n_samples,)
        Observed labels.
    losses : array of float, shape (n_samples,)
    n_bins : int

    Returns
    -------
    numpy.ndarray of int64, shape (n_samples,), values in [0, n_bins)
    """
    labels, losses = _check_losses(labels, losses)
    bins = np.zeros(len(labels), dtype=np.int64)
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        ranked = members[np.argsort(losses[members], kind="stable")]
        bins[ranked] = np.arange(len(members)) * n_bins // len(members)
    return bins


def hierarchical_sample(labels: np.ndarray, losses: np.ndarray, *, ratio1: float, ratio2: float,
                        rng: np.random.Generator) -> np.ndarray:
    """Dynamic Loss's metadata, drawn from the noisy training set itself.

    (1) A class-balanced random draw of ``ceil(ratio1 * n_min)`` samples of every class
    (``n_min`` the smallest class size); (2) within each class, the lowest-loss
    ``ceil(ratio2 * drawn)`` of them, the likely clean ones.

    Parameters
    ----------
    labels : array of int, shape (n_samples,)
        Observed labels; only classes present count.
    losses : array of float, shape (n_samples,)
        Per-sample loss against the observed label.
    ratio1, ratio2 : float in (0, 1]
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n_meta,)
        Sorted positions of the metadata.
    """
    labels, losses = _check_losses(labels, losses)
    classes, counts = np.unique(labels, return_counts=True)
    drawn = max(1, math.ceil(ratio1 * counts.min()))
    kept = max(1, math.ceil(ratio2 * drawn))
    parts = []
    for k in classes:
        candidates = rng.choice(np.flatnonzero(labels == k), size=drawn, replace=False)
        parts.append(candidates[np.argsort(losses[candidates], kind="stable")[:kept]])
    return np.sort(np.concatenate(parts)).astype(np.int64)


def _check_losses(labels: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, losses = np.asarray(labels), np.asarray(losses, dtype=np.float64)
    if len(labels) != len(losses):
        raise InputError(LENGTH_MISMATCH.format(arg_a="labels", arg_b="losses", len_a=len(labels), len_b=len(losses)))
    return labels, losses


def lookahead_meta_loss(model: nn.Module, train_loss: Tensor, meta_inputs: Sample, meta_targets: Tensor, *,
                        lr: float) -> Tensor:
    """Cross-entropy on a metadata batch after one differentiable SGD step of ``model`` on ``train_loss``.

    ``train_loss`` must be a function of ``model``'s parameters (through a forward pass on the
    training batch) and of the meta-parameters to learn; the result back-propagates through
    the virtual step ``theta - lr * d train_loss / d theta`` into those meta-parameters. The
    model itself is left untouched: its parameters are not updated and its buffers (BatchNorm
    statistics) are copied for the metadata forward pass.
    """
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    grads = torch.autograd.grad(train_loss, list(params.values()), create_graph=True, allow_unused=True)
    virtual = {name: p if g is None else p - lr * g for (name, p), g in zip(params.items(), grads)}
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    meta_logits = functional_call(model, {**virtual, **buffers}, (meta_inputs,))
    return F.cross_entropy(meta_logits, meta_targets.long())


class DynamicLossMethod(Method):
    """Dynamic Loss (Jiang et al., TPAMI 2023): label corrector and class margins learned by a
    look-ahead meta step on metadata sampled from the noisy training set
    (:mod:`~lilaw_health.core.dynamic_loss`).

    Every epoch starts with: the fine-tune on the previous epoch's metadata (the trainer
    validates right after an epoch's last step, so the fine-tune of epoch e runs before epoch
    e + 1, and the model validated is the model kept); a pass over the training set that ranks
    each sample's cross-entropy within its observed class; after warm-up, the hierarchical
    sample of metadata, held out of that epoch's training. Every training step after warm-up
    takes the meta step (virtual step, metadata cross-entropy, Adam on the corrector and
    margins) before the loss of the real model step is formed with the updated corrector and
    margins, without gradient to them. Margins never touch evaluation: the model is not changed.
    """

    name = "dynamic_loss"
    loss_name = DEFAULT_LOSS  # its objective is its own; plain cross-entropy only ranks the samples
    class_weight_name = NO_CLASS_WEIGHT

    def __init__(self, context: MethodContext) -> None:
        super().__init__(context)
        self.config = context.dynamic_loss
        self.dynamic_loss = DynamicLoss(context.n_classes, self.config)
        self.optimizer = torch.optim.Adam(self.dynamic_loss.parameters(), lr=self.config.meta_lr)
        self.meta_positions_: np.ndarray | None = None  # this epoch's metadata, by training position
        self.batch_size_ = 0  # the largest training batch seen: the fine-tune's batch size
        self._model: nn.Module | None = None
        self._bins: Tensor | None = None  # (n_train,) loss-rank bin of every training position
        self._meta: Batch | None = None
        self._generator = torch.Generator()  # Gumbel noise and metadata batches, reseeded every epoch

    def on_epoch_start(self, epoch: int, *, model: nn.Module, train: LabeledView,
                       predict_logits: Callable[[LabeledView], Tensor], seed: int) -> np.ndarray | None:
        self._model = model
        rng = np.random.default_rng(seed)
        self._generator.manual_seed(int(rng.integers(2**62)))
        if self.config.finetune and self.meta_positions_ is not None:
            self._finetune(model, train, rng)
        losses = cross_entropy(predict_logits(train), torch.as_tensor(train.targets)).numpy()
        self._bins = torch.as_tensor(rank_bins(train.targets, losses, n_bins=self.config.rank_bins))
        if epoch < self.config.warmup_epochs:
            self.meta_positions_, self._meta = None, None
            return None
        self.meta_positions_ = hierarchical_sample(train.targets, losses, ratio1=self.config.ratio1,
                                                   ratio2=self.config.ratio2, rng=rng)
        self._meta = _on(train.batch(self.meta_positions_), _device(model))
        logger.debug("dynamic_loss epoch %d: %d metadata samples, margins %s", epoch, len(self.meta_positions_),
                     self.dynamic_loss.margins().detach().cpu().numpy().round(3))
        return np.setdiff1d(np.arange(len(train)), self.meta_positions_)

    def training_loss(self, outputs: Tensor, targets: Tensor, *, epoch: int, positions: Tensor) -> Tensor:
        if self._bins is None or self._model is None:
            raise ConfigError(NOT_STARTED)
        self.batch_size_ = max(self.batch_size_, len(targets))
        bins = self._bins[positions.cpu()].to(outputs.device)
        if epoch < self.config.warmup_epochs or self._meta is None:
            mix = torch.softmax(outputs.detach(), dim=1)
        else:
            mix = gumbel_hard_sample(outputs, temperature=self.config.temperature, generator=self._generator)
            self._meta_step(outputs, targets, bins, mix, positions)
        with torch.no_grad():
            target = corrected_targets(self.dynamic_loss.corrector(bins, targets), targets, mix)
            margins = self.dynamic_loss.margins()
        return self._weighted(soft_cross_entropy(outputs + margins, target), positions).mean()

    def _meta_step(self, outputs: Tensor, targets: Tensor, bins: Tensor, mix: Tensor, positions: Tensor) -> None:
        """Adam step on the corrector and margins from the metadata loss after a virtual model step."""
        assert self._meta is not None and self._model is not None
        virtual_loss = self._weighted(self.dynamic_loss(outputs, targets, bins, mix), positions).mean()
        inputs, meta_targets = self._meta
        chosen = torch.randperm(len(meta_targets), generator=self._generator)[:len(targets)].to(meta_targets.device)
        meta_loss = lookahead_meta_loss(self._model, virtual_loss, map_sample(lambda part: part[chosen], inputs),
                                        meta_targets[chosen], lr=self.config.virtual_lr)
        params = list(self.dynamic_loss.parameters())
        grads = torch.autograd.grad(meta_loss, params, allow_unused=True)
        for p, g in zip(params, grads):
            p.grad = torch.zeros_like(p) if g is None else g
        self.optimizer.step()

    def _finetune(self, model: nn.Module, train: LabeledView, rng: np.random.Generator) -> None:
        """One SGD pass over the metadata with one-hot labels plus the margins."""
        assert self.meta_positions_ is not None
        positions = torch.as_tensor(rng.permutation(self.meta_positions_))
        inputs, targets = _on(train.batch(positions.numpy()), _device(model))
        margins = self.dynamic_loss.margins().detach()
        optimizer = torch.optim.SGD(model.parameters(), lr=self.config.finetune_lr)
        model.train()
        size = self.batch_size_ or len(positions)
        for start in range(0, len(positions), size):
            batch = slice(start, start + size)
            if len(positions[batch]) < 2:  # BatchNorm cannot train on a batch of one
                continue
            part = map_sample(lambda tensor: tensor[batch], inputs)
            loss = self._weighted(cross_entropy(model(part) + margins, targets[batch]), positions[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.mean().backward()
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def to(self, device: torch.device) -> DynamicLossMethod:
        self.dynamic_loss.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"dynamic_loss": self.dynamic_loss.state_dict(), "optimizer": self.optimizer.state_dict(),
                "meta_positions": self.meta_positions_, "batch_size": self.batch_size_}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.dynamic_loss.load_state_dict(state["dynamic_loss"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.meta_positions_, self.batch_size_ = state["meta_positions"], state["batch_size"]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


def _on(batch: Batch, device: torch.device) -> Batch:
    inputs, targets = batch
    return to_device(inputs, device), targets.to(device)


METHODS.add(DynamicLossMethod.name, DynamicLossMethod)
