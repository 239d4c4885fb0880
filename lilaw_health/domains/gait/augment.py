"""Seeded augmentations of gait batches: mirror, temporal crop, speed, jitter, rotation.

A batch is a dict of tensors with a leading batch dimension: ``mask`` (batch, L), 1 for real
frames then 0 for padding, and ``features`` (batch, L, 263) HumanML3D features and/or
``joints`` (batch, L, 22, 3) root-relative joint positions; ``mirror_features`` (batch, L, 263),
the dataset's mirrored copy of each walk, is optional. Other keys (``embedding``) pass through.

Every augmentation returns a new dict, augments each sample independently with probability
``p`` (the others are returned bit for bit), zeroes the padded frames of the samples it
changes, and draws all its randomness on the CPU from ``generator``, every sample's draws
whether or not it is chosen (so the augmented samples do not depend on ``p``).

Normalised features. ``mirror``, ``rotate`` and ``speed`` change features in physical units.
Given the per-feature ``feature_mean`` and ``feature_std`` the features were normalised with,
they un-normalise, transform and normalise again: exact. Without them they transform the
values as given, which is exact for un-normalised features; on normalised features the mirror
is still exact when the statistics are mirror-symmetric (HumanML3D's ``Mean.npy``/``Std.npy``,
computed over walks and their mirrors, nearly are), while rotation and the speed's velocity
scaling are then approximations. :func:`with_feature_stats` adds the statistics to recipe entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from numbers import Real
from typing import Any

import torch
from torch import Tensor

from lilaw_health.core.augment import option_names
from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.domains.gait.features import (
    FEATURE_WIDTH,
    FOOT_CONTACT,
    LOCAL_VEL,
    RIC,
    ROOT_LIN_VEL,
    ROOT_ROT_VEL,
    ROT6D,
)
from lilaw_health.domains.gait.models import real_lengths
from lilaw_health.domains.gait.skeleton import FOOT_LEFT, FOOT_RIGHT, MIRROR, N_JOINTS

Batch = dict[str, Tensor]
AUGMENTATIONS: Registry[Callable[..., Batch]] = Registry(
    "gait augmentation", fix="Use one of them as name: in the recipe's augment list, or register a new one."
)

NOT_A_BATCH = ("gait augmentation {name!r} takes a batch dict with 'mask' (batch, L) and 'features' "
               "(batch, L, 263) and/or 'joints' (batch, L, 22, 3); received {received}. Augment the gait "
               "domain's samples, or leave augment out of the recipe for 'embedding' inputs.")
BAD_PART = "{arg} must have shape {expected} to match mask {mask}; received {received}. {fix}"
OPTION_FIX = "Fix the value in the call or in the recipe's augment list."

# Mirroring x -> -x turns a rotation R into M R M (M = diag(-1, 1, 1)); on its first two columns,
# the 6-D representation, that flips these signs (the same pattern holds for the first two rows).
ROTATION_6D_MIRROR_SIGN = (1.0, -1.0, -1.0, -1.0, 1.0, 1.0)
FEATURE_KEYS = ("features", "mirror_features")


def _feature_mirror() -> tuple[Tensor, Tensor]:
    """Source index and sign of every feature of the mirrored walk, (263,) each."""
    index, sign = [0, 1, 2, 3], [-1.0, -1.0, 1.0, 1.0]  # the root's turn and lateral velocity flip
    for start, width, signs, first in ((RIC.start, 3, (-1.0, 1.0, 1.0), 1),
                                       (ROT6D.start, 6, ROTATION_6D_MIRROR_SIGN, 1),
                                       (LOCAL_VEL.start, 3, (-1.0, 1.0, 1.0), 0)):
        for joint in range(first, N_JOINTS):
            index += [start + width * (int(MIRROR[joint]) - first) + k for k in range(width)]
            sign += list(signs)
    contact_joints = list(FOOT_LEFT + FOOT_RIGHT)
    index += [FOOT_CONTACT.start + contact_joints.index(int(MIRROR[joint])) for joint in contact_joints]
    sign += [1.0] * len(contact_joints)
    return torch.tensor(index), torch.tensor(sign, dtype=torch.float64)


MIRROR_INDEX, MIRROR_SIGN = _feature_mirror()
JOINT_MIRROR = torch.tensor(MIRROR)
# (x, z) feature pairs turned about the vertical axis: root velocity, ric, local velocities.
_XZ = [(ROOT_LIN_VEL.start, ROOT_LIN_VEL.start + 1)] \
    + [(RIC.start + 3 * j, RIC.start + 3 * j + 2) for j in range(N_JOINTS - 1)] \
    + [(LOCAL_VEL.start + 3 * j, LOCAL_VEL.start + 3 * j + 2) for j in range(N_JOINTS)]
ROTATE_X, ROTATE_Z = torch.tensor([x for x, _ in _XZ]), torch.tensor([z for _, z in _XZ])
VELOCITY_INDEX = torch.tensor([*range(ROOT_ROT_VEL.start, ROOT_LIN_VEL.stop), *range(LOCAL_VEL.start, LOCAL_VEL.stop)])


@AUGMENTATIONS.register("mirror")
def mirror(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5,
           feature_mean: Any = None, feature_std: Any = None) -> Batch:
    """Swap left and right: the walk seen in a mirror (x -> -x).

    ``features``: left/right joint blocks swap in the ric, 6-D rotation and velocity slices
    and in the foot contacts; x components, the root's turning velocity and its lateral
    velocity change sign; 6-D rotations R become M R M. When the batch has ``mirror_features``
    (the dataset's mirrored copy), the chosen samples take those instead (and keep their own
    features as the new ``mirror_features``). ``joints``: x negated and left/right swapped.

    Parameters
    ----------
    x : dict of Tensor
        The batch (see the module docstring).
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
        Probability that a sample is mirrored.
    feature_mean, feature_std : array-like (263,), optional
        The features' normalisation statistics (see the module docstring).

    Returns
    -------
    dict of Tensor, the keys and shapes of ``x``
    """
    parts, mask = _check_batch(x, "mirror", p=p, generator=generator, needs_layout=True)
    stats = _stats(feature_mean, feature_std)
    out: Batch = {}
    if "joints" in parts:
        joints = parts["joints"][:, :, JOINT_MIRROR.to(mask.device)]
        out["joints"] = joints * _like(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64), joints)
    if "mirror_features" in parts and "features" in parts:
        out["features"], out["mirror_features"] = parts["mirror_features"], parts["features"]
    elif "features" in parts:
        out["features"] = _edit_features(parts["features"], stats, _mirror_physical)
    return _choose(x, _zero_padding(out, mask), generator=generator, p=p)


@AUGMENTATIONS.register("temporal_crop")
def temporal_crop(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5,
                  min_fraction: float = 0.8) -> Batch:
    """Keep a random contiguous run of the real frames, moved to the start and re-padded to L.

    Parameters
    ----------
    x : dict of Tensor
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
    min_fraction : float in (0, 1], default 0.8
        The crop keeps between ``round(min_fraction * n)`` (at least 1) and ``n`` of a sample's
        ``n`` real frames, uniformly; its start is uniform over the places it fits.

    Returns
    -------
    dict of Tensor, the keys and shapes of ``x``; ``mask`` marks the kept frames.
    """
    parts, mask = _check_batch(x, "temporal_crop", p=p, generator=generator)
    _require(_is_number(min_fraction) and 0 < min_fraction <= 1, "min_fraction", "a number in (0, 1]",
             min_fraction)
    lengths = real_lengths(mask).cpu().to(torch.float64)
    shortest = (min_fraction * lengths).round().clamp_min(1)
    kept = (shortest + (torch.rand(len(mask), generator=generator, dtype=torch.float64)
                        * (lengths - shortest + 1)).floor()).minimum(lengths)
    start = (torch.rand(len(mask), generator=generator, dtype=torch.float64) * (lengths - kept + 1)).floor()
    positions = start[:, None] + torch.arange(mask.shape[1], dtype=torch.float64)
    return _choose(x, _retime(parts, positions, kept), generator=generator, p=p)


@AUGMENTATIONS.register("speed")
def speed(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5, low: float = 0.8,
          high: float = 1.2, feature_mean: Any = None, feature_std: Any = None) -> Batch:
    """Walk faster or slower: resample the real frames linearly in time by a factor in [low, high].

    A factor ``s`` reads the walk at frames 0, s, 2s, ...: ``s > 1`` shortens it to
    ``floor((n - 1) / s) + 1`` frames, ``s < 1`` lengthens it (cut at L). The per-frame
    velocities of the features (root turning and linear velocity, local joint velocities) are
    multiplied by ``s``, as a walk played ``s`` times faster moves ``s`` times further per frame;
    foot contacts take the nearest frame's value (they stay 0/1), 6-D rotations are
    interpolated linearly (like the positions).

    Parameters
    ----------
    x : dict of Tensor
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
    low, high : float, 0 < low <= high, default 0.8 and 1.2
        Bounds of the uniform speed factor, one per sample.
    feature_mean, feature_std : array-like (263,), optional
        The features' normalisation statistics (see the module docstring).

    Returns
    -------
    dict of Tensor, the keys and shapes of ``x``; ``mask`` marks the new frames.
    """
    parts, mask = _check_batch(x, "speed", p=p, generator=generator, needs_layout=True)
    _require(_is_number(low) and _is_number(high) and 0 < low <= high, "low, high", "numbers with 0 < low <= high",
             (low, high))
    stats = _stats(feature_mean, feature_std)
    lengths = real_lengths(mask).cpu().to(torch.float64)
    factor = low + (high - low) * torch.rand(len(mask), generator=generator, dtype=torch.float64)
    kept = (((lengths - 1) / factor).floor() + 1).clamp(max=mask.shape[1]) * (lengths > 0)
    positions = factor[:, None] * torch.arange(mask.shape[1], dtype=torch.float64)
    out = _retime(parts, positions, kept)
    for key in FEATURE_KEYS:
        if key in out:
            out[key] = _edit_features(out[key], stats, partial(_scale_velocities, factor=factor))
    return _choose(x, _zero_padding(out, out["mask"]), generator=generator, p=p)


@AUGMENTATIONS.register("jitter")
def jitter(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5, sigma: float = 0.05,
           joint_sigma: float = 0.01) -> Batch:
    """Add Gaussian noise to the real frames: ``sigma`` to the features, ``joint_sigma`` to the joints.

    Parameters
    ----------
    x : dict of Tensor
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
    sigma : float >= 0, default 0.05
        Noise standard deviation in feature units (standard deviations, for normalised
        features); ``mirror_features`` get their own draw of it.
    joint_sigma : float >= 0, default 0.01
        Noise standard deviation of the joint positions, in their units (metres).

    Returns
    -------
    dict of Tensor, the keys and shapes of ``x``
    """
    parts, mask = _check_batch(x, "jitter", p=p, generator=generator)
    for arg, value in (("sigma", sigma), ("joint_sigma", joint_sigma)):
        _require(_is_number(value) and value >= 0, arg, "a number >= 0", value)
    out: Batch = {}
    for key, scale in (("features", sigma), ("mirror_features", sigma), ("joints", joint_sigma)):
        if key in parts:
            noise = scale * torch.randn(parts[key].shape, generator=generator, dtype=torch.float64)
            out[key] = parts[key] + _like(noise, parts[key])
    return _choose(x, _zero_padding(out, mask), generator=generator, p=p)


@AUGMENTATIONS.register("rotate")
def rotate(x: Mapping[str, Tensor], *, generator: torch.Generator, p: float = 0.5, max_degrees: float = 15.0,
           feature_mean: Any = None, feature_std: Any = None) -> Batch:
    """Turn the body about the vertical (y) axis by an angle uniform in [-max_degrees, max_degrees].

    Rotates the (x, z) pairs of ``joints`` and of the features' root velocity, ric and local
    velocity slices. HumanML3D expresses these in the root's heading frame, so on features this
    perturbs the body's orientation relative to its estimated heading; the root's turning
    velocity and the joints' local 6-D rotations (relative to their parents) do not change.
    ``mirror_features`` turn by the opposite angle, so that mirroring afterwards stays consistent.

    Parameters
    ----------
    x : dict of Tensor
    generator : torch.Generator, on the CPU
    p : float in [0, 1], default 0.5
    max_degrees : float in [0, 180], default 15
    feature_mean, feature_std : array-like (263,), optional
        The features' normalisation statistics (see the module docstring).

    Returns
    -------
    dict of Tensor, the keys and shapes of ``x``
    """
    parts, mask = _check_batch(x, "rotate", p=p, generator=generator, needs_layout=True)
    _require(_is_number(max_degrees) and 0 <= max_degrees <= 180, "max_degrees", "a number in [0, 180]",
             max_degrees)
    stats = _stats(feature_mean, feature_std)
    angle = math.radians(max_degrees) * (2 * torch.rand(len(mask), generator=generator, dtype=torch.float64) - 1)
    out: Batch = {}
    if "joints" in parts:
        joints = parts["joints"].double()
        x_new, z_new = _turn(joints[..., 0], joints[..., 2], angle.view(-1, 1, 1).to(joints.device))
        out["joints"] = _like(torch.stack([x_new, joints[..., 1], z_new], dim=-1), parts["joints"])
    for key, sign in (("features", 1.0), ("mirror_features", -1.0)):
        if key in parts:
            out[key] = _edit_features(parts[key], stats, partial(_rotate_physical, angle=sign * angle))
    return _choose(x, _zero_padding(out, mask), generator=generator, p=p)


def with_feature_stats(specs: Sequence[Mapping[str, Any]] | None, *, mean: Any,
                       std: Any) -> list[dict[str, Any]]:
    """Recipe ``augment`` entries with ``feature_mean``/``feature_std`` added where the transform takes them.

    Entries that already set them, or whose transform works in any units, are copied unchanged.
    """
    entries = []
    for entry in specs or []:
        entry = dict(entry)
        name = entry.get("name")
        if isinstance(name, str) and name in AUGMENTATIONS and "feature_mean" in option_names(AUGMENTATIONS.get(name)):
            entry.setdefault("feature_mean", mean)
            entry.setdefault("feature_std", std)
        entries.append(entry)
    return entries


def _mirror_physical(features: Tensor) -> Tensor:
    return features[..., MIRROR_INDEX.to(features.device)] * MIRROR_SIGN.to(features.device)


def _rotate_physical(features: Tensor, *, angle: Tensor) -> Tensor:
    x_index, z_index = ROTATE_X.to(features.device), ROTATE_Z.to(features.device)
    x_new, z_new = _turn(features[..., x_index], features[..., z_index], angle.view(-1, 1, 1).to(features.device))
    turned = features.clone()
    turned[..., x_index], turned[..., z_index] = x_new, z_new
    return turned


def _scale_velocities(features: Tensor, *, factor: Tensor) -> Tensor:
    index = VELOCITY_INDEX.to(features.device)
    scaled = features.clone()
    scaled[..., index] = features[..., index] * factor.view(-1, 1, 1).to(features.device)
    return scaled


def _turn(x: Tensor, z: Tensor, angle: Tensor) -> tuple[Tensor, Tensor]:
    """(x, z) turned by ``angle`` about the y axis (right-handed: z moves towards x)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    return cos * x + sin * z, cos * z - sin * x


def _edit_features(features: Tensor, stats: tuple[Tensor, Tensor] | None, edit: Callable[[Tensor], Tensor]) -> Tensor:
    """``edit`` applied in float64 in physical units (un-normalised with ``stats`` when given)."""
    values = features.double()
    if stats is None:
        return _like(edit(values), features)
    mean, std = (s.to(features.device) for s in stats)
    return _like((edit(values * std + mean) - mean) / std, features)


def _retime(parts: Batch, positions: Tensor, kept: Tensor) -> Batch:
    """Every timed part read at fractional frame ``positions`` (batch, L); ``kept`` frames are real."""
    length = parts["mask"].shape[1]
    device = parts["mask"].device
    new_mask = (torch.arange(length, dtype=torch.float64) < kept[:, None]).to(device, parts["mask"].dtype)
    out: Batch = {"mask": new_mask}
    positions = positions.clamp(0, length - 1).masked_fill(new_mask.cpu() == 0, 0.0)
    for key, values in parts.items():
        if key != "mask":
            out[key] = _resample(values, positions)
            if key in FEATURE_KEYS and values.shape[-1] == FEATURE_WIDTH:  # contacts stay 0/1: nearest frame
                out[key][..., FOOT_CONTACT] = _resample(values[..., FOOT_CONTACT], positions.round())
    return _zero_padding(out, new_mask)


def _resample(values: Tensor, positions: Tensor) -> Tensor:
    """``values`` (batch, L, ...) read at ``positions`` (batch, L) by linear interpolation in time."""
    flat = values.reshape(*values.shape[:2], -1)
    below = positions.floor().clamp(max=max(values.shape[1] - 2, 0))
    weight = (positions - below).unsqueeze(-1).to(values.device, values.dtype)
    index = below.long().to(values.device).unsqueeze(-1).expand(-1, -1, flat.shape[-1])
    above = (index + 1).clamp(max=values.shape[1] - 1)
    # lerp returns its end points exactly at weights 0 and 1: integer positions copy frames bit for bit.
    return torch.lerp(flat.gather(1, index), flat.gather(1, above), weight.expand_as(flat)).reshape(values.shape)


def _zero_padding(out: Batch, mask: Tensor) -> Batch:
    keep = mask > 0
    return {key: value if key == "mask" else value.masked_fill(~keep.view(*keep.shape, *[1] * (value.ndim - 2)), 0.0)
            for key, value in out.items()}


def _choose(x: Mapping[str, Tensor], augmented: Batch, *, generator: torch.Generator, p: float) -> Batch:
    """``augmented`` parts for a random subset of samples, ``x``'s (exactly) for the rest; drawn last."""
    chosen = torch.rand(len(x["mask"]), generator=generator, dtype=torch.float64) < p
    out = dict(x)
    for key, value in augmented.items():
        pick = chosen.to(value.device).view(-1, *[1] * (value.ndim - 1))
        out[key] = torch.where(pick, value, x[key])
    return out


def _check_batch(x: Any, name: str, *, p: Any, generator: Any, needs_layout: bool = False) -> tuple[Batch, Tensor]:
    """The batch's timed parts (mask, features, mirror_features, joints) after checking them and the options."""
    if not isinstance(x, Mapping) or "mask" not in x or not ({"features", "joints"} & set(x)):
        received = f"keys {sorted(x)}" if isinstance(x, Mapping) else type(x).__name__
        raise InputError(NOT_A_BATCH.format(name=name, received=received))
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise InputError(BAD_VALUE.format(arg="generator", expected="a CPU torch.Generator", received=repr(generator),
                                          fix="Pass torch.Generator().manual_seed(seed)."))
    _require(_is_number(p) and 0 <= p <= 1, "p", "a number in [0, 1]", p)
    mask = x["mask"]
    if not isinstance(mask, Tensor) or mask.ndim != 2:
        raise InputError(SHAPE.format(arg="mask", expected="(batch, L)", received=_describe(mask),
                                      fix="Stack the samples' (L,) masks."))
    width = FEATURE_WIDTH if needs_layout else None
    for key, tail in (("features", (width,)), ("mirror_features", (width,)), ("joints", (N_JOINTS, 3))):
        if key in x:
            _check_part(key, x[key], mask, tail)
    real_lengths(mask, arg="mask")
    return {key: x[key] for key in ("mask", *FEATURE_KEYS, "joints") if key in x}, mask


def _check_part(key: str, value: Tensor, mask: Tensor, tail: tuple[int | None, ...]) -> None:
    ok = (isinstance(value, Tensor) and value.is_floating_point() and value.ndim == 2 + len(tail)
          and value.shape[:2] == mask.shape and all(t is None or s == t for s, t in zip(value.shape[2:], tail)))
    if not ok:
        expected = "(batch, L, " + ", ".join("F" if t is None else str(t) for t in tail) + ") of floats"
        raise InputError(BAD_PART.format(arg=key, expected=expected, mask=tuple(mask.shape),
                                         received=_describe(value), fix="Augment the gait domain's batches."))


def _stats(mean: Any, std: Any) -> tuple[Tensor, Tensor] | None:
    if mean is None and std is None:
        return None
    stats = []
    for arg, value, lowest in (("feature_mean", mean, -math.inf), ("feature_std", std, 0.0)):
        tensor = torch.as_tensor(value, dtype=torch.float64) if value is not None else torch.empty(0)
        ok = (tensor.shape == (FEATURE_WIDTH,) and bool(torch.isfinite(tensor).all())
              and bool((tensor > lowest).all()))
        expected = f"{FEATURE_WIDTH} finite numbers" + (" > 0" if lowest == 0 else "") + ", one per feature"
        received = "None" if value is None else f"values of shape {tuple(tensor.shape)}"
        _require(ok, arg, expected + " (give feature_mean and feature_std together)", received)
        stats.append(tensor)
    return stats[0], stats[1]


def _require(ok: bool, arg: str, expected: str, received: Any) -> None:
    if not ok:
        raise InputError(BAD_VALUE.format(arg=arg, expected=expected, received=repr(received), fix=OPTION_FIX))


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _like(values: Tensor, x: Tensor) -> Tensor:
    return values.to(device=x.device, dtype=x.dtype)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)}" if shape is not None else repr(x)


__all__ = ["AUGMENTATIONS", "jitter", "mirror", "rotate", "speed", "temporal_crop", "with_feature_stats"]
