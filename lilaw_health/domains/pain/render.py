"""Synthetic pain data from real face photos, written in the SynPAIN and the clinical frames + CSV layouts.

Faces are real photos shipped by scikit-image: ``skimage.data.astronaut()`` and the 100
LFW faces of ``skimage.data.lfw_subset()`` (25x25 grayscale, upscaled by the resampling).
An *identity* is one source photo plus a small seeded change of face shape and skin tone.
The clinical set draws from the astronaut and LFW faces 0-49, the SynPAIN set from LFW
faces 50-99, so the two never share a photo (LFW's subset carries no names and may show one
person on several photos: identities are disjoint by photo, not provably by person).

Pain is rendered as the facial actions PSPI counts, by a landmark-driven warp of the photo
(landmarks from :func:`lilaw_health.domains.pain.faces.detect_face`): AU4 lowers and draws
together the brows, AU6 raises the cheeks, AU6/AU7 raise the lower lids, AU9 wrinkles the
nose, AU10 raises the upper lip, AU43 closes the eyes; shading adds furrows and folds. A
PSPI value is split into integer AU intensities (:func:`au_intensities`) so that
PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43 holds exactly. Non-pain actions (AU1+2
brow raise, AU12 smile) give SynPAIN its expressive no-pain faces.

Geometry: each output pixel is mapped to the eye-aligned face frame (origin between the eye
centres, unit the inter-ocular distance, y down) through the identity's shape change and
the frame's pose jitter, then through the eyelid map (a piecewise-linear vertical map per
eye) and a smooth field of Gaussian-weighted landmark displacements, and sampled from the
photo. Everything is deterministic given the seed.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from lilaw_health.core.checkpoint import atomic_write, atomic_write_text
from lilaw_health.core.errors import BAD_VALUE, InputError

LOGGER = logging.getLogger(__name__)

SIZE = 160
PAIN_AUS = ("AU4", "AU6", "AU7", "AU9", "AU10", "AU43")
OTHER_AUS = ("AU1_2", "AU12")  # brow raise, smile: expressive, not counted by PSPI
POOLS = {"clinical": ("astronaut", *(f"lfw{i:02d}" for i in range(50))),
         "synpain": tuple(f"lfw{i:02d}" for i in range(50, 100))}
STYLES = ("clinical", "synpain")
NO_FACE = "source photo {name}: MediaPipe finds no face on it, so it cannot be rendered. Choose another photo."
TOO_MANY = ("{arg}={received} but only {available} {pool} source photos have a detectable face. Lower {arg}; "
            "each identity needs its own photo.")
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


def pspi_of(intensities: Mapping[str, float]) -> float:
    """PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43 (absent units count 0)."""
    au = {name: float(intensities.get(name, 0)) for name in PAIN_AUS}
    return au["AU4"] + max(au["AU6"], au["AU7"]) + max(au["AU9"], au["AU10"]) + au["AU43"]


def au_intensities(pspi: int, rng: np.random.Generator) -> dict[str, int]:
    """Integer AU intensities (AU43 0..1, the others 0..5) whose PSPI is ``pspi`` (0..16).

    Each PSPI unit goes to AU4, the AU6/7 pair, the AU9/10 pair or AU43 with probability in
    proportion to the room left, so intensities grow together with PSPI; in each pair one unit
    takes the pair's value and the other a random value up to it.
    """
    if not (isinstance(pspi, (int, np.integer)) and 0 <= pspi <= 16):
        raise InputError(BAD_VALUE.format(arg="pspi", expected="an integer in 0..16", received=repr(pspi), fix=""))
    room, given = np.array([5, 5, 5, 1]), np.zeros(4, dtype=int)
    for _ in range(int(pspi)):
        slot = rng.choice(4, p=(room - given) / (room - given).sum())
        given[slot] += 1
    au = {"AU4": int(given[0]), "AU43": int(given[3])}
    for (first, second), value in ((("AU6", "AU7"), given[1]), (("AU9", "AU10"), given[2])):
        other = int(rng.integers(0, value + 1))
        au[first], au[second] = (int(value), other) if rng.random() < 0.5 else (other, int(value))
    return au


def identities(pool: str, n: int, seed: int) -> list[Identity]:
    """``n`` identities from the source photos of ``pool`` ("clinical" or "synpain"), chosen and changed by ``seed``.

    Photos without a detectable face are passed over (logged).
    """
    if pool not in POOLS:
        raise InputError(BAD_VALUE.format(arg="pool", expected="'clinical' or 'synpain'", received=repr(pool), fix=""))
    order = np.random.default_rng([seed, 101, len(POOLS[pool])]).permutation(len(POOLS[pool]))
    found: list[Identity] = []
    for position in order:
        if len(found) == n:
            break
        name = POOLS[pool][position]
        if _landmarks(name) is None:
            LOGGER.info("source photo %s: no face detected; passed over", name)
            continue
        found.append(identity(name, seed=seed))
    if len(found) < n:
        raise InputError(TOO_MANY.format(arg="n", received=n, available=len(found), pool=pool))
    return found


def identity(name: str, *, seed: int = 0) -> Identity:
    """The identity made from source photo ``name`` ("astronaut" or "lfwNN", NN in 00..99) with ``seed``'s changes."""
    names = (*POOLS["clinical"], *POOLS["synpain"])
    if name not in names:
        raise InputError(BAD_VALUE.format(arg="name", expected="'astronaut' or 'lfw00'..'lfw99'", received=repr(name),
                                          fix=""))
    landmarks = _landmarks(name)
    if landmarks is None:
        raise InputError(NO_FACE.format(name=name))
    return _identity(name, landmarks, np.random.default_rng([seed, 202, names.index(name)]))


@cache
def _photo(name: str) -> np.ndarray:
    from skimage import data

    if name == "astronaut":
        return (data.astronaut() / 255.0).astype(np.float32)
    gray = data.lfw_subset()[int(name[3:])].astype(np.float32)
    return np.repeat(gray[:, :, None], 3, axis=2)


@cache
def _landmarks(name: str) -> np.ndarray | None:
    """(468, 2) landmarks of the photo in its pixels (x, y; pixel centres at integers), or None."""
    from lilaw_health.domains.pain.faces import detect_face

    photo = _photo(name)
    face = detect_face(photo)
    if face is None:
        return None
    height, width = photo.shape[:2]
    return face.image_landmarks[:, :2].astype(np.float64) * (width, height) - 0.5


def _identity(name: str, landmarks: np.ndarray, rng: np.random.Generator) -> Identity:
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


# ---------------------------------------------------------------- data sets on disk


def write_clinical(out_dir: str | Path, *, n_subjects: int, frames_per_subject: int, seed: int) -> Path:
    """Write a clinical-style frames folder and its CSV (read by ``formats.load_frames_csv``); return the CSV path.

    ``out_dir/frames/<subject>/<subject>_fNN.png`` (160x160 RGB), ``out_dir/frames.csv``
    (``path`` relative to it, ``subject``, ``pspi``, ``age``, ``gender``, ``cohort``) and
    ``out_dir/render_truth.csv`` (per frame: source photo and AU intensities). Each subject
    has one frame at PSPI 0, then PSPI 0 with probability 0.4, else uniform in 1..14, each
    with its own pose and lighting jitter. The demographics are ASSIGNED at random per
    subject from ``seed`` (age group, gender, cohort "dementia"/"no_dementia"): they are not
    attributes of the people photographed. ``frames.csv`` is written last, so its presence
    marks a complete folder.
    """
    _check_count("n_subjects", n_subjects)
    _check_count("frames_per_subject", frames_per_subject)
    out_dir = Path(out_dir)
    rows, truth = [], []
    for number, identity in enumerate(identities("clinical", n_subjects, seed)):
        rng = np.random.default_rng([seed, 303, number])
        subject = f"P{number + 1:03d}"
        person = {"age": ("Young", "Old")[rng.integers(2)], "gender": ("Man", "Woman")[rng.integers(2)],
                  "cohort": ("dementia", "no_dementia")[rng.integers(2)]}
        for frame in range(frames_per_subject):
            pspi = 0 if frame == 0 or rng.random() < 0.4 else int(rng.integers(1, 15))
            au = au_intensities(pspi, rng)
            relative = f"frames/{subject}/{subject}_f{frame:02d}.png"
            _save_image(out_dir / relative, render_face(identity, au, rng=rng), "PNG")
            rows.append({"path": relative, "subject": subject, "pspi": pspi, **person})
            truth.append({"path": relative, "subject": subject, "source_photo": identity.name, "pspi": pspi, **au})
    _save_csv(out_dir / "render_truth.csv", truth)
    return _save_csv(out_dir / "frames.csv", rows)


def write_synpain(out_dir: str | Path, *, n_identities: int, seed: int, wrong_label_share: float = 0.2,
                  domain_shift: bool = True) -> Path:
    """Write a SynPAIN-layout folder (read by ``formats.load_synpain``); return ``out_dir/SynPain``.

    One packed pair per identity, as SynPAIN's JPGs: ``SynPain/Images/<ID>_<Pain|NoPain>_
    <Man|Woman>_<Young|Old>.jpg``, 320x160, neutral face left, expressive face right (both
    with the same pose and lighting). Half the identities (seeded) show pain (PSPI 4..14),
    the others an expressive non-pain face (brow raise and/or smile). ``wrong_label_share``
    of the files (rounded) carry the wrong word and pain digit. ``SynPain_folds.txt`` puts
    the identities in min(5, n) folds (``fold k: ID ...``). ``domain_shift`` renders in the
    synthetic style (colour cast, smoothing, closer crop). ``out_dir/render_truth.csv``
    (outside the SynPAIN folder, not part of its format) records each file's true label,
    PSPI and AU intensities. Gender, age and race digits are ASSIGNED at random per identity
    from ``seed``, not attributes of the people photographed; IDs are ``1 p g a r`` and the
    identity's serial from 00001. ``render_truth.csv`` is written last, so its presence marks
    a complete folder.
    """
    _check_count("n_identities", n_identities)
    if not 0 <= wrong_label_share <= 1:
        raise InputError(BAD_VALUE.format(arg="wrong_label_share", expected="a share in 0..1",
                                          received=repr(wrong_label_share), fix="e.g. 0.2"))
    folder, rng = Path(out_dir) / "SynPain", np.random.default_rng([seed, 404])
    in_pain = rng.permutation(n_identities) < (n_identities + 1) // 2
    wrong = np.zeros(n_identities, dtype=bool)
    wrong[rng.choice(n_identities, size=round(wrong_label_share * n_identities), replace=False)] = True
    folds = rng.permutation(n_identities) % min(5, n_identities) + 1
    truth: list[dict[str, object]] = []
    fold_lines: dict[int, list[str]] = {}
    for number, identity in enumerate(identities("synpain", n_identities, seed)):
        person = np.random.default_rng([seed, 505, number])
        au = (au_intensities(int(person.integers(4, 15)), person) if in_pain[number]
              else {"AU1_2": int(person.integers(0, 6)), "AU12": int(person.integers(1, 6))})
        written = int(in_pain[number] != wrong[number])
        digits = f"1{written}{person.integers(2)}{person.integers(2)}{person.integers(5)}{number + 1:05d}"
        name = (f"{digits}_{('NoPain', 'Pain')[written]}_{('Man', 'Woman')[int(digits[2])]}_"
                f"{('Young', 'Old')[int(digits[3])]}.jpg")
        style, jitter_seed = ("synpain" if domain_shift else "clinical"), [seed, 606, number]
        halves = [render_face(identity, shown, rng=np.random.default_rng(jitter_seed), style=style)
                  for shown in ({}, au)]
        _save_image(folder / "Images" / name, np.concatenate(halves, axis=1), "JPEG")
        fold_lines.setdefault(int(folds[number]), []).append(digits)
        truth.append({"file": name, "id": digits, "subject": digits[0] + digits[2:], "source_photo": identity.name,
                      "written_label": written, "true_label": int(in_pain[number]), "wrong_label": int(wrong[number]),
                      "pspi": pspi_of(au), **{k: au.get(k, 0) for k in (*PAIN_AUS, *OTHER_AUS)}})
    text = "".join(f"fold {fold}: {' '.join(ids)}\n" for fold, ids in sorted(fold_lines.items()))
    atomic_write_text(folder / "SynPain_folds.txt", "# rendered by lilaw_health.domains.pain.render\n" + text)
    _save_csv(Path(out_dir) / "render_truth.csv", truth)
    return folder


def _check_count(arg: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(BAD_VALUE.format(arg=arg, expected="a positive integer", received=repr(value), fix=""))


def _save_image(path: Path, pixels: np.ndarray, fmt: str) -> None:
    from PIL import Image

    options = {"quality": 92} if fmt == "JPEG" else {}
    atomic_write(path, lambda handle: Image.fromarray(pixels).save(handle, format=fmt, **options))


def _save_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())
