"""Tabular data for the pipeline: UCI Adult, or any CSV / Parquet file with a binary target.

:func:`load_data` returns a :class:`~lilaw_health.core.data.TaskData` whose inputs are the
preprocessed feature matrix (n_samples, n_features) float32 and whose labels are 0/1 (1 =
the positive label). Preprocessing is a scikit-learn ``ColumnTransformer`` fitted on the
training rows only: numbers get the training median where missing (plus an indicator
column) and are standardised; categories get "missing" where missing and are one-hot
encoded with ``handle_unknown='ignore'`` (a test-only category becomes all zeros). See
:class:`~lilaw_health.domains.tabular.options.TabularOptions` for every option.

``extras`` carries what the fairness audit needs: ``sensitive_test`` and ``sensitive_train``
(one text column per sensitive feature, rows in dataset order, "(missing)" where unknown),
``audit`` (its settings), ``absent_test_groups``, plus ``feature_names``, ``preprocessor``
(the fitted transformer), ``counts`` and ``dropped_rows``.

Everything that can be checked before training is checked here, so that a bad target,
column or reference group fails in seconds rather than after training.
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
from lilaw_health.domains.tabular import adult
from lilaw_health.domains.tabular.options import TabularOptions
from lilaw_health.domains.tabular.preprocess import (FEATURE_MISSING, build_preprocessor, feature_columns, model_frame,
                                                     sensitive_frame)
from lilaw_health.domains.tabular.tables import read_table

LOGGER = logging.getLogger(__name__)

TARGET_NOT_BINARY = ("{path}: target column {column!r} has {count} distinct value(s) {values}; a binary target is "
                     "needed. Map it to two values, or set data.one_vs_rest=true to treat every value other than "
                     "data.positive_label as negative.")
POSITIVE_ABSENT = ("{path}: data.positive_label {label!r} never occurs in target column {column!r} (values {values}). "
                   "Set data.positive_label to one of them.")
TARGET_HAS_MISSING = ("{path}: target column {column!r} is empty on {count} row(s), first data row {row}. "
                      "Remove those rows or fill in their label.")
ALL_MISSING = ("{path}: column {column!r} is missing in every training row. Exclude it with "
               "data.exclude=[{column}], or fix the file.")
MISSING_REFUSED = ("{path}: column {column!r} has {count} missing value(s), first data row {row}, and "
                   "data.missing=error. Use data.missing=category (own category; median plus indicator for "
                   "numbers) or data.missing=drop, or fill the values.")
REFERENCE_UNKNOWN = ("data.reference names feature {feature!r}, which is not audited (data.sensitive is {sensitive}). "
                     "Add it to data.sensitive or remove it from data.reference.")
REFERENCE_ABSENT = ("reference group {group!r} of sensitive feature {feature!r} is absent from the test set (test "
                    "groups: {groups}). Pick another with data.reference.{feature}=<group>.")
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
    positive: str
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    name: str


def load_data(dataset: str = "adult", *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Load ``adult`` or ``csv`` data, preprocessed on the training rows; see the module docstring."""
    opts = TabularOptions.for_dataset(dataset, options)
    raw = _adult(opts) if dataset == "adult" else _csv(opts)
    classes = _target_classes([raw.train, raw.test], raw.target, raw.positive, opts.one_vs_rest)
    raw, dropped = _apply_missing_policy(raw, opts.missing)
    sensitive = {name: sensitive_frame(part.frame, opts.sensitive, bins=opts.bins, source=part.source)
                 for name, part in (("train", raw.train), ("test", raw.test))}
    absent = _check_groups(sensitive["train"], sensitive["test"], opts.reference)
    preprocessor = build_preprocessor(raw.categorical, raw.numeric)
    train_x = preprocessor.fit_transform(_features(raw, raw.train))
    test_x = preprocessor.transform(_features(raw, raw.test))
    negative = f"not {raw.positive}" if len(classes) > 2 else next(c for c in classes if c != raw.positive)
    extras = {"sensitive_train": sensitive["train"], "sensitive_test": sensitive["test"],
              "audit": _audit_settings(opts), "absent_test_groups": absent,
              "feature_names": [str(n) for n in preprocessor.get_feature_names_out()], "preprocessor": preprocessor,
              "positive_label": raw.positive, "protocol": opts.protocol, "dropped_rows": dropped,
              "counts": {"train": len(raw.train.ids), "test": len(raw.test.ids)}}
    return TaskData(train=ArrayDataset(train_x, _labels(raw, raw.train), sample_ids=raw.train.ids.tolist()),
                    test=ArrayDataset(test_x, _labels(raw, raw.test), sample_ids=raw.test.ids.tolist()),
                    n_classes=2, class_names=[negative, raw.positive], input_shape=(train_x.shape[1],),
                    name=raw.name, card=_card(dataset, opts), extras=extras)


def _features(raw: RawTask, split: Split) -> pd.DataFrame:
    return model_frame(split.frame, raw.categorical, raw.numeric, source=split.source, rows=split.rows)


def _labels(raw: RawTask, split: Split) -> np.ndarray:
    return (_text(split.frame[raw.target]) == raw.positive).to_numpy().astype(np.int64)


def _split(frame: pd.DataFrame, rows: np.ndarray, path: Path) -> Split:
    """A split whose sample ids are ``<file name>:<line or data row>``."""
    return Split(frame.reset_index(drop=True), np.array([f"{path.name}:{r}" for r in rows], dtype=object),
                 np.asarray(rows), str(path))


def _adult(opts: TabularOptions) -> RawTask:
    folder = adult.adult_folder(opts.root)
    frames = [adult.read_adult(folder / name, na_values=opts.na_values) for name in adult.FILES]
    splits = [_split(frame.drop(columns="line"), frame["line"].to_numpy(), folder / name)
              for name, frame in zip(adult.FILES, frames)]
    if opts.protocol == "paper":
        splits = _stratified(_pooled(splits), adult.TARGET, adult.CLASSES[1], opts)
    return RawTask(train=splits[0], test=splits[1], target=adult.TARGET, positive=adult.CLASSES[1],
                   categorical=tuple(c for c in adult.CATEGORICAL if c not in opts.exclude),
                   numeric=tuple(c for c in adult.NUMERIC if c not in opts.exclude), name="adult")


def _csv(opts: TabularOptions) -> RawTask:
    paths = [_resolve(p, opts.package) for p in (opts.path, opts.test_path) if p is not None]
    frames = [read_table(p, encoding=opts.encoding, na_values=opts.na_values) for p in paths]
    splits = [_split(frame, np.arange(1, len(frame) + 1), p) for p, frame in zip(paths, frames)]
    assert opts.target is not None  # for_dataset requires it for csv
    for split in splits:
        _require(split, opts.target, "data.target")
    positive = str(opts.positive_label)
    _target_classes(splits, opts.target, positive, opts.one_vs_rest)  # before splitting: clearer errors
    if len(splits) == 1:
        splits = _stratified(splits[0], opts.target, positive, opts)
    categorical, numeric = feature_columns(splits[0].frame, target=opts.target, options=opts, source=splits[0].source)
    for split in splits[1:]:
        for column in (*categorical, *numeric):
            _require(split, column, "the training file's feature")
    return RawTask(train=splits[0], test=splits[1], target=opts.target, positive=positive,
                   categorical=categorical, numeric=numeric, name=opts.name or Path(paths[0]).name.split(".")[0])


def _resolve(path: str, package: str | None) -> Path:
    if package is None:
        return Path(path)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(FILE_MISSING.format(what="package", path=package, fix=f"Install it: pip install {package}"))
    return Path(list(spec.submodule_search_locations)[0]) / path


def _require(split: Split, column: str, option: str) -> None:
    if column not in split.frame.columns:
        raise InputError(FEATURE_MISSING.format(path=split.source, option=option, column=column,
                                               columns=[str(c) for c in split.frame.columns]))


def _pooled(splits: Sequence[Split]) -> Split:
    return Split(pd.concat([s.frame for s in splits], ignore_index=True), np.concatenate([s.ids for s in splits]),
                 np.concatenate([s.rows for s in splits]), " + ".join(s.source for s in splits))


def _stratified(pooled: Split, target: str, positive: str, opts: TabularOptions) -> list[Split]:
    """A seeded split stratified by the binary label (rows kept in file order on each side)."""
    strata = (_text(pooled.frame[target]) == positive).to_numpy()
    train, test = train_test_split(np.arange(len(pooled.ids)), test_size=opts.test_size, stratify=strata,
                                   random_state=opts.split_seed)
    return [_take(pooled, np.sort(train)), _take(pooled, np.sort(test))]


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


def _target_classes(splits: Sequence[Split], target: str, positive: str, one_vs_rest: bool) -> list[str]:
    """The target's values over ``splits``; refuses missing labels, an absent positive label
    and, unless ``one_vs_rest``, more than two values."""
    texts = []
    for split in splits:
        values = _text(split.frame[target])
        missing = np.flatnonzero(values.isna().to_numpy())
        if missing.size:
            raise InputError(TARGET_HAS_MISSING.format(path=split.source, column=target, count=missing.size,
                                                       row=split.rows[missing[0]]))
        texts.append(values)
    classes = sorted(set(pd.concat(texts)))
    if positive not in classes:
        raise InputError(POSITIVE_ABSENT.format(path=splits[0].source, label=positive, column=target, values=classes))
    if len(classes) != 2 and not (one_vs_rest and len(classes) > 2):
        raise InputError(TARGET_NOT_BINARY.format(path=splits[0].source, column=target, count=len(classes),
                                                  values=classes[:10]))
    return classes


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
            dropped[name] = len(split.ids) - keep.size
            parts[name] = _take(split, keep)
    if dropped:
        LOGGER.info("data.missing=drop removed %d training and %d test rows", dropped["train"], dropped["test"])
    return replace(raw, train=parts["train"], test=parts["test"]), dropped


def _check_groups(train: pd.DataFrame, test: pd.DataFrame, reference: Mapping[str, str]) -> dict[str, list[str]]:
    """Refuse a reference group absent from the test set; report (not refuse) other absent groups."""
    for feature, group in reference.items():
        if " & " in feature and set(feature.split(" & ")) <= set(test.columns):
            continue  # an intersection's reference: the audit falls back to its largest group if absent
        if feature not in test.columns:
            raise InputError(REFERENCE_UNKNOWN.format(feature=feature, sensitive=list(test.columns)))
        groups = sorted(test[feature].unique())
        if group not in groups:
            raise InputError(REFERENCE_ABSENT.format(group=group, feature=feature, groups=groups))
    absent = {f: sorted(set(train[f]) - set(test[f])) for f in train.columns}
    absent = {f: groups for f, groups in absent.items() if groups}
    for feature, groups in absent.items():
        LOGGER.warning("sensitive feature %s: group(s) %s occur in training but not in the test set; the audit "
                       "lists them with no metrics", feature, groups)
    return absent


def _audit_settings(opts: TabularOptions) -> dict[str, Any]:
    return {"reference": dict(opts.reference), "intersections": [list(c) for c in opts.intersections],
            "n_boot": opts.bootstrap, "confidence": opts.confidence, "min_group_size": opts.min_group_size,
            "baselines": list(opts.baselines), "mitigators": list(opts.mitigators),
            "mitigate": opts.mitigate or opts.sensitive[0], "mitigator_max_iter": opts.mitigator_max_iter}


def _card(dataset: str, opts: TabularOptions) -> str | None:
    name = "adult" if dataset == "adult" else opts.card
    if name is None:
        return None
    card = load_card(name)
    if card is None:
        raise InputError(FILE_MISSING.format(what="data card", path=f"data_cards/{name}.md",
                                             fix=CARD_UNKNOWN.format(names=", ".join(card_names()))))
    return card
