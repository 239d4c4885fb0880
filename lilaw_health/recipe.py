"""Recipes: one YAML file per experiment, typed and frozen once loaded.

YAML lives only at this edge. A recipe is a mapping of the keys of :class:`Recipe`
(``noise``, ``imbalance``, ``lilaw``, ``clean`` and ``dynamic_loss`` are sections; ``data`` and
``model_args`` are free mappings handed to the domain). ``--set key=value`` overrides use the same dotted keys.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from lilaw_health.core.errors import FILE_MISSING, ConfigError, InputError, unknown_name
from lilaw_health.core.lilaw import LiLAWConfig
from lilaw_health.core.losses import CLASS_WEIGHTS as CLASS_WEIGHT_FUNCTIONS
from lilaw_health.core.methods import CleanConfig, DynamicLossConfig
from lilaw_health.core.trainer import TrainConfig

FREE_SECTIONS = ("data", "model_args")


@dataclass(frozen=True)
class NoiseSettings:
    """Label noise injected into the training (and so validation) labels; never the test."""

    kind: str = "none"
    rate: float = 0.0
    matrix: list[list[float]] | None = None


@dataclass(frozen=True)
class ImbalanceSettings:
    """Long-tailed subsampling of the training data before any noise: class k (by size) keeps
    ``n_max * factor ** (-k / (C - 1))`` samples; 1 keeps every sample. The test set is untouched."""

    factor: float = 1.0


@dataclass(frozen=True)
class Recipe:
    """Everything one experiment needs. See ``lilaw-health run --help`` for each key."""

    name: str = "experiment"
    domain: str = "ecg"
    dataset: str = "ECG5000"
    model: str = "fcn"
    method: str = "lilaw"
    methods: tuple[str, ...] = ("erm", "lilaw")
    seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 0
    monitor: str = "accuracy"
    val_fraction: float = 0.1
    loss: str = "cross_entropy"
    class_weight: str = "none"
    sampler: str = "uniform"
    scheduler: str = "none"
    device: str = "auto"
    augment: list[dict[str, Any]] = field(default_factory=list)
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    lilaw: LiLAWConfig = field(default_factory=LiLAWConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    dynamic_loss: DynamicLossConfig = field(default_factory=DynamicLossConfig)
    imbalance: ImbalanceSettings = field(default_factory=ImbalanceSettings)
    data: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, patience=self.patience, monitor=self.monitor,
                           device=self.device, seed=self.seed, sampler=self.sampler,
                           scheduler=self.scheduler)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["methods"], out["seeds"] = list(self.methods), list(self.seeds)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


SECTIONS: dict[str, type] = {"noise": NoiseSettings, "lilaw": LiLAWConfig, "clean": CleanConfig,
                             "dynamic_loss": DynamicLossConfig, "imbalance": ImbalanceSettings}


def valid_keys() -> list[str]:
    """Every key a recipe or ``--set`` accepts, dotted for sections."""
    keys = []
    for f in fields(Recipe):
        if f.name in SECTIONS:
            keys += [f"{f.name}.{g.name}" for g in fields(SECTIONS[f.name])]
        else:
            keys.append(f"{f.name}.<any>" if f.name in FREE_SECTIONS else f.name)
    return keys


def recipe_from_dict(raw: dict[str, Any], *, source: str = "recipe") -> Recipe:
    """Build a :class:`Recipe`; unknown keys raise an error listing the valid ones."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must be a mapping of recipe keys; received {type(raw).__name__}.")
    top = {f.name for f in fields(Recipe)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in top:
            raise unknown_name("recipe key", key, valid_keys(), f"(in {source})")
        if key in SECTIONS:
            kwargs[key] = _section(key, value, source)
        elif key == "augment":
            kwargs[key] = _augment_list(value, source)
        elif key in ("methods", "seeds"):
            kwargs[key] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        else:
            kwargs[key] = _checked(key, value, Recipe, source)
    recipe = Recipe(**kwargs)
    if recipe.class_weight not in CLASS_WEIGHTS:
        raise ConfigError(f"{source}: class_weight must be one of {', '.join(CLASS_WEIGHTS)}; "
                          f"received {recipe.class_weight!r}.")
    return recipe


CLASS_WEIGHTS = ("none", *CLASS_WEIGHT_FUNCTIONS.names())


def _augment_list(value: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) and "name" in v for v in value):
        raise ConfigError(f"{source}: augment must be a list of mappings with a name, e.g. "
                          "[{name: jitter, p: 0.5, sigma: 0.03}]; received " + repr(value))
    return value


def _section(name: str, value: Any, source: str) -> Any:
    cls = SECTIONS[name]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: '{name}' must be a mapping; received {value!r}.")
    allowed = {f.name for f in fields(cls)}
    for key in value:
        if key not in allowed:
            raise unknown_name("recipe key", f"{name}.{key}", valid_keys(), f"(in {source})")
    return cls(**{key: _checked(f"{name}.{key}", v, cls, source) for key, v in value.items()})


_SCALAR_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _checked(key: str, value: Any, cls: type, source: str) -> Any:
    """Reject a value of the wrong scalar type (YAML ``epochs: ten`` would fail far away)."""
    annotation = {f.name: f.type for f in fields(cls)}[key.rpartition(".")[2]]
    expected = _SCALAR_TYPES.get(str(annotation))
    wrong_bool = isinstance(value, bool) and str(annotation) in ("int", "float")
    if expected and (not isinstance(value, expected) or wrong_bool):
        raise ConfigError(f"{source}: {key} must be {annotation}; received {value!r} "
                          f"({type(value).__name__}). Example: --set {key}=<{annotation}>.")
    return float(value) if str(annotation) == "float" else value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=3", "noise.rate=0.4"]`` -> nested dict; values parsed as YAML scalars."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {pair!r} must look like key=value (e.g. epochs=3 or noise.rate=0.4).")
        target = nested
        *parents, leaf = key.strip().split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = yaml.safe_load(text)
    return nested


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``overrides`` wins."""
    out = dict(base)
    for key, value in overrides.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def builtin_recipes() -> dict[str, Path]:
    """Recipes shipped with the package, by name (``pipelines/*.yaml`` in the repository)."""
    folder = importlib.resources.files("lilaw_health") / "recipes"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """Load a recipe by registered name or YAML path, then apply ``key=value`` overrides."""
    path = Path(name_or_path)
    if not path.suffix:
        recipes = builtin_recipes()
        if name_or_path not in recipes:
            raise unknown_name("recipe", name_or_path, list(recipes), "Or pass the path of a YAML file.")
        path = recipes[name_or_path]
    raw = _read_with_bases(path, seen=())
    return recipe_from_dict(merge(raw, parse_overrides(overrides or [])), source=str(path))


def _read_with_bases(path: Path, *, seen: tuple[Path, ...]) -> dict[str, Any]:
    """A recipe's mapping, merged over the recipe named by its ``base`` key (recursively)."""
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="recipe file", path=path,
                                             fix="Check the path, or use a registered name (lilaw-health list)."))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"recipe file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict) or "base" not in raw:
        return raw
    base = raw.pop("base")
    base_path = path.parent / f"{base}.yaml" if not str(base).endswith(".yaml") else path.parent / base
    if base_path.resolve() in seen:
        raise ConfigError(f"recipe {path} inherits from itself through 'base: {base}'.")
    return merge(_read_with_bases(base_path, seen=(*seen, path.resolve())), raw)
