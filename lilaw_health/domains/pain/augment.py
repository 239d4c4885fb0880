"""Seeded augmentations of face batches: a horizontal flip, a small affine warp, colour jitter.

A batch is a mapping of tensors with a leading batch axis: ``image`` (batch, C, H, W) in
[0, 1] and/or ``landmarks`` (batch, 468, 2 or 3), MediaPipe Face Mesh points with x, y
normalised to the crop (0..1, continuous: x * W is a position in pixels) and z a relative
depth; for pairwise data also ``reference_image`` and ``reference_landmarks`` (a neutral
frame of the same person). Other keys pass through untouched.

Every transform decides per sample, with probability ``p``, whether to augment it (the
others are returned bit for bit), draws all its randomness on the CPU from ``generator``,
and gives a sample's reference frame the same decision and the same parameters as its
target, so a pair stays aligned (geometry) and lit alike (colour). Inputs are not modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from numbers import Real
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.registry import Registry

Batch = dict[str, Tensor]
Augmentation = Callable[..., Batch]
AUGMENTATIONS: Registry[Augmentation] = Registry(
    "pain augmentation", fix="Use one of them as name: in the recipe's augment list, or register a new one."
)

EXAMPLE = '[{"name": "hflip", "p": 0.5}, {"name": "affine", "degrees": 10}, {"name": "colour_jitter"}]'
IMAGE_KEYS = ("image", "reference_image")
LANDMARK_KEYS = ("landmarks", "reference_landmarks")
PADDING_MODES = ("zeros", "border", "reflection")
NOT_A_FACE_BATCH = ("the batch must be a mapping with an 'image' (batch, C, H, W) and/or 'landmarks' "
                    "(batch, n_landmarks, 2 or 3) tensor; received {received}. Load the pain data with images "
                    "or landmarks.")
NO_IMAGE = "{name} changes images, and the batch has none (keys: {keys}). Remove {name} from the augment list."


@AUGMENTATIONS.register("hflip")
def hflip(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5) -> Batch:
    """Mirror faces left to right: images flipped, landmarks x -> 1 - x and re-indexed.

    After the flip, the point that was landmark ``i`` is where landmark ``mirror[i]`` of the
    other side belongs (33, one outer eye corner, becomes 263), so landmarks are re-indexed
    with MediaPipe's mirror map (:func:`lilaw_health.domains.pain.faces.mirror_index`); z is
    unchanged.

    Parameters
    ----------
    x : mapping of str to Tensor
        ``image`` (batch, C, H, W) and/or ``landmarks`` (batch, 468, 2 or 3), optionally the
        ``reference_`` twins.
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample (with its reference) is flipped.

    Returns
    -------
    dict of str to Tensor, the shapes and dtypes of ``x``
    """
    batch = _check(x, generator, p)
    chosen = _choose(_size(batch), generator, p)
    out = dict(batch)
    for key in _present(batch, IMAGE_KEYS):
        out[key] = _where(chosen, batch[key].flip(-1), batch[key])
    for key in _present(batch, LANDMARK_KEYS):
        out[key] = _where(chosen, _flip_landmarks(batch[key]), batch[key])
    return out


@AUGMENTATIONS.register("affine")
def affine(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5, degrees: float = 10.0,
           scale: tuple[float, float] = (0.9, 1.1), translate: float = 0.05, padding: str = "border") -> Batch:
    """Rotate, scale and shift images and landmarks about the crop centre, consistently.

    Images are resampled bilinearly (``torch.nn.functional.grid_sample``); landmarks get the
    same map, so a landmark stays on the image feature it marks (z scales with the face).
    Landmarks may leave [0, 1]: they are not clipped.

    Parameters
    ----------
    x : mapping of str to Tensor
        As for :func:`hflip`.
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample (with its reference) is warped.
    degrees : float >= 0, default 10
        Rotation angle uniform in [-degrees, degrees].
    scale : (float, float), default (0.9, 1.1)
        Bounds of the uniform zoom factor (> 0; above 1 enlarges the face).
    translate : float >= 0, default 0.05
        Shift along each axis uniform in [-translate, translate], in crop widths / heights.
    padding : {"border", "zeros", "reflection"}, default "border"
        What fills the area that comes from outside the crop.

    Returns
    -------
    dict of str to Tensor, the shapes and dtypes of ``x``
    """
    batch = _check(x, generator, p, degrees=degrees, translate=translate)
    _require(isinstance(scale, Sequence) and len(scale) == 2 and all(_is_number(s) for s in scale)
             and 0 < scale[0] <= scale[1], "scale", "a pair (low, high) with 0 < low <= high", scale)
    _require(padding in PADDING_MODES, "padding", f"one of {', '.join(PADDING_MODES)}", padding)
    n = _size(batch)
    angle = torch.deg2rad(_uniform((n,), -degrees, degrees, generator=generator))
    zoom = _uniform((n,), *scale, generator=generator)
    shift = 2 * _uniform((n, 2), -translate, translate, generator=generator)  # in normalised [-1, 1] units
    chosen = _choose(n, generator, p)
    # Landmarks are normalised per axis like the image's grid, so they share its aspect (square without one).
    aspect = batch["image"].shape[-2] / batch["image"].shape[-1] if "image" in batch else 1.0
    matrix = _normalised_matrix(angle, zoom, aspect=aspect)
    out = dict(batch)
    for key in _present(batch, IMAGE_KEYS):
        out[key] = _where(chosen, _warp_images(batch[key], matrix, shift, padding=padding), batch[key])
    for key in _present(batch, LANDMARK_KEYS):
        out[key] = _where(chosen, _warp_landmarks(batch[key], matrix, shift, zoom), batch[key])
    return out


@AUGMENTATIONS.register("colour_jitter")
def colour_jitter(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5, brightness: float = 0.2,
                  contrast: float = 0.2, gamma: float = 0.2) -> Batch:
    """Change gamma, brightness and contrast of the images (landmarks untouched), clipped to [0, 1].

    In this order: ``image ** g``, times ``b``, then ``(image - mean) * c + mean`` with the
    image's mean over channels and pixels. A reference frame gets the same ``g``, ``b`` and
    ``c`` (its own mean), so the target-minus-reference difference still shows expression, not
    lighting.

    Parameters
    ----------
    x : mapping of str to Tensor
        Must hold ``image`` (batch, C, H, W) in [0, 1].
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample (with its reference) is changed.
    brightness : float in [0, 1], default 0.2
        ``b`` uniform in [1 - brightness, 1 + brightness].
    contrast : float in [0, 1], default 0.2
        ``c`` uniform in [1 - contrast, 1 + contrast].
    gamma : float in [0, 1), default 0.2
        ``g`` uniform in [1 - gamma, 1 + gamma].

    Returns
    -------
    dict of str to Tensor, the shapes and dtypes of ``x``
    """
    batch = _check(x, generator, p)
    for arg, value, high, closed in (("brightness", brightness, 1, True), ("contrast", contrast, 1, True),
                                     ("gamma", gamma, 1, False)):
        ok = _is_number(value) and 0 <= value and (value <= high if closed else value < high)
        _require(ok, arg, f"a number in [0, {high}{']' if closed else ')'}", value)
    if "image" not in batch:
        raise InputError(NO_IMAGE.format(name="colour_jitter", keys=sorted(batch)))
    n = _size(batch)
    factors = [_uniform((n, 1, 1, 1), 1 - amount, 1 + amount, generator=generator)
               for amount in (gamma, brightness, contrast)]
    chosen = _choose(n, generator, p)
    out = dict(batch)
    for key in _present(batch, IMAGE_KEYS):
        out[key] = _where(chosen, _jitter(batch[key], *factors), batch[key])
    return out


def _flip_landmarks(landmarks: Tensor) -> Tensor:
    if landmarks.shape[1] != 468:
        raise InputError(SHAPE.format(arg="landmarks", expected="(batch, 468, 2 or 3) for hflip's mirror map",
                                      received=tuple(landmarks.shape),
                                      fix="Use MediaPipe Face Mesh's 468 landmarks (refine_landmarks=False)."))
    flipped = landmarks[:, _mirror_index(landmarks.device)].clone()
    flipped[..., 0] = 1 - flipped[..., 0]
    return flipped


def _mirror_index(device: torch.device) -> Tensor:
    return _mirror_table().to(device)


@lru_cache(maxsize=1)
def _mirror_table() -> Tensor:
    from lilaw_health.domains.pain.faces import mirror_index  # faces imports cv2: only when a flip happens

    return torch.from_numpy(mirror_index()).long()


def _normalised_matrix(angle: Tensor, zoom: Tensor, *, aspect: float) -> Tensor:
    """(n, 2, 2): zoom times rotation in pixel units, written in [-1, 1] coordinates (D^-1 s R D).

    ``aspect`` is height / width; without it a rotation of a non-square crop would shear it.
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    rows = [torch.stack([cos, -sin * aspect], dim=-1), torch.stack([sin / aspect, cos], dim=-1)]
    return zoom.view(-1, 1, 1) * torch.stack(rows, dim=-2)


def _warp_images(images: Tensor, matrix: Tensor, shift: Tensor, *, padding: str) -> Tensor:
    """Resample so that the content at ``u`` moves to ``matrix @ u + shift`` ([-1, 1] coordinates)."""
    inverse = torch.linalg.inv(matrix)
    theta = torch.cat([inverse, -(inverse @ shift.unsqueeze(-1))], dim=-1)  # output -> input coordinates
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=False)


def _warp_landmarks(landmarks: Tensor, matrix: Tensor, shift: Tensor, zoom: Tensor) -> Tensor:
    """The image's map on landmarks: x, y in [0, 1] go to [-1, 1] (align_corners=False) and back."""
    points = 2 * landmarks[..., :2].double().cpu() - 1
    moved = (points @ matrix.transpose(1, 2) + shift.unsqueeze(1) + 1) / 2
    warped = landmarks.clone()
    warped[..., :2] = moved.to(device=landmarks.device, dtype=landmarks.dtype)
    if landmarks.shape[-1] == 3:
        warped[..., 2] = landmarks[..., 2] * zoom.view(-1, 1).to(device=landmarks.device, dtype=landmarks.dtype)
    return warped


def _jitter(images: Tensor, gamma: Tensor, brightness: Tensor, contrast: Tensor) -> Tensor:
    gamma, brightness, contrast = (_like(factor, images) for factor in (gamma, brightness, contrast))
    changed = images.clamp(0, 1) ** gamma * brightness
    mean = changed.mean(dim=(1, 2, 3), keepdim=True)
    return ((changed - mean) * contrast + mean).clamp(0, 1)


def _check(x: Any, generator: torch.Generator, p: float, **non_negative: float) -> Batch:
    """The batch as a dict after checking its parts, the generator, ``p`` and the options >= 0."""
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise InputError(BAD_VALUE.format(
            arg="generator", expected="a CPU torch.Generator", received=repr(generator),
            fix="Pass torch.Generator().manual_seed(seed); draws happen on the CPU and move to x's device."))
    _require(_is_number(p) and 0 <= p <= 1, "p", "a number in [0, 1]", p)
    for arg, value in non_negative.items():
        _require(_is_number(value) and value >= 0, arg, "a number >= 0", value)
    return _check_batch(x)


def _check_batch(x: Any) -> Batch:
    ranks = {"image": 4, "landmarks": 3}
    if not isinstance(x, Mapping) or not any(key in x for key in ranks):
        received = f"keys {sorted(x)}" if isinstance(x, Mapping) else _describe(x)
        raise InputError(NOT_A_FACE_BATCH.format(received=received))
    batch = dict(x)
    sizes = set()
    for key, rank in ranks.items():
        for name in (key, f"reference_{key}"):
            if name not in batch:
                continue
            part = batch[name]
            ok = isinstance(part, Tensor) and part.ndim == rank and part.is_floating_point()
            ok = ok and (key == "image" or part.shape[-1] in (2, 3))
            ok = ok and (name == key or key not in batch or part.shape == batch[key].shape)
            if not ok:
                expected = "(batch, C, H, W)" if key == "image" else "(batch, n_landmarks, 2 or 3)"
                raise InputError(SHAPE.format(arg=name, expected=f"{expected} of floats, as the target's",
                                              received=_describe(part), fix="Stack the face samples per key."))
            sizes.add(len(part))
    if len(sizes) > 1:
        raise InputError(SHAPE.format(arg="the batch's parts", expected="one batch size", received=sorted(sizes),
                                      fix="Stack the same samples in every part."))
    return batch


def _require(ok: bool, arg: str, expected: str, received: Any) -> None:
    if not ok:
        raise InputError(BAD_VALUE.format(arg=arg, expected=expected, received=repr(received),
                                          fix="Fix the value in the call or in the recipe's augment list.").strip())


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)} and dtype {x.dtype}" if shape is not None else repr(x)


def _size(batch: Batch) -> int:
    return len(batch["image"] if "image" in batch else batch["landmarks"])


def _present(batch: Batch, keys: tuple[str, ...]) -> list[str]:
    return [key for key in keys if key in batch]


def _uniform(shape: tuple[int, ...], low: float, high: float, *, generator: torch.Generator) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def _like(values: Tensor, x: Tensor) -> Tensor:
    return values.to(device=x.device, dtype=x.dtype)


def _choose(n: int, generator: torch.Generator, p: float) -> Tensor:
    """Which samples to augment; drawn after their parameters, so those do not depend on ``p``."""
    return torch.rand(n, generator=generator, dtype=torch.float64) < p


def _where(chosen: Tensor, augmented: Tensor, original: Tensor) -> Tensor:
    mask = chosen.to(original.device).view(-1, *([1] * (original.ndim - 1)))
    return torch.where(mask, augmented, original)


__all__ = ["AUGMENTATIONS", "EXAMPLE", "NOT_A_FACE_BATCH", "NO_IMAGE", "affine", "colour_jitter", "hflip"]
