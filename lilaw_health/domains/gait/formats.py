"""Readers of the published Parkinson's gait layouts: the walk set every reader returns, and PD-GaM.

Every loader (:func:`load_pd_gam` here; GAITGen output:
:func:`~lilaw_health.domains.gait.gaitgen.load_gaitgen`; CARE-PD:
:func:`~lilaw_health.domains.gait.care_pd.load_care_pd`) returns a :class:`WalkSet`: a table
with one row per kept walk (columns ``TABLE_COLUMNS`` plus what the source knows: ``walk``,
``mirror_path``, ``cohort``, ...), the sequences as float32 arrays, and a :class:`LoadReport`
counting what was skipped and why. The helpers they share (:func:`keep_walk`,
:func:`log_report`, :func:`unpickle` behind its opt-in, :func:`as_score`) are here too.

PD-GaM (``load_pd_gam``), as GAITGen reads it: ``new_joint_vecs/<seq_id>.npy`` (T, 263),
the mirrored ``<seq_id>_M.npy`` (kept as ``mirror_path`` for mirroring augmentation, not as a
sample), ``Mean.npy``/``Std.npy``, ``train.txt``/``test.txt`` (one id a line) and
``Annotations/Gait/{train,test}.csv`` (no header: walk, #frames, score) under the root or its
parent. Ids look like ``066-15-001939_wid00_0``: the part before the first ``_`` is the recorded
walk (``walk``); its first 3 characters are the subject, its second ``-`` field (``15``) the
``visit``. An annotation row names either the segment itself (its #frames must equal the file's)
or, as in the published files, the recorded walk as ``<visit fields>_<subject>``
(``15-001939_066``), whose #frames is the whole recording's: a segment longer than that is
counted in the report. PD-GaM is 30 fps (``PD_GAM_FPS``). ``load_pd_gam(..., read=False)`` builds
the table from each file's ``.npy`` header only (shape and dtype: no values), for walks read
one per access (:mod:`~lilaw_health.domains.gait.lazy`); a walk's finiteness is then checked when
it is read.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.domains.gait.features import FEATURE_WIDTH
from lilaw_health.domains.gait.folds import leaking_subjects

logger = logging.getLogger(__name__)

TABLE_COLUMNS = ("seq_id", "subject", "visit", "score", "source", "fps", "n_frames", "split", "path")
SPLITS = ("train", "test")
PD_GAM_FPS = 30.0
SCORES = (0, 1, 2, 3)

FEATURES_SHAPE = ("{path}: array of shape {shape}; expected (T, 263) HumanML3D features of the 22-joint SMPL body. "
                  "Re-export the sequence, or remove its id from train.txt/test.txt.")
MISSING_SEQUENCE = ("{split_file}, line {line}: id {seq_id!r} has no feature file {path}. Restore the file, or "
                    "remove the id from {split_file}.")
DUPLICATE_ID = "{split_file}, line {line}: id {seq_id!r} is listed again ({first}). List each walk once."
ANNOTATION_ROW = ("{path}, line {line}: {text!r} is not `walk,#frames,score` (3 fields, integers 0-3 for the "
                  "score, no header line). Fix the line.")
SCORE_RANGE = ("{path}, line {line}: score {score!r} for walk {walk!r} is not a UPDRS gait score 0-3. Fix the "
               "value (third column), or remove the walk.")
NO_ANNOTATION = ("{split_file}, line {line}: id {seq_id!r} has no row in {path} (looked for walk {seq_id!r} and "
                 "{key!r}). Add the row, or remove the id.")
FRAMES_MISMATCH = ("{path}, line {line}: #frames {expected} for {seq_id!r}, but {file} holds {received} frames. "
                   "Re-export the annotation or the features so that they agree.")
MEAN_STD = ("{path}: {problem}; expected a finite (263,) array{positive}. Recompute it over the training "
            "features, or pass normalise=False.")
PICKLE_REFUSED = ("{path} is a pickle, and unpickling runs code stored in the file, so it is not loaded without "
                  "trust_pickle=True (pass it only for a file whose origin you trust). {fix}")


@dataclass
class LoadReport:
    """What a loader read and what it skipped (seq ids per reason); logged once per load."""

    source: str
    n_read: int = 0
    too_short: list[str] = field(default_factory=list)
    not_finite: list[str] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)
    no_mirror: list[str] = field(default_factory=list)
    longer_than_walk: list[str] = field(default_factory=list)
    leaking_subjects: list[str] = field(default_factory=list)

    @property
    def n_kept(self) -> int:
        return self.n_read - len(self.too_short) - len(self.not_finite) - len(self.unlabelled)

    def summary(self) -> str:
        counts = {name: len(getattr(self, name)) for name in ("too_short", "not_finite", "unlabelled", "no_mirror",
                                                              "longer_than_walk", "leaking_subjects")}
        listed = ", ".join(f"{name} {count}" for name, count in counts.items() if count)
        return f"{self.source}: read {self.n_read}, kept {self.n_kept}" + (f" ({listed})" if listed else "")


@dataclass(frozen=True)
class WalkSet:
    """One source's walks: ``table`` (one row per kept walk), ``sequences`` (float32 arrays in table
    order) and the ``report``; PD-GaM sets also carry the ``mean``/``std`` they were normalised with."""

    table: pd.DataFrame
    sequences: list[np.ndarray]
    report: LoadReport
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    max_frames: int = 200

    def mirrored(self, index: int) -> np.ndarray:
        """The left/right mirrored copy of walk ``index`` (PD-GaM ``_M`` file), normalised like the walk."""
        path = self.table["mirror_path"].iloc[index] if "mirror_path" in self.table else None
        if path is None:
            raise InputError(FILE_MISSING.format(what="mirrored copy", path=f"{self.table['seq_id'].iloc[index]}_M.npy",
                                                 fix="Mirror the joints (skeleton.mirror_joints) and re-encode them."))
        features = read_features(Path(path))
        if self.mean is None or self.std is None:
            return features
        return normalise_features(features, self.mean, self.std)

    def padded(self, length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sequences (n, length, D) float32 and masks (n, length) bool, via :func:`pad_or_crop`."""
        if len(self.sequences) != len(self.table):
            raise InputError(f"{self.report.source}: this walk set was indexed without reading its walks "
                             "(read=False); read them one per access (domains.gait.lazy), or load with read=True.")
        pairs = [pad_or_crop(sequence, length or self.max_frames) for sequence in self.sequences]
        return np.stack([pair[0] for pair in pairs]), np.stack([pair[1] for pair in pairs])


def pad_or_crop(sequence: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``length`` frames of ``sequence`` (T, ...), zero-padded at the end, and a (length,)
    bool mask of the real frames (as GAITGen: longer walks keep their start)."""
    sequence = np.asarray(sequence, dtype=np.float32)
    kept = min(len(sequence), length)
    out = np.zeros((length,) + sequence.shape[1:], dtype=np.float32)
    out[:kept] = sequence[:kept]
    mask = np.zeros(length, dtype=bool)
    mask[:kept] = True
    return out, mask


def normalise_features(features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(features - mean) / std`` as float32 (e.g. GAITGen walks with the real set's Mean/Std)."""
    return ((np.asarray(features, dtype=np.float64) - mean) / std).astype(np.float32)


def parse_seq_id(seq_id: str) -> dict[str, str | None]:
    """``subject``, ``visit``, ``walk`` and the published ``annotation_key`` of a PD-GaM id."""
    walk = seq_id.split("_")[0]
    fields = walk.split("-")
    return {"subject": seq_id[:3], "visit": fields[1] if len(fields) > 1 else None, "walk": walk,
            "annotation_key": f"{walk[4:]}_{seq_id[:3]}"}


def read_features(path: Path) -> np.ndarray:
    """(T, 263) float32 HumanML3D features of one ``.npy`` file, or an InputError naming it."""
    try:
        features = np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as error:  # object array, truncated, not .npy (missing: OSError)
        raise InputError(FEATURES_SHAPE.format(path=path, shape=f"unreadable ({error})")) from error
    _check_features(path, features.shape, features.dtype)
    return features.astype(np.float32)


def features_frames(path: Path) -> int:
    """The number of frames T of a (T, 263) ``.npy`` file, read from its header alone."""
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)  # maps the values; reads none of them
    except (ValueError, OSError, EOFError) as error:
        raise InputError(FEATURES_SHAPE.format(path=path, shape=f"unreadable ({error})")) from error
    shape, dtype = mapped.shape, mapped.dtype
    del mapped
    _check_features(path, shape, dtype)
    return int(shape[0])


def _check_features(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if len(shape) != 2 or shape[1] != FEATURE_WIDTH or dtype.kind not in "fiu":
        raise InputError(FEATURES_SHAPE.format(path=path, shape=f"{shape} ({dtype})"))


def _read_ids(path: Path) -> list[tuple[int, str]]:
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="PD-GaM split list", path=path,
                                             fix="Pass the folder holding train.txt and test.txt (one id a line)."))
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]


def _read_annotations(path: Path) -> dict[str, tuple[int, int, int]]:
    """walk -> (#frames, score, line) of a header-less ``walk,#frames,score`` file."""
    if not path.is_file():
        raise InputError(FILE_MISSING.format(what="PD-GaM annotation file", path=path,
                                             fix="Put Annotations/Gait/{train,test}.csv under the root or its parent."))
    rows: dict[str, tuple[int, int, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.reader(handle), 1):
            if not row:
                continue
            if len(row) != 3 or not row[1].strip().isdigit() or not _is_integer(row[2]):
                raise InputError(ANNOTATION_ROW.format(path=path, line=line, text=",".join(row)))
            score = int(float(row[2]))
            if score not in SCORES:
                raise InputError(SCORE_RANGE.format(path=path, line=line, score=row[2].strip(), walk=row[0]))
            rows[row[0].strip()] = (int(row[1]), score, line)
    return rows


def _is_integer(text: str) -> bool:
    try:
        return float(text) == int(float(text))
    except ValueError:
        return False


def _annotation_dir(root: Path) -> Path:
    for folder in (root / "Annotations" / "Gait", root.parent / "Annotations" / "Gait"):
        if folder.is_dir():
            return folder
    return root / "Annotations" / "Gait"


def _mean_std(root: Path) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name in ("Mean.npy", "Std.npy"):
        path = root / name
        if not path.is_file():
            fix = "Recompute it over the training features, or pass normalise=False."
            raise InputError(FILE_MISSING.format(what="PD-GaM normalisation file", path=path, fix=fix))
        array = np.load(path, allow_pickle=False).astype(np.float64)
        positive = " of positive values" if name == "Std.npy" else ""
        if array.shape != (FEATURE_WIDTH,) or not np.isfinite(array).all() or (positive and (array <= 0).any()):
            raise InputError(MEAN_STD.format(path=path, problem=f"shape {array.shape}, min {array.min():.3g}",
                                             positive=positive))
        arrays.append(array)
    return arrays[0], arrays[1]


def load_pd_gam(root: str | Path, *, min_frames: int = 30, max_frames: int = 200,
                normalise: bool = True, read: bool = True) -> WalkSet:
    """PD-GaM walks of both splits (layout in the module docstring); ``padded()`` gives
    ``max_frames``-long arrays and masks. Walks shorter than ``min_frames`` and walks with
    non-finite values are dropped and counted in the report. ``read=False``: the table only,
    from the files' headers (no sequences; non-finite walks are not seen, hence kept)."""
    root = Path(root)
    if not (root / "new_joint_vecs").is_dir():
        raise InputError(FILE_MISSING.format(what="PD-GaM feature folder", path=root / "new_joint_vecs",
                                             fix="Pass the folder holding new_joint_vecs/, Mean.npy, Std.npy, "
                                                 "train.txt and test.txt (GAITGen's HumanML3Drep_30fps folder)."))
    mean, std = _mean_std(root) if normalise else (None, None)
    report, rows, sequences = LoadReport("pd-gam"), [], []
    listed: dict[str, str] = {}
    for split in SPLITS:
        files = _SplitFiles(root, split, root / f"{split}.txt", _annotation_dir(root) / f"{split}.csv", min_frames,
                            read)
        annotations = _read_annotations(files.annotations)
        for line, seq_id in _read_ids(files.ids):
            if seq_id in listed:
                raise InputError(DUPLICATE_ID.format(split_file=files.ids, line=line, seq_id=seq_id,
                                                     first=listed[seq_id]))
            listed[seq_id] = f"{files.ids.name}, line {line}"
            row = _pd_gam_walk(files, line, seq_id, annotations, report)
            if row is not None:
                rows.append(row[0])
            if row is not None and row[1] is not None:
                sequences.append(row[1] if mean is None or std is None else normalise_features(row[1], mean, std))
    table = pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "walk", "mirror_path"])
    train, test = (np.flatnonzero(table["split"].to_numpy() == split) for split in SPLITS)
    report.leaking_subjects = leaking_subjects(table["subject"].to_numpy(), train, test)
    log_report(report)
    return WalkSet(table, sequences, report, mean, std, max_frames)


@dataclass(frozen=True)
class _SplitFiles:
    root: Path
    split: str
    ids: Path
    annotations: Path
    min_frames: int
    read: bool = True


def _pd_gam_walk(files: _SplitFiles, line: int, seq_id: str, annotations: dict[str, tuple[int, int, int]],
                 report: LoadReport) -> tuple[list[Any], np.ndarray | None] | None:
    """The table row and features (None when ``files.read`` is off) of one listed id, or None
    (counted in ``report``) if skipped."""
    path = files.root / "new_joint_vecs" / f"{seq_id}.npy"
    if not path.is_file():
        raise InputError(MISSING_SEQUENCE.format(split_file=files.ids, line=line, seq_id=seq_id, path=path))
    parts = parse_seq_id(seq_id)
    annotation = annotations.get(seq_id) or annotations.get(str(parts["annotation_key"]))
    if annotation is None:
        raise InputError(NO_ANNOTATION.format(split_file=files.ids, line=line, seq_id=seq_id, path=files.annotations,
                                              key=parts["annotation_key"]))
    features = read_features(path) if files.read else None
    n_frames = len(features) if features is not None else features_frames(path)
    frames, score, annotation_line = annotation
    if seq_id in annotations and frames != n_frames:
        raise InputError(FRAMES_MISMATCH.format(path=files.annotations, line=annotation_line, expected=frames,
                                                seq_id=seq_id, file=path, received=n_frames))
    if n_frames > frames:
        report.longer_than_walk.append(seq_id)
    kept = (keep_walk(seq_id, features, files.min_frames, report) if features is not None
            else keep_length(seq_id, n_frames, files.min_frames, report))
    if not kept:
        return None
    mirror = path.with_name(f"{seq_id}_M.npy")
    if not mirror.is_file():
        report.no_mirror.append(seq_id)
    return ([seq_id, parts["subject"], parts["visit"], score, "pd-gam", PD_GAM_FPS, n_frames, files.split,
             str(path), parts["walk"], str(mirror) if mirror.is_file() else None], features)


# --- shared by every reader -----------------------------------------------------------------------


def log_report(report: LoadReport) -> None:
    """Log the report's summary once: a warning if walks were skipped or subjects leak, else info."""
    skipped = report.n_read - report.n_kept
    (logger.warning if skipped or report.leaking_subjects else logger.info)(report.summary())


def unpickle(path: Path, trust_pickle: bool, fix: str) -> Any:
    """The content of the joblib dump or pickle ``path``, read only with ``trust_pickle``; else an
    InputError (``PICKLE_REFUSED``) ending with ``fix``."""
    if not trust_pickle:
        raise InputError(PICKLE_REFUSED.format(path=path, fix=fix))
    import joblib  # reads joblib dumps and plain pickles alike (GAITGen and CARE-PD use joblib)

    return joblib.load(path)


def as_score(value: Any) -> int | None:
    """An integer 0-3 from an int, integral float or one-element array; None if it is not one."""
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "iuf":
        return None
    number = array.item()
    return int(number) if float(number).is_integer() and int(number) in SCORES else None


def keep_walk(name: str, sequence: np.ndarray, min_frames: int, report: LoadReport) -> bool:
    """Count a read walk; False (and counted) if it has non-finite values or is too short."""
    if not np.isfinite(sequence).all():
        report.n_read += 1
        report.not_finite.append(name)
        return False
    return keep_length(name, len(sequence), min_frames, report)


def keep_length(name: str, n_frames: int, min_frames: int, report: LoadReport) -> bool:
    """Count a walk known by its length only; False (and counted) if it is too short."""
    report.n_read += 1
    if n_frames < min_frames:
        report.too_short.append(name)
        return False
    return True
