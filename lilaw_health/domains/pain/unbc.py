"""UNBC-McMaster as the lab's ``Pain-in-3D`` code stores it (HDF5 files) -> the pain frame table.

:func:`load_unbc_hdf5` reads the frames, annotations and folds files into the table of
:mod:`~lilaw_health.domains.pain.formats`, writing each frame once as a PNG.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.core.errors import InputError
from lilaw_health.domains.pain.folds import check_disjoint
from lilaw_health.domains.pain.formats import PSPI_MAX, PSPI_RANGE, LoadReport, LoadResult, frame_table

LOGGER = logging.getLogger(__name__)

H5_DATASET = "{path}: no dataset {name!r}; found {found}. {fix}"
H5_FILES = "{root}: expected one {pattern} file; found {found}. {fix}"
H5_LENGTH = ("{path}: dataset {name!r} has {count} rows but 'index' has {expected}; every dataset holds one row "
             "per frame. Re-export the file.")
H5_DUPLICATE = "{path}: index {value} appears on rows {rows}; each frame needs a unique index. Re-export the file."
H5_PIXELS = ("{path}, row {row}: frame of dtype {dtype}, shape {shape}, values in [{low}, {high}]; expected uint8, "
             "or float in 0..1 or 0..255, shaped (H, W), (H, W, 1) or (H, W, 3). Re-export the frames.")
FOLD_TWICE = ("{path}: subject {subject!r} is a validation subject of both {first} and {second}; each subject is "
              "held out in one fold. Fix the folds file.")

_AUS = ("label_AU_4", "label_AU_6", "label_AU_7", "label_AU_9", "label_AU_10", "label_AU_43")


def load_unbc_hdf5(root: str | Path, *, source: str = "real", cache_dir: str | Path | None = None,
                   threshold: float = 0.0) -> LoadResult:
    """Read UNBC-McMaster as the lab's code stores it: frames, annotations and folds HDF5 files in ``root``.

    ``frames_unbc_*.hdf5`` holds ``image`` (n, H, W[, C]) and ``index`` (n,);
    ``annotations_unbc_*.hdf5`` holds ``label_AU_4/6/7/9/10/43``, ``label_pspi``,
    ``subject_name`` and ``index``; the optional ``UNBC_CVFolds_*.hdf5`` holds groups
    ``fold-k/{train_subjects, validation_subjects}`` (a subject's ``fold`` is the k whose
    validation set holds it). Frames and annotations join on ``index``; unmatched rows of
    either file are counted skips.

    Each joined frame is written once as ``<cache_dir>/<sha1 of its pixels>.png`` (atomic;
    an existing file is reused), so ``path`` is an ordinary image file. ``cache_dir``
    defaults to ``root/png_frames``. Pixels are written as stored (uint8; floats in 0..1 are
    scaled to 0..255; the channel order is not changed).

    ``label`` is ``pspi > threshold``. Rows whose ``label_pspi`` differs from AU4 +
    max(AU6, AU7) + max(AU9, AU10) + AU43 are counted in
    ``report.checks["pspi_formula_mismatch"]`` (and logged); PSPI outside 0..16 is refused.
    Demographics are unknown (None).
    """
    import h5py

    root = Path(root).resolve()
    frames_path, annotations_path = _one_file(root, "frames_unbc_*.hdf5"), _one_file(root, "annotations_unbc_*.hdf5")
    folds_path = _one_file(root, "UNBC_CVFolds_*.hdf5") if any(root.glob("UNBC_CVFolds_*.hdf5")) else None
    report = LoadReport(source=str(root))
    with h5py.File(annotations_path, "r") as handle:
        annotations = _read_annotations(handle, annotations_path, report)
    folds = _read_unbc_folds(folds_path) if folds_path is not None else {}
    cache = Path(cache_dir) if cache_dir is not None else root / "png_frames"
    rows: list[dict[str, Any]] = []
    with h5py.File(frames_path, "r") as handle:
        images, index = _dataset(handle, "image", frames_path), _indices(handle, frames_path)
        if len(images) != len(index):
            raise InputError(H5_LENGTH.format(path=frames_path, name="image", count=len(images), expected=len(index)))
        for position, pixels, ann in _frames(images, list(_join(index, annotations, report))):
            png = _cached_png(pixels, cache, where=(frames_path, position))
            rows.append({"path": str(png), "subject": ann["subject"], "pspi": ann["pspi"],
                         "label": int(ann["pspi"] > threshold), "source": source, "fold": folds.get(ann["subject"])})
    report.rows = len(rows)
    if folds_path is not None:
        report.count("subjects_without_fold", len({row["subject"] for row in rows if row["fold"] is None}))
    return LoadResult(frame_table(rows), report)


def _one_file(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    if len(found) != 1:
        raise InputError(H5_FILES.format(root=root, pattern=pattern, found=[p.name for p in found] or "none",
                                         fix="Keep exactly one such file in the folder (move other versions away)."))
    return found[0]


def _dataset(handle: Any, name: str, path: Path) -> Any:
    if name not in handle:
        raise InputError(H5_DATASET.format(path=path, name=name, found=sorted(handle.keys()),
                                           fix="Is this the file of the lab's Pain-in-3D export?"))
    return handle[name]


def _indices(handle: Any, path: Path) -> np.ndarray:
    index = np.asarray(_dataset(handle, "index", path)[()]).reshape(-1)
    values, counts = np.unique(index, return_counts=True)
    if (counts > 1).any():
        value = values[counts > 1][0]
        raise InputError(H5_DUPLICATE.format(path=path, value=value, rows=np.flatnonzero(index == value).tolist()))
    return index


def _read_annotations(handle: Any, path: Path, report: LoadReport) -> dict[Any, dict[str, Any]]:
    index = _indices(handle, path)
    columns = {name: _column(handle, name, path, len(index)) for name in (*_AUS, "label_pspi", "subject_name")}
    pspi = columns["label_pspi"].astype(np.float64)
    bad = np.flatnonzero(~((pspi >= 0) & (pspi <= PSPI_MAX)))
    if bad.size:
        raise InputError(PSPI_RANGE.format(path=path, where=f"row {bad[0]} (index {index[bad[0]]})",
                                           value=pspi[bad[0]]))
    aus = {name: columns[name].astype(np.float64) for name in _AUS}
    formula = (aus["label_AU_4"] + np.maximum(aus["label_AU_6"], aus["label_AU_7"])
               + np.maximum(aus["label_AU_9"], aus["label_AU_10"]) + aus["label_AU_43"])
    mismatch = np.flatnonzero(~np.isclose(formula, pspi))
    report.count("pspi_formula_mismatch", int(mismatch.size))
    if mismatch.size:
        LOGGER.warning("%s: %d row(s) whose label_pspi differs from AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43, "
                       "e.g. index %s", path, mismatch.size, index[mismatch[:5]].tolist())
    subjects = [_text(value) for value in columns["subject_name"]]
    return {key: {"pspi": float(p), "subject": s} for key, p, s in zip(index.tolist(), pspi, subjects)}


def _column(handle: Any, name: str, path: Path, n: int) -> np.ndarray:
    values = np.asarray(_dataset(handle, name, path)[()])
    if values.size != n:
        raise InputError(H5_LENGTH.format(path=path, name=name, count=values.shape[0] if values.ndim else 1,
                                          expected=n))
    return values.reshape(n)


def _join(index: np.ndarray, annotations: dict[Any, dict[str, Any]],
          report: LoadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row in the frames file, annotation) of every frame with an annotation; the rest are counted skips."""
    seen = set()
    for position, key in enumerate(index.tolist()):
        if key in annotations:
            seen.add(key)
            yield position, annotations[key]
        else:
            report.skip("frame_without_annotation", f"index {key}")
    for key in sorted(annotations.keys() - seen):
        report.skip("annotation_without_frame", f"index {key}")


def _frames(images: Any, joined: list[tuple[int, dict[str, Any]]], *,
            block: int = 256) -> Iterator[tuple[int, np.ndarray, dict[str, Any]]]:
    """(row, pixels, annotation) for ascending rows of the HDF5 ``image`` dataset, read ``block`` rows at a time."""
    start, loaded = -1, np.empty(0)
    for position, annotation in joined:
        if position - position % block != start:
            start = position - position % block
            loaded = np.asarray(images[start:start + block])
        yield position, loaded[position - start], annotation


def _read_unbc_folds(path: Path) -> dict[str, int]:
    import h5py

    fold_of: dict[str, tuple[int, str]] = {}
    with h5py.File(path, "r") as handle:
        for group in sorted(handle.keys()):
            match = re.fullmatch(r"fold[-_]?(\d+)", group)
            if match is None:
                continue
            train, held_out = ([_text(s) for s in np.asarray(_dataset(handle[group], name, path)[()]).reshape(-1)]
                               for name in ("train_subjects", "validation_subjects"))
            check_disjoint(train, held_out, where=f"{path}, group {group}")
            for subject in held_out:
                if subject in fold_of:
                    raise InputError(FOLD_TWICE.format(path=path, subject=subject, first=fold_of[subject][1],
                                                       second=group))
                fold_of[subject] = (int(match[1]), group)
    return {subject: fold for subject, (fold, _) in fold_of.items()}


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _cached_png(frame: np.ndarray, cache: Path, *, where: tuple[Path, int]) -> Path:
    """The frame as ``cache/<sha1>.png`` (written once, atomically)."""
    from PIL import Image

    pixels = _frame_uint8(np.asarray(frame), where)
    digest = hashlib.sha1(pixels.tobytes() + str(pixels.shape).encode()).hexdigest()
    target = cache / f"{digest}.png"
    if not target.is_file():
        atomic_write(target, lambda handle: Image.fromarray(pixels).save(handle, format="PNG"))
    return target.resolve()


def _frame_uint8(frame: np.ndarray, where: tuple[Path, int]) -> np.ndarray:
    shape_ok = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3))
    low, high = (float(frame.min()), float(frame.max())) if frame.size and np.isfinite(frame).all() else (np.nan,) * 2
    if frame.dtype == np.uint8 and shape_ok:
        return frame[:, :, 0] if frame.ndim == 3 and frame.shape[2] == 1 else frame
    if frame.dtype.kind != "f" or not shape_ok or not (0 <= low and high <= 255):
        raise InputError(H5_PIXELS.format(path=where[0], row=where[1], dtype=frame.dtype, shape=frame.shape,
                                          low=low, high=high))
    scaled = np.round(frame * (255.0 if high <= 1.0 else 1.0)).astype(np.uint8)
    return scaled[:, :, 0] if scaled.ndim == 3 and scaled.shape[2] == 1 else scaled
