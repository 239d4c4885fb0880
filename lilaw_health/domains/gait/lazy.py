"""Walks read one file per access (``data.lazy: true``): the gait domain's use of
:class:`~lilaw_health.core.lazy.LazyDataset`.

The index in memory is the walk table (one row per walk: its ``.npy`` path, or its ``.npz``
export and the array in it, its mirrored copy's path, its score and id); :class:`WalkReader`
turns one row's :class:`WalkKey` into the
sample :func:`~lilaw_health.domains.gait.data.load_data` builds in memory for that walk
(normalised, padded or cropped features, mask, joints, mirrored features, embedding), with
the same functions, so a lazy and an in-memory run train on bit-identical batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from lilaw_health.core.errors import InputError
from lilaw_health.core.lazy import LazyDataset
from lilaw_health.domains.gait import formats, gaitgen
from lilaw_health.domains.gait.data import joint_positions, mirrored_walk
from lilaw_health.domains.gait.features import FEATURE_WIDTH

NOT_FINITE = ("{path}: the walk holds non-finite values (NaN or inf). Re-export it, or remove it from its set "
              "(its id from train.txt/test.txt, or its entry from the .npz export); data.lazy=false drops such "
              "walks at load (counted in the report).")
WALK_FIX = ("Restore or re-export the walk's .npy file, or remove its id from train.txt/test.txt and load the "
            "data again.")
NPZ_WALK_FIX = ("Re-export the GAITGen .npz (gaitgen.convert_gaitgen or write_gaitgen_npz), or read it into memory "
                "(data.lazy=false).")


class WalkKey(NamedTuple):
    """Where one walk is: its features file (and ``member``, its array in an ``.npz`` export), its
    mirrored copy (None: computed), its table row."""

    path: str
    mirror_path: str | None
    row: int
    member: str | None = None


@dataclass(frozen=True, eq=False)
class WalkReader:
    """One walk's file -> its sample dict (a small picklable object, for DataLoader workers).

    ``mean``/``std``: the set's normalisation (None: features as stored); ``joints``: add
    ``"joints"`` for 263-d features; ``mirror``: add ``"mirror_features"``; ``embeddings``
    (n_walks, D): add row ``key.row`` as ``"embedding"``.
    """

    max_frames: int
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    joints: bool = True
    mirror: bool = False
    embeddings: np.ndarray | None = None

    def __call__(self, key: WalkKey) -> dict[str, np.ndarray]:
        if key.member is None:
            features = formats.read_features(Path(key.path))
        else:
            features = gaitgen.read_npz_walk(key.path, key.member)
        if not np.isfinite(features).all():
            raise InputError(NOT_FINITE.format(path=key.path if key.member is None else f"{key.path} ({key.member})"))
        if self.mean is not None and self.std is not None:
            features = formats.normalise_features(features, self.mean, self.std)
        padded, mask = formats.pad_or_crop(features, self.max_frames)
        sample = {"features": padded, "mask": mask.astype(np.float32)}
        if self.joints and padded.shape[-1] == FEATURE_WIDTH:
            sample["joints"] = joint_positions(padded, mask, self.mean, self.std)
        if self.mirror:
            sample["mirror_features"] = mirrored_walk(padded, sample["mask"], key.mirror_path, self.mean, self.std)
        if self.embeddings is not None:
            sample["embedding"] = self.embeddings[key.row]
        return sample


def lazy_parts(walks: formats.WalkSet, opts: Any, embeddings: np.ndarray | None) -> Callable[[np.ndarray],
                                                                                              LazyDataset]:
    """``part(positions)``: a :class:`LazyDataset` of those walks of ``walks`` (indexed with
    ``read=False``), read as the gait options ``opts`` say."""
    table = walks.table
    mirrors = table["mirror_path"].tolist() if "mirror_path" in table else [None] * len(table)
    members = table["member"].tolist() if "member" in table else [None] * len(table)
    keys = [WalkKey(str(path), mirror if isinstance(mirror, str) else None, row,
                    member if isinstance(member, str) else None)
            for row, (path, mirror, member) in enumerate(zip(table["path"].tolist(), mirrors, members))]
    scores, ids = table["score"].to_numpy(np.int64), table["seq_id"].astype(str).tolist()
    reader = WalkReader(opts.max_frames, walks.mean, walks.std, joints=opts.joints, mirror=opts.mirror_files,
                        embeddings=embeddings)

    def part(positions: np.ndarray) -> LazyDataset:
        return LazyDataset(reader, [keys[i] for i in positions], scores[positions],
                           sample_ids=[ids[i] for i in positions], fix=NPZ_WALK_FIX if "member" in table else WALK_FIX)

    return part
