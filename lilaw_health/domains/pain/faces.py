"""One face per image with MediaPipe Face Mesh: 468 landmarks, an eye-aligned grayscale crop, head pose.

:func:`detect_face` runs the legacy ``mediapipe.solutions.face_mesh.FaceMesh`` (its models
ship in the mediapipe 0.10.21 wheel, so it runs offline), then, as the face pipelines of
the pain lab do, aligns (a similarity transform putting the two eye centres on fixed points
of the crop), crops and converts to grayscale, and estimates the head pose with
``cv2.solvePnP`` on six landmarks (nose tip, chin, outer eye corners, mouth corners) against
MediaPipe's canonical 3-D face model. Images are first
brought to RGB uint8 (grayscale and RGBA converted, images whose short side is below
``min_size`` upscaled bicubically), and each conversion is stated in ``Face.notes``.
:func:`extract_faces` runs it over image files (or the left/right halves of side-by-side
pairs), with a content-keyed cache (:mod:`lilaw_health.domains.pain.face_cache`) and
optionally a pool of processes, and returns a :class:`FaceTable`.

Head pose is in degrees, in the camera frame (x right, y down, z away from the camera):
``yaw`` turns about the vertical axis, ``pitch`` about the horizontal one, ``roll`` in the
image plane; a face looking at the camera has all three near 0, and the mirror image of a
face has the opposite yaw and roll.

:func:`mirror_index` maps each landmark to its left/right twin, for horizontal flips of
landmarks. MediaPipe's canonical face model (``canonical_face_model.obj`` in the mediapipe
source tree, not shipped in the wheel) orders its vertices so that the table follows from
the midline alone: indices 0..247 hold the 28 midline vertices (x = 0) and 220 vertices of
one side, and 248..467 hold the mirror images of those 220, in the same order. The tests
check the table against the landmarks MediaPipe finds on a real face and on its mirror
image, and against the eye, eyebrow, lip and face-oval contours of ``face_mesh_connections``.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.domains.pain.face_cache import (REGIONS, FaceRecord, FaceTable, build_table, cache_key,
                                                  decode_image, load_record, save_record, unreadable_reason)

__all__ = ["LANDMARKS", "Face", "FaceTable", "detect_face", "extract_faces", "mirror_index"]

LOGGER = logging.getLogger(__name__)

LANDMARKS = 468
MIN_SIZE = 192  # upscale images whose short side is smaller: Face Mesh misses most faces in tiny images
# landmark indices; "left"/"right" are the image's sides for a face looking at the camera
NOSE_TIP, CHIN = 1, 152
EYE_OUTER = (33, 263)
EYE_INNER = (133, 362)
MOUTH_CORNERS = (61, 291)
_POSE_LANDMARKS = (NOSE_TIP, CHIN, *EYE_OUTER, *MOUTH_CORNERS)
# the six pose landmarks in MediaPipe's canonical face model (canonical_face_model.obj, centimetres), moved
# to the camera frame (y down, z away from the camera) with the nose tip at the origin
_POSE_MODEL = np.array([(0.0, 1.126865, -7.475604), (0.0, 9.403378, -4.264492), (-4.445859, -2.663991, -3.173422),
                        (4.445859, -2.663991, -3.173422), (-2.456206, 4.342621, -4.283884),
                        (2.456206, 4.342621, -4.283884)]) - (0.0, 1.126865, -7.475604)
# where the two eye centres land in the crop, as fractions of its side
_EYE_TARGETS = np.array([(0.33, 0.38), (0.67, 0.38)])
_MIDLINE = (0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 94, 151, 152, 164, 168, 175, 195, 197,
            199, 200)

Item = str | os.PathLike | tuple[str | os.PathLike, str | None]

IMAGE_FIX = "Pass an HxW (grayscale), HxWx3 (RGB) or HxWx4 (RGBA) array, uint8 or float in [0, 1]."

_face_mesh_lock = threading.Lock()
_face_mesh: Any = None


@dataclass(frozen=True, eq=False)  # eq=False: a field-wise == is ambiguous on arrays
class Face:
    """One detected face.

    Attributes
    ----------
    landmarks : (468, 3) float32
        x, y normalised to ``crop`` (0..1 inside it); z as MediaPipe gives it (relative depth).
    image_landmarks : (468, 3) float32
        x, y normalised to the original image; z as MediaPipe gives it.
    crop : (crop_size, crop_size) uint8
        Grayscale, eye-aligned crop.
    yaw, pitch, roll : float
        Head pose in degrees (see the module docstring).
    notes : tuple of str
        Conversions made before detection, e.g. ``"upscaled from 25x25 to 192x192"`` (height x width).
    """

    landmarks: np.ndarray
    image_landmarks: np.ndarray
    crop: np.ndarray
    yaw: float
    pitch: float
    roll: float
    notes: tuple[str, ...]


def detect_face(image: np.ndarray, *, crop_size: int = 112, min_size: int = MIN_SIZE) -> Face | None:
    """Landmarks, eye-aligned crop and head pose of the most prominent face, or None when there is none.

    Parameters
    ----------
    image : (H, W), (H, W, 3) RGB or (H, W, 4) RGBA array, uint8 or float in [0, 1]
    crop_size : side of the square grayscale crop, in pixels.
    min_size : images whose short side is smaller are upscaled (bicubic) to this short side first.
    """
    _check_positive_int("crop_size", crop_size, "112")
    _check_positive_int("min_size", min_size, "192")
    return _detect(image, crop_size, min_size)[0]


def extract_faces(items: Sequence[Item], *, cache_dir: str | os.PathLike, crop_size: int = 112,
                  max_yaw: float | None = 30.0, workers: int = 0, progress: bool = False,
                  arrays: bool = True) -> FaceTable:
    """:func:`detect_face` on each item's image file, reusing results stored in ``cache_dir``.

    Parameters
    ----------
    items : sequence of paths, or of (path, region) pairs
        ``region`` is ``"left"`` or ``"right"`` (that half of a side-by-side pair image) or None.
    cache_dir : folder of the cache, one ``.npz`` per item keyed by the file's content (created
        if missing); each result is written as soon as it is computed, so an interrupted run resumes.
    crop_size : side of the grayscale crops.
    max_yaw : faces with ``|yaw|`` above it get status ``"yaw"``; None keeps every face. Applied to
        cached results too, so changing it re-extracts nothing.
    workers : 0 extracts in this process; n > 0 in a pool of n processes (spawn), same results.
        Each process pays about 5 s of imports (torch, through ``lilaw_health.core``) and 1 s of
        MediaPipe start-up; in a script, call it under ``if __name__ == "__main__":``.
    progress : show a tqdm bar over the items being extracted.
    arrays : False keeps no crop and no landmarks in memory: the table holds each item's outcome
        and its cache file (``FaceTable.files``), to read the face from when it is needed.

    Returns
    -------
    FaceTable
        One row per item, in order. A file that cannot be read or decoded gets status
        ``"unreadable"`` and its error text; no item raises.
    """
    parsed = _parse_items(items)
    _check_extract_options(crop_size, max_yaw, workers)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    cached = [_cached(path, region, crop_size, cache, arrays=arrays) for path, region in parsed]
    keys, records = [key for key, _ in cached], [record for _, record in cached]
    pending = [index for index, record in enumerate(records) if record is None]
    jobs = [(str(parsed[index][0]), parsed[index][1], crop_size) for index in pending]
    for index, (key, record) in zip(pending, _extract_all(jobs, workers, progress), strict=True):
        if key is not None:
            save_record(cache / f"{key}.npz", record)
        records[index], keys[index] = record if arrays else replace(record, landmarks=None, crop=None), key
    names = [str(path) if region is None else f"{path} ({region} half)" for path, region in parsed]
    files = None if arrays else [str(cache / f"{key}.npz") if key else "" for key in keys]
    table = build_table([record for record in records if record is not None],  # all filled by now
                        names, crop_size=crop_size, max_yaw=max_yaw, computed=len(pending), files=files)
    for index in np.flatnonzero(table.status == "unreadable"):
        LOGGER.warning(table.errors[index])
    LOGGER.info("; ".join(table.summary_lines()))
    return table


def mirror_index() -> np.ndarray:
    """(468,) int: the index of each landmark's left/right twin; midline landmarks map to themselves.

    ``landmarks[mirror_index()]`` with x replaced by 1 - x are the landmarks of the mirrored
    image. The table is an involution (``m[m] == arange(468)``); see the module docstring
    for where it comes from.
    """
    return _mirror_table().copy()


@lru_cache(maxsize=1)
def _mirror_table() -> np.ndarray:
    one_side = np.array([index for index in range(248) if index not in _MIDLINE])
    table = np.arange(LANDMARKS)
    table[one_side] = 248 + np.arange(one_side.size)
    table[248 + np.arange(one_side.size)] = one_side
    return table


def _check_positive_int(name: str, value: object, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(BAD_VALUE.format(arg=name, expected="a positive integer", received=repr(value),
                                          fix=f"Pass e.g. {example}."))


def _check_extract_options(crop_size: object, max_yaw: object, workers: object) -> None:
    _check_positive_int("crop_size", crop_size, "112")
    if max_yaw is not None and not (isinstance(max_yaw, (int, float)) and 0 <= max_yaw < math.inf):
        raise InputError(BAD_VALUE.format(arg="max_yaw", expected="a number of degrees >= 0, or None",
                                          received=repr(max_yaw), fix="Pass e.g. 30.0, or None to keep every face."))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise InputError(BAD_VALUE.format(arg="workers", expected="an integer >= 0", received=repr(workers),
                                          fix="Pass 0 to extract in this process, or the number of processes."))


def _parse_items(items: Sequence[Item]) -> list[tuple[Path, str | None]]:
    if isinstance(items, (str, os.PathLike)):
        raise InputError(BAD_VALUE.format(arg="items", expected="a sequence of paths or (path, region) pairs",
                                          received=f"the single path {str(items)!r}", fix="Wrap it in a list."))
    parsed = []
    for position, item in enumerate(items):
        path, region = item if isinstance(item, tuple) and len(item) == 2 else (item, None)
        if not isinstance(path, (str, os.PathLike)) or region not in REGIONS:
            raise InputError(BAD_VALUE.format(
                arg=f"items[{position}]", expected="a path, or a (path, region) pair with region 'left', "
                "'right' or None", received=repr(item), fix="Pass e.g. 'face.jpg' or ('pair.jpg', 'left')."))
        parsed.append((Path(path), region))
    return parsed


def _cached(path: Path, region: str | None, crop_size: int, cache: Path, *,
            arrays: bool) -> tuple[str | None, FaceRecord | None]:
    """The item's cache key and its cached record (None if the file cannot be read or is not cached)."""
    try:
        content = path.read_bytes()
    except OSError:
        return None, None  # extracting it records why
    key = cache_key(content, region, crop_size)
    return key, load_record(cache / f"{key}.npz", arrays=arrays)


def _extract_all(jobs: list[tuple[str, str | None, int]], workers: int,
                 progress: bool) -> Iterator[tuple[str | None, FaceRecord]]:
    """(cache key or None, record) per job, in order, in this process or in a spawned pool."""
    from tqdm.auto import tqdm

    with tqdm(total=len(jobs), desc="faces", unit="image", disable=not progress) as bar:
        if workers == 0 or not jobs:
            for job in jobs:
                yield _extract_file(job)
                bar.update()
            return
        with multiprocessing.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
            for result in pool.imap(_extract_file, jobs):
                yield result
                bar.update()


def _extract_file(job: tuple[str, str | None, int]) -> tuple[str | None, FaceRecord]:
    """Read, decode and detect one item; the key is None when the file cannot be opened."""
    path, region, crop_size = job
    try:
        content = Path(path).read_bytes()
    except OSError as error:
        return None, FaceRecord("unreadable", reason=unreadable_reason(error))
    key = cache_key(content, region, crop_size)
    try:
        image = decode_image(content, region)
    except Exception as error:  # PIL's decoders raise OSError, SyntaxError, ValueError, struct.error...
        return key, FaceRecord("unreadable", reason=unreadable_reason(error))
    try:
        face, notes = _detect(image, crop_size, MIN_SIZE)
    except InputError as error:  # e.g. a half of a 1-pixel-wide image
        return key, FaceRecord("unreadable", reason=str(error))
    if face is None:
        return key, FaceRecord("no_face", notes=notes)
    return key, FaceRecord("ok", landmarks=face.landmarks, crop=face.crop, yaw=face.yaw, pitch=face.pitch,
                           roll=face.roll, notes=notes)


def _detect(image: np.ndarray, crop_size: int, min_size: int) -> tuple[Face | None, tuple[str, ...]]:
    """The face (or None) and the conversions made before detection."""
    rgb, notes = _as_rgb_uint8(image)
    rgb, notes = _upscale(rgb, min_size, notes)
    pixels = _detect_pixels(rgb)
    if pixels is None:
        return None, notes
    height, width = rgb.shape[:2]
    # MediaPipe's normalised coordinates put pixel i's centre at (i + 0.5) / size
    image_landmarks = np.column_stack([(pixels[:, 0] + 0.5) / width, (pixels[:, 1] + 0.5) / height, pixels[:, 2]])
    matrix = _alignment(pixels[:, :2], crop_size)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    crop = cv2.warpAffine(gray, matrix, (crop_size, crop_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)  # black beyond the image
    in_crop = (pixels[:, :2] @ matrix[:, :2].T + matrix[:, 2] + 0.5) / crop_size
    yaw, pitch, roll = _head_pose(pixels[:, :2], width, height)
    face = Face(landmarks=np.column_stack([in_crop, pixels[:, 2]]).astype(np.float32),
                image_landmarks=image_landmarks.astype(np.float32), crop=crop, yaw=yaw, pitch=pitch, roll=roll,
                notes=notes)
    return face, notes


def _as_rgb_uint8(image: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """``image`` as a contiguous (H, W, 3) uint8 RGB array, and the conversions made."""
    if not isinstance(image, np.ndarray):
        raise InputError(SHAPE.format(arg="image", expected="(H, W), (H, W, 3) or (H, W, 4)",
                                      received=type(image).__name__, fix=IMAGE_FIX))
    channels = image.shape[2] if image.ndim == 3 else 1 if image.ndim == 2 else 0
    if channels not in (1, 3, 4) or min(image.shape[:2], default=0) < 1:
        raise InputError(SHAPE.format(arg="image", expected="(H, W), (H, W, 3) or (H, W, 4)",
                                      received=image.shape, fix=IMAGE_FIX))
    pixels = _as_uint8(image)
    if channels == 1:
        return np.ascontiguousarray(np.repeat(pixels.reshape(*pixels.shape[:2], 1), 3, axis=2)), (
            "converted from grayscale",)
    if channels == 4:
        return np.ascontiguousarray(pixels[:, :, :3]), ("converted from RGBA",)
    return np.ascontiguousarray(pixels), ()


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind != "f":
        raise InputError(BAD_VALUE.format(arg="image dtype", expected="uint8 or float in [0, 1]",
                                          received=image.dtype, fix=IMAGE_FIX))
    low, high = (float(np.min(image)), float(np.max(image))) if np.isfinite(image).all() else (np.nan, np.nan)
    if not (low >= 0.0 and high <= 1.0):
        raise InputError(BAD_VALUE.format(arg="image values", expected="uint8 or float in [0, 1]",
                                          received=f"float values in [{low:g}, {high:g}]",
                                          fix="Divide 0..255 floats by 255, or pass uint8."))
    return np.round(image * 255.0).astype(np.uint8)


def _upscale(rgb: np.ndarray, min_size: int, notes: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    height, width = rgb.shape[:2]
    if min(height, width) >= min_size:
        return rgb, notes
    scale = min_size / min(height, width)
    size = (max(min_size, round(width * scale)), max(min_size, round(height * scale)))
    resized = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
    return resized, (*notes, f"upscaled from {height}x{width} to {size[1]}x{size[0]}")


def _detect_pixels(rgb: np.ndarray) -> np.ndarray | None:
    """(468, 3): x, y in pixels (pixel centres at integers), z as MediaPipe gives it; None without a face."""
    global _face_mesh
    with _face_mesh_lock:  # one FaceMesh per process, created on first use; it is not thread-safe
        if _face_mesh is None:
            from mediapipe.python.solutions.face_mesh import FaceMesh

            _face_mesh = FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
        result = _face_mesh.process(rgb)
    if not result.multi_face_landmarks:
        return None
    height, width = rgb.shape[:2]
    points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)
    return np.column_stack([points[:, 0] * width - 0.5, points[:, 1] * height - 0.5, points[:, 2]])


def _alignment(pixels: np.ndarray, crop_size: int) -> np.ndarray:
    """(2, 3) similarity transform putting the eye centres on ``_EYE_TARGETS`` of the crop."""
    eyes = np.stack([(pixels[EYE_OUTER[0]] + pixels[EYE_INNER[0]]) / 2,
                     (pixels[EYE_OUTER[1]] + pixels[EYE_INNER[1]]) / 2])
    targets = _EYE_TARGETS * crop_size - 0.5
    source, target = complex(*(eyes[1] - eyes[0])), complex(*(targets[1] - targets[0]))
    # the similarity as a complex factor: rotation + uniform scale, then a translation
    factor = target / source if source != 0 else 1.0
    linear = np.array([[factor.real, -factor.imag], [factor.imag, factor.real]])
    return np.column_stack([linear, targets[0] - linear @ eyes[0]])


def _head_pose(pixels: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from cv2.solvePnP on the six pose landmarks, for a pinhole camera of
    focal length ``width`` centred on the image."""
    camera = np.array([[width, 0.0, (width - 1) / 2], [0.0, width, (height - 1) / 2], [0.0, 0.0, 1.0]])
    points = np.ascontiguousarray(pixels[list(_POSE_LANDMARKS)], dtype=np.float64)
    # start from an upright face at the distance its eye span implies: without a start, the solver
    # sometimes lands on the upside-down solution of these six nearly coplanar points
    distance = width * (_POSE_MODEL[3, 0] - _POSE_MODEL[2, 0]) / max(np.linalg.norm(points[3] - points[2]), 1e-6)
    translation = np.array([*(points[0] - camera[:2, 2]) * distance / width, distance]).reshape(3, 1)
    found, rotation, _ = cv2.solvePnP(_POSE_MODEL, points, camera, np.zeros(4), rvec=np.zeros((3, 1)), tvec=translation,
                                      useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
    if not found:
        return float("nan"), float("nan"), float("nan")
    pitch, yaw, roll = (float(angle) for angle in cv2.RQDecomp3x3(cv2.Rodrigues(rotation)[0])[0])
    return yaw, pitch, roll
