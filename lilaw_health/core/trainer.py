"""A model-agnostic training loop with early stopping, atomic checkpoints and exact resume.

Exact resume: every random draw of epoch ``e`` (shuffling, dropout, validation batches for
the meta step) comes from generators seeded with ``(seed, e)``, and a checkpoint holding the
model, optimiser, method and bookkeeping is written atomically after every epoch. A run
resumed from its last checkpoint therefore ends with the same weights and metrics as an
uninterrupted run (on the CPU; GPU kernels may be nondeterministic).

Data-parallel: under ``torchrun`` (:mod:`~lilaw_health.core.distributed`) the model trains as
``DistributedDataParallel``, each process on its share of the same global batches; the
validation logits and the training dynamics are gathered, so model selection, early stopping
and the methods' epoch hooks see the whole sets and decide alike on every process; only rank 0
writes checkpoints, which every process loads to resume.

GPU-ready: ``device=auto`` trains on CUDA when there is a GPU; there the model step runs in
mixed precision (``amp``, :mod:`~lilaw_health.core.device`), batches come through pinned
memory (``workers`` loader processes, :mod:`~lilaw_health.core.loaders`), and the loop never
waits for the device within an epoch except every few steps (:mod:`~lilaw_health.core.host_reads`):
the loss check, LiLAW's logged scalars and the training dynamics stay on the device until then.
On the CPU with the defaults, the loop computes exactly what it did before these options existed.
"""

from __future__ import annotations

import copy
import math
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from lilaw_health.core import distributed
from lilaw_health.core.checkpoint import load_checkpoint, save_checkpoint
from lilaw_health.core.data import LabeledView, PositionSubset, Sample
from lilaw_health.core.dynamics import SharedDynamics, TrainingDynamics
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.host_reads import DeferredReads
from lilaw_health.core.loaders import batch_loader, copy_to_device, global_batch_sizes, meta_batches
from lilaw_health.core.methods import Method, check_data_parallel
from lilaw_health.core.metrics import MONITORS
from lilaw_health.core.device import (  # resolve_device: also imported from here by the pipeline
    autocast, check_amp_mode, full_precision, grad_scaler, parse_device, resolve_device, use_amp,
)
from lilaw_health.core.task import CLASSIFICATION, Task

logger = logging.getLogger(__name__)

SAMPLERS = ("uniform", "balanced")
SCHEDULERS = ("none", "cosine")
CHECKPOINT_SECONDS = 30.0  # last.pt is written at most this often between the first and the final epoch
KEEP = ("best", "last")  # the model a fit returns: its best validation epoch, or its last epoch
Augment = Callable[[Sample, torch.Generator], Sample]
Scheduler = torch.optim.lr_scheduler.LRScheduler


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the training loop (the model and the method are passed separately).

    ``device`` (auto, cpu, cuda, cuda:<index>) and ``amp`` (auto, on, off: mixed precision on
    CUDA) are described in :mod:`~lilaw_health.core.device`; ``workers`` (DataLoader processes,
    0 = read batches in the training process) in :mod:`~lilaw_health.core.loaders`: it never
    changes the result for the datasets of lilaw_health, so a run may resume with another count.
    """

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0
    monitor: str = "accuracy"
    device: str = "auto"
    seed: int = 0
    sampler: str = "uniform"
    scheduler: str = "none"
    amp: str = "auto"
    workers: int = 0
    keep: str = "best"

    def __post_init__(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"scheduler must be one of {', '.join(SCHEDULERS)}; received {self.scheduler!r}. "
                              "'cosine' anneals the learning rate to 0 over the epochs.")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}; received {self.sampler!r}. "
                              "'balanced' draws every class equally often (with replacement).")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError(f"epochs and batch_size must be >= 1; received epochs={self.epochs}, "
                              f"batch_size={self.batch_size}.")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0 (0 disables early stopping); received {self.patience}.")
        if self.keep not in KEEP:
            raise ConfigError(f"keep must be one of {', '.join(KEEP)}; received {self.keep!r}. 'best' keeps the best "
                              "validation epoch's model, 'last' the last epoch's.")
        if not (self.lr >= 0 and self.weight_decay >= 0):
            raise ConfigError(f"lr and weight_decay must be >= 0; received lr={self.lr}, "
                              f"weight_decay={self.weight_decay}. E.g. lr=0.001 weight_decay=0.")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0 (0 reads batches in the training process); received "
                              f"{self.workers}. E.g. workers=4 on a machine with cores to spare.")
        parse_device(self.device)
        check_amp_mode(self.amp)
        MONITORS.get(self.monitor)


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns; the model holds the weights of the epoch ``kept``
    (``best``: the best validation epoch, ``best_epoch``; ``last``: the last epoch run)."""

    history: pd.DataFrame
    trajectory: pd.DataFrame
    best_epoch: int
    best_score: float
    epochs_run: int
    stopped_early: bool
    seconds_per_epoch: float = field(default=float("nan"))
    train_dynamics: TrainingDynamics | None = None
    val_dynamics: TrainingDynamics | None = None
    kept: str = "best"


RESUME_OTHER_WORLD_SIZE = ("checkpoint {path} was written by a run of {saved} process(es); this run has {world}. "
                           "Exact resume needs the same number: rerun with torchrun --nproc_per_node={saved} "
                           "(or without torchrun for 1), or start over with lilaw-health run --no-resume.")
class Trainer:
    """Train any ``nn.Module`` that returns logits with a method from the registry.

    Parameters
    ----------
    model : nn.Module
    method : Method
    config : TrainConfig
    checkpoint_dir : path, optional
        Where ``last.pt`` and ``best.pt`` go; without it nothing is written.
    progress : bool
        Show a tqdm bar with loss, validation metric and the LiLAW scalars.
    augment : callable, optional
        ``augment(inputs, generator) -> inputs`` applied to training batches only; it must draw
        its randomness from ``generator`` (seeded per epoch) for runs to resume exactly.
    task : Classification or Regression
        What the targets are (:mod:`~lilaw_health.core.task`); classification by default.

    Inputs may be structured (a tuple or mapping of tensors, see :data:`~lilaw_health.core.data.Sample`):
    batches keep the structure, move to the device part by part, and reach the model, the
    augmentation and the methods as they are.
    """

    def __init__(self, model: nn.Module, method: Method, *, config: TrainConfig,
                 checkpoint_dir: str | Path | None = None, progress: bool = False,
                 augment: Augment | None = None, task: Task = CLASSIFICATION) -> None:
        task.check_monitor(config.monitor)
        if task.name == "regression" and config.sampler == "balanced":
            raise ConfigError("sampler=balanced draws every class equally often; a regression has no classes. "
                              "Use sampler=uniform.")
        self.task = task
        self.model = model
        self.augment = augment
        self.method = method
        self.config = config
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        check_data_parallel(method.name, world_size=distributed.world_size())
        self.progress = progress and distributed.is_main()
        self.device = distributed.local_device(resolve_device(config.device))
        self.amp = use_amp(config.amp, self.device)
        self._scaler = grad_scaler(self.amp)
        self._best_weights: dict[str, Tensor] | None = None
        self._best_unsaved: dict[str, Tensor] | None = None  # best weights not yet in best.pt
        self._saved_at = -math.inf
        self.checkpoint_seconds = CHECKPOINT_SECONDS
        self._training_model = model  # DistributedDataParallel(model) in a data-parallel fit

    def fit(self, train: LabeledView, val: LabeledView, *, resume: bool = True) -> TrainResult:
        cfg = self.config
        logger.info("training on %s%s", self.device, " in mixed precision (float16 autocast)" if self.amp else "")
        self.model.to(self.device)
        self.method.to(self.device)
        self._initial_weights = self._load_or_save_initial_weights(resume=resume)
        optimizer = self._optimizer()
        scheduler = self._scheduler(optimizer, cfg.epochs)
        state = self._initial_state()
        self.train_dynamics = TrainingDynamics(len(train), task=self.task)
        self.val_dynamics = TrainingDynamics(len(val), task=self.task)
        if resume:
            state = self._maybe_resume(state, optimizer, scheduler)
        self._training_model = distributed.data_parallel(self.model, self.device)
        distributed.barrier()  # every process has read the checkpoints before rank 0 writes new ones
        monitor_fn, higher_is_better = MONITORS.get(cfg.monitor)
        last_epoch = state["epoch"] if state["stopped_early"] else cfg.epochs
        bar = tqdm(range(state["epoch"], last_epoch), initial=state["epoch"], total=cfg.epochs,
                   disable=not self.progress, desc=self.method.name, leave=False)
        for epoch in bar:
            started = time.perf_counter()
            train_loss, objective = self._train_epoch(train, val, optimizer, epoch, state)
            distributed.broadcast_buffers(self.model)
            proba, val_targets, val_loss = self._validate(val)
            score = val_loss if cfg.monitor == "loss" else monitor_fn(val_targets, proba)
            row = {"epoch": epoch, "train_loss": train_loss, "train_objective": objective, "val_loss": val_loss,
                   f"val_{cfg.monitor}": score, "val_samples": len(val_targets),
                   **(self.method.scalars() or {}), "seconds": time.perf_counter() - started}
            state["history"].append(row)
            if scheduler is not None:
                scheduler.step()
            if self.method.on_epoch_end(epoch, dynamics=self.train_dynamics, val_dynamics=self.val_dynamics):
                optimizer = self._reinitialise(state)  # this epoch's score belongs to the old model
                scheduler = self._scheduler(optimizer, cfg.epochs - epoch - 1)
            else:
                self._track_best(state, epoch, score, higher_is_better)
            state["epoch"] = epoch + 1
            self._save_last(state, optimizer, scheduler)
            bar.set_postfix(train_loss=f"{train_loss:.3f}", **{f"val_{cfg.monitor}": f"{score:.3f}"},
                            **{k: f"{v:.2f}" for k, v in (self.method.scalars() or {}).items()})
            if cfg.patience and state["bad_epochs"] >= cfg.patience:
                state["stopped_early"] = True
                self._save_last(state, optimizer, scheduler, final=True)
                break
        bar.close()
        if cfg.keep == "best":
            self._restore_best()
        distributed.write_rank_trace(state, self.model)
        history = pd.DataFrame(state["history"])
        return TrainResult(history=history, trajectory=pd.DataFrame(state["trajectory"],
                                                                    columns=["step", "epoch", "alpha", "beta", "delta"]),
                           best_epoch=state["best_epoch"], best_score=state["best_score"], epochs_run=state["epoch"],
                           stopped_early=state["stopped_early"],
                           seconds_per_epoch=float(history["seconds"].mean()) if len(history) else float("nan"),
                           train_dynamics=self.train_dynamics, val_dynamics=self.val_dynamics, kept=cfg.keep)

    def _train_epoch(self, train: LabeledView, val: LabeledView, optimizer: torch.optim.Optimizer,
                     epoch: int, state: dict[str, Any]) -> tuple[float, float]:
        """One pass over ``train``; returns the mean plain loss (cross-entropy, or squared error for
        regression; comparable with the validation loss) and the mean objective the method
        optimised (e.g. LiLAW-weighted)."""
        torch.manual_seed(self._seed(epoch, 0, per_process=True))
        chosen = self.method.on_epoch_start(epoch, model=self.model, train=train, predict_logits=self.predict_logits,
                                            seed=self._seed(epoch, 4))
        self.model.train()
        loader = self._loader(train if chosen is None else PositionSubset(train, chosen), shuffle=True,
                              seed=self._seed(epoch, 1), balanced=self.config.sampler == "balanced", shard=True)
        global_sizes = global_batch_sizes(loader)
        next_val_batch = meta_batches(val, batch_size=self.config.batch_size, seed=self._seed(epoch, 2),
                                      device=self.device)
        augment_generator = torch.Generator().manual_seed(self._seed(epoch, 3, per_process=True))
        shared = SharedDynamics(self.train_dynamics) if distributed.world_size() > 1 else None
        reads = DeferredReads(epoch=epoch, trajectory=state["trajectory"])  # no host read in the loop
        plain_sum, count = torch.zeros((), device=self.device), 0
        for index, (positions, inputs, targets) in enumerate(loader):
            inputs, targets = copy_to_device(inputs, self.device), targets.to(self.device, non_blocking=True)
            if self.augment is not None:
                inputs = self.augment(inputs, augment_generator)
            with autocast(self.device, self.amp):
                outputs = full_precision(self._training_model(inputs))
            alpha = self.method.weight_alpha()
            if shared is None:
                self.train_dynamics.record(positions, outputs.detach(), targets, alpha=alpha)
            else:
                shared.record(state["step"], positions, outputs.detach(), targets, alpha=alpha)
            loss = self.method.training_loss(outputs, targets, epoch=epoch, positions=positions)
            objective, batch_size, share = self._batch_objective(
                loss, len(targets), global_sizes[index] if global_sizes else len(targets))
            self._model_step(optimizer, loss if share is None else loss * share)
            with autocast(self.device, self.amp):
                scalars = self.method.after_model_step(self.model, epoch=epoch, step=state["step"],
                                                       next_val_batch=next_val_batch)
            reads.add(state["step"], objective, batch_size,
                      None if scalars is None else {"step": state["step"], "epoch": epoch, **scalars})
            state["step"] += 1
            plain_sum += self.task.plain_loss(outputs.detach(), targets).sum()
            count += batch_size
        reads.flush()  # raises on a non-finite loss, naming its step
        (self.train_dynamics if shared is None else shared).end_epoch()
        return distributed.all_reduce_sum(plain_sum).item() / max(count, 1), reads.objective_sum / max(count, 1)

    def _batch_objective(self, loss: Tensor, size: int, global_size: int) -> tuple[Tensor, int, float | None]:
        """The batch's objective (on the device) and size over all processes (``global_size``),
        and the factor this process's loss is scaled by before DDP averages the gradients (None
        in one process): its share of the samples times the number of processes, so an uneven
        last batch weighs every sample alike."""
        if distributed.world_size() == 1:
            return loss, size, None
        (mean,), _ = distributed.sample_mean([loss], size)
        return mean, global_size, size * distributed.world_size() / global_size

    def _model_step(self, optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """Backward and optimiser step; in mixed precision through the gradient scaler."""
        optimizer.zero_grad(set_to_none=True)
        if self._scaler is None:
            loss.backward()
            optimizer.step()
            return
        self._scaler.scale(loss).backward()
        self._scaler.step(optimizer)
        self._scaler.update()

    def _seed(self, epoch: int, stream: int, *, per_process: bool = False) -> int:
        """The seed of one random stream of one epoch; ``per_process`` streams (dropout, augmentation)
        differ between the processes of a data-parallel run, whose batch shares differ."""
        if per_process and distributed.world_size() > 1:
            return _epoch_seed(self.config.seed, epoch, stream, distributed.rank())
        return _epoch_seed(self.config.seed, epoch, stream)

    def _track_best(self, state: dict[str, Any], epoch: int, score: float, higher_is_better: bool) -> None:
        best = state["best_score"]
        if state["best_epoch"] < 0 or (score > best if higher_is_better else score < best):
            state.update(best_epoch=epoch, best_score=score, bad_epochs=0)
            self._save_best()
        else:
            state["bad_epochs"] += 1

    def _optimizer(self) -> torch.optim.Optimizer:
        # fused in mixed precision: it reads the gradient scaler's overflow flag on the device
        return torch.optim.Adam(self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay,
                                fused=True if self.amp else None)

    def _scheduler(self, optimizer: torch.optim.Optimizer, epochs: int) -> Scheduler | None:
        if self.config.scheduler == "none":
            return None
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))

    def _load_or_save_initial_weights(self, *, resume: bool) -> dict[str, Tensor]:
        """The weights before training, kept so a method can ask for a restart (and resume after one)."""
        path = self.checkpoint_dir / "initial.pt" if self.checkpoint_dir else None
        resuming = resume and path is not None and (path.parent / "last.pt").exists()
        if resuming and path is not None and path.exists():  # without last.pt no epoch ran: start afresh
            return load_checkpoint(path)["model"]
        weights = copy.deepcopy(self.model.state_dict())
        if path is not None and distributed.is_main():
            save_checkpoint(path, {"model": weights})
        return weights

    def _reinitialise(self, state: dict[str, Any]) -> torch.optim.Optimizer:
        """Restart from the initial weights with a fresh optimiser; best-epoch tracking starts over."""
        self.model.load_state_dict(self._initial_weights)
        state.update(best_epoch=-1, best_score=float("nan"), bad_epochs=0)
        self._best_weights = self._best_unsaved = None
        logger.info("%s re-initialised the model", self.method.name)
        return self._optimizer()

    def _validate(self, val: LabeledView) -> tuple[np.ndarray, np.ndarray, float]:
        """Predictions (class probabilities, or values for regression), targets and mean plain loss
        of the validation samples model selection scores (all, unless the method left some out);
        records the dynamics of all of them."""
        logits = self._predict_all(val)
        targets = torch.as_tensor(val.targets, dtype=self.task.target_dtype)
        self.val_dynamics.record(torch.arange(len(val)), logits, targets, alpha=float(self.method.weight_alpha()))
        self.val_dynamics.end_epoch()
        keep = self.method.validation_keep()
        if keep is not None:
            mask = torch.as_tensor(keep)
            logits, targets = logits[mask], targets[mask]
        loss = float(self.task.plain_loss(logits, targets).mean()) if len(targets) else float("nan")
        return self.task.predictions(logits).numpy(), targets.numpy(), loss

    def _predict_all(self, val: LabeledView) -> Tensor:
        """Logits of every sample of ``val``; data-parallel, each process predicts its share and
        the shares are gathered, so every process holds the same logits."""
        if distributed.world_size() == 1 or len(val) < distributed.world_size():
            return self.predict_logits(val)
        logits = self.predict_logits(PositionSubset(val, distributed.shard(np.arange(len(val)))))
        return torch.as_tensor(np.concatenate(distributed.all_gather_array(logits.numpy())))

    def _loader(self, dataset: LabeledView | PositionSubset, *, shuffle: bool, seed: int = 0,
                balanced: bool = False, shard: bool = False) -> DataLoader:
        return batch_loader(dataset, batch_size=self.config.batch_size, device=self.device, seed=seed,
                            shuffle=shuffle, balanced=balanced, shard=shard, workers=self.config.workers)

    @torch.no_grad()
    def predict_proba(self, dataset: LabeledView) -> np.ndarray:
        """Softmax probabilities (n_samples, n_classes) in dataset order; for regression, the
        predicted values (n_samples,)."""
        return self.task.predictions(self.predict_logits(dataset)).numpy()

    @torch.no_grad()
    def predict_logits(self, dataset: LabeledView | PositionSubset) -> Tensor:
        """Logits (n_samples, n_classes) in dataset order, on the CPU."""
        self.model.eval()
        parts = []
        for _, inputs, _ in self._loader(dataset, shuffle=False):
            with autocast(self.device, self.amp):
                parts.append(self.model(copy_to_device(inputs, self.device)).float())
        return torch.cat(parts).cpu()  # one read of the device per pass

    def _initial_state(self) -> dict[str, Any]:
        return {"epoch": 0, "step": 0, "history": [], "trajectory": [], "best_epoch": -1,
                "best_score": float("nan"), "bad_epochs": 0, "stopped_early": False}

    def _maybe_resume(self, state: dict[str, Any], optimizer: torch.optim.Optimizer,
                      scheduler: Scheduler | None) -> dict[str, Any]:
        path = self.checkpoint_dir / "last.pt" if self.checkpoint_dir else None
        if path is None or not path.exists():
            return state
        saved = load_checkpoint(path)
        # keys added since the checkpoint was written take their defaults; workers do not change results
        written = {**asdict(TrainConfig()), **saved["train_config"], "workers": self.config.workers}
        if written != asdict(self.config) or saved["method_name"] != self.method.name:
            raise ConfigError(f"checkpoint {path} was written by a different configuration "
                              f"({saved['method_name']}, {saved['train_config']}). Use a new output folder, "
                              "or start over there (lilaw-health run --no-resume).")
        if saved.get("world_size", 1) != distributed.world_size():
            raise ConfigError(RESUME_OTHER_WORLD_SIZE.format(path=path, saved=saved.get("world_size", 1),
                                                             world=distributed.world_size()))
        self.model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        self.method.load_state_dict(saved["method"])
        if self._scaler is not None and saved.get("scaler"):
            self._scaler.load_state_dict(saved["scaler"])
        self.train_dynamics.load_state_dict(saved["dynamics"]["train"])
        self.val_dynamics.load_state_dict(saved["dynamics"]["val"])
        logger.info("resumed from %s at epoch %d", path, saved["state"]["epoch"])
        return saved["state"]

    def _save_last(self, state: dict[str, Any], optimizer: torch.optim.Optimizer,
                   scheduler: Scheduler | None, *, final: bool = False) -> None:
        """Write ``last.pt`` (and ``best.pt`` when a better epoch came since the last write) after
        the first and the final epoch and otherwise at most every :attr:`checkpoint_seconds`:
        a set of 20 series trains 900 one-step epochs, where writing every epoch cost 3x the
        training. A killed run resumes exactly from the last write, replaying the epochs since."""
        if self.checkpoint_dir is None or not distributed.is_main():
            return
        now = time.monotonic()
        if not (final or state["epoch"] in (1, self.config.epochs) or now - self._saved_at >= self.checkpoint_seconds):
            return
        self._saved_at = now
        if self._best_unsaved is not None:
            save_checkpoint(self.checkpoint_dir / "best.pt", {"model": self._best_unsaved})
            self._best_unsaved = None
        save_checkpoint(self.checkpoint_dir / "last.pt", {
            "model": self.model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": self._scaler.state_dict() if self._scaler is not None else None,
            "method": self.method.state_dict(), "method_name": self.method.name,
            "train_config": asdict(self.config), "state": state, "world_size": distributed.world_size(),
            "dynamics": {"train": self.train_dynamics.state_dict(), "val": self.val_dynamics.state_dict()}})

    def _save_best(self) -> None:
        self._best_weights = self._best_unsaved = copy.deepcopy(self.model.state_dict())  # written with last.pt

    def _restore_best(self) -> None:
        weights = self._best_weights
        if weights is None and self.checkpoint_dir is not None and (self.checkpoint_dir / "best.pt").exists():
            weights = load_checkpoint(self.checkpoint_dir / "best.pt")["model"]
        if weights is not None:
            self.model.load_state_dict(weights)


def _epoch_seed(seed: int, epoch: int, stream: int, *process: int) -> int:
    """Independent, reproducible seed for one random stream of one epoch (of one process)."""
    return int(np.random.SeedSequence([seed, epoch, stream, *process]).generate_state(1)[0])
