"""The contract every data domain fulfils (ECG, tabular, and later pain and gait).

A domain is a subclass of :class:`Domain` in ``lilaw_health/domains/<name>/__init__.py``,
exposed as ``DOMAIN`` and registered by one line in ``lilaw_health.domains.DOMAIN_MODULES``.
The recipe, the CLI and the experiment read everything they need from it: its default
dataset and model, its model and augmentation names, its data loader and model builder, and
its optional per-run evaluation and per-comparison report. Nothing else in the package lists
a domain's names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from lilaw_health.core.augment import Pipeline, Transform, build_pipeline
from lilaw_health.core.data import TaskData, stack_samples
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.registry import Registry
from lilaw_health.core.synthetic import Artefacts

NO_AUGMENTATIONS = "the {domain} domain has no augmentations; remove `augment` from the recipe."
AUGMENT_EXAMPLE = '[{"name": "<augmentation>", "p": 0.5}]  (lilaw-health list shows the names)'


class Domain(ABC):
    """A data domain: how to load its data, build its models and augment its batches, by name.

    Subclasses set the class attributes and implement the three abstract methods; the
    optional hooks default to "nothing".

    Attributes
    ----------
    name : str
        The recipe's ``domain`` value.
    default_dataset, default_model : str
        What a recipe that names neither trains on and with.
    description : str
        One line for ``lilaw-health list`` and ``--help``.
    """

    name: ClassVar[str]
    default_dataset: ClassVar[str]
    default_model: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def load_data(self, dataset: str, *, options: Mapping[str, Any]) -> TaskData:
        """The train and test data of ``dataset``; ``options`` is the recipe's ``data`` mapping.
        Set ``TaskData.card`` to the dataset's data card when there is one."""

    @abstractmethod
    def build_model(self, name: str, *, data: TaskData, options: Mapping[str, Any]) -> nn.Module:
        """A model returning logits (n, n_classes) for ``data``; ``options`` is ``model_args``."""

    @abstractmethod
    def model_names(self) -> list[str]:
        """Every name :meth:`build_model` accepts."""

    def augmentations(self) -> Registry[Transform] | None:
        """The domain's batch transforms, or None when it has none."""
        return None

    def augment_names(self) -> list[str]:
        registry = self.augmentations()
        return registry.names() if registry is not None else []

    def build_augment(self, specs: Sequence[Mapping[str, Any]], *, data: TaskData) -> Pipeline | None:
        """The recipe's ``augment`` entries as a pipeline, each tried once on two training samples."""
        if not specs:
            return None
        registry = self.augmentations()
        if registry is None:
            raise ConfigError(NO_AUGMENTATIONS.format(domain=self.name))
        probe = stack_samples([data.train[i][0] for i in range(min(2, len(data.train)))])  # type: ignore[arg-type]
        return build_pipeline(specs, registry, probe=probe, example=AUGMENT_EXAMPLE)

    def synthetic_artefacts(self) -> Artefacts | None:
        """``artefacts(samples, rng) -> (samples, kinds)``: makes generated samples implausible in the
        domain's own way (ECG: baseline wander, spikes, flat-lines), or None."""
        return None

    def evaluate(self, data: TaskData, *, y_true: Any, proba: Any, out_dir: Path, recipe: Any = None,
                 train_labels: Any = None, train_indices: Any = None) -> dict[str, Any] | None:
        """Extra per-run results stored as ``metrics["domain"]`` (None: nothing). ``train_labels``
        are the labels the model trained on (noise included) of the training samples
        ``data.train[train_indices]`` (the ones the recipe kept). A ``summary``
        mapping of name -> float becomes columns of the ``compare`` table; ``report`` (a list of
        paragraphs) and ``warnings`` (a list of sentences, also logged) become a section of the
        run's report named after the domain."""
        return None

    def compare_report(self, out_dir: Path, *, runs: Mapping[tuple[str, int], Path],
                       recipe: Any = None) -> list[Path]:
        """Files written beside a comparison, from its run folders by (method, seed)."""
        return []
