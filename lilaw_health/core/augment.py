"""The generic augmentation pipeline: recipe entries -> a seeded, checked sequence of transforms.

A domain registers its transforms (``transform(x, *, generator, **options) -> x``, every
option keyword-only, all randomness drawn from ``generator``) in a :class:`Registry` and builds
its pipeline with :func:`build_pipeline`, giving a small example batch (``probe``) on which
each entry is tried once, so that a bad value fails when the recipe is read, not mid-training.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lilaw_health.core.errors import ConfigError
from lilaw_health.core.registry import Registry

Transform = Callable[..., Any]

NOT_AN_ENTRY = "augment[{index}] must be a mapping with a string 'name'; received {received}. Example: {example}"
UNKNOWN_PARAMETER = (
    "augmentation {name!r} has no parameter {key!r}; valid parameters are: {valid}. "
    "Rename or remove the key in the recipe."
)
BAD_ENTRY = "augment[{index}] ({name}): {error}"


@dataclass(frozen=True)
class Pipeline:
    """Transforms applied in order to a training batch; build it with :func:`build_pipeline`.

    Attributes
    ----------
    steps : tuple of (str, dict)
        Registered transform name and its keyword options (without ``generator``).
    registry : Registry
        Where the names are looked up.
    """

    steps: tuple[tuple[str, dict[str, Any]], ...]
    registry: Registry[Transform]

    def __call__(self, x: Any, generator: torch.Generator) -> Any:
        """Augment a batch (a tensor or a structured sample), drawing only from ``generator``."""
        for name, options in self.steps:
            x = self.registry.get(name)(x, generator=generator, **options)
        return x


def build_pipeline(specs: Sequence[Mapping[str, Any]] | None, registry: Registry[Transform], *, probe: Any,
                   example: str) -> Pipeline | None:
    """Check recipe entries against ``registry`` and build the pipeline (None when empty).

    Raises
    ------
    UnknownNameError
        If a name is not registered.
    ConfigError
        If an entry is malformed, names an unknown parameter, or its values fail on ``probe``.
    """
    if not specs:
        return None
    steps = tuple(_step(index, entry, registry, probe=probe, example=example) for index, entry in enumerate(specs))
    return Pipeline(steps, registry)


def option_names(transform: Transform) -> list[str]:
    """The keyword-only options of a transform, ``generator`` excepted."""
    parameters = inspect.signature(transform).parameters.values()
    return [prm.name for prm in parameters if prm.kind is prm.KEYWORD_ONLY and prm.name != "generator"]


def check_options(name: str, options: Mapping[str, Any], valid: list[str]) -> None:
    for key in options:
        if key not in valid:
            raise ConfigError(UNKNOWN_PARAMETER.format(name=name, key=key, valid=", ".join(valid)))


def _step(index: int, entry: Any, registry: Registry[Transform], *, probe: Any,
          example: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise ConfigError(NOT_AN_ENTRY.format(index=index, received=repr(entry), example=example))
    name = entry["name"]
    transform = registry.get(name)
    options = {key: value for key, value in entry.items() if key != "name"}
    check_options(name, options, option_names(transform))
    try:
        transform(probe, generator=torch.Generator(), **options)
    except (TypeError, ValueError) as error:
        raise ConfigError(BAD_ENTRY.format(index=index, name=name, error=error)) from error
    return name, options
