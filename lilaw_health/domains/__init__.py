"""Data domains, registered by name and imported only when asked for.

Every domain package has the same modules (``data.py``, ``models.py``, later
``augment.py``) and exposes ``DOMAIN``, a :class:`Domain`. Domains import core; core never
imports a domain, so heavy dependencies (tsai, mediapipe, fairlearn) load only on use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from lilaw_health.core.data import TaskData
from lilaw_health.core.errors import unknown_name
from lilaw_health.core.trainer import Augment

# name -> module; the pain, gait and tabular issues add theirs here.
DOMAIN_MODULES = {"ecg": "lilaw_health.domains.ecg", "tabular": "lilaw_health.domains.tabular"}


@dataclass(frozen=True)
class Domain:
    """A data domain: how to load its data and build its models by name."""

    name: str
    load_data: Callable[..., TaskData]  # (dataset, *, options: dict) -> TaskData
    build_model: Callable[..., nn.Module]  # (name, *, data: TaskData, options: dict) -> nn.Module
    model_names: Callable[[], list[str]]
    default_dataset: str
    build_augment: Callable[[list[dict[str, Any]]], Augment | None] | None = None  # recipe `augment` entries
    augment_names: Callable[[], list[str]] | None = None
    # (data, *, y_true, proba, out_dir, recipe, train_labels) -> JSON-able dict stored as metrics["domain"]; its
    # "summary" mapping of name -> float becomes columns of the `compare` table
    evaluate: Callable[..., dict[str, Any]] | None = None
    # (out_dir, *, runs: dict[(method, seed), run folder], recipe) -> files written beside the comparison
    compare_report: Callable[..., list[Path]] | None = None


def get_domain(name: str) -> Domain:
    """Import a domain's package and return its :class:`Domain`."""
    if name not in DOMAIN_MODULES:
        raise unknown_name("domain", name, list(DOMAIN_MODULES))
    module: Any = importlib.import_module(DOMAIN_MODULES[name])
    return module.DOMAIN
