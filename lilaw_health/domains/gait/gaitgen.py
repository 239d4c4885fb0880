"""GAITGen's synthetic walks: its joblib/pickle output, and the pickle-free ``.npz`` export.

:func:`load_gaitgen` reads either into a :class:`~lilaw_health.domains.gait.formats.WalkSet`,
a pickle only with ``trust_pickle=True`` (unpickling runs code stored in the file).
:func:`convert_gaitgen` turns a trusted pickle, once, into the ``.npz`` export, which
:func:`write_gaitgen_npz` writes and which holds only arrays.
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.domains.gait.features import FEATURE_WIDTH
from lilaw_health.domains.gait.formats import (
    PD_GAM_FPS,
    TABLE_COLUMNS,
    LoadReport,
    WalkSet,
    as_score,
    keep_length,
    keep_walk,
    log_report,
    unpickle,
)

GAITGEN_PICKLE_FIX = ("Safer: convert it once, where running it is harmless, with lilaw_health.domains.gait.gaitgen"
                      ".convert_gaitgen({path!r}, {npz!r}) and load the .npz, which holds only arrays.")
GAITGEN_ENTRY = ("{path}: entry {name!r} {problem}; expected {{'feat_data': (T, 263) array, 'updrs_score': int "
                 "0-3}}. Fix or drop the entry.")
GAITGEN_NPZ = ("{path}: {problem}; a GAITGen .npz export holds 'names' (n,) str, 'score' (n,) int and feat_0 .. "
               "feat_<n-1> (T, 263) float arrays, as convert_gaitgen writes it.")


def _gaitgen_entries(content: Any, path: Path) -> tuple[list[str], list[int], list[np.ndarray]]:
    """Names, scores and features of GAITGen's dict of entries (or list of them, named entry_<i>)."""
    if isinstance(content, Mapping):
        items = [(str(name), entry) for name, entry in content.items()]
    elif isinstance(content, (list, tuple)):
        items = [(f"entry_{i}", entry) for i, entry in enumerate(content)]
    else:
        raise InputError(GAITGEN_ENTRY.format(path=path, name="(whole file)", problem=f"is a {type(content).__name__}"))
    names, scores, features = [], [], []
    for name, entry in items:
        if not isinstance(entry, Mapping) or not {"feat_data", "updrs_score"} <= set(entry):
            raise InputError(GAITGEN_ENTRY.format(path=path, name=name, problem="lacks 'feat_data' or 'updrs_score'"))
        feature = np.asarray(entry["feat_data"])
        if feature.ndim != 2 or feature.shape[1] != FEATURE_WIDTH or feature.dtype.kind not in "fiu":
            raise InputError(GAITGEN_ENTRY.format(path=path, name=name,
                                                  problem=f"has feat_data of shape {feature.shape} ({feature.dtype})"))
        score = as_score(entry["updrs_score"])
        if score is None:
            raise InputError(GAITGEN_ENTRY.format(path=path, name=name,
                                                  problem=f"has updrs_score {entry['updrs_score']!r}"))
        names.append(name)
        scores.append(score)
        features.append(feature.astype(np.float32))
    return names, scores, features


def _read_gaitgen_npz(path: Path) -> tuple[list[str], list[int], list[np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names, scores = _npz_names_scores(archive, path)
            content = {str(name): {"feat_data": archive[f"feat_{i}"], "updrs_score": scores[i]}
                       for i, name in enumerate(names)}
    except InputError:
        raise
    except ValueError as error:  # an object array, which needs pickle
        problem = f"it cannot be read without pickle ({error})"
        raise InputError(GAITGEN_NPZ.format(path=path, problem=problem)) from error
    return _gaitgen_entries(content, path)


def _index_gaitgen_npz(path: Path, *, source: str, min_frames: int) -> WalkSet:
    """The table of an ``.npz`` export from its names, scores and array headers (no walk is read)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names, scores = _npz_names_scores(archive, path)
        with zipfile.ZipFile(path) as archive:
            frames = [_member_frames(archive, path, f"feat_{i}") for i in range(len(names))]
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise InputError(GAITGEN_NPZ.format(path=path, problem=f"it cannot be indexed ({error})")) from error
    report, rows = LoadReport(source), []
    for i, (name, n_frames) in enumerate(zip(names, frames)):
        score = as_score(scores[i])
        if score is None:
            raise InputError(GAITGEN_ENTRY.format(path=path, name=str(name), problem=f"has updrs_score {scores[i]!r}"))
        if keep_length(str(name), n_frames, min_frames, report):
            rows.append([str(name), f"{source}/{name}", None, score, source, PD_GAM_FPS, n_frames, "train", str(path),
                         f"feat_{i}"])
    log_report(report)
    return WalkSet(pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "member"]), [], report)


def _npz_names_scores(archive: Any, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The export's ``names`` and ``score`` arrays, checked, and that every ``feat_<i>`` is there."""
    if not {"names", "score"} <= set(archive.files):
        raise InputError(GAITGEN_NPZ.format(path=path, problem=f"arrays {sorted(archive.files)[:6]}"))
    names, scores = archive["names"], archive["score"]
    if names.dtype.kind != "U" or names.shape != scores.shape or names.ndim != 1:
        raise InputError(GAITGEN_NPZ.format(path=path, problem=f"names {names.dtype} {names.shape}, score "
                                                               f"{scores.shape}"))
    missing = [f"feat_{i}" for i in range(len(names)) if f"feat_{i}" not in archive.files]
    if missing:
        raise InputError(GAITGEN_NPZ.format(path=path, problem=f"no array {missing[0]}"))
    return names, scores


def _member_frames(archive: zipfile.ZipFile, path: Path, member: str) -> int:
    """The frame count T of a (T, 263) array in the export, from its header alone."""
    with archive.open(f"{member}.npy") as handle:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(handle)
    if len(shape) != 2 or shape[1] != FEATURE_WIDTH or dtype.kind not in "fiu":
        raise InputError(GAITGEN_ENTRY.format(path=path, name=member, problem=f"has feat_data of shape {shape} "
                                                                              f"({dtype})"))
    return int(shape[0])


def read_npz_walk(path: str | Path, member: str) -> np.ndarray:
    """One walk, the array ``member`` of an ``.npz`` export, as (T, 263) float32. The opened file is
    kept per process (its directory is parsed once), never shared with a forked DataLoader worker.
    A missing or damaged file raises OSError, KeyError, ValueError or BadZipFile, which
    :class:`~lilaw_health.core.lazy.LazyDataset` reports with the walk and the fix."""
    features = _open_npz(str(path), os.getpid())[member]
    if features.ndim != 2 or features.shape[1] != FEATURE_WIDTH or features.dtype.kind not in "fiu":
        raise InputError(GAITGEN_ENTRY.format(path=path, name=member, problem=f"has feat_data of shape "
                                                                              f"{features.shape} ({features.dtype})"))
    return features.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _open_npz(path: str, pid: int) -> Any:
    del pid  # part of the cache key only: a forked process opens its own handle
    return np.load(path, allow_pickle=False)


def write_gaitgen_npz(path: str | Path, names: list[str], scores: list[int], features: list[np.ndarray]) -> Path:
    """Write GAITGen walks as the pickle-free ``.npz`` export (arrays ``names``, ``score``, ``feat_<i>``)."""
    arrays = {"names": np.array(names, dtype=str), "score": np.asarray(scores, dtype=np.int64)}
    arrays.update({f"feat_{i}": np.asarray(feature, dtype=np.float32) for i, feature in enumerate(features)})
    return atomic_write(path, lambda handle: np.savez(handle, **arrays))


def convert_gaitgen(pickle_path: str | Path, npz_path: str | Path) -> Path:
    """Unpickle GAITGen's output once (this runs the file's code: do it only where that is safe) and
    write the ``.npz`` export that :func:`load_gaitgen` reads without pickle."""
    pickle_path = Path(pickle_path)
    return write_gaitgen_npz(npz_path, *_gaitgen_entries(unpickle(pickle_path, True, ""), pickle_path))


def load_gaitgen(path: str | Path, *, trust_pickle: bool = False, source: str = "gaitgen",
                 min_frames: int = 30, read: bool = True) -> WalkSet:
    """GAITGen's synthetic walks (un-normalised features; normalise them with the real set's Mean/Std).

    ``.npz`` (``convert_gaitgen``'s export) is read with ``allow_pickle=False``; any other file is
    GAITGen's joblib/pickle dict ``{name: {'feat_data': (T, 263), 'updrs_score': int}}`` (or a list
    of such dicts, named ``entry_<i>``), read only with ``trust_pickle=True``. Synthetic walks have
    no person: each walk is its own subject, ``<source>/<name>``; all are training walks at 30 fps.

    ``read=False`` with an ``.npz``: the table only, from the names, scores and each walk's array
    header (column ``member``: the walk's array in the file, read by :func:`read_npz_walk`); no
    sequences, and walks with non-finite values are not seen, hence kept. A pickle is read whole.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="GAITGen file", path=path,
                                             fix="Pass GAITGen's .pkl or its .npz export."))
    if path.suffix == ".npz" and not read:
        return _index_gaitgen_npz(path, source=source, min_frames=min_frames)
    if path.suffix == ".npz":
        names, scores, features = _read_gaitgen_npz(path)
    else:
        fix = GAITGEN_PICKLE_FIX.format(path=str(path), npz=str(path.with_suffix(".npz")))
        names, scores, features = _gaitgen_entries(unpickle(path, trust_pickle, fix), path)
    report, rows, sequences = LoadReport(source), [], []
    for name, score, feature in zip(names, scores, features):
        if keep_walk(name, feature, min_frames, report):
            rows.append([name, f"{source}/{name}", None, score, source, PD_GAM_FPS, len(feature), "train", str(path)])
            sequences.append(feature)
    log_report(report)
    return WalkSet(pd.DataFrame(rows, columns=list(TABLE_COLUMNS)), sequences, report)
