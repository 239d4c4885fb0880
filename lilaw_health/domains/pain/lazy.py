"""Frames read one face per access (``data.lazy: true``): the pain domain's use of
:class:`~lilaw_health.core.lazy.LazyDataset`.

Faces are extracted (or found in the content-keyed face cache) as in memory, but only each
frame's outcome and cache file are kept (``extract_faces(..., arrays=False)``); a frame's
sample is read from its cache file (and its neutral reference's) when the frame is accessed,
with the conversion the in-memory path makes (:func:`~.face_cache.crop_as_image`), so both give the same
samples bit for bit. Loading still reads every image file once to find its cache entry (the
cache is keyed by the file's content), without holding the images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from lilaw_health.core.errors import InputError
from lilaw_health.domains.pain.face_cache import FaceTable, crop_as_image, load_record

FACE_RECORD = ("{path}: {problem}; it is the face cache file of a frame indexed when the data was loaded. Load the "
               "data again (missing faces are extracted into the cache again), and keep data.cache in place while "
               "a run reads it.")
FACE_FIX = "Load the data again, so that its index and the face cache agree."


class FaceKey(NamedTuple):
    """A frame's face cache file, and its neutral reference's (None when unpaired)."""

    record: str
    reference: str | None


@dataclass(frozen=True)
class FaceReader:
    """A frame's cache files -> ``{"image": (1, S, S), "landmarks": (468, 3)}`` (plus
    ``reference_image`` / ``reference_landmarks`` when the key has a reference); picklable."""

    def __call__(self, key: FaceKey) -> dict[str, np.ndarray]:
        sample = _face(key.record, "")
        if key.reference is not None:
            sample.update(_face(key.reference, "reference_"))
        return sample


def _face(path: str, prefix: str) -> dict[str, np.ndarray]:
    if not Path(path).is_file():
        raise InputError(FACE_RECORD.format(path=path, problem="no such file"))
    record = load_record(Path(path))
    if record is None or record.crop is None or record.landmarks is None:
        problem = "it cannot be read (see the warning above)" if record is None else f"its face is {record.status!r}"
        raise InputError(FACE_RECORD.format(path=path, problem=problem))
    return {f"{prefix}image": crop_as_image(record.crop), f"{prefix}landmarks": record.landmarks}


def face_keys(faces: FaceTable, references: FaceTable | None, usable: np.ndarray) -> list[FaceKey]:
    """The keys of the usable frames, from tables built with ``arrays=False``."""
    return [FaceKey(faces.files[i], references.files[i] if references is not None else None)
            for i in np.flatnonzero(usable)]
