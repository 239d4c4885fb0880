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

from lilaw_health.core.errors import FILE_MISSING, ConfigError, InputError, LilawError, unknown_name
from lilaw_health.core.lilaw import LiLAWConfig
from lilaw_health.core.losses import CLASS_WEIGHTS as CLASS_WEIGHT_FUNCTIONS
from lilaw_health.core.methods import CleanConfig, DynamicLossConfig
from lilaw_health.core.options import as_annotated, expected_type
from lilaw_health.core.trainer import TrainConfig
from lilaw_health.domains import get_domain

FREE_SECTIONS = ("data", "model_args")
COMMAND_LINE = "the command line (--set)"
NOISE_RATE_WITHOUT_KIND = (
    "noise.rate={rate} has no effect with noise.kind=none (no noise would be injected). Choose a noise model, "
    "e.g. noise.kind=symmetric, or set noise.rate=0."
)
NOT_A_MAPPING = ("{source} must hold a mapping of recipe keys at its top level (e.g. `epochs: 3`); it holds "
                 "{received}. See lilaw-health run --help for the keys.")
EMPTY_RECIPE = ("recipe file {path} is empty. Give at least `base: <recipe>` (lilaw-health list) or the keys "
                "to set (lilaw-health run --help lists them).")
NOT_TEXT = "recipe file {path} is not UTF-8 text ({reason}). Save it as a UTF-8 YAML file."
BASE_MISSING = ("recipe {path} names 'base: {base}', which is neither a file beside it ({beside}) nor a "
                "registered recipe ({valid}).")
MIN_STEPS_NEGATIVE = ("{source}: min_steps must be >= 0 (0 = train exactly `epochs`); received {value}. "
                      "E.g. min_steps=900.")
OVERRIDE_TWICE = ("--set {key} is given twice ({first!r}, then {second!r}); give each key once.")
OVERRIDE_CONFLICT = ("--set sets {key} as a value and {key}.{child} inside it; a key is either a value or a "
                     "section. Keep one of them.")


@dataclass(frozen=True)
class NoiseSettings:
    """Label noise injected into the training (and so validation) labels; never the test."""

    kind: str = "none"
    rate: float = 0.0
    matrix: list[list[float]] | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ConfigError(f"noise.rate must be in [0, 1]; received {self.rate}. E.g. noise.rate=0.4.")
        if self.kind == "none" and self.rate:
            raise ConfigError(NOISE_RATE_WITHOUT_KIND.format(rate=self.rate))


@dataclass(frozen=True)
class ImbalanceSettings:
    """Long-tailed subsampling of the training data before any noise: class k (by size) keeps
    ``n_max * factor ** (-k / (C - 1))`` samples; 1 keeps every sample. The test set is untouched."""

    factor: float = 1.0


@dataclass(frozen=True)
class MixSettings:
    """Synthetic samples mixed into the training set (:mod:`lilaw_health.splits`).

    Synthetic samples come from the data itself (a loader that labels its samples' sources),
    from ``dataset``: another dataset of the same domain (loaded with the recipe's ``data``
    options updated by ``mix.data``; all its samples join training as source ``source``), or
    from ``generator``: none or a registered generator (``class_pca``) fitted on the real
    training part only. ``ratio`` synthetic : real training samples (in the real class
    proportions; a generator's default 1.0, a dataset's default: all of it), or ``per_class``
    samples of every class when > 0; ``failures`` the share of planted generator failures
    (off-class and, where the domain has artefacts, implausible); ``meta_val`` where the
    validation set (model selection and LiLAW's meta step) comes from: real, synthetic (every
    source but real), both, or one source by name; ``real_train`` keeps only this many real
    training samples (stratified; 0 keeps all); ``train_on_real: false`` trains on the synthetic
    samples alone (the "synthetic only" baseline).
    """

    generator: str = "none"
    dataset: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    source: str = "synthetic"
    ratio: float | None = None
    per_class: int = 0
    failures: float = 0.0
    meta_val: str = "real"
    real_train: int = 0
    train_on_real: bool = True

    def __post_init__(self) -> None:
        if (self.ratio or 0) < 0 or self.per_class < 0 or self.real_train < 0:
            raise ConfigError(f"mix.ratio, mix.per_class and mix.real_train must be >= 0; received {self.ratio}, "
                              f"{self.per_class}, {self.real_train}.")
        if not 0 <= self.failures <= 1:
            raise ConfigError(f"mix.failures must be a share in [0, 1]; received {self.failures}.")
        if self.generator != "none" and self.dataset:
            raise ConfigError(f"mix.generator={self.generator} and mix.dataset={self.dataset} both add synthetic "
                              "samples; keep one of them.")
        if not self.source or self.source == "real":
            raise ConfigError(f"mix.source names the synthetic samples of mix.dataset; received {self.source!r}. "
                              "Use e.g. synthetic, synpain or gaitgen.")


@dataclass(frozen=True)
class Recipe(TrainConfig):
    """Everything one experiment needs. See ``lilaw-health run --help`` for each key.

    The training-loop keys (epochs, batch_size, lr, weight_decay, patience, monitor, device,
    seed, sampler, scheduler, amp, workers) are :class:`~lilaw_health.core.trainer.TrainConfig`'s, inherited
    so that they are declared, defaulted and checked in one place.
    """

    name: str = "experiment"
    domain: str = "ecg"
    dataset: str = ""  # empty: the domain's default_dataset (filled in when the recipe is read)
    model: str = ""  # empty: the domain's default_model
    method: str = "lilaw"
    methods: tuple[str, ...] = ("erm", "lilaw")
    seeds: tuple[int, ...] = (0, 1, 2)
    min_steps: int = 0  # epochs become max(epochs, ceil(min_steps / steps per epoch)) (experiment.plan_budget)
    val_fraction: float = 0.1
    loss: str = "cross_entropy"
    class_weight: str = "none"
    threads: int = 0
    threshold: float | None = None
    augment: list[dict[str, Any]] = field(default_factory=list)
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    lilaw: LiLAWConfig = field(default_factory=LiLAWConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    dynamic_loss: DynamicLossConfig = field(default_factory=DynamicLossConfig)
    imbalance: ImbalanceSettings = field(default_factory=ImbalanceSettings)
    mix: MixSettings = field(default_factory=MixSettings)
    data: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)

    def train_config(self) -> TrainConfig:
        return TrainConfig(**{f.name: getattr(self, f.name) for f in fields(TrainConfig)})

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["methods"], out["seeds"] = list(self.methods), list(self.seeds)
        return {f.name: out[f.name] for f in recipe_fields()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


READING_ORDER = ("name", "domain", "dataset", "model", "method", "methods", "seed", "seeds")


def recipe_fields() -> list[dataclasses.Field]:
    """Recipe fields in reading order: what runs, then the training loop's, then the rest."""
    by_name = {f.name: f for f in fields(Recipe)}
    train = [f.name for f in fields(TrainConfig) if f.name not in READING_ORDER]
    rest = [name for name in by_name if name not in READING_ORDER and name not in train]
    return [by_name[name] for name in (*READING_ORDER, *train, *rest)]


SECTIONS: dict[str, type] = {"noise": NoiseSettings, "lilaw": LiLAWConfig, "clean": CleanConfig,
                             "dynamic_loss": DynamicLossConfig, "imbalance": ImbalanceSettings, "mix": MixSettings}


def valid_keys() -> list[str]:
    """Every key a recipe or ``--set`` accepts, dotted for sections."""
    keys = []
    for f in recipe_fields():
        if f.name in SECTIONS:
            keys += [f"{f.name}.{g.name}" for g in fields(SECTIONS[f.name])]
        else:
            keys.append(f"{f.name}.<any>" if f.name in FREE_SECTIONS else f.name)
    return keys


def recipe_from_dict(raw: dict[str, Any], *, source: str = "recipe") -> Recipe:
    """Build a :class:`Recipe`; unknown keys raise an error listing the valid ones."""
    check_keys(raw, source=source)
    try:
        recipe = Recipe(**{key: _typed_value(key, value) for key, value in raw.items()})
        domain = get_domain(recipe.domain)
    except LilawError as error:
        raise type(error)(f"{source}: {error}") from None
    recipe = dataclasses.replace(recipe, dataset=recipe.dataset or domain.default_dataset,
                                 model=recipe.model or domain.default_model)
    if recipe.class_weight not in CLASS_WEIGHTS:
        raise ConfigError(f"{source}: class_weight must be one of {', '.join(CLASS_WEIGHTS)}; "
                          f"received {recipe.class_weight!r}.")
    return recipe


def check_keys(raw: Any, *, source: str) -> None:
    """Check key names and scalar value types of a (partial) recipe mapping, without building it:
    overrides are checked alone so that their errors name the command line, not the recipe file."""
    if not isinstance(raw, dict):
        raise ConfigError(NOT_A_MAPPING.format(source=source, received=_describe(raw)))
    top = {f.name for f in fields(Recipe)}
    for key, value in raw.items():
        if key not in top:
            raise unknown_name("recipe key", key, valid_keys(), f"(in {source})")
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{key}' must be a mapping; received {value!r}.")
            for inner, item in value.items():
                if inner not in {f.name for f in fields(SECTIONS[key])}:
                    raise unknown_name("recipe key", f"{key}.{inner}", valid_keys(), f"(in {source})")
                _checked(f"{key}.{inner}", item, SECTIONS[key], source)
        elif key in FREE_SECTIONS and not isinstance(value, dict):
            raise ConfigError(f"{source}: '{key}' must be a mapping; received {value!r}.")
        elif key in ("methods", "seeds"):
            _check_list(key, value, source)
        elif key == "augment":
            _augment_list(value, source)
        elif key not in FREE_SECTIONS:
            _checked(key, value, Recipe, source)
    if raw.get("threads", 0) < 0:
        raise ConfigError(f"{source}: threads must be >= 0 (0 = PyTorch's default); received {raw['threads']}.")
    if raw.get("min_steps", 0) < 0:
        raise ConfigError(MIN_STEPS_NEGATIVE.format(source=source, value=raw["min_steps"]))


def _check_list(key: str, value: Any, source: str) -> None:
    items = value if isinstance(value, (list, tuple)) else [value]
    kind, example = (str, "[erm, lilaw]") if key == "methods" else (int, "[0, 1, 2]")
    bad = [item for item in items if not isinstance(item, kind) or isinstance(item, bool)]
    if bad or not items:
        raise ConfigError(f"{source}: {key} must be a non-empty list of {kind.__name__}s, e.g. {example}; "
                          f"received {value!r}.")


def _describe(value: Any) -> str:
    """A YAML value's kind, as a recipe author would call it, and its start."""
    kinds = {list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    return f"{kinds.get(type(value), type(value).__name__)} ({str(value)[:60]})"


CLASS_WEIGHTS = ("none", *CLASS_WEIGHT_FUNCTIONS.names())


def _typed_value(key: str, value: Any) -> Any:
    """A recipe value in its field's type: sections as their dataclasses, lists as tuples."""
    if key in SECTIONS:
        return _section(key, value)
    if key in ("methods", "seeds"):
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)
    return value if key == "augment" else as_annotated(Recipe, key, value)


def _augment_list(value: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) and "name" in v for v in value):
        raise ConfigError(f"{source}: augment must be a list of mappings with a name, e.g. "
                          "[{name: jitter, p: 0.5, sigma: 0.03}]; received " + repr(value))
    return value


def _section(name: str, value: dict[str, Any]) -> Any:
    """A section's dataclass from its (already key- and type-checked) mapping."""
    cls = SECTIONS[name]
    return cls(**{key: as_annotated(cls, key, v) for key, v in value.items()})


def _checked(key: str, value: Any, cls: type, source: str) -> None:
    """Reject a value of the wrong scalar type (YAML ``epochs: ten`` would fail far away)."""
    annotation = expected_type(cls, key.rpartition(".")[2], value)
    if annotation is not None:
        raise ConfigError(f"{source}: {key} must be {annotation}; received {value!r} "
                          f"({type(value).__name__}). Example: --set {key}=<{annotation}>.")


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["epochs=3", "noise.rate=0.4"]`` -> nested dict; values parsed as YAML scalars.

    A key given twice, or given both as a value and as a section, is refused: the command
    line must say one thing.
    """
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key or "" in key.split("."):
            raise ConfigError(f"override {pair!r} must look like key=value (e.g. epochs=3 or noise.rate=0.4).")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"override {pair!r}: the value is not valid YAML ({str(error).splitlines()[0]}). "
                              f"Quote it, e.g. --set '{key}=\"{text}\"'.") from None
        _set_dotted(nested, key, value)
    return nested


def _set_dotted(nested: dict[str, Any], key: str, value: Any) -> None:
    target = nested
    *parents, leaf = key.split(".")
    for depth, parent in enumerate(parents):
        target = target.setdefault(parent, {})
        if not isinstance(target, dict):
            raise ConfigError(OVERRIDE_CONFLICT.format(key=".".join(parents[: depth + 1]), child=parents[depth + 1]
                                                       if depth + 1 < len(parents) else leaf))
    if leaf in target:
        if isinstance(target[leaf], dict):
            raise ConfigError(OVERRIDE_CONFLICT.format(key=key, child=next(iter(target[leaf]))))
        raise ConfigError(OVERRIDE_TWICE.format(key=key, first=target[leaf], second=value))
    target[leaf] = value


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


def recipe_summary(path: Path, *, width: int = 100) -> str:
    """The first sentence of a recipe file's leading comment (what ``lilaw-health list`` shows),
    shortened to ``width`` characters; empty when the file starts without a comment."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = ""
    for line in lines:  # a word hyphenated across lines is joined without a space
        text += line if text.endswith("-") or not text else " " + line
    sentence = text.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= width else sentence[: width - 3].rsplit(" ", 1)[0] + "..."


def load_recipe(name_or_path: str, overrides: list[str] | None = None, *,
                setting: list[str] | None = None) -> Recipe:
    """Load a recipe by registered name or YAML path, then apply ``key=value`` overrides, then a
    named setting's overrides (which may override those). Errors in the overrides name the
    command line, not the recipe file."""
    path = Path(name_or_path)
    if not path.suffix:
        recipes = builtin_recipes()
        if name_or_path not in recipes:
            raise unknown_name("recipe", name_or_path, list(recipes), "Or pass the path of a YAML file.")
        path = recipes[name_or_path]
    raw = _read_with_bases(path, seen=())
    recipe_from_dict(raw, source=f"recipe {path}")
    layers = [(parse_overrides(overrides or []), COMMAND_LINE), (parse_overrides(setting or []), "--setting")]
    for layer, source in layers:
        check_keys(layer, source=source)
        raw = merge(raw, layer)
    given = [f"{flag} {' '.join(pairs)}" for flag, pairs in (("--set", overrides), ("--setting", setting)) if pairs]
    return recipe_from_dict(raw, source=" with ".join([f"recipe {path}", *given]))


def _read_with_bases(path: Path, *, seen: tuple[Path, ...]) -> dict[str, Any]:
    """A recipe's mapping, merged over the recipe named by its ``base`` key (recursively): a
    file beside it, else a registered recipe."""
    raw = _read_mapping(path)
    if "base" not in raw:
        return raw
    base = str(raw.pop("base"))
    base_path = _base_path(path, base)
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise ConfigError(f"recipe {path} inherits from itself through 'base: {base}'.")
    return merge(_read_with_bases(base_path, seen=(*seen, path.resolve())), raw)


def _base_path(path: Path, base: str) -> Path:
    beside = path.parent / (base if base.endswith(".yaml") else f"{base}.yaml")
    if beside.is_file():
        return beside
    recipes = builtin_recipes()
    if base in recipes:
        return recipes[base]
    raise ConfigError(BASE_MISSING.format(path=path, base=base, beside=beside, valid=", ".join(sorted(recipes))))


def _read_mapping(path: Path) -> dict[str, Any]:
    """One recipe file's top-level mapping, with errors that name the file."""
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="recipe file", path=path,
                                             fix="Check the path, or use a registered name (lilaw-health list)."))
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(NOT_TEXT.format(path=path, reason=f"byte {error.start} cannot be decoded")) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"recipe file {path} is not valid YAML: {error}") from None
    if raw is None:
        raise ConfigError(EMPTY_RECIPE.format(path=path))
    if not isinstance(raw, dict):
        raise ConfigError(NOT_A_MAPPING.format(source=f"recipe file {path}", received=_describe(raw)))
    return raw
