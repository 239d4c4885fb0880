"""Pain data -> the core's :class:`~lilaw_health.core.data.TaskData`: frame table, subject-wise
split, MediaPipe faces, structured samples.

Datasets (the recipe's ``dataset``):

- ``synpain``: a SynPAIN folder (``data.root``), labels and demographics from the file names;
- ``unbc``: UNBC-McMaster as the lab's HDF5 files (``data.root``);
- ``frames_csv``: any folder of frames described by a CSV (``data.csv``: path, subject, pspi or
  label, optional demographics);
- ``demo`` and ``demo_synpain``: the same two layouts rendered from real face photos shipped by
  scikit-image (:mod:`~lilaw_health.domains.pain.render`) into ``data.root`` (default a cache
  folder), so that everything runs with no download. Generated data, not clinical evidence.

Each frame becomes a sample ``{"image": (1, S, S), "landmarks": (468, 3)}`` (eye-aligned
grayscale crop and MediaPipe landmarks normalised to it), plus ``reference_image`` /
``reference_landmarks`` when ``data.reference`` pairs it with a neutral face of the same
person. Frames whose face is not usable (unreadable file, no face, |yaw| beyond
``data.max_yaw``) are left out, counted and listed in the task's ``notes``; a subject never
spans train and test (checked). ``data.target``: ``pain`` (binary) or ``pspi`` (regression
0-16; the recipe's ``threshold`` turns it into binary pain for the metrics).

Frames larger than memory: with ``data.lazy: true`` only an index stays in memory (each usable
frame's face cache file, target, subject) and a frame's crop and landmarks are read from the
face cache each time the frame is accessed (:mod:`~lilaw_health.domains.pain.lazy`), the same
samples bit for bit as the in-memory default. Loading still extracts missing faces and reads
every image file once (the cache is keyed by content), holding one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from torch.utils.data import Dataset

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.core.lazy import LazyDataset
from lilaw_health.core.options import options_from_mapping
from lilaw_health.core.paths import default_cache
from lilaw_health.data_cards import load_card
from lilaw_health.domains.pain import folds, formats, synpain, unbc
from lilaw_health.domains.pain.face_cache import crop_as_image
from lilaw_health.domains.pain.lazy import FACE_FIX, FaceKey, FaceReader, face_keys

LOGGER = logging.getLogger(__name__)

DATASETS = ("synpain", "unbc", "frames_csv", "demo", "demo_synpain")
CHOICES = {"target": ("pain", "pspi"), "scheme": ("given", "kfold", "loso"), "reference": ("auto", "none", "neutral"),
           "missing": ("error", "skip"), "pairs": ("auto", "always", "never")}
CARDS = {"synpain": "synpain", "unbc": "pain-frames", "frames_csv": "pain-frames", "demo": "pain-demo",
         "demo_synpain": "pain-demo"}
PSPI_RANGE = (0.0, 16.0)
DEMOGRAPHICS = ("age", "gender", "race", "cohort")
NEEDS = "dataset {dataset} needs data.{key}: {what}. E.g. --set data.{key}={example}"
NO_FACES = ("{dataset}: no frame has a usable face ({counts}); see the lines above for each file. Check the images, "
            "or raise data.max_yaw.")


@dataclass(frozen=True)
class PainOptions:
    """Validated ``data:`` options of the pain domain (see the module docstring)."""

    root: str | None = None
    csv: str | None = None
    image_root: str | None = None
    source: str | None = None
    target: str = "pain"
    threshold: float = 0.0
    scheme: str = "given"
    fold: int = 0
    k: int = 5
    split_seed: int = 0
    crop_size: int = 112
    max_yaw: float | None = 30.0
    workers: int = 0
    cache: str | None = None
    reference: str = "auto"
    missing: str = "error"
    pairs: str = "auto"
    subjects: int = 24
    frames_per_subject: int = 8
    identities: int = 40
    wrong_label_share: float = 0.2
    render_seed: int = 0
    lazy: bool = False  # read each frame's face from the face cache per access: see the module docstring

    def __post_init__(self) -> None:
        for name, valid in CHOICES.items():
            if getattr(self, name) not in valid:
                raise InputError(BAD_VALUE.format(arg=f"data.{name}", expected=f"one of {', '.join(valid)}",
                                                  received=repr(getattr(self, name)), fix=""))
        for name in ("crop_size", "k", "subjects", "frames_per_subject", "identities"):
            if getattr(self, name) < 1:
                raise InputError(BAD_VALUE.format(arg=f"data.{name}", expected="a positive integer",
                                                  received=repr(getattr(self, name)), fix=""))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> PainOptions:
        return options_from_mapping(cls, options, kind="pain data")


def load_data(dataset: str, *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Frames of ``dataset`` as structured samples, split by subject (see the module docstring)."""
    opts = PainOptions.from_mapping(options)
    table, report = frame_table(dataset, opts)
    table = with_references(table, opts.reference)
    cache = Path(opts.cache) if opts.cache else default_cache() / "faces"
    samples, table, notes = face_samples(table, opts, cache=cache, dataset=dataset)
    notes = [*_report_notes(report), *notes]
    train_pos, test_pos = _split(table, opts)
    return _task_data(dataset, table, samples, train_pos, test_pos, opts, notes)


def frame_table(dataset: str, opts: PainOptions) -> tuple[pd.DataFrame, formats.LoadReport]:
    """The dataset's frame table (:mod:`~lilaw_health.domains.pain.formats`) and its load report."""
    if dataset not in DATASETS:
        from lilaw_health.core.errors import unknown_name

        raise unknown_name("pain dataset", dataset, list(DATASETS), "Or give a frames CSV: dataset frames_csv.")
    if dataset in ("demo", "demo_synpain"):
        return _demo(dataset, opts)
    if dataset == "frames_csv":
        if opts.csv is None:
            raise InputError(NEEDS.format(dataset=dataset, key="csv", what="the CSV describing the frames",
                                          example="frames.csv"))
        return formats.load_frames_csv(opts.csv, source=opts.source or "real", image_root=opts.image_root,
                                       missing=opts.missing, threshold=opts.threshold)
    if opts.root is None:
        raise InputError(NEEDS.format(dataset=dataset, key="root", what="the dataset's folder", example="data/SynPain"))
    if dataset == "synpain":
        return synpain.load_synpain(opts.root, source=opts.source or "synpain", pairs=opts.pairs)
    return unbc.load_unbc_hdf5(opts.root, source=opts.source or "real", threshold=opts.threshold,
                               cache_dir=default_cache() / "unbc_frames")


def _demo(dataset: str, opts: PainOptions) -> tuple[pd.DataFrame, formats.LoadReport]:
    """Render the demo data once (a folder per setting; reused when complete) and load it."""
    from lilaw_health.domains.pain import render

    base = Path(opts.root) if opts.root else default_cache() / "pain_demo"
    if dataset == "demo":
        folder = base / f"clinical_s{opts.subjects}_f{opts.frames_per_subject}_seed{opts.render_seed}"
        if not (folder / "frames.csv").is_file():
            LOGGER.info("rendering the pain demo's clinical frames into %s (once)", folder)
            render.write_clinical(folder, n_subjects=opts.subjects, frames_per_subject=opts.frames_per_subject,
                                  seed=opts.render_seed)
        return formats.load_frames_csv(folder / "frames.csv", source=opts.source or "real", threshold=opts.threshold)
    folder = base / f"synpain_i{opts.identities}_w{opts.wrong_label_share:g}_seed{opts.render_seed}"
    if not (folder / "render_truth.csv").is_file():  # written last
        LOGGER.info("rendering the pain demo's SynPAIN-layout pairs into %s (once)", folder)
        render.write_synpain(folder, n_identities=opts.identities, seed=opts.render_seed,
                             wrong_label_share=opts.wrong_label_share)
    return synpain.load_synpain(folder / "SynPain", source=opts.source or "synpain", pairs=opts.pairs)


def with_references(table: pd.DataFrame, mode: str) -> pd.DataFrame:
    """``reference_path``/``reference_region`` as ``mode`` asks: ``auto`` keeps the data's own
    references when every frame has one, else none; ``none`` drops them; ``neutral`` gives every
    frame without one its subject's first no-pain frame (PSPI 0, or label 0 when PSPI is unknown)."""
    table = table.copy()
    given = table["reference_path"].notna().all()
    if mode == "neutral":  # frames with a reference of their own (a packed pair's neutral half) keep it
        neutral = table[(table["pspi"] == 0) | (table["pspi"].isna() & (table["label"] == 0))]
        first = neutral.groupby("subject")[["path", "region"]].first()
        own = table["reference_path"].notna()
        table["reference_region"] = table["reference_region"].where(own, table["subject"].map(first["region"]))
        table["reference_path"] = table["reference_path"].where(own, table["subject"].map(first["path"]))
    elif mode == "none" or not given:
        table["reference_path"], table["reference_region"] = None, None
    return table


Samples = Union[dict[str, np.ndarray], list[FaceKey]]  # in memory, or each frame's face cache files


def face_samples(table: pd.DataFrame, opts: PainOptions, *, cache: Path,
                 dataset: str) -> tuple[Samples, pd.DataFrame, list[str]]:
    """MediaPipe faces of every frame (and reference): the samples of the usable frames (their
    cache files with ``data.lazy``), the table of those frames, and notes on the left-out ones."""
    from lilaw_health.domains.pain.faces import extract_faces

    targets = list(zip(table["path"], _regions(table["region"])))
    faces = extract_faces(targets, cache_dir=cache, crop_size=opts.crop_size, max_yaw=opts.max_yaw,
                          workers=opts.workers, progress=LOGGER.isEnabledFor(logging.INFO), arrays=not opts.lazy)
    usable = faces.ok.copy()
    notes = [f"{dataset} frames: {line}" for line in faces.summary_lines()]
    paired = table["reference_path"].notna().to_numpy()
    references = None
    if paired.any():
        refs = list(zip(table["reference_path"].where(paired, table["path"]), _regions(table["reference_region"])))
        references = extract_faces(refs, cache_dir=cache, crop_size=opts.crop_size, max_yaw=opts.max_yaw,
                                   workers=opts.workers, arrays=not opts.lazy)
        lost = usable & paired & ~references.ok
        if lost.any():
            notes.append(f"{dataset}: {int(lost.sum())} frames left out because their neutral reference has no "
                         "usable face")
        usable &= ~paired | references.ok
        unpaired = usable & ~paired
        if unpaired.any():
            notes.append(f"{dataset}: {int(unpaired.sum())} frames have no neutral reference and are left out "
                         "(data.reference=none uses every frame without one)")
            usable &= paired
    if not usable.any():
        raise InputError(NO_FACES.format(dataset=dataset, counts=faces.counts()))
    for note in notes:
        LOGGER.info(note)
    if opts.lazy:
        return face_keys(faces, references, usable), table[usable].reset_index(drop=True), notes
    samples = {"image": crop_as_image(faces.crops[usable]),
               "landmarks": faces.landmarks[usable]}
    if references is not None:
        samples["reference_image"] = crop_as_image(references.crops[usable])
        samples["reference_landmarks"] = references.landmarks[usable]
    return samples, table[usable].reset_index(drop=True), notes


def _regions(values: pd.Series) -> list[str | None]:
    return [value if isinstance(value, str) else None for value in values]


def _split(table: pd.DataFrame, opts: PainOptions) -> tuple[np.ndarray, np.ndarray]:
    """The ``data.fold``-th subject-wise split of ``data.scheme`` (given folds fall back to k-fold
    when the data has none), checked for subjects on both sides."""
    scheme = opts.scheme
    if scheme == "given" and table["fold"].isna().all():
        scheme = "kfold"
    splits = folds.subject_folds(table, scheme=scheme, k=opts.k, seed=opts.split_seed)
    if not 0 <= opts.fold < len(splits):
        raise InputError(BAD_VALUE.format(arg="data.fold", expected=f"a split index in 0..{len(splits) - 1}",
                                          received=repr(opts.fold), fix=f"Scheme {scheme} gives {len(splits)} splits."))
    train, test = splits[opts.fold]
    folds.check_disjoint(table["subject"].iloc[train], table["subject"].iloc[test], where=f"split {opts.fold}")
    return np.asarray(train), np.asarray(test)


def _task_data(dataset: str, table: pd.DataFrame, samples: Samples, train: np.ndarray,
               test: np.ndarray, opts: PainOptions, notes: list[str]) -> TaskData:
    regression = opts.target == "pspi"
    if regression and table["pspi"].isna().any():
        raise InputError(f"{dataset}: data.target=pspi needs a PSPI for every frame; {int(table['pspi'].isna().sum())}"
                         " have only a binary label. Use data.target=pain.")
    targets = table["pspi"].to_numpy(np.float32) if regression else table["label"].to_numpy(np.int64)
    ids = [f"{Path(p).name}" + (f"#{r}" if isinstance(r, str) else "") for p, r in zip(table["path"], table["region"])]
    task = "regression" if regression else "classification"

    def part(pos: np.ndarray) -> Dataset:
        if isinstance(samples, list):
            return LazyDataset(FaceReader(), [samples[i] for i in pos], targets[pos], sample_ids=[ids[i] for i in pos],
                               task=task, fix=FACE_FIX)
        return ArrayDataset({k: v[pos] for k, v in samples.items()}, targets[pos], sample_ids=[ids[i] for i in pos],
                            task=task)

    demographics = [c for c in DEMOGRAPHICS if table[c].notna().any()]
    sensitive = table.iloc[test][demographics].fillna("unknown").astype(str).reset_index(drop=True)
    attributes = table.iloc[train][demographics].assign(identity=table["subject"].iloc[train].to_numpy())
    kind: dict[str, Any] = ({"n_classes": 1, "class_names": ["pspi"], "target_range": PSPI_RANGE} if regression
                            else {"n_classes": 2, "class_names": ["no pain", "pain"]})
    shape = (1, opts.crop_size, opts.crop_size) if isinstance(samples, list) else samples["image"].shape[1:]
    return TaskData(train=part(train), test=part(test), input_shape=shape, name=dataset,
                    card=load_card(CARDS[dataset]), task=task,
                    sensitive_test=sensitive if demographics else None,
                    sources=table["source"].iloc[train].to_numpy(dtype=object),
                    groups=table["subject"].iloc[train].to_numpy(dtype=object),
                    train_attributes=attributes.reset_index(drop=True).astype(object),
                    test_groups=table["subject"].iloc[test].to_numpy(dtype=object),
                    extras={"notes": notes, "frames": {"train": len(train), "test": len(test)}}, **kind)


def _report_notes(report: formats.LoadReport) -> list[str]:
    notes = [f"{report.source}: {report.rows} rows read"]
    notes += [f"{report.source}: {count} rows skipped ({reason})" for reason, count in report.skipped.items()]
    notes += [f"{report.source}: {count} x {check}" for check, count in report.checks.items()]
    return notes
