"""Run one recipe end to end and write its output folder.

Folder layout: ``config.yaml`` (the resolved recipe, written first), ``checkpoints/``
(``last.pt`` every epoch, ``best.pt``), ``history.csv``, ``trajectory.csv``,
``difficulty.csv``, ``metrics.json`` (written last: its presence means the run finished),
the plots and ``report.md`` / ``report.html``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from lilaw_health.core import distributed
from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.core.budget import Budget, plan_budget
from lilaw_health.core.data import LabeledView, TaskData, dataset_labels
from lilaw_health.core.difficulty import difficulty_table, regression_difficulty_table, write_difficulty
from lilaw_health.core.errors import ConfigError, InputError, LilawError
from lilaw_health.core.memory import PeakMemory
from lilaw_health.core.methods import METHODS, build_method
from lilaw_health.core.metrics import (
    classification_metrics, confusion, detection_metrics, per_class_report, regression_metrics,
)
from lilaw_health.core.target_noise import NoisyTargets
from lilaw_health.core.sources import REAL, dataset_sources, join_synthetic
from lilaw_health.core.synthetic import synthetic_value, valuation_summary, value_by_attribute
from lilaw_health.core.task import Regression
from lilaw_health.core.trainer import Trainer, TrainResult, resolve_device
from lilaw_health.domains import Domain, get_domain
from lilaw_health.recipe import Recipe, recipe_from_dict
from lilaw_health.fairness.groups import GroupMetrics, group_metrics
from lilaw_health.fairness.groups_report import group_section
from lilaw_health.reporting import write_run_report
from lilaw_health.reporting.synthetic import synthetic_section
from lilaw_health.splits import Splits, prepare_splits
from lilaw_health.reporting.html import Section

logger = logging.getLogger(__name__)

OUT_IS_FILE = "--out {path} is a file; give a folder (it is created if missing)."
OUT_UNDER_FILE = "--out {path} cannot be created: {file} is a file, not a folder. Choose another --out folder."
OUT_NOT_WRITABLE = "--out {path} cannot be written: no write permission in {folder}. Choose another --out folder."
SINGLE_CLASS = ("the training data of {dataset} holds a single class ({classes}); a classifier needs at least two. "
                "Check the label column or file, or the recipe's data options.")


def run_experiment(recipe: Recipe, out_dir: str | Path, *, progress: bool = False, resume: bool = True) -> dict:
    """Train and evaluate one recipe; returns the metrics written to ``metrics.json``.

    Everything that can be checked (names, device, output folder, data, model, method) is
    checked before the first file is written, so a refused run leaves no folder behind.
    """
    out_dir = Path(out_dir)
    check_output_folder(out_dir)
    METHODS.get(recipe.method)
    device = resolve_device(recipe.device)
    distributed.init_from_env(device)  # under torchrun: one process of a data-parallel run
    domain = get_domain(recipe.domain)
    if resume:
        check_same_recipe(out_dir, recipe)
    with torch_threads(recipe.threads):
        seed_everything(recipe.seed)
        data = load_task_data(domain, recipe)
        if data.task == "classification":
            check_two_classes(data)
        splits = prepare_splits(data, recipe, artefacts=domain.synthetic_artefacts())
        seed_everything(recipe.seed)
        model = domain.build_model(recipe.model, data=data, options=recipe.model_args)
        method = build_method(recipe.method, train_labels=splits.train.targets, n_classes=data.n_classes,
                              loss=recipe.loss, class_weight=recipe.class_weight, lilaw=recipe.lilaw,
                              clean=recipe.clean, dynamic_loss=recipe.dynamic_loss, task=splits.task,
                              synthetic=dataset_sources(splits.train.base)[splits.train.indices] != REAL,
                              real_distance=_real_distance(splits.train))
        budget = plan_budget(recipe.train_config(), min_steps=recipe.min_steps, n_train=len(splits.train),
                             n_val=len(splits.val), n_classes=data.n_classes if data.task == "classification" else 0)
        trainer = Trainer(model, method, config=budget.config, checkpoint_dir=out_dir / "checkpoints",
                          progress=progress, augment=domain.build_augment(recipe.augment, data=data),
                          task=splits.task)
        if distributed.is_main():  # only rank 0 writes; the others train with it and receive its metrics
            atomic_write_text(out_dir / "config.yaml", recipe.to_yaml())  # all checked: the first write
            budget.log()
        with PeakMemory(distributed.local_device(device)) as memory:
            result = trainer.fit(splits.train, splits.val, resume=resume)
        metrics = None
        if distributed.is_main():
            metrics = _finish(out_dir, recipe, domain, data, splits, trainer, result, memory, budget)
        return distributed.broadcast_object(metrics)


def load_task_data(domain: Domain, recipe: Recipe) -> TaskData:
    """The recipe's dataset, with the synthetic dataset ``mix.dataset`` joined to its training data
    (loaded with the recipe's ``data`` options updated by ``mix.data``)."""
    data = domain.load_data(recipe.dataset, options=recipe.data)
    if not recipe.mix.dataset:
        return data
    synthetic = domain.load_data(recipe.mix.dataset, options={**recipe.data, **recipe.mix.data})
    return join_synthetic(data, synthetic, source=recipe.mix.source, dataset=recipe.mix.dataset)


def _finish(out_dir: Path, recipe: Recipe, domain: Domain, data: TaskData, splits: Splits, trainer: Trainer,
            result: TrainResult, memory: PeakMemory, budget: Budget) -> dict:
    """Evaluate the trained model and write every output; ``metrics.json`` last."""
    metrics = _evaluate(trainer, splits, data, result, recipe)
    metrics.update(peak_memory_mb=memory.peak_mb, memory_measure=memory.measure)
    metrics.update(budget.record(result))
    extra = domain.evaluate(data, y_true=splits.test.targets, proba=trainer.predict_proba(splits.test),
                            out_dir=out_dir, recipe=recipe, train_labels=splits.observed,
                            train_indices=splits.kept)
    if extra is not None:
        metrics["domain"] = extra
    groups = _group_metrics(data, splits, trainer, recipe)
    if groups is not None:
        metrics.update(groups=groups.to_dict(), group_summary=groups.summary())
    difficulty = _difficulty(trainer, splits, recipe, result)
    if splits.corrupted.any():
        scored = difficulty[difficulty["mislabel_score"].notna()]  # a sample never trained on has no score
        metrics["detection"] = detection_metrics(scored["is_flipped"].to_numpy(), scored["mislabel_score"].to_numpy())
    sections = [Section("Data preparation", paragraphs=list(data.extras["notes"]))] if data.extras.get("notes") else []
    if budget.notes:
        sections.append(Section("Training budget", paragraphs=budget.notes))
    if extra is not None and (extra.get("report") or extra.get("warnings")):
        for warning in extra.get("warnings", []):
            logger.warning(warning)
        paragraphs = [f"WARNING: {w}" for w in extra.get("warnings", [])] + list(extra.get("report", []))
        summary = extra.get("summary")
        sections.append(Section(f"{domain.name} results", paragraphs=paragraphs,
                                table=pd.DataFrame([summary]) if summary else None))
    if groups is not None:
        sections.append(group_section(groups, figure=out_dir / "group_metrics.png"))
    if (difficulty["source"] != REAL).any():
        attributes = _attribute_columns(splits.train)
        value = synthetic_value(difficulty, attributes=attributes)
        atomic_write_text(out_dir / "synthetic_value.csv", value.to_csv(index=False))
        metrics["synthetic"] = {"mix": dataclasses.asdict(recipe.mix), **valuation_summary(difficulty, value),
                                "by_attribute": value_by_attribute(value, attributes).to_dict("records")}
        sections.append(synthetic_section(metrics["synthetic"], difficulty, value=value,
                                          figure=out_dir / "synthetic_value.png"))
    _write_outputs(out_dir, recipe, metrics, result, difficulty, card=data.card, sections=sections)
    return metrics


def _real_distance(view: LabeledView) -> np.ndarray | None:
    """Each training sample's distance to the real samples of its class (mixing), else None."""
    distance = getattr(view.base, "real_distance", None)
    return distance[view.indices] if distance is not None else None


def _attribute_columns(view: LabeledView) -> list[str]:
    """The descriptive columns (``TaskData.train_attributes``) the view's samples carry."""
    attributes = getattr(view.base, "attributes", None)
    return [str(column) for column in attributes.columns] if attributes is not None else []


def _group_metrics(data: TaskData, splits: Splits, trainer: Trainer, recipe: Recipe) -> GroupMetrics | None:
    """Test metrics per group of every sensitive attribute the data declares (any task)."""
    if data.sensitive_test is None:
        return None
    return group_metrics(splits.test.targets, trainer.predict_proba(splits.test), data.sensitive_test,
                         task=data.task, n_classes=data.n_classes, class_names=data.class_names,
                         reference=data.reference_groups, seed=recipe.seed)


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output folder that is a file, lies under a file, or cannot be written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(OUT_IS_FILE.format(path=out_dir))
    existing = next(p for p in (out_dir, *out_dir.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ConfigError(OUT_UNDER_FILE.format(path=out_dir, file=existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(OUT_NOT_WRITABLE.format(path=out_dir, folder=existing))


def check_two_classes(data: TaskData) -> None:
    """A classifier needs at least two classes in its training data."""
    present = np.unique(dataset_labels(data.train, arg="training data"))
    if data.n_classes < 2 or len(present) < 2:
        names = [data.class_names[int(i)] if int(i) < len(data.class_names) else str(int(i)) for i in present]
        raise InputError(SINGLE_CLASS.format(dataset=data.name or "the dataset", classes=names))


def is_run_folder(out_dir: Path) -> bool:
    """A folder holds a run once an epoch has finished (``checkpoints/last.pt``) or the run is done."""
    return (out_dir / "checkpoints" / "last.pt").exists() or (out_dir / "metrics.json").exists()


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """PyTorch's intra-op thread count for a block (0 keeps the current one); results can
    differ in the last digits between thread counts, so recipes whose numbers are published fix it."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_same_recipe(out_dir: Path, recipe: Recipe) -> None:
    """Refuse to reuse a folder written by another recipe (its checkpoint or results would be reused).

    The saved ``config.yaml`` is parsed, so keys added to recipes since it was written take
    their defaults and do not count as a difference.
    """
    previous = out_dir / "config.yaml"
    if not previous.exists() or not is_run_folder(out_dir):
        return
    try:
        same = recipe_from_dict(yaml.safe_load(previous.read_text(encoding="utf-8")), source=str(previous)) == recipe
    except LilawError:
        same = False
    if not same:
        raise ConfigError(f"{out_dir} holds a run of a different recipe (see {previous}); resuming it would mix "
                          "the two. Choose another --out folder, or delete that folder to start over there "
                          "(lilaw-health run --no-resume does this for a single run).")


def _evaluate(trainer: Trainer, splits: Splits, data: TaskData, result: TrainResult, recipe: Recipe) -> dict:
    common = {
        "recipe": recipe.name, "method": recipe.method, "seed": recipe.seed, "dataset": data.name, "task": data.task,
        "final_scalars": trainer.method.scalars(),
        "best_epoch": result.best_epoch, "best_val_score": result.best_score, "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early, "seconds_per_epoch": result.seconds_per_epoch,
    }
    if isinstance(splits.noise, NoisyTargets):
        predicted = trainer.predict_proba(splits.test)
        return {**common, "test": regression_metrics(splits.test.targets, predicted, threshold=recipe.threshold),
                "noise": {"kind": recipe.noise.kind, "rate": recipe.noise.rate, "realised_rate": splits.noise.rate,
                          "target_range": list(splits.noise.target_range)},
                "threshold": recipe.threshold, "class_names": data.class_names}
    proba = trainer.predict_proba(splits.test)
    y_true, y_pred = splits.test.targets, proba.argmax(axis=1)
    return {
        **common,
        "test": classification_metrics(y_true, proba, n_classes=data.n_classes),
        "noise": {"kind": recipe.noise.kind, "rate": recipe.noise.rate, "realised_rate": splits.noise.rate,
                  "transition_matrix": splits.noise.transition_matrix.round(4).tolist()},
        "imbalance": {"factor": recipe.imbalance.factor, "kept": len(splits.kept), "of": len(splits.clean_labels),
                      "class_counts": np.bincount(splits.clean_labels[splits.kept], minlength=data.n_classes).tolist()},
        "per_class": per_class_report(y_true, y_pred, n_classes=data.n_classes,
                                      class_names=data.class_names).to_dict("records"),
        "confusion_matrix": confusion(y_true, y_pred, n_classes=data.n_classes).tolist(),
        "class_names": data.class_names,
    }


def _difficulty(trainer: Trainer, splits: Splits, recipe: Recipe, result: TrainResult) -> pd.DataFrame:
    """Every training sample (train and validation parts): its LiLAW description at the best
    epoch and its training-dynamics scores. Methods without learnable scalars are described
    with the recipe's initial ones."""
    learned = trainer.method.scalars() or {}
    scalars = {k: learned.get(k, getattr(recipe.lilaw, k)) for k in ("alpha", "beta", "delta")}
    parts = []
    for name, view, dynamics in (("train", splits.train, result.train_dynamics),
                                 ("val", splits.val, result.val_dynamics)):
        if isinstance(splits.task, Regression):
            table = regression_difficulty_table(trainer.task.predictions(trainer.predict_logits(view)), view.targets,
                                                sample_ids=view.sample_ids, scalars=scalars,
                                                target_range=splits.task.width, split=[name] * len(view))
        else:
            table = difficulty_table(trainer.predict_logits(view), view.targets, sample_ids=view.sample_ids,
                                     scalars=scalars, split=[name] * len(view))
        if dynamics is not None:  # its mislabel score, from training dynamics, replaces 1 - final W_alpha
            scores = dynamics.scores().drop(columns=["last_predicted"])
            table = pd.concat([table.drop(columns=["mislabel_score"]), scores], axis=1)
        real = view.indices < len(splits.clean_labels)  # mixed views put synthetic samples after the real ones
        position = np.searchsorted(splits.kept, view.indices[real])
        table["clean_label"] = np.where(real, 0, view.targets).astype(splits.clean_labels.dtype)
        table.loc[real, "clean_label"] = splits.clean_labels[view.indices[real]]
        table["is_flipped"] = False
        table.loc[real, "is_flipped"] = splits.corrupted[position]  # label or target changed by the noise
        table["source"] = dataset_sources(view.base)[view.indices]
        failure = getattr(view.base, "failure", None)  # planted generator failures, where samples are synthetic
        table["failure"] = failure[view.indices] if failure is not None else ""
        distance = _real_distance(view)
        table["real_distance"] = distance if distance is not None else 0.0
        for column in _attribute_columns(view):
            table[column] = view.base.attributes[column].to_numpy()[view.indices]  # type: ignore[attr-defined]
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def _write_outputs(out_dir: Path, recipe: Recipe, metrics: dict, result: TrainResult, difficulty: pd.DataFrame, *,
                   card: str | None, sections: list[Section]) -> None:
    atomic_write_text(out_dir / "history.csv", result.history.to_csv(index=False))
    atomic_write_text(out_dir / "trajectory.csv", result.trajectory.to_csv(index=False))
    write_difficulty(difficulty, out_dir)
    write_run_report(out_dir, title=f"{recipe.name}: {recipe.method}, seed {recipe.seed}",
                     config_text=recipe.to_yaml(), metrics=metrics, history=result.history,
                     trajectory=result.trajectory, difficulty=difficulty, monitor=recipe.monitor, card=card,
                     extra_sections=sections)
    atomic_write_text(out_dir / "metrics.json", json.dumps(_jsonable(metrics), indent=2))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
