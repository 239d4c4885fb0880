"""What :func:`lilaw_health.domains.pain.faces.extract_faces` stores per image, and the table it returns.

One ``.npz`` file per item in the cache folder, named by :func:`cache_key`: the SHA-256 of the
file's bytes, the region and the crop size (and the extraction version), so a renamed or
copied file hits the cache and an edited one misses. Files are written atomically and read
with ``allow_pickle=False``; a cache file that cannot be read is logged and recomputed.
A record keeps the detection's own outcome (``ok``, ``no_face``, ``unreadable``); the head
yaw gate is applied when the table is built, so changing ``max_yaw`` re-extracts nothing.
``load_record(..., arrays=False)`` reads a record's outcome without its crop and landmarks, so
a table of outcomes and cache files (``FaceTable.files``) can index frames read one per access.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import numpy as np

from lilaw_health.core.checkpoint import atomic_write

LOGGER = logging.getLogger(__name__)

STATUSES = ("ok", "yaw", "no_face", "unreadable")
REGIONS = (None, "left", "right")
# bump when what an extraction stores or computes changes, so that old cache files miss
EXTRACTION_VERSION = "faces-1"
_LANDMARKS = 468

UNREADABLE = "{item}: cannot read the image ({reason}). Replace the file with a readable image, or drop the item."
NO_FACE = "{item}: MediaPipe Face Mesh found no face."
YAW_GATED = ("{item}: head yaw {yaw:.1f} degrees is beyond max_yaw {max_yaw:g}. Pass a larger max_yaw (or None) "
             "to keep turned heads.")


@dataclass(frozen=True, eq=False)
class FaceRecord:
    """The outcome of one extraction: ``status`` is ``ok``, ``no_face`` or ``unreadable``."""

    status: str
    landmarks: np.ndarray | None = None  # (468, 3) float32, normalised to the crop
    crop: np.ndarray | None = None  # (crop_size, crop_size) uint8
    yaw: float = float("nan")
    pitch: float = float("nan")
    roll: float = float("nan")
    notes: tuple[str, ...] = ()
    reason: str = ""  # why an unreadable file could not be read (without its name, which may change)


def crop_as_image(crops: np.ndarray) -> np.ndarray:
    """uint8 crops (..., S, S) as the model's image input: float32 in 0..1 with a channel axis
    (..., 1, S, S). The one conversion of the in-memory and the lazy (per-frame) paths."""
    return np.expand_dims(crops, -3).astype(np.float32) / 255.0


def cache_key(content: bytes, region: str | None, crop_size: int) -> str:
    """Hex SHA-256 of the file's bytes, the region, the crop size and the extraction version."""
    digest = hashlib.sha256(content)
    digest.update(f"|{region}|{crop_size}|{_extraction_version()}".encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _extraction_version() -> str:
    return f"{EXTRACTION_VERSION}|mediapipe {version('mediapipe')}"  # reading the version takes ~1 ms


def save_record(path: Path, record: FaceRecord) -> None:
    # few members: each one costs a zip lookup when read
    arrays = {"text": np.array([record.status, record.reason, *record.notes], dtype=str),
              "pose": np.array([record.yaw, record.pitch, record.roll])}
    if record.landmarks is not None and record.crop is not None:
        arrays.update(landmarks=record.landmarks, crop=record.crop)
    atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def load_record(path: Path, *, arrays: bool = True) -> FaceRecord | None:
    """The record stored at ``path`` (without its crop and landmarks unless ``arrays``); None when
    there is none or it cannot be read (then logged)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:  # an .npz reads a member only when asked for it
            status, reason, *notes = (str(text) for text in stored["text"])
            yaw, pitch, roll = (float(angle) for angle in stored["pose"])
            present = {"landmarks", "crop"} <= set(stored.files)
            landmarks, crop = (stored[name] if arrays and present else None for name in ("landmarks", "crop"))
        if status not in ("ok", "no_face", "unreadable") or (status == "ok") != present:
            raise ValueError(f"status {status!r} does not match the arrays stored")
        if landmarks is not None and landmarks.shape != (_LANDMARKS, 3):
            raise ValueError(f"landmarks of shape {landmarks.shape}")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        LOGGER.warning("face cache file %s cannot be read (%s); extracting the item again", path, error)
        return None
    return FaceRecord(status=status, landmarks=landmarks, crop=crop, yaw=yaw, pitch=pitch, roll=roll,
                      notes=tuple(notes), reason=reason)


def decode_image(content: bytes, region: str | None) -> np.ndarray:
    """The image in ``content`` as (H, W), (H, W, 3) or (H, W, 4) uint8, cut to ``region``.

    Raises whatever PIL raises for a file it cannot decode (OSError for truncated files), and
    ValueError for 16-bit and float images, which PIL would clip to 8 bits.
    """
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(content)) as opened:
        opened.load()
        if opened.mode.startswith(("I", "F")):
            raise ValueError(f"PIL mode {opened.mode} (16-bit or float pixels) is not read; save it as 8-bit")
        image = ImageOps.exif_transpose(opened)
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        pixels = np.asarray(image)
    half = pixels.shape[1] // 2
    return pixels[:, :half] if region == "left" else pixels[:, half:] if region == "right" else pixels


def unreadable_reason(error: BaseException) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):  # its message names a BytesIO object
        return "not an image file PIL can identify"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True, eq=False)
class FaceTable:
    """One row per item given to ``extract_faces``.

    Attributes
    ----------
    status : (n,) str
        ``ok``, ``yaw`` (a face turned beyond ``max_yaw``), ``no_face`` or ``unreadable``.
    landmarks : (n, 468, 3) float32
        Normalised to each crop; NaN rows where status is not ``ok``.
    crops : (n, crop_size, crop_size) uint8
        Eye-aligned grayscale crops; zeros where status is not ``ok``.
    yaw : (n,) float
        Head yaw in degrees, NaN when no face was found.
    notes : list of tuple of str
        Conversions made before detection, per item.
    errors : list of str
        Why an item is not ``ok`` (naming the file), ``""`` when it is.
    computed : int
        Items extracted by this call (files that could not be opened included); the others were
        read from the cache.
    max_yaw : float or None
        The yaw gate applied.
    """

    status: np.ndarray
    landmarks: np.ndarray
    crops: np.ndarray
    yaw: np.ndarray
    notes: list[tuple[str, ...]]
    errors: list[str]
    computed: int
    max_yaw: float | None = None
    # per item, its cache file ("" for a file that could not be opened); with landmarks and crops of no
    # rows when the table was built without them (extract_faces(..., arrays=False))
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        """(n,) bool: the items whose face passed every check."""
        return self.status == "ok"

    def counts(self) -> dict[str, int]:
        """Items per status, every status listed (0 when none)."""
        return {status: int(np.sum(self.status == status)) for status in STATUSES}

    def summary_lines(self) -> list[str]:
        """Human-readable lines for a report: counts per status, conversions, cache use."""
        counts = self.counts()
        skipped = [f"{count} {status}" for status, count in counts.items() if status != "ok" and count]
        lines = [f"faces: {counts['ok']} of {len(self.status)} items ok"
                 + (f" ({', '.join(skipped)})" if skipped else "")]
        if counts["yaw"]:
            lines.append(f"yaw gate: {counts['yaw']} of {counts['ok'] + counts['yaw']} faces have |yaw| above "
                         f"{self.max_yaw:g} degrees and are left out")
        for kind, count in sorted(Counter(_note_kind(note) for notes in self.notes for note in notes).items()):
            lines.append(f"{count} image{'s' if count != 1 else ''} {kind}")
        lines.append(f"{self.computed} items extracted now, {len(self.status) - self.computed} read from the cache")
        return lines


def _note_kind(note: str) -> str:
    return "upscaled before detection" if note.startswith("upscaled") else note


def build_table(records: list[FaceRecord], names: list[str], *, crop_size: int, max_yaw: float | None,
                computed: int, files: list[str] | None = None) -> FaceTable:
    """The table of ``records`` (one per item, named ``names``), with the yaw gate applied; with
    ``files`` (each item's cache file), without crops and landmarks (read from the files later)."""
    n = len(records) if files is None else 0
    status = np.array([record.status for record in records], dtype=object)
    landmarks = np.full((n, _LANDMARKS, 3), np.nan, dtype=np.float32)
    crops = np.zeros((n, crop_size, crop_size), dtype=np.uint8)
    errors = []
    for index, (record, name) in enumerate(zip(records, names, strict=True)):
        if record.status == "ok" and max_yaw is not None and not abs(record.yaw) <= max_yaw:
            status[index] = "yaw"
        if status[index] == "ok" and files is None:
            landmarks[index], crops[index] = record.landmarks, record.crop
        errors.append(_error_text(str(status[index]), record, name, max_yaw))
    return FaceTable(status=status.astype(str), landmarks=landmarks, crops=crops,
                     yaw=np.array([record.yaw for record in records], dtype=np.float64),
                     notes=[record.notes for record in records], errors=errors, computed=computed, max_yaw=max_yaw,
                     files=files or [])


def _error_text(status: str, record: FaceRecord, name: str, max_yaw: float | None) -> str:
    if status == "unreadable":
        return UNREADABLE.format(item=name, reason=record.reason)
    if status == "no_face":
        return NO_FACE.format(item=name)
    if status == "yaw":
        return YAW_GATED.format(item=name, yaw=record.yaw, max_yaw=max_yaw)
    return ""
