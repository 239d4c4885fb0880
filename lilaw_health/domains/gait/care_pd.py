"""CARE-PD cohorts, as SMPL pickles or preprocessed H36M ``.npz`` joints: :func:`load_care_pd`.

Each cohort becomes a :class:`~lilaw_health.domains.gait.formats.WalkSet`; a pickle is read only
with ``trust_pickle=True`` (unpickling runs code stored in the file).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, InputError
from lilaw_health.domains.gait.formats import (
    TABLE_COLUMNS,
    LoadReport,
    WalkSet,
    as_score,
    keep_walk,
    log_report,
    unpickle,
)

SMPL_POSE = slice(0, 72)   # CARE-PD pickle sequences: SMPL axis-angle pose of 24 joints ...
SMPL_TRANS = slice(72, 75)  # ... then the root translation (metres)
H36M_JOINTS = 17
CARE_PD_FPS = 30.0  # CARE-PD's preprocessed joints are resampled to 30 fps
CARE_PD_COLUMNS = (*TABLE_COLUMNS, "cohort", "medication", "other", "label_set")
CARE_PD_ENTRY = ("{path}: subject {subject!r}, walk {walk!r}: {problem}. Expected {{'pose': (T, 72), 'trans': "
                 "(T, 3), 'beta', 'fps', 'UPDRS_GAIT': 0-3 or None, 'medication', 'other'}} as CARE-PD publishes it.")
CARE_PD_NPZ = ("{path}: array {key!r} has shape {shape}; expected (T, 17, 3) H36M joints, or (V, T, 17, 3) views, "
               "one array per walk named <subject>__<walk>. {fix}")
CARE_PD_LABELS = ("{path} holds joints without scores; pass labels={{'<subject>__<walk>': score or None}}, e.g. "
                  "dict(zip(walks.table.seq_id, walks.table.score)) of load_care_pd(<the cohort's .pkl>).")
CARE_PD_PICKLE_FIX = "Or load CARE-PD's preprocessed .npz of joints (h36m_3d_world_*.npz), which holds only arrays."


def load_care_pd(path: str | Path, *, trust_pickle: bool = False, labels: Mapping[str, Any] | None = None,
                 cohort: str | None = None, min_frames: int = 30) -> WalkSet:
    """One CARE-PD cohort: its SMPL pickle, or its preprocessed H36M ``.npz``.

    - Pickle ``{subject: {walk: {pose, trans, beta, fps, UPDRS_GAIT, medication, other}}}`` (read
      only with ``trust_pickle=True``): sequences (T, 75) float32, the SMPL pose (``SMPL_POSE``,
      any shape holding 72 values a frame) then the translation (``SMPL_TRANS``); ``beta`` is
      all zeros for privacy and is not kept.
    - ``.npz`` (e.g. ``h36m_3d_world_floorXZZplus_30f_or_longer.npz``), read without pickle:
      one (T, 17, 3) array per walk named ``<subject>__<walk>`` (a (V, T, 17, 3) array keeps view
      0); scores from ``labels``. These keys are assumed from CARE-PD's ``smpl2h36m.py`` and are
      still to be confirmed against a released file.

    ``seq_id`` is ``<subject>__<walk>`` in both. Walks without a score (None or missing) are counted
    as unlabelled and skipped. ``cohort`` defaults to the file name; ``label_set`` is the cohort's
    observed score range, "0-3" if any walk scores 3, else "0-2".
    """
    path = Path(path)
    cohort = cohort or path.stem
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="CARE-PD file", path=path, fix="Pass a cohort's .pkl or .npz."))
    report, rows, sequences = LoadReport(f"care-pd {cohort}"), [], []
    walks = _care_pd_npz(path, labels) if path.suffix == ".npz" else _care_pd_pickle(
        path, unpickle(path, trust_pickle, CARE_PD_PICKLE_FIX))
    for seq_id, sequence, score, fps, extra in walks:
        if score is None:
            report.n_read += 1
            report.unlabelled.append(seq_id)
        elif keep_walk(seq_id, sequence, min_frames, report):
            rows.append([seq_id, seq_id.split("__")[0], None, score, "care-pd", fps, len(sequence), None, str(path),
                         cohort, *extra])
            sequences.append(sequence)
    table = pd.DataFrame(rows, columns=list(CARE_PD_COLUMNS[:-1]))
    table["label_set"] = "0-3" if (table["score"] == 3).any() else "0-2"
    log_report(report)
    return WalkSet(table, sequences, report)


def _care_pd_pickle(path: Path, content: Any) -> list[tuple[str, np.ndarray, int | None, float, tuple[Any, Any]]]:
    if not isinstance(content, Mapping):
        raise InputError(CARE_PD_ENTRY.format(path=path, subject="(whole file)", walk="",
                                              problem=f"the file holds a {type(content).__name__}"))
    walks = []
    for subject, subject_walks in content.items():
        for walk, entry in (subject_walks.items() if isinstance(subject_walks, Mapping) else [("(all)", None)]):
            where = {"path": path, "subject": subject, "walk": walk}
            if not isinstance(entry, Mapping) or not {"pose", "trans", "fps", "UPDRS_GAIT"} <= set(entry):
                raise InputError(CARE_PD_ENTRY.format(**where, problem="missing pose, trans, fps or UPDRS_GAIT"))
            pose, trans = np.asarray(entry["pose"], dtype=np.float64), np.asarray(entry["trans"], dtype=np.float64)
            if pose.size % 72 or trans.shape != (pose.size // 72, 3):
                raise InputError(CARE_PD_ENTRY.format(**where, problem=f"pose {pose.shape} and trans {trans.shape}"))
            score = None if entry["UPDRS_GAIT"] is None else as_score(entry["UPDRS_GAIT"])
            if entry["UPDRS_GAIT"] is not None and score is None:
                raise InputError(CARE_PD_ENTRY.format(**where, problem=f"UPDRS_GAIT {entry['UPDRS_GAIT']!r}"))
            sequence = np.concatenate([pose.reshape(len(trans), 72), trans], axis=1).astype(np.float32)
            walks.append((f"{subject}__{walk}", sequence, score, float(entry["fps"]),
                          (entry.get("medication"), entry.get("other"))))
    return walks


def _care_pd_npz(path: Path, labels: Mapping[str, Any] | None) -> list[
        tuple[str, np.ndarray, int | None, float, tuple[Any, Any]]]:
    if labels is None:
        raise InputError(CARE_PD_LABELS.format(path=path))
    walks = []
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                joints = archive[key]
                joints = joints[0] if joints.ndim == 4 else joints
                if joints.ndim != 3 or joints.shape[1:] != (H36M_JOINTS, 3):
                    raise InputError(CARE_PD_NPZ.format(path=path, key=key, shape=archive[key].shape, fix=""))
                score = None if labels.get(key) is None else as_score(labels[key])
                if labels.get(key) is not None and score is None:
                    raise InputError(BAD_VALUE.format(arg=f"labels[{key!r}]", expected="a UPDRS gait score 0-3 or None",
                                                      received=repr(labels[key]), fix=""))
                walks.append((key, joints.astype(np.float32), score, CARE_PD_FPS, (None, None)))
    except InputError:
        raise
    except ValueError as error:  # an object array, which needs pickle
        raise InputError(CARE_PD_NPZ.format(path=path, key="?", shape="unreadable without pickle",
                                            fix=f"({error})")) from error
    return walks
