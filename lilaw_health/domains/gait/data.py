"""Gait data -> the core's :class:`~lilaw_health.core.data.TaskData`: walks, subject-wise split,
normalised features with a mask, joint positions for skeleton models.

Datasets (the recipe's ``dataset``):

- ``pd_gam``: PD-GaM as GAITGen reads it (``data.root``: ``new_joint_vecs/``, ``Mean.npy``,
  ``Std.npy``, ``train.txt``/``test.txt``, ``Annotations/Gait/``);
- ``gaitgen``: GAITGen's synthetic walks (``data.path``: its ``.npz`` export, or its pickle with
  ``data.trust_pickle: true``), normalised with the Mean/Std of ``data.root`` when given (the
  real set's, as when mixed into it);
- ``care_pd``: one CARE-PD cohort (``data.path``: its SMPL pickle, with the same opt-in, or
  its preprocessed H36M ``.npz``);
- ``demo`` and ``demo_gaitgen``: the PD-GaM and GAITGen layouts written by
  :mod:`~lilaw_health.domains.gait.generate` from a kinematic walking model into a folder per
  setting under ``data.root`` (default a cache folder), so that everything runs with no
  download; the GAITGen-style walks are normalised with the PD-GaM-style set's Mean/Std.
  Generated data.

A walk becomes ``{"features": (L, F), "mask": (L,)}`` (L = ``data.max_frames``, 200; padded or
cropped, mask 1 on real frames) plus, for 263-d HumanML3D features, ``"joints"`` (L, 22, 3):
the joint positions recovered from the features, relative to the root's ground position,
with ``data.mirror_files`` ``"mirror_features"`` (L, F) (PD-GaM's ``_M.npy`` copy, or computed),
which the ``mirror`` augmentation swaps in, and,
with ``data.embeddings`` (an .npz of ``ids`` and ``embedding`` from your own frozen motion
encoder), ``"embedding"`` (D,) for the ``mlp_head`` model. Splits
are by subject: the dataset's own train/test lists (``data.scheme: given``), k-fold or
leave-one-subject-out by subject; a subject never spans train and test (checked).

Walks larger than memory: with ``data.lazy: true``, the PD-GaM-layout datasets (``pd_gam``,
``demo``) and GAITGen's ``.npz`` export (``gaitgen``, ``demo_gaitgen``) keep only an index in
memory (the table, built from each walk's array header) and read a walk each time it is accessed
(:mod:`~lilaw_health.domains.gait.lazy`), with the same samples, bit for bit, as the in-memory
default. A walk with non-finite values, dropped and counted at load in memory, is then refused
when read (the error names its file). GAITGen's pickle and CARE-PD (``care_pd``: one pickle or
``.npz`` of SMPL poses, converted at load) are read into memory whatever ``data.lazy`` says
(logged), so a mixed run can still be lazy for its other walks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from torch.utils.data import Dataset

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import BAD_VALUE, InputError, unknown_name
from lilaw_health.core.options import options_from_mapping
from lilaw_health.core.paths import default_cache
from lilaw_health.data_cards import load_card
from lilaw_health.domains.gait import care_pd, folds, formats, gaitgen
from lilaw_health.domains.gait.features import FEATURE_WIDTH, features_to_joints

LOGGER = logging.getLogger(__name__)

DATASETS = ("pd_gam", "gaitgen", "care_pd", "demo", "demo_gaitgen")
CARDS = {"pd_gam": "pd-gam", "demo": "pd-gam", "gaitgen": "gaitgen", "demo_gaitgen": "gaitgen", "care_pd": "care-pd"}
CLASS_NAMES = ["0", "1", "2", "3"]
SOURCES = {"gaitgen": "gaitgen", "demo_gaitgen": "gaitgen"}  # every other dataset holds real walks
SCHEMES = ("given", "kfold", "loso")
GROUP_COLUMNS = ("sex", "age_band", "cohort")
NEEDS = "dataset {dataset} needs data.{key}: {what}. E.g. --set data.{key}={example}"
NO_TEST = ("{dataset}: scheme 'given' found no test walks (every walk is a training walk). Use data.scheme=kfold or "
           "loso, or load it as synthetic training data (mix.dataset).")


@dataclass(frozen=True)
class GaitOptions:
    """Validated ``data:`` options of the gait domain (see the module docstring)."""

    root: str | None = None
    path: str | None = None
    trust_pickle: bool = False
    source: str | None = None
    scheme: str = "given"
    fold: int = 0
    k: int = 5
    split_seed: int = 0
    min_frames: int = 30
    max_frames: int = 200
    joints: bool = True
    mirror_files: bool = False
    embeddings: str | None = None
    subjects: int = 24
    walks_per_subject: int = 6
    synthetic_walks: int = 120
    wrong_label_share: float = 0.2
    render_seed: int = 0
    lazy: bool = False  # read each walk's file per access (pd_gam, demo): see the module docstring

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise InputError(BAD_VALUE.format(arg="data.scheme", expected=f"one of {', '.join(SCHEMES)}",
                                              received=repr(self.scheme), fix=""))
        for name in ("k", "min_frames", "max_frames", "subjects", "walks_per_subject", "synthetic_walks"):
            if getattr(self, name) < 1:
                raise InputError(BAD_VALUE.format(arg=f"data.{name}", expected="a positive integer",
                                                  received=repr(getattr(self, name)), fix=""))

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any] | None) -> GaitOptions:
        return options_from_mapping(cls, options, kind="gait data")


def load_data(dataset: str, *, options: Mapping[str, Any] | None = None) -> TaskData:
    """Walks of ``dataset`` as structured samples, split by subject (see the module docstring)."""
    opts = GaitOptions.from_mapping(options)
    walks = walk_set(dataset, opts)
    lazy = opts.lazy and len(walks.table) > 0 and not walks.sequences  # indexed only: each walk read per access
    if opts.lazy and not lazy:
        LOGGER.info("data.lazy: %s was read into memory (walks are read per access from a .npy file each or "
                    "from GAITGen's .npz export, not from a pickle or CARE-PD)", dataset)
    train, test = _split(dataset, walks.table, opts)
    embeddings = (read_embeddings(opts.embeddings, walks.table["seq_id"].astype(str).tolist())
                  if opts.embeddings is not None else None)
    if lazy:
        from lilaw_health.domains.gait.lazy import lazy_parts

        return _task_data(dataset, walks, lazy_parts(walks, opts, embeddings), (opts.max_frames, FEATURE_WIDTH),
                          train, test, opts)
    samples = walk_samples(walks, opts)
    if opts.mirror_files:
        samples["mirror_features"] = mirrored_features(walks, samples)
    if embeddings is not None:
        samples["embedding"] = embeddings
    scores, ids = walks.table["score"].to_numpy(np.int64), walks.table["seq_id"].astype(str).tolist()

    def part(pos: np.ndarray) -> Dataset:
        return ArrayDataset({k: v[pos] for k, v in samples.items()}, scores[pos], sample_ids=[ids[i] for i in pos])

    return _task_data(dataset, walks, part, samples["features"].shape[1:], train, test, opts)


def walk_set(dataset: str, opts: GaitOptions) -> formats.WalkSet:
    """The dataset's walks (:mod:`~lilaw_health.domains.gait.formats`), generated first for the demos."""
    if dataset not in DATASETS:
        raise unknown_name("gait dataset", dataset, list(DATASETS), "Or convert your walks to PD-GaM's layout.")
    if dataset.startswith("demo"):
        return _demo(dataset, opts)
    if dataset == "pd_gam":
        if opts.root is None:
            raise InputError(NEEDS.format(dataset=dataset, key="root", what="the PD-GaM folder",
                                          example="data/HumanML3Drep_30fps"))
        return formats.load_pd_gam(opts.root, min_frames=opts.min_frames, max_frames=opts.max_frames,
                                   read=not opts.lazy)
    if opts.path is None:
        raise InputError(NEEDS.format(dataset=dataset, key="path", what="the file to read", example="walks.npz"))
    if dataset == "care_pd":
        return care_pd.load_care_pd(opts.path, trust_pickle=opts.trust_pickle, min_frames=opts.min_frames)
    return _normalised_gaitgen(opts.path, opts)


def _normalised_gaitgen(path: str | Path, opts: GaitOptions) -> formats.WalkSet:
    """GAITGen walks, normalised with the real set's Mean/Std when ``data.root`` names it."""
    walks = gaitgen.load_gaitgen(path, trust_pickle=opts.trust_pickle, source=opts.source or "gaitgen",
                                 min_frames=opts.min_frames, read=not opts.lazy)
    root = Path(opts.root) if opts.root else None
    if root is None or not (root / "Mean.npy").is_file():
        return walks
    mean, std = np.load(root / "Mean.npy", allow_pickle=False), np.load(root / "Std.npy", allow_pickle=False)
    sequences = [formats.normalise_features(seq, mean, std) for seq in walks.sequences]  # none when indexed only
    return formats.WalkSet(walks.table, sequences, walks.report, mean, std, opts.max_frames)


def _demo(dataset: str, opts: GaitOptions) -> formats.WalkSet:
    from lilaw_health.domains.gait import generate

    base = Path(opts.root) if opts.root else default_cache() / "gait_demo"
    real = base / f"pd_gam_s{opts.subjects}_w{opts.walks_per_subject}_seed{opts.render_seed}"
    if not (real / "Std.npy").is_file():
        LOGGER.info("writing the gait demo's PD-GaM-layout walks into %s (once)", real)
        generate.write_pd_gam(real, n_subjects=opts.subjects, walks_per_subject=opts.walks_per_subject,
                              seed=opts.render_seed)
    if dataset == "demo":
        return formats.load_pd_gam(real, min_frames=opts.min_frames, max_frames=opts.max_frames, read=not opts.lazy)
    synthetic = base / f"gaitgen_n{opts.synthetic_walks}_w{opts.wrong_label_share:g}_seed{opts.render_seed}"
    if not (synthetic / "render_truth.csv").is_file():  # written last
        LOGGER.info("writing the gait demo's GAITGen-style walks into %s (once)", synthetic)
        generate.write_gaitgen(synthetic / "gaitgen.npz", n_walks=opts.synthetic_walks, seed=opts.render_seed + 1,
                               wrong_label_share=opts.wrong_label_share)
    return _normalised_gaitgen(synthetic / "gaitgen.npz", GaitOptions(**{**opts.__dict__, "root": str(real)}))


def _split(dataset: str, table: pd.DataFrame, opts: GaitOptions) -> tuple[np.ndarray, np.ndarray]:
    subjects = table["subject"].astype(str).to_numpy()
    if opts.scheme == "given":
        train = np.flatnonzero(table["split"].to_numpy() != "test")
        test = np.flatnonzero(table["split"].to_numpy() == "test")
        if dataset in ("gaitgen", "demo_gaitgen", "care_pd") and not len(test):
            return train, test  # synthetic walks are training walks; a mixed run joins them all
        if not len(test):
            raise InputError(NO_TEST.format(dataset=dataset))
    else:
        splits = folds.subject_folds(subjects, scheme=opts.scheme, k=opts.k, seed=opts.split_seed,
                                     labels=table["score"].to_numpy())
        if not 0 <= opts.fold < len(splits):
            raise InputError(BAD_VALUE.format(arg="data.fold", expected=f"a split index in 0..{len(splits) - 1}",
                                              received=repr(opts.fold), fix=""))
        train, test = splits[opts.fold]
    folds.check_disjoint(subjects, np.asarray(train), np.asarray(test))
    return np.asarray(train), np.asarray(test)


def walk_samples(walks: formats.WalkSet, opts: GaitOptions) -> dict[str, np.ndarray]:
    """Padded features and masks of every walk, and joints recovered from 263-d features."""
    features, mask = walks.padded(opts.max_frames)
    samples = {"features": features, "mask": mask.astype(np.float32)}
    if opts.joints and features.shape[-1] == FEATURE_WIDTH:
        samples["joints"] = joint_positions(features, mask, walks.mean, walks.std)
    return samples


def joint_positions(features: np.ndarray, mask: np.ndarray, mean: np.ndarray | None,
                    std: np.ndarray | None) -> np.ndarray:
    """(..., L, 22, 3) float32 joints of padded (normalised) features (..., L, 263), relative to the
    root's ground position, zero on padding (``mask`` (..., L) bool)."""
    raw = features if mean is None else features * std + mean
    joints = features_to_joints(raw).astype(np.float32)
    joints[..., [0, 2]] -= joints[..., :1, [0, 2]]  # relative to the root's ground position
    return joints * mask[..., None, None]  # type: ignore[no-any-return]


def mirrored_features(walks: formats.WalkSet, samples: dict[str, np.ndarray]) -> np.ndarray:
    """(n, L, F) each walk's mirrored copy, padded like the walk: PD-GaM's ``_M.npy`` file where the
    walk has one, else computed by the ``mirror`` augmentation (e.g. GAITGen walks)."""
    import torch

    from lilaw_health.domains.gait.augment import mirror

    paths = walks.table["mirror_path"] if "mirror_path" in walks.table else pd.Series([None] * len(walks.table))
    out = np.empty_like(samples["features"])
    for i, path in enumerate(paths):
        out[i] = mirrored_walk(samples["features"][i], samples["mask"][i], path, walks.mean, walks.std)
    return out


def mirrored_walk(features: np.ndarray, mask: np.ndarray, mirror_path: Any, mean: np.ndarray | None,
                  std: np.ndarray | None) -> np.ndarray:
    """(L, F) the mirrored copy of one padded walk: its ``_M.npy`` file (normalised like the walk)
    when ``mirror_path`` names one, else computed by the ``mirror`` augmentation."""
    import torch

    from lilaw_health.domains.gait.augment import mirror

    if isinstance(mirror_path, str) and Path(mirror_path).is_file():
        copy = formats.read_features(Path(mirror_path))
        copy = copy if mean is None or std is None else formats.normalise_features(copy, mean, std)
        return formats.pad_or_crop(copy, len(features))[0]
    batch = {"features": torch.as_tensor(features[None]), "mask": torch.as_tensor(mask[None])}
    return mirror(batch, generator=torch.Generator(), p=1.0, feature_mean=mean,  # type: ignore[no-any-return]
                  feature_std=std)["features"][0].numpy()


EMBEDDINGS = ("{path}: {problem}. An embeddings file is an .npz with 'ids' (n,) str (the walks' seq_id) and "
              "'embedding' (n, D) float, e.g. numpy.savez(path, ids=ids, embedding=vectors) from your frozen encoder.")


def read_embeddings(path: str | Path, seq_ids: list[str]) -> np.ndarray:
    """(n_walks, D) float32: each walk's row of the user's embeddings file (for the ``mlp_head`` model)."""
    if not Path(path).is_file():
        raise InputError(EMBEDDINGS.format(path=path, problem="no such file"))
    with np.load(path, allow_pickle=False) as content:
        if not {"ids", "embedding"} <= set(content.files):
            raise InputError(EMBEDDINGS.format(path=path, problem=f"it holds {sorted(content.files)}"))
        ids, vectors = content["ids"].astype(str).tolist(), content["embedding"].astype(np.float32)
    if vectors.ndim != 2 or len(vectors) != len(ids):
        raise InputError(EMBEDDINGS.format(path=path, problem=f"'embedding' has shape {vectors.shape} for "
                                                               f"{len(ids)} ids"))
    row = {walk: i for i, walk in enumerate(ids)}
    missing = [walk for walk in seq_ids if walk not in row]
    if missing:
        raise InputError(EMBEDDINGS.format(path=path, problem=f"{len(missing)} walks have no embedding (first "
                                                               f"{missing[0]!r})"))
    return vectors[[row[walk] for walk in seq_ids]]


def _task_data(dataset: str, walks: formats.WalkSet, part: Callable[[np.ndarray], Dataset],
               input_shape: tuple[int, ...], train: np.ndarray, test: np.ndarray, opts: GaitOptions) -> TaskData:
    """``part(positions)``: the dataset of those walks (in memory, or read per access)."""
    table = walks.table
    scores = table["score"].to_numpy(np.int64)
    groups = [c for c in GROUP_COLUMNS if c in table and table[c].notna().any()]
    attributes = table.iloc[train][[c for c in ("subject", *groups) if c in table]].rename(
        columns={"subject": "walker"})
    attributes = attributes.assign(severity=scores[train].astype(str))
    notes = [walks.report.summary()]
    return TaskData(train=part(train), test=part(test), n_classes=4, class_names=CLASS_NAMES,
                    input_shape=tuple(input_shape), name=dataset, card=load_card(CARDS[dataset]),
                    sensitive_test=(table.iloc[test][groups].fillna("unknown").astype(str).reset_index(drop=True)
                                    if groups and len(test) else None),
                    sources=np.full(len(train), opts.source or SOURCES.get(dataset, "real"), dtype=object),
                    groups=table["subject"].iloc[train].astype(str).to_numpy(dtype=object),
                    train_attributes=attributes.reset_index(drop=True).astype(object),
                    test_groups=table["subject"].iloc[test].astype(str).to_numpy(dtype=object),
                    extras={"notes": notes, "feature_mean": walks.mean, "feature_std": walks.std})
