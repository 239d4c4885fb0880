"""A face photo warped to show facial action units: :func:`render_face`, and the identities it draws.

Pain is rendered as the facial actions PSPI counts, by a landmark-driven warp of the photo
(landmarks from :func:`lilaw_health.domains.pain.faces.detect_face`): AU4 lowers and draws
together the brows, AU6 raises the cheeks, AU6/AU7 raise the lower lids, AU9 wrinkles the
nose, AU10 raises the upper lip, AU43 closes the eyes; shading adds furrows and folds.
The non-pain actions AU1+2 (brow raise) and AU12 (smile) are drawn the same way.

An :class:`Identity` (:func:`make_identity`, from a scikit-image photo chosen by
:mod:`~lilaw_health.domains.pain.render`) holds the photo's eye-aligned landmarks and a seeded
change of face shape and skin tone.

Geometry: each output pixel is mapped to the eye-aligned face frame (origin between the eye
centres, unit the inter-ocular distance, y down) through the identity's shape change and
the frame's pose jitter, then through the eyelid map (a piecewise-linear vertical map per
eye) and a smooth field of Gaussian-weighted landmark displacements, and sampled from the
photo. Everything is deterministic given the seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

from lilaw_health.core.errors import BAD_VALUE, InputError

SIZE = 160
PAIN_AUS = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
OTHER_AUS = ("AU1_2", "AU12")  # brow raise, smile: expressive, not counted by PSPI
STYLES = ("clinical", "synpain")
# eye centres this fraction of the side apart (the eye midpoint at 42% of the height): MediaPipe finds
# 96% of the rendered faces so framed, 78% at 0.36 (a face filling the frame is often missed)
_EYE_SPAN = 0.28
_SKIN_TONES = np.array([(1.00, 0.86, 0.76), (0.95, 0.78, 0.64), (0.84, 0.64, 0.49), (0.68, 0.50, 0.38),
                        (0.52, 0.38, 0.29)])

# MediaPipe Face Mesh landmark indices ("right" = the image's left side)
_BROWS = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
_INNER_BROWS = (66, 107, 65, 55, 296, 336, 295, 285)
_CHEEKS = (50, 101, 118, 117, 123, 187, 205, 36, 280, 330, 347, 346, 352, 411, 425, 266)
_NOSE_SIDES = (129, 98, 64, 48, 102, 358, 327, 294, 278, 331)
_NOSE_BRIDGE = (6, 197, 195, 5)
_UPPER_LIP = (0, 37, 39, 40, 185, 267, 269, 270, 409, 13, 82, 81, 80, 191, 312, 311, 310, 415)
_MOUTH_CORNERS = (61, 291)
_ANCHORS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
            149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109, 1, 4, 17, 14, 87, 317, 84, 314,
            33, 133, 362, 263, 168)
_EYES = ((33, 133, 159, 145), (263, 362, 386, 374))  # outer corner, inner corner, upper lid, lower lid


@dataclass(frozen=True, eq=False)
class Identity:
    """One rendered person: a source photo, its landmarks and a seeded shape and colour change."""

    name: str  # the source photo, e.g. "astronaut" or "lfw17" (skimage.data.lfw_subset()[17])
    centre: np.ndarray  # (2,) photo pixels (x, y): midpoint of the eye centres
    iod: float  # inter-ocular distance in photo pixels
    roll: float  # eye-line angle in radians
    aligned: np.ndarray  # (468, 2) landmarks in the eye-aligned frame (unit: iod, y down)
    shape: np.ndarray  # (2, 2) linear change of the face frame
    tint: np.ndarray  # (3,) per-channel gain (the LFW photos' skin tone, drawn apart from any demographic label)


@cache
def photo_landmarks(name: str) -> np.ndarray | None:
    """(468, 2) landmarks of the photo in its pixels (x, y; pixel centres at integers), or None."""
    from lilaw_health.domains.pain.faces import detect_face

    photo = _photo(name)
    face = detect_face(photo)
    if face is None:
        return None
    height, width = photo.shape[:2]
    return face.image_landmarks[:, :2].astype(np.float64) * (width, height) - 0.5


def make_identity(name: str, landmarks: np.ndarray, rng: np.random.Generator) -> Identity:
    """The identity of photo ``name`` from its ``landmarks`` (468, 2) (photo pixels), changed by ``rng``."""
    eyes = [(landmarks[outer] + landmarks[inner]) / 2 for outer, inner, _, _ in _EYES]
    centre, (dx, dy) = (eyes[0] + eyes[1]) / 2, eyes[1] - eyes[0]
    iod, roll = float(np.hypot(dx, dy)), float(np.arctan2(dy, dx))
    aligned = (landmarks - centre) @ _rotation(roll) / iod  # row vectors: x @ R == R^T x
    shape = np.eye(2) + np.array([[rng.uniform(-0.06, 0.06), rng.uniform(-0.04, 0.04)],
                                  [0.0, rng.uniform(-0.06, 0.06)]])
    photo = _photo(name)
    is_gray = bool(np.allclose(photo[:, :, 0], photo[:, :, 1]))
    tone = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] / 0.8 if is_gray else np.ones(3)
    tint = np.clip(tone * (1 + rng.normal(0, 0.03, 3)), 0.4, 1.4)
    return Identity(name, centre, iod, roll, aligned, shape, tint.astype(np.float32))


@cache
def _photo(name: str) -> np.ndarray:
    from skimage import data

    if name == "astronaut":
        return (data.astronaut() / 255.0).astype(np.float32)
    gray = data.lfw_subset()[int(name[3:])].astype(np.float32)
    return np.repeat(gray[:, :, None], 3, axis=2)


@cache
def _padded(name: str) -> tuple[np.ndarray, int]:
    """The photo framed by a blurred continuation of its borders (half its size on each side), and that margin.

    The photo fades into the blur over its outer tenth, so crops reaching past a tightly
    cropped photo (the 25x25 LFW faces) show a soft background, not a hard edge or a mirror.
    """
    from scipy.ndimage import gaussian_filter, zoom

    photo = _photo(name)
    margin = photo.shape[0] // 2
    edge = np.pad(photo, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
    step = max(1, margin // 8)  # blur a subsampled copy: the blur is wide, large photos would take seconds
    small = gaussian_filter(edge[::step, ::step], sigma=(margin / 3 / step, margin / 3 / step, 0))
    blurred = zoom(small, (edge.shape[0] / small.shape[0], edge.shape[1] / small.shape[1], 1), order=1)
    rows, cols = np.indices(edge.shape[:2]) - margin
    inward = np.minimum.reduce([rows, cols, photo.shape[0] - 1 - rows, photo.shape[1] - 1 - cols])
    alpha = np.clip((inward + 1) / max(2.0, 0.1 * photo.shape[0]), 0, 1)[:, :, None]
    return (alpha * edge + (1 - alpha) * blurred).astype(np.float32), margin


def _rotation(angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([[cos, -sin], [sin, cos]])


# ---------------------------------------------------------------- one frame


def render_face(identity: Identity, intensities: Mapping[str, float], *, rng: np.random.Generator | None = None,
                style: str = "clinical", size: int = SIZE) -> np.ndarray:
    """(size, size, 3) uint8 RGB face of ``identity`` showing the action units ``intensities``.

    ``intensities`` maps ``PAIN_AUS`` / ``OTHER_AUS`` names to 0..5 (AU43 0..1). ``rng``
    draws the frame's pose and lighting jitter (None: no jitter). ``style="synpain"`` adds
    the synthetic set's domain shift: a warm colour cast, smoother skin and a closer crop.
    """
    if style not in STYLES:
        raise InputError(BAD_VALUE.format(arg="style", expected=f"one of {STYLES}", received=repr(style), fix=""))
    jitter = _jitter(rng)
    zoom = 1.15 if style == "synpain" else 1.0
    grid = (np.stack(np.meshgrid(np.arange(size), np.arange(size)), axis=-1).reshape(-1, 2) + 0.5) / size
    local = grid - (0.5, 0.42)  # the eye midpoint sits at 42% of the height
    pose = jitter.scale * _rotation(jitter.angle)
    face = (local @ pose.T + jitter.shift) @ identity.shape.T / (_EYE_SPAN * zoom)
    au = {name: float(intensities.get(name, 0)) / (1.0 if name == "AU43" else 5.0) for name in (*PAIN_AUS, *OTHER_AUS)}
    source = _displace(_eyelids(face, identity.aligned, au), identity.aligned, au)
    pixels = _sample(identity, source) * _shading(source, identity.aligned, au)[:, None]
    image = pixels.reshape(size, size, 3) * identity.tint
    return _finish(image, local.reshape(size, size, 2), jitter, rng, style)


@dataclass(frozen=True)
class _Jitter:
    """One frame's head pose (in-plane angle in radians, scale, shift in crop sides) and lighting."""

    angle: float = 0.0
    scale: float = 1.0
    shift: tuple[float, float] = (0.0, 0.0)
    gain: float = 1.0
    gradient: float = 0.0  # left-to-right brightness slope
    gamma: float = 1.0


def _jitter(rng: np.random.Generator | None) -> _Jitter:
    if rng is None:
        return _Jitter()
    return _Jitter(angle=float(np.deg2rad(np.clip(rng.normal(0, 3), -6, 6))), scale=float(rng.uniform(0.96, 1.04)),
                   shift=(float(rng.uniform(-0.03, 0.03)), float(rng.uniform(-0.03, 0.03))),
                   gain=float(rng.uniform(0.85, 1.15)), gradient=float(rng.uniform(-0.3, 0.3)),
                   gamma=float(rng.uniform(0.9, 1.1)))


def _displacements(aligned: np.ndarray, au: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control points (destinations, forward displacements, widths) of the smooth field, in the face frame."""
    moves = np.zeros_like(aligned)
    width = np.full(len(aligned), 0.12)
    x = aligned[:, 0]
    brows, inner = list(_BROWS), list(_INNER_BROWS)
    moves[brows, 1] += 0.14 * au["AU4"] - 0.12 * au["AU1_2"]
    moves[brows, 0] -= 0.07 * au["AU4"] * np.sign(x[brows]) * np.clip(1 - np.abs(x[brows]), 0, 1)
    moves[inner, 1] += 0.04 * au["AU4"] + 0.04 * au["AU9"]
    moves[[9, 8, 151], 1] += 0.04 * au["AU4"]
    moves[list(_CHEEKS), 1] -= 0.07 * au["AU6"] + 0.03 * au["AU12"]
    sides = list(_NOSE_SIDES)
    moves[sides, 1] -= 0.06 * au["AU9"] + 0.03 * au["AU10"]
    moves[sides, 0] -= 0.02 * au["AU9"] * np.sign(x[sides])
    moves[list(_NOSE_BRIDGE), 1] -= 0.02 * au["AU9"]
    lip = list(_UPPER_LIP)
    moves[lip, 1] -= (0.09 * au["AU10"] + 0.02 * au["AU9"]) * np.clip(1.2 - np.abs(x[lip]) / 0.5, 0.4, 1)
    corners = list(_MOUTH_CORNERS)
    moves[corners, 1] -= 0.07 * au["AU12"] + 0.02 * au["AU10"]
    moves[corners, 0] += 0.07 * au["AU12"] * np.sign(x[corners])
    width[brows + list(_CHEEKS)] = 0.14
    width[lip + sides] = 0.08
    moved = np.flatnonzero(np.abs(moves).sum(axis=1) > 0)
    points = np.union1d(moved, [i for i in _ANCHORS if i not in set(moved)])
    return aligned[points] + moves[points], moves[points], width[points]


def _displace(face: np.ndarray, aligned: np.ndarray, au: Mapping[str, float]) -> np.ndarray:
    """Backward map of the smooth field: the neutral-face point each output point shows.

    The field is computed on a grid of the face frame (step 0.05 inter-ocular distances, a
    third of its narrowest Gaussian, over the face) and interpolated linearly at ``face``;
    it is zero off the grid, far from every moved landmark.
    """
    from scipy.ndimage import map_coordinates

    targets, moves, width = _displacements(aligned, au)
    if not np.abs(moves).any():
        return face
    step, xs, ys = 0.05, np.arange(-1.8, 1.8001, 0.05), np.arange(-1.5, 2.1001, 0.05)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    distance = (grid**2).sum(1)[:, None] + (targets**2).sum(1)[None, :] - 2 * grid @ targets.T
    weight = np.exp(-np.maximum(distance, 0) / (2 * width**2))
    field = ((weight @ moves) / (weight.sum(axis=1, keepdims=True) + 0.05)).reshape(len(ys), len(xs), 2)
    where = [(face[:, 1] - ys[0]) / step, (face[:, 0] - xs[0]) / step]
    return face - np.stack([map_coordinates(field[:, :, c], where, order=1, mode="constant") for c in (0, 1)], 1)


def _eyelids(face: np.ndarray, aligned: np.ndarray, au: Mapping[str, float]) -> np.ndarray:
    """Backward map closing the eyes: lids move vertically, blended out towards the eye corners."""
    face = face.copy()
    for outer, inner, upper, lower in _EYES:
        top, bottom = aligned[upper, 1], aligned[lower, 1]
        height = max(bottom - top, 0.04)
        new_bottom = bottom - height * (0.3 * au["AU7"] + 0.2 * au["AU6"])
        new_top = min(top + height * (0.85 * au["AU43"] + 0.12 * au["AU7"]), new_bottom - 0.1 * height)
        if new_top == top and new_bottom == bottom:
            continue
        middle = (aligned[outer, 0] + aligned[inner, 0]) / 2
        half = 0.6 * abs(aligned[outer, 0] - aligned[inner, 0])
        offset = np.clip((face[:, 0] - middle) / half, -1, 1)
        blend = np.cos(np.pi / 2 * offset) ** 2
        # identity outside 1.5 eye heights above and below the eye
        knots_out = [-1e3, top - 1.5 * height, new_top, new_bottom, bottom + 1.5 * height, 1e3]
        knots_in = [-1e3, top - 1.5 * height, top, bottom, bottom + 1.5 * height, 1e3]
        face[:, 1] += blend * (np.interp(face[:, 1], knots_out, knots_in) - face[:, 1])
    return face


def _shading(face: np.ndarray, aligned: np.ndarray, au: Mapping[str, float]) -> np.ndarray:
    """Multiplicative darkening of the furrows and folds the action units make (1 = unchanged)."""
    glabella = (aligned[107] + aligned[336]) / 2 + (0, 0.08)
    blobs = [(glabella + (dx, 0), (0.03, 0.09), 0.15 * au["AU4"]) for dx in (-0.05, 0.05)]
    blobs += [(aligned[168] + (0, dy), (0.08, 0.02), 0.12 * au["AU9"]) for dy in (-0.04, 0.0, 0.04)]
    for side, corner, eye in ((129, 61, 33), (358, 291, 263)):
        fold = 0.6 * aligned[side] + 0.4 * aligned[corner]
        blobs.append((fold, (0.035, 0.10), 0.2 * max(au["AU10"], 0.6 * au["AU6"])))
        outward = np.sign(aligned[eye, 0]) * 0.12
        blobs.append((aligned[eye] + (outward, 0.02), (0.05, 0.05), 0.12 * au["AU6"]))
    dark = np.zeros(len(face))
    for centre, (sx, sy), amount in blobs:
        if amount > 0:
            along_x, along_y = (face[:, 0] - centre[0]) / sx, (face[:, 1] - centre[1]) / sy
            dark += amount * np.exp(-(along_x**2 + along_y**2) / 2)
    return 1 - np.clip(dark, 0, 0.6)


def _sample(identity: Identity, face: np.ndarray) -> np.ndarray:
    """(n, 3) photo colours at the face-frame points ``face``."""
    from scipy.ndimage import map_coordinates

    photo, margin = _padded(identity.name)
    points = face @ _rotation(identity.roll).T * identity.iod + identity.centre + margin  # (x, y) padded pixels
    order = 3 if photo.shape[0] < 100 else 1  # cubic for the 25x25 LFW faces, linear for large photos
    return np.stack([map_coordinates(photo[:, :, c], [points[:, 1], points[:, 0]], order=order, mode="nearest")
                     for c in range(3)], axis=1)


def _finish(image: np.ndarray, local: np.ndarray, jitter: _Jitter, rng: np.random.Generator | None,
            style: str) -> np.ndarray:
    """Lighting jitter, the synthetic style's shift and sensor noise, then uint8."""
    light = jitter.gain * (1 + jitter.gradient * local[:, :, :1])
    image = np.clip(image * light, 0, 1) ** jitter.gamma
    if style == "synpain":
        from scipy.ndimage import gaussian_filter

        image = gaussian_filter(image, sigma=(1.0, 1.0, 0)) * (1.10, 1.0, 0.84) * 1.06
        image = image.mean(axis=2, keepdims=True) + 1.25 * (image - image.mean(axis=2, keepdims=True))
    elif rng is not None:
        image = image + rng.normal(0, 0.012, image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
