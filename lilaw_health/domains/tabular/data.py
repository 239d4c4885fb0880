"""Tabular data for the pipeline: UCI Adult, the diabetes regression data shipped with
scikit-learn, or any CSV / Parquet file with a binary or (``data.task: regression``) numeric target.

:func:`load_data` returns a :class:`~lilaw_health.core.data.TaskData` whose inputs are the
preprocessed feature matrix (n_samples, n_features) float32 and whose labels are 0/1 (1 =
the positive label), or for a regression the target's values as float32 (``task``
"regression", ``n_classes`` 1, ``class_names`` [the target column], ``target_range`` from
``data.target_range``; :mod:`.regression` checks the values and splits).

Preprocessing is a scikit-learn ``ColumnTransformer`` fitted on the training rows only:
numbers get the training median where missing (plus an indicator column) and are
standardised; categories get "missing" where missing and are one-hot encoded with
``handle_unknown='ignore'`` (a test-only category becomes all zeros). See
:class:`~lilaw_health.domains.tabular.options.TabularOptions` for every option.

``TaskData.sensitive_test`` holds the test rows' sensitive features (one text column each, in
test order, "(missing)" where unknown), for task-generic group metrics. ``extras`` carries what
the binary fairness audit needs: the same ``sensitive_test``, and ``sensitive_train``,
``audit`` (its settings), ``absent_test_groups``, plus ``feature_names``, ``preprocessor``
(the fitted transformer), ``counts`` and ``dropped_rows``.

``data.positive_label`` and the ``data.reference`` groups are matched to the data as the
user wrote them, YAML booleans and numbers included (:mod:`.labels`); ``positive_label``,
the class names and the audit's references are then the file's own spelling ("yes", not True).

Everything that can be checked before training is checked here, so that a bad target,
column or reference group fails in seconds rather than after training: a target of one
class, too few rows to split, a training split left with one class, huge numbers that
standardisation cannot handle.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.data_cards import card_names, load_card
from lilaw_health.domains.tabular import adult, diabetes
from lilaw_health.domains.tabular.labels import boolean_note, example, listing, spellings
from lilaw_health.domains.tabular.options import TabularOptions
from lilaw_health.domains.tabular.preprocess import (build_preprocessor, column_missing, feature_columns, model_frame,
                                                     sensitive_frame)
from lilaw_health.domains.tabular.regression import check_targets_vary, shuffle_split, target_values
from lilaw_health.domains.tabular.tables import read_table

LOGGER = logging.getLogger(__name__)

TARGET_NOT_BINARY = ("{path}: target column {column!r} has {count} distinct value(s) {values}; a binary target is "
                     "needed. Map it to two values, or set data.one_vs_rest=true to treat every value other than "
                     "data.positive_label as negative.")
ONE_CLASS = ("{path}: target column {column!r} holds one value only, {value!r} (all {count} rows); a classifier needs "
             "two classes. Check that data.target names the label column and that the file is not filtered to one "
             "outcome.")
POSITIVE_ABSENT = ("{path}: data.positive_label {label!r}{note} never occurs in target column {column!r}; its values "
                   "are {values}. Set data.positive_label to one of them, quoted so that YAML keeps it as text: "
                   "--set 'data.positive_label=\"{example}\"' (in a recipe: positive_label: \"{example}\").")
LABEL_SPELLINGS = ("{path}: data.positive_label {label!r}{note} matches {count} different spellings in target column "
                   "{column!r}: {spellings}; one value must mean one class. Write the label the same way on every "
                   "row of the file.")
TARGET_HAS_MISSING = ("{path}: target column {column!r} is empty on {count} row(s), first data row {row}. "
                      "Remove those rows or fill in their label.")
TRAIN_ONE_CLASS = ("{path}: the training rows hold only {value!r} in target column {column!r} ({count} rows); a "
                   "classifier needs both classes in training. {fix}")
SPLIT_TOO_SMALL = ("{path}: {count} rows ({counts} in target column {column!r}) are too few for a stratified test "
                   "split with data.test_size={test_size}: each class needs at least 2 rows, and each side of the "
                   "split at least 2. Add rows, change data.test_size, or give a separate test file with "
                   "data.test_path.")
EMPTY_AFTER_DROP = ("{path}: data.missing=drop removed all {count} {part} rows (each misses a feature value; most gaps "
                    "in {columns}). Use data.missing=category, or exclude those columns with data.exclude.")
ALL_MISSING = ("{path}: column {column!r} is missing in every training row. Exclude it with "
               "data.exclude=[{column}], or fix the file.")
MISSING_REFUSED = ("{path}: column {column!r} has {count} missing value(s), first data row {row}, and "
                   "data.missing=error. Use data.missing=category (own category; median plus indicator for "
                   "numbers) or data.missing=drop, or fill the values.")
NOT_FINITE_FEATURE = ("{path}: feature {feature!r} is not finite after standardisation (column {column!r} reaches "
                      "{value:g}, too large for float32 arithmetic). Rescale that column (other units, or a log), or "
                      "exclude it with data.exclude=[{column}].")
REFERENCE_UNKNOWN = ("data.reference names feature {feature!r}, which is not audited (data.sensitive is {sensitive}). "
                     "Add it to data.sensitive or remove it from data.reference.")
REFERENCE_ABSENT = ("{path}: reference group {group!r}{note} of sensitive feature {feature!r} is absent from the test "
                    "rows (test groups: {groups}). Pick one of them, quoted so that YAML keeps it as text: "
                    "--set 'data.reference.{feature}=\"{example}\"'.")
REFERENCE_SPELLINGS = ("{path}: reference group {group!r}{note} of sensitive feature {feature!r} matches {count} "
                       "different test groups {spellings}. Write the group the same way on every row, or quote the "
                       "exact text: --set 'data.reference.{feature}=\"{first}\"'.")
PACKAGE_FIX = "Install it (pip install {package}), or remove data.package to read data.path as it is."
CARD_UNKNOWN = "Valid card names: {names}; or leave data.card unset."


@dataclass(frozen=True)
class Split:
    """The raw rows of one split, with the id and data-row number of each."""

    frame: pd.DataFrame
    ids: np.ndarray
    rows: np.ndarray
    source: str


@dataclass(frozen=True)
class RawTask:
    train: Split
    test: Split
    target: str
    positive: str | None  # None: a regression
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    name: str


def load_data(dataset: str = "adult", *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Load ``adult``, ``diabetes`` or ``csv`` data, preprocessed on the training rows; see the module docstring."""
    opts = TabularOptions.for_dataset(dataset, options)
    raw = {"adult": _adult, "diabetes": _diabetes, "csv": _csv}[dataset](opts)
    regression = raw.positive is None
    if not regression:
        classes, _ = _target_classes([raw.train, raw.test], raw.target, raw.positive, opts.one_vs_rest)
    raw, dropped = _apply_missing_policy(raw, opts.missing)
    targets = {name: _targets(raw, part, opts) for name, part in (("train", raw.train), ("test", raw.test))}
    if regression:
        check_targets_vary(targets["train"], column=raw.target, source=raw.train.source)
    else:
        _check_split_classes(raw, dropped)
    sensitive = {name: sensitive_frame(part.frame, opts.sensitive, bins=opts.bins, source=part.source, rows=part.rows)
                 for name, part in (("train", raw.train), ("test", raw.test))}
    reference, absent = _check_groups(sensitive["train"], sensitive["test"], opts.reference, source=raw.test.source)
    preprocessor = build_preprocessor(raw.categorical, raw.numeric)
    with np.errstate(over="ignore", invalid="ignore"):  # huge numbers: refused by _finite, naming the column
        train_x = _finite(preprocessor.fit_transform(_features(raw, raw.train)), preprocessor, raw.train)
        test_x = _finite(preprocessor.transform(_features(raw, raw.test)), preprocessor, raw.test)
    extras = {"sensitive_train": sensitive["train"], "sensitive_test": sensitive["test"],
              "audit": _audit_settings(opts, reference), "absent_test_groups": absent,
              "feature_names": [str(n) for n in preprocessor.get_feature_names_out()], "preprocessor": preprocessor,
              "positive_label": raw.positive, "protocol": opts.protocol, "dropped_rows": dropped,
              "counts": {"train": len(raw.train.ids), "test": len(raw.test.ids)}}
    if regression:
        kind: dict[str, Any] = {"task": "regression", "n_classes": 1, "class_names": [raw.target],
                                "target_range": opts.target_range}
    else:
        negative = f"not {raw.positive}" if len(classes) > 2 else next(c for c in classes if c != raw.positive)
        kind = {"task": "classification", "n_classes": 2, "class_names": [negative, raw.positive]}
    for key, column in (("sources", opts.source_column), ("groups", opts.subject_column)):
        if column is not None:
            kind[key] = _text(raw.train.frame[column]).to_numpy(dtype=object)
    return TaskData(train=ArrayDataset(train_x, targets["train"], sample_ids=raw.train.ids.tolist(), task=kind["task"]),
                    test=ArrayDataset(test_x, targets["test"], sample_ids=raw.test.ids.tolist(), task=kind["task"]),
                    input_shape=(train_x.shape[1],), name=raw.name, card=_card(dataset, opts), extras=extras,
                    sensitive_test=sensitive["test"] if opts.sensitive else None,
                    reference_groups=dict(reference), **kind)


def _features(raw: RawTask, split: Split) -> pd.DataFrame:
    return model_frame(split.frame, raw.categorical, raw.numeric, source=split.source, rows=split.rows)


def _finite(matrix: np.ndarray, preprocessor: Any, split: Split) -> np.ndarray:
    """``matrix``, refused (naming the column) if a huge number made it non-finite in float32, the
    dtype of the task's inputs."""
    matrix = np.asarray(matrix, dtype=np.float64)
    bad = ~np.isfinite(matrix.astype(np.float32)).all(axis=0)
    if bad.any():
        feature = str(preprocessor.get_feature_names_out()[int(np.flatnonzero(bad)[0])])
        column = feature.removeprefix("numeric__").removeprefix("missingindicator_")
        values = pd.to_numeric(split.frame[column], errors="coerce").abs() if column in split.frame else pd.Series()
        raise InputError(NOT_FINITE_FEATURE.format(path=split.source, feature=feature, column=column,
                                                   value=float(values.max()) if len(values) else float("nan")))
    return matrix


def _labels(raw: RawTask, split: Split) -> np.ndarray:
    return (_text(split.frame[raw.target]) == raw.positive).to_numpy().astype(np.int64)


def _targets(raw: RawTask, split: Split, opts: TabularOptions) -> np.ndarray:
    """0/1 labels, or (a regression) the target's values, checked."""
    if raw.positive is not None:
        return _labels(raw, split)
    return target_values(split.frame[raw.target], column=raw.target, source=split.source, rows=split.rows,
                         target_range=opts.target_range)


def _split(frame: pd.DataFrame, rows: np.ndarray, path: Path) -> Split:
    """A split whose sample ids are ``<file name>:<line or data row>``."""
    return Split(frame.reset_index(drop=True), np.array([f"{path.name}:{r}" for r in rows], dtype=object),
                 np.asarray(rows), str(path))


def _adult(opts: TabularOptions) -> RawTask:
    folder = adult.adult_folder(opts.root)
    for column in opts.exclude:
        if column not in adult.COLUMNS:
            raise InputError(column_missing(folder, "data.exclude", column, adult.COLUMNS))
    frames = [adult.read_adult(folder / name, na_values=opts.na_values) for name in adult.FILES]
    splits = [_split(frame.drop(columns="line"), frame["line"].to_numpy(), folder / name)
              for name, frame in zip(adult.FILES, frames)]
    if opts.protocol == "paper":
        splits = _stratified(_pooled(splits), adult.TARGET, adult.CLASSES[1], opts)
    return RawTask(train=splits[0], test=splits[1], target=adult.TARGET, positive=adult.CLASSES[1],
                   categorical=tuple(c for c in adult.CATEGORICAL if c not in opts.exclude),
                   numeric=tuple(c for c in adult.NUMERIC if c not in opts.exclude), name="adult")


def _diabetes(opts: TabularOptions) -> RawTask:
    for column in opts.exclude:
        if column not in diabetes.COLUMNS:
            raise InputError(column_missing(diabetes.SOURCE, "data.exclude", column, diabetes.COLUMNS))
    frame = diabetes.read_diabetes()
    pooled = Split(frame, diabetes.sample_ids(len(frame)), np.arange(len(frame)), diabetes.SOURCE)
    target_values(frame[diabetes.TARGET], column=diabetes.TARGET, source=diabetes.SOURCE, rows=pooled.rows,
                  target_range=opts.target_range)  # all rows named at once if data.target_range is too narrow
    train, test = _shuffled(pooled, opts)
    return RawTask(train=train, test=test, target=diabetes.TARGET, positive=None, categorical=(),
                   numeric=tuple(c for c in diabetes.COLUMNS if c not in opts.exclude), name="diabetes")


def _csv(opts: TabularOptions) -> RawTask:
    paths = [_resolve(p, opts.package) for p in (opts.path, opts.test_path) if p is not None]
    frames = [read_table(p, encoding=opts.encoding, na_values=opts.na_values) for p in paths]
    splits = [_split(frame, np.arange(1, len(frame) + 1), p) for p, frame in zip(paths, frames)]
    assert opts.target is not None  # for_dataset requires it for csv
    for split in splits:
        _require(split, opts.target, "data.target")
    # before splitting, for clearer errors; the label as the file spells it
    if opts.task == "regression":
        positive = None
        for split in splits:
            target_values(split.frame[opts.target], column=opts.target, source=split.source, rows=split.rows,
                          target_range=opts.target_range)
    else:
        _, positive = _target_classes(splits, opts.target, opts.positive_label, opts.one_vs_rest)
    for column, option in ((opts.source_column, "data.source_column"), (opts.subject_column, "data.subject_column")):
        if column is not None:
            for split in splits:
                _require(split, column, option)
    synthetic = _synthetic_rows(splits, opts.source_column)
    if len(splits) == 1:
        splits = _shuffled(splits[0], opts) if positive is None else _stratified(splits[0], opts.target, positive, opts)
    if synthetic is not None:
        splits[0] = _pooled([splits[0], synthetic])
    not_features = tuple(c for c in (opts.source_column, opts.subject_column) if c is not None)
    categorical, numeric = feature_columns(splits[0].frame, target=opts.target, source=splits[0].source,
                                           options=replace(opts, exclude=(*opts.exclude, *not_features)))
    for split in splits[1:]:
        for column in (*categorical, *numeric):
            _require(split, column, "the training file's feature")
    return RawTask(train=splits[0], test=splits[1], target=opts.target, positive=positive,
                   categorical=categorical, numeric=numeric, name=opts.name or Path(paths[0]).name.split(".")[0])


SYNTHETIC_IN_TEST = ("{path}, data row {row}: source {source!r} in the test file; the test set is real data only. "
                     "Move synthetic rows to the training file (data.path), or mark the row real.")


def _synthetic_rows(splits: list[Split], column: str | None) -> Split | None:
    """Take the rows whose ``column`` is not "real" out of the training file (``splits[0]``, in
    place) and return them; they train but are never tested on. A test file must be all real."""
    if column is None:
        return None
    for split in splits[1:]:
        other = _text(split.frame[column]) != "real"
        if other.any():
            first = int(np.argmax(other.to_numpy()))
            raise InputError(SYNTHETIC_IN_TEST.format(path=split.source, row=split.rows[first],
                                                      source=split.frame[column].iloc[first]))
    real = (_text(splits[0].frame[column]) == "real").to_numpy()
    if real.all():
        return None
    synthetic = _take(splits[0], np.flatnonzero(~real))
    splits[0] = _take(splits[0], np.flatnonzero(real))
    return synthetic


def _resolve(path: str, package: str | None) -> Path:
    if package is None:
        return Path(path)
    try:  # a dotted name imports its parents, which may fail
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError, TypeError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise InputError(FILE_MISSING.format(what="package", path=package, fix=PACKAGE_FIX.format(package=package)))
    return Path(list(spec.submodule_search_locations)[0]) / path


def _require(split: Split, column: str, option: str) -> None:
    if column not in split.frame.columns:
        raise InputError(column_missing(split.source, option, column, split.frame.columns))


def _pooled(splits: Sequence[Split]) -> Split:
    return Split(pd.concat([s.frame for s in splits], ignore_index=True), np.concatenate([s.ids for s in splits]),
                 np.concatenate([s.rows for s in splits]), " + ".join(s.source for s in splits))


def _stratified(pooled: Split, target: str, positive: str, opts: TabularOptions) -> list[Split]:
    """A seeded split stratified by the binary label (rows kept in file order on each side)."""
    strata = (_text(pooled.frame[target]) == positive).to_numpy()
    _check_splittable(pooled, strata, target, positive, opts.test_size)
    train, test = train_test_split(np.arange(len(pooled.ids)), test_size=opts.test_size, stratify=strata,
                                   random_state=opts.split_seed)
    return [_take(pooled, np.sort(train)), _take(pooled, np.sort(test))]


def _shuffled(pooled: Split, opts: TabularOptions) -> list[Split]:
    """A seeded plain shuffle split, not stratified (see :func:`.regression.shuffle_split`)."""
    return [_take(pooled, part) for part in shuffle_split(len(pooled.ids), test_size=opts.test_size,
                                                          seed=opts.split_seed, source=pooled.source)]


def _check_splittable(pooled: Split, strata: np.ndarray, target: str, positive: str, test_size: float) -> None:
    """Refuse what scikit-learn's stratified split would refuse, in the file's terms."""
    n, n_positive = len(strata), int(strata.sum())
    n_test = int(np.ceil(test_size * n))
    if min(n_positive, n - n_positive) < 2 or min(n_test, n - n_test) < 2:
        counts = f"{n_positive} {positive!r}, {n - n_positive} other"
        raise InputError(SPLIT_TOO_SMALL.format(path=pooled.source, count=n, counts=counts, column=target,
                                                test_size=test_size))


def _take(split: Split, index: np.ndarray) -> Split:
    return replace(split, frame=split.frame.iloc[index].reset_index(drop=True), ids=split.ids[index],
                   rows=split.rows[index])


def _text(values: pd.Series) -> pd.Series:
    """Values as text, integral numbers without ".0" (so positive_label 1 matches 1.0)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        integral = numbers.dropna().mod(1).eq(0).all()
        return numbers.map(lambda v: v if pd.isna(v) else (str(int(v)) if integral else str(v)))
    return values.astype("str").where(values.notna())


def _target_classes(splits: Sequence[Split], target: str, label: Any, one_vs_rest: bool) -> tuple[list[str], str]:
    """The target's values over ``splits`` and the positive one as the file spells ``label``;
    refuses missing labels, a single value, an absent or ambiguous positive label and, unless
    ``one_vs_rest``, more than two values."""
    texts = []
    for split in splits:
        values = _text(split.frame[target])
        missing = np.flatnonzero(values.isna().to_numpy())
        if missing.size:
            raise InputError(TARGET_HAS_MISSING.format(path=split.source, column=target, count=missing.size,
                                                       row=split.rows[missing[0]]))
        texts.append(values)
    pooled = pd.concat(texts)
    classes = sorted(set(pooled))
    path = splits[0].source
    if len(classes) == 1:
        raise InputError(ONE_CLASS.format(path=path, column=target, value=classes[0], count=len(pooled)))
    positive = _positive(label, classes, path=path, column=target)
    if len(classes) != 2 and not (one_vs_rest and len(classes) > 2):
        raise InputError(TARGET_NOT_BINARY.format(path=path, column=target, count=len(classes),
                                                  values=listing(classes)))
    return classes, positive


def _positive(label: Any, classes: list[str], *, path: str, column: str) -> str:
    """The one value of ``classes`` that spells ``label`` (see :mod:`.labels`)."""
    matches = spellings(label, classes)
    if not matches:
        raise InputError(POSITIVE_ABSENT.format(path=path, label=label, note=boolean_note(label), column=column,
                                                values=listing(classes), example=example(label, classes)))
    if len(matches) > 1:
        raise InputError(LABEL_SPELLINGS.format(path=path, label=label, note=boolean_note(label), column=column,
                                                count=len(matches), spellings=matches))
    return matches[0]


def _apply_missing_policy(raw: RawTask, policy: str) -> tuple[RawTask, dict[str, int]]:
    """Refuse all-missing features; apply ``error`` or ``drop`` (``category`` is the preprocessor's)."""
    features = [*raw.categorical, *raw.numeric]
    for column in features:
        if raw.train.frame[column].isna().all():
            raise InputError(ALL_MISSING.format(path=raw.train.source, column=column))
    dropped, parts = {}, {"train": raw.train, "test": raw.test}
    for name, split in parts.items():
        holes = split.frame[features].isna()
        if policy == "error" and holes.to_numpy().any():
            column = holes.any().idxmax()
            first = int(np.flatnonzero(holes[column].to_numpy())[0])
            raise InputError(MISSING_REFUSED.format(path=split.source, column=column, count=int(holes[column].sum()),
                                                    row=split.rows[first]))
        if policy == "drop":
            keep = np.flatnonzero(~holes.any(axis=1).to_numpy())
            if keep.size == 0:
                gaps = holes.sum().sort_values(ascending=False, kind="stable")
                raise InputError(EMPTY_AFTER_DROP.format(path=split.source, count=len(split.ids), part=name,
                                                         columns=[str(c) for c in gaps[gaps > 0].index[:3]]))
            dropped[name] = len(split.ids) - keep.size
            parts[name] = _take(split, keep)
    if dropped:
        LOGGER.info("data.missing=drop removed %d training and %d test rows", dropped["train"], dropped["test"])
    return replace(raw, train=parts["train"], test=parts["test"]), dropped


def _check_split_classes(raw: RawTask, dropped: Mapping[str, int]) -> None:
    """Refuse training rows of one class; warn about test rows of one class."""
    for name, split in (("train", raw.train), ("test", raw.test)):
        positives = int(_labels(raw, split).sum())
        if 0 < positives < len(split.ids):
            continue
        value = raw.positive if positives else str(_text(split.frame[raw.target]).iloc[0])
        if name == "test":
            LOGGER.warning("%s: every test row holds %r in target column %s; metrics that need both classes "
                           "(e.g. AUROC) are undefined", split.source, value, raw.target)
            continue
        fix = (f"data.missing=drop removed {dropped['train']} training row(s); use data.missing=category."
               if dropped.get("train") else "Add training rows of the other class.")
        raise InputError(TRAIN_ONE_CLASS.format(path=split.source, value=value, column=raw.target,
                                                count=len(split.ids), fix=fix))


def _check_groups(train: pd.DataFrame, test: pd.DataFrame, reference: Mapping[str, Any], *,
                  source: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each reference group as the test rows spell it, refusing one absent from them; other
    groups absent from the test set are reported, not refused."""
    resolved = {}
    for feature, group in reference.items():
        if " & " in feature and set(feature.split(" & ")) <= set(test.columns):
            resolved[feature] = str(group)
            continue  # an intersection's reference: the audit falls back to its largest group if absent
        if feature not in test.columns:
            raise InputError(REFERENCE_UNKNOWN.format(feature=feature, sensitive=list(test.columns)))
        resolved[feature] = _reference_group(feature, group, sorted(test[feature].unique()), source)
    absent = {f: sorted(set(train[f]) - set(test[f])) for f in train.columns}
    absent = {f: groups for f, groups in absent.items() if groups}
    for feature, groups in absent.items():
        LOGGER.warning("sensitive feature %s: group(s) %s occur in training but not in the test set; the audit "
                       "lists them with no metrics", feature, groups)
    return resolved, absent


def _reference_group(feature: str, group: Any, groups: list[str], source: str) -> str:
    matches = spellings(group, groups)
    if not matches:
        raise InputError(REFERENCE_ABSENT.format(path=source, group=group, note=boolean_note(group), feature=feature,
                                                 groups=listing(groups), example=example(group, groups)))
    if len(matches) > 1:
        raise InputError(REFERENCE_SPELLINGS.format(path=source, group=group, note=boolean_note(group),
                                                    feature=feature, count=len(matches), spellings=matches,
                                                    first=matches[0]))
    return matches[0]


def _audit_settings(opts: TabularOptions, reference: Mapping[str, str]) -> dict[str, Any]:
    return {"reference": dict(reference), "intersections": [list(c) for c in opts.intersections],
            "n_boot": opts.bootstrap, "confidence": opts.confidence, "min_group_size": opts.min_group_size,
            "baselines": list(opts.baselines), "mitigators": list(opts.mitigators),
            "mitigate": opts.mitigate or next(iter(opts.sensitive), None),
            "mitigator_max_iter": opts.mitigator_max_iter}


def _card(dataset: str, opts: TabularOptions) -> str | None:
    name = dataset if dataset in ("adult", "diabetes") else opts.card
    if name is None:
        return None
    card = load_card(name)
    if card is None:
        raise InputError(FILE_MISSING.format(what="data card", path=f"data_cards/{name}.md",
                                             fix=CARD_UNKNOWN.format(names=", ".join(card_names()))))
    return card
