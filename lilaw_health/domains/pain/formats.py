"""Pain data on disk -> one frame table: SynPAIN folders, UNBC-McMaster HDF5 files, frames + CSV.

Every loader returns a :class:`LoadResult` ``(table, report)``. ``table`` is a pandas
DataFrame, one row per target face, with the columns of ``COLUMNS``:

- ``path`` (str): absolute path of the image file.
- ``region`` (``None``, ``"left"`` or ``"right"``): the half of a side-by-side packed pair
  that holds the target face; ``None`` means the whole image.
- ``reference_path`` / ``reference_region``: the neutral face of the same identity that
  goes with the target (a packed pair's left half), or ``None``.
- ``subject`` (str): the identity; subject-wise splits keep it on one side.
- ``label`` (int64, 0/1): binary pain. ``pspi`` (float64): PSPI 0..16, NaN when unknown.
- ``source`` (str): ``"synpain"``, ``"real"`` or the name the caller gives.
- ``age``, ``gender``, ``race``, ``cohort`` (str, or ``None`` when unknown).
- ``fold`` (nullable ``Int64``): the test fold of a given split; ``<NA>`` when none.

``report`` is a :class:`LoadReport`: rows read, skipped rows counted by reason (each one
logged), and the counts of failed checks. It is returned rather than kept in
``table.attrs`` because pandas drops ``attrs`` on most operations.

SynPAIN (Taati lab 2025, arXiv 2507.19673): ``Images/*.jpg`` named
``ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg``, ID ten digits ``1 p g a r ddddd``
(``SYNPAIN_CONVENTION``). The identity (``subject``) is the ID without its pain digit,
``g a r ddddd`` prefixed by the leading 1: a neutral/expressive or Pain/NoPain pair of one
synthetic person shares it, and keeping gender, age and race digits makes it unique even if
the serial ``ddddd`` restarts in each demographic group. If SynPAIN's serials in fact name
different people for Pain and NoPain, this merges them into one subject: splits stay
leak-free, only coarser. ``SynPain_folds.txt`` format: see :func:`read_synpain_folds`.

UNBC-McMaster (HDF5 as the lab's ``Pain-in-3D`` code stores it) and the generic frames +
CSV layout: :func:`load_unbc_hdf5`, :func:`load_frames_csv`.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write
from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, FILE_NOT_NUMBER, InputError
from lilaw_health.domains.pain.folds import check_disjoint

LOGGER = logging.getLogger(__name__)

COLUMNS = ("path", "region", "reference_path", "reference_region", "subject", "label", "pspi", "source",
           "age", "gender", "race", "cohort", "fold")
DEMOGRAPHICS = ("age", "gender", "race", "cohort")
RACES = ("Black", "South Asian", "Middle Eastern", "White", "East Asian")  # SynPAIN race digit 0..4
PSPI_MAX = 16.0
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

SYNPAIN_CONVENTION = ("ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg with ID ten digits `1 p g a r ddddd` (p 1=Pain "
                      "0=NoPain, g 1=Woman 0=Man, a 1=Old 0=Young, r 0=Black 1=South Asian 2=Middle Eastern "
                      "3=White 4=East Asian), e.g. 1100300001_Pain_Man_Young.jpg")
SYNPAIN_NAME = ("{path}: {problem}; SynPAIN images are named "
                + SYNPAIN_CONVENTION.replace("{", "{{").replace("}", "}}")
                + ". Rename the file or move it out of the Images folder.")
SYNPAIN_DIGIT = ("{path}: ID digit {position} ({field}) is {digit}, which means {meaning}, but the name says "
                 "{word!r} (digit {expected}). Fix the digit or the word so that they agree.")
SYNPAIN_NO_IMAGES = ("{folder} holds no .jpg/.jpeg/.png image; expected SynPAIN's Images/*.jpg. Pass the SynPain "
                     "folder (the one holding Images/).")
IMAGE_UNREADABLE = ("{path}: cannot read the image header ({error}), so pairs='auto' cannot tell a packed pair "
                    "from a single face. Replace or remove the file, or pass pairs='always' or 'never'.")
FOLDS_LINE = ("{path}, line {line}: cannot read {text!r}; expected `<file name or ID> <fold>` or "
              "`fold <k>: <ID> <ID> ...` (blank lines and # comments are ignored). Fix or remove the line.")
FOLDS_TWICE = ("{path}, line {line}: {key!r} is already in fold {first} (line {first_line}); a file belongs to "
               "one fold. Remove one of the two entries.")
PSPI_RANGE = ("{path}, {where}: PSPI {value} is outside 0..16 (PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + "
              "AU43). Fix the value, or remove the row.")
CSV_COLUMNS = ("{path}: {problem}; found columns {found}. Required: path, subject, and pspi or label; optional: "
               "age, gender, race, cohort, reference_path, region, reference_region, fold.")
CSV_MISSING_IMAGE = ("{path}, line {line}: {column} {image} does not exist. Fix the path (relative paths are read "
                     "from {base}), or pass missing='skip' to skip such rows (they are counted in the report).")
CSV_FIELD = "{path}, line {line}: {column} {value!r} is not {expected}. {fix}"
H5_DATASET = "{path}: no dataset {name!r}; found {found}. {fix}"
H5_FILES = "{root}: expected one {pattern} file; found {found}. {fix}"
H5_LENGTH = ("{path}: dataset {name!r} has {count} rows but 'index' has {expected}; every dataset holds one row "
             "per frame. Re-export the file.")
H5_DUPLICATE = "{path}: index {value} appears on rows {rows}; each frame needs a unique index. Re-export the file."
H5_PIXELS = ("{path}, row {row}: frame of dtype {dtype}, shape {shape}, values in [{low}, {high}]; expected uint8, "
             "or float in 0..1 or 0..255, shaped (H, W), (H, W, 1) or (H, W, 3). Re-export the frames.")
FOLD_TWICE = ("{path}: subject {subject!r} is a validation subject of both {first} and {second}; each subject is "
              "held out in one fold. Fix the folds file.")

_SYNPAIN_STEM = re.compile(r"(?P<id>\d{10})_(?P<pain>Pain|NoPain)_(?P<gender>Man|Woman)_(?P<age>Young|Old)")
# (1-based position in the ID, field name, {word: digit})
_SYNPAIN_DIGITS = ((2, "pain", {"NoPain": "0", "Pain": "1"}), (3, "gender", {"Man": "0", "Woman": "1"}),
                   (4, "age", {"Young": "0", "Old": "1"}))
_FOLD_HEADER = re.compile(r"fold[\s_-]*(\d+)\s*[:=]\s*(.*)", re.IGNORECASE)
_AUS = ("label_AU_4", "label_AU_6", "label_AU_7", "label_AU_9", "label_AU_10", "label_AU_43")


@dataclass
class LoadReport:
    """What a loader read, skipped (by reason) and found wrong (by check), for logs and the run report."""

    source: str
    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        LOGGER.warning("%s: skipped (%s): %s", self.source, reason, detail)

    def count(self, check: str, n: int = 1) -> None:
        self.checks[check] = self.checks.get(check, 0) + n


class LoadResult(NamedTuple):
    table: pd.DataFrame
    report: LoadReport


def frame_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The frame table of ``rows`` (dicts keyed by ``COLUMNS``; absent keys are unknown), with fixed dtypes."""
    columns: dict[str, pd.Series] = {}
    for name in COLUMNS:
        values = [row.get(name) for row in rows]
        if name == "label":
            columns[name] = pd.Series(values, dtype="int64")
        elif name == "pspi":
            columns[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif name == "fold":
            columns[name] = pd.Series(values, dtype="Int64")
        else:  # object keeps None as None (pandas 3 would turn str columns' None into NaN)
            columns[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


# ---------------------------------------------------------------- SynPAIN


def load_synpain(root: str | Path, *, source: str = "synpain", pairs: str = "auto") -> LoadResult:
    """Read a SynPAIN folder: one row per image, labels and demographics from the file names.

    Parameters
    ----------
    root : the ``SynPain`` folder (holding ``Images/``), or its parent.
    source : the ``source`` value of every row.
    pairs : ``"auto"`` treats an image about twice as wide as high (width/height in 1.6..2.4)
        as a packed pair, ``"always"`` / ``"never"`` force it. A packed pair yields its
        expressive right half (``region="right"``) with its neutral left half as reference.

    ``pspi`` is the paper's proxy (1 Pain, 0 NoPain). ``fold`` comes from
    ``SynPain_folds.txt`` when present (:func:`read_synpain_folds`); images it does not list
    keep ``<NA>`` and are counted in ``report.checks["not_in_folds_file"]``. A packed pair's
    neutral half is not a row of its own. ``Videos/`` and ``SynPain.txt`` are not read.
    """
    if pairs not in ("auto", "always", "never"):
        raise InputError(BAD_VALUE.format(arg="pairs", expected="'auto', 'always' or 'never'", received=repr(pairs),
                                          fix="Use 'auto' unless the image widths mislead it."))
    folder = Path(root).resolve()
    folder = folder / "SynPain" if not (folder / "Images").is_dir() and (folder / "SynPain").is_dir() else folder
    if not (folder / "Images").is_dir():
        raise InputError(FILE_MISSING.format(what="SynPAIN Images folder", path=folder / "Images",
                                             fix="Pass the SynPain folder (the one holding Images/)."))
    images = sorted(p for p in (folder / "Images").iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not images:
        raise InputError(SYNPAIN_NO_IMAGES.format(folder=folder / "Images"))
    folds_path = folder / "SynPain_folds.txt"
    folds = read_synpain_folds(folds_path) if folds_path.is_file() else None
    report = LoadReport(source=str(folder))
    rows = [_synpain_row(path, source=source, pairs=pairs) for path in images]
    if folds is not None:
        _assign_folds(rows, images, folds, report)
    report.rows = len(rows)
    return LoadResult(frame_table(rows), report)


def parse_synpain_name(path: str | Path) -> dict[str, Any]:
    """Label and demographics of one SynPAIN file name, after checking the ID digits against the words.

    Returns ``id``, ``subject`` (the identity), ``label``, ``gender``, ``age``, ``race``.
    """
    path = Path(path)
    match = _SYNPAIN_STEM.fullmatch(path.stem)
    if match is None:
        raise InputError(SYNPAIN_NAME.format(path=path, problem="the name is not in the convention"))
    digits = match["id"]
    if digits[0] != "1":
        raise InputError(SYNPAIN_NAME.format(path=path, problem=f"the ID starts with {digits[0]}, not 1"))
    for position, name, codes in _SYNPAIN_DIGITS:
        word, digit = match[name], digits[position - 1]
        if digit != codes[word]:
            meanings = {code: meaning for meaning, code in codes.items()}
            raise InputError(SYNPAIN_DIGIT.format(path=path, position=position, field=name, digit=digit,
                                                  meaning=repr(meanings.get(digit, "nothing")), word=word,
                                                  expected=codes[word]))
    if int(digits[4]) >= len(RACES):
        raise InputError(SYNPAIN_NAME.format(path=path, problem=f"race digit 5 is {digits[4]}, not 0..4"))
    return {"id": digits, "subject": digits[0] + digits[2:], "label": int(match["pain"] == "Pain"),
            "gender": match["gender"], "age": match["age"], "race": RACES[int(digits[4])]}


def read_synpain_folds(path: str | Path) -> dict[str, tuple[int, int]]:
    """``SynPain_folds.txt`` as ``{key: (fold, line)}``, ``key`` a file stem or a 10-digit ID.

    SynPAIN's own file format is not documented; two text forms are read (one may mix them):
    ``<file name or ID> <fold>`` per line (whitespace or comma between), or
    ``fold <k>: <ID or file name> <ID or file name> ...``. Blank lines and ``#`` comments are
    ignored; file names may keep their extension.
    """
    path = Path(path)
    folds: dict[str, tuple[int, int]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        header = _FOLD_HEADER.fullmatch(text)
        tokens = re.split(r"[\s,;]+", text)
        if header is not None:
            entries = [(key, int(header[1])) for key in re.split(r"[\s,;]+", header[2].strip()) if key]
        elif len(tokens) == 2 and re.fullmatch(r"-?\d+", tokens[1]):
            entries = [(tokens[0], int(tokens[1]))]
        else:
            raise InputError(FOLDS_LINE.format(path=path, line=number, text=raw.strip()))
        for key, fold in entries:
            key = Path(key).stem if Path(key).suffix.lower() in IMAGE_SUFFIXES else key
            if key in folds and folds[key][0] != fold:
                raise InputError(FOLDS_TWICE.format(path=path, line=number, key=key, first=folds[key][0],
                                                    first_line=folds[key][1]))
            folds[key] = (fold, number)
    return folds


def _synpain_row(path: Path, *, source: str, pairs: str) -> dict[str, Any]:
    fields = parse_synpain_name(path)
    packed = pairs == "always" or (pairs == "auto" and 1.6 <= _aspect_ratio(path) <= 2.4)
    return {"path": str(path), "region": "right" if packed else None,
            "reference_path": str(path) if packed else None, "reference_region": "left" if packed else None,
            "subject": fields["subject"], "label": fields["label"], "pspi": float(fields["label"]),
            "source": source, "age": fields["age"], "gender": fields["gender"], "race": fields["race"]}


def _aspect_ratio(path: Path) -> float:
    """Width / height from the image header (the pixels are not decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError) as error:
        raise InputError(IMAGE_UNREADABLE.format(path=path, error=error)) from error
    return width / max(height, 1)


def _assign_folds(rows: list[dict[str, Any]], images: list[Path], folds: dict[str, tuple[int, int]],
                  report: LoadReport) -> None:
    used: set[str] = set()
    for row, path in zip(rows, images):
        key = path.stem if path.stem in folds else path.stem.split("_", 1)[0]
        if key in folds:
            row["fold"] = folds[key][0]
            used.add(key)
        else:
            report.count("not_in_folds_file")
    unused = sorted(set(folds) - used)
    if unused:
        report.count("folds_entries_without_image", len(unused))
        LOGGER.warning("SynPain_folds.txt lists %d name(s) with no image, e.g. %s", len(unused), unused[:5])


# ---------------------------------------------------------------- UNBC-McMaster HDF5


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


# ---------------------------------------------------------------- frames folder + CSV


def load_frames_csv(csv_path: str | Path, *, source: str = "real", image_root: str | Path | None = None,
                    missing: str = "error", threshold: float = 0.0) -> LoadResult:
    """Read a frames folder described by a CSV: one row per frame.

    Columns: ``path`` and ``subject`` (required), ``pspi`` and/or ``label`` (one required per
    row), optional ``age``, ``gender``, ``race``, ``cohort``, ``reference_path``, ``region``,
    ``reference_region``, ``fold``. Relative paths are read from ``image_root`` (default the
    CSV's folder). ``label`` (0/1) when given, else ``pspi > threshold``. A missing image
    raises (``missing="error"``) or is a counted skip (``missing="skip"``).
    """
    if missing not in ("error", "skip"):
        raise InputError(BAD_VALUE.format(arg="missing", expected="'error' or 'skip'", received=repr(missing),
                                          fix="Use 'skip' to leave rows with missing images out (counted)."))
    csv_path = Path(csv_path).resolve()
    if not csv_path.is_file():
        raise InputError(FILE_MISSING.format(what="frames CSV", path=csv_path, fix="Check the path."))
    base = Path(image_root).resolve() if image_root is not None else csv_path.parent
    report, rows = LoadReport(source=str(csv_path)), []
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        _check_csv_columns(csv_path, [name.strip() for name in reader.fieldnames or []])
        for record in reader:
            fields = {(k or "").strip(): (v or "").strip() for k, v in record.items() if k is not None}
            row = _csv_row(fields, csv_path, reader.line_num, base=base, missing=missing, report=report)
            if row is not None:
                rows.append({**row, "source": source, "label": row["label"] if row["label"] is not None
                             else int(row["pspi"] > threshold)})
    report.rows = len(rows)
    return LoadResult(frame_table(rows), report)


def _check_csv_columns(path: Path, names: list[str]) -> None:
    problems = [f"no {column!r} column" for column in ("path", "subject") if column not in names]
    if "pspi" not in names and "label" not in names:
        problems.append("neither a 'pspi' nor a 'label' column")
    if problems:
        raise InputError(CSV_COLUMNS.format(path=path, problem=" and ".join(problems), found=names))


def _csv_row(fields: dict[str, str], path: Path, line: int, *, base: Path, missing: str,
             report: LoadReport) -> dict[str, Any] | None:
    images = {}
    for column in ("path", "reference_path"):
        if fields.get(column):
            image = Path(fields[column]) if Path(fields[column]).is_absolute() else base / fields[column]
            if not image.is_file():
                message = CSV_MISSING_IMAGE.format(path=path, line=line, column=column, image=image, base=base)
                if missing == "error":
                    raise InputError(message)
                report.skip(f"missing_{column}", message)
                return None
            images[column] = str(image.resolve())
    if "path" not in images or not fields.get("subject"):
        column = "path" if "path" not in images else "subject"
        raise InputError(CSV_FIELD.format(path=path, line=line, column=column, value="", expected="empty",
                                          fix=f"Every row needs a {column}."))
    pspi = _csv_number(fields, "pspi", path, line)
    if pspi is not None and not 0 <= pspi <= PSPI_MAX:
        raise InputError(PSPI_RANGE.format(path=path, where=f"line {line}", value=fields["pspi"]))
    label = _csv_number(fields, "label", path, line)
    if label is None and pspi is None:
        raise InputError(CSV_FIELD.format(path=path, line=line, column="pspi", value="", expected="empty",
                                          fix="Give each row a pspi (0..16) or a label (0/1)."))
    if label not in (None, 0.0, 1.0):
        raise InputError(CSV_FIELD.format(path=path, line=line, column="label", value=fields["label"],
                                          expected="0 or 1", fix="Write binary pain as 0/1, or give pspi instead."))
    fold = _csv_number(fields, "fold", path, line)
    regions = {c: fields.get(c) or None for c in ("region", "reference_region")}
    for column, value in regions.items():
        if value not in (None, "left", "right"):
            raise InputError(CSV_FIELD.format(path=path, line=line, column=column, value=value,
                                              expected="left, right or empty", fix="Leave it empty for a whole image."))
    return {"path": images["path"], "reference_path": images.get("reference_path"), **regions,
            "subject": fields["subject"], "pspi": pspi, "label": None if label is None else int(label),
            "fold": None if fold is None else int(fold), **{c: fields.get(c) or None for c in DEMOGRAPHICS}}


def _csv_number(fields: dict[str, str], column: str, path: Path, line: int) -> float | None:
    text = fields.get(column, "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or (column == "fold" and value != int(value)):
        kind = "an integer" if column == "fold" else "a number, e.g. 0, 1 or 2.5"
        raise InputError(FILE_NOT_NUMBER.format(path=path, line=line, position=f"column {column}", value=text,
                                                fix=f"Write {column} as {kind}."))
    return value
