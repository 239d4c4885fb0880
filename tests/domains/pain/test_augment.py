"""Seeded face augmentations: reproducibility, p, geometry kept consistent with landmarks and pairs, errors."""

from __future__ import annotations

import re

import pytest
import torch

from lilaw_health.core.augment import BAD_ENTRY, UNKNOWN_PARAMETER, build_pipeline
from lilaw_health.core.errors import BAD_VALUE, SHAPE, ConfigError, InputError
from lilaw_health.domains.pain.augment import (
    AUGMENTATIONS,
    EXAMPLE,
    NO_IMAGE,
    NOT_A_FACE_BATCH,
    affine,
    colour_jitter,
    hflip,
)

NAMES = ["affine", "colour_jitter", "hflip"]
SIZE = 64
LEFT_OUTER, RIGHT_OUTER = 33, 263


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch(n: int = 8, *, paired: bool = False, channels: int = 1, height: int = SIZE,
           width: int = SIZE) -> dict[str, torch.Tensor]:
    generator = _gen(123)
    batch = {"image": torch.rand(n, channels, height, width, generator=generator),
             "landmarks": torch.rand(n, 468, 3, generator=generator),
             "label_free_extra": torch.arange(n)}
    if paired:
        batch["reference_image"] = torch.rand(n, channels, height, width, generator=generator)
        batch["reference_landmarks"] = torch.rand(n, 468, 3, generator=generator)
    return batch


def _augment(name: str, batch: dict, seed: int = 0, **options) -> dict[str, torch.Tensor]:
    return AUGMENTATIONS.get(name)(batch, generator=_gen(seed), **options)


def _chosen(original: torch.Tensor, augmented: torch.Tensor) -> torch.Tensor:
    return (original != augmented).flatten(1).any(dim=1)


def _blobs(n: int, *, height: int = SIZE, width: int = SIZE) -> dict[str, torch.Tensor]:
    """Dark images with one bright 3x3 square per sample, and landmark 0 on its centre."""
    image, landmarks = torch.zeros(n, 1, height, width), torch.full((n, 468, 3), 0.5)
    rows = torch.randint(height // 4, 3 * height // 4, (n,), generator=_gen(5))
    cols = torch.randint(width // 4, 3 * width // 4, (n,), generator=_gen(6))
    for i, (row, col) in enumerate(zip(rows.tolist(), cols.tolist())):
        image[i, 0, row - 1:row + 2, col - 1:col + 2] = 1.0
        landmarks[i, 0, :2] = torch.tensor([(col + 0.5) / width, (row + 0.5) / height])
    return {"image": image, "landmarks": landmarks}


def _bright_centre(image: torch.Tensor) -> torch.Tensor:
    """(n, 2) brightness-weighted centre in pixels (x, y), pixel centres at +0.5."""
    height, width = image.shape[-2:]
    weight = image[:, 0] / image[:, 0].sum(dim=(1, 2), keepdim=True)
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    return torch.stack([(weight * xs).sum(dim=(1, 2)), (weight * ys).sum(dim=(1, 2))], dim=1)


def test_every_augmentation_is_registered():
    assert AUGMENTATIONS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output_other_seed_other_output(name):
    batch = _batch(paired=True)
    first, again, other = _augment(name, batch, seed=1), _augment(name, batch, seed=1), _augment(name, batch, seed=2)
    assert all(torch.equal(first[key], again[key]) for key in batch)
    assert not all(torch.equal(first[key], other[key]) for key in batch)


@pytest.mark.parametrize("name", NAMES)
def test_p_zero_is_the_identity_and_inputs_are_not_modified(name):
    batch = _batch(paired=True)
    kept = {key: value.clone() for key, value in batch.items()}
    out = _augment(name, batch, p=0.0)
    assert out is not batch
    assert all(torch.equal(out[key], kept[key]) and torch.equal(batch[key], kept[key]) for key in batch)
    changed = _augment(name, batch, p=1.0)
    assert _chosen(batch["image"], changed["image"]).all()
    assert torch.equal(changed["label_free_extra"], batch["label_free_extra"])


@pytest.mark.parametrize("name", NAMES)
def test_a_pair_gets_the_same_decision_and_the_same_parameters(name):
    batch = _batch(16)
    batch["reference_image"], batch["reference_landmarks"] = batch["image"].clone(), batch["landmarks"].clone()
    out = _augment(name, batch, p=0.5)
    assert torch.equal(out["reference_image"], out["image"])
    assert torch.equal(out["reference_landmarks"], out["landmarks"])
    chosen = _chosen(batch["image"], out["image"])
    assert 0 < chosen.sum() < 16  # some samples augmented, some not


def test_hflip_twice_with_the_same_seed_is_the_identity():
    batch = _batch(paired=True)
    twice = hflip(hflip(batch, generator=_gen(3)), generator=_gen(3))
    assert all(torch.equal(twice[key], batch[key]) for key in batch)
    once = hflip(batch, generator=_gen(3))
    assert not torch.equal(once["landmarks"], batch["landmarks"])


def test_hflip_mirrors_landmarks_onto_the_other_side():
    batch = _blobs(6)
    batch["landmarks"][:, LEFT_OUTER] = batch["landmarks"][:, 0]  # landmark 33 on the bright square
    out = hflip(batch, generator=_gen(), p=1.0)
    assert torch.equal(out["image"], batch["image"].flip(-1))
    moved = out["landmarks"][:, RIGHT_OUTER]  # the outer eye corner is now the other side's
    torch.testing.assert_close(moved[:, 0], 1 - batch["landmarks"][:, LEFT_OUTER, 0])
    torch.testing.assert_close(moved[:, 1:], batch["landmarks"][:, LEFT_OUTER, 1:])
    torch.testing.assert_close(moved[:, :2] * SIZE, _bright_centre(out["image"]))
    torch.testing.assert_close(out["landmarks"][:, LEFT_OUTER, 0], 1 - batch["landmarks"][:, RIGHT_OUTER, 0])


@pytest.mark.parametrize(("height", "width"), [(SIZE, SIZE), (48, 80)])
def test_affine_keeps_a_landmark_on_the_bright_pixel_it_marks(height, width):
    batch = _blobs(12, height=height, width=width)
    out = affine(batch, generator=_gen(1), p=1.0, degrees=30.0, scale=(0.8, 1.2), translate=0.1, padding="zeros")
    assert _chosen(batch["image"], out["image"]).all()
    landmark_pixels = out["landmarks"][:, 0, :2] * torch.tensor([width, height])
    moved = (landmark_pixels - batch["landmarks"][:, 0, :2] * torch.tensor([width, height])).norm(dim=1)
    assert moved.max() > 3  # the transform moved the squares...
    error = (landmark_pixels - _bright_centre(out["image"])).norm(dim=1)
    assert error.max() < 1.0  # ...and the landmarks with them, within a pixel


def test_affine_rotates_without_shearing_a_non_square_crop():
    batch = _batch(8, height=48, width=80)
    out = affine(batch, generator=_gen(4), p=1.0, degrees=40.0, scale=(1.0, 1.0), translate=0.0)
    pixels = torch.tensor([80.0, 48.0])

    def spans(landmarks: torch.Tensor) -> torch.Tensor:
        points = landmarks[:, :6, :2] * pixels
        return (points[:, ::2] - points[:, 1::2]).norm(dim=-1)

    torch.testing.assert_close(spans(out["landmarks"]), spans(batch["landmarks"]))  # pixel lengths kept


def test_affine_scales_depth_with_the_face():
    batch = _batch(8)
    out = affine(batch, generator=_gen(2), p=1.0, degrees=20.0, scale=(0.7, 1.3), translate=0.1)
    span = (batch["landmarks"][:, 1, :2] - batch["landmarks"][:, 2, :2]).norm(dim=1)
    new_span = (out["landmarks"][:, 1, :2] - out["landmarks"][:, 2, :2]).norm(dim=1)
    torch.testing.assert_close(out["landmarks"][..., 2] / batch["landmarks"][..., 2],
                               (new_span / span)[:, None].expand(-1, 468), atol=1e-4, rtol=1e-4)


def test_colour_jitter_changes_images_only_and_stays_in_range():
    batch = _batch(paired=True, channels=3)
    out = colour_jitter(batch, generator=_gen(), p=1.0, brightness=0.9, contrast=0.9, gamma=0.5)
    assert torch.equal(out["landmarks"], batch["landmarks"])
    assert torch.equal(out["reference_landmarks"], batch["reference_landmarks"])
    assert 0 <= out["image"].min() and out["image"].max() <= 1
    assert (out["image"] - batch["image"]).abs().mean() > 0.05
    neutral = colour_jitter(batch, generator=_gen(), p=1.0, brightness=0.0, contrast=0.0, gamma=0.0)
    torch.testing.assert_close(neutral["image"], batch["image"])


def test_landmark_only_batches_are_augmented_and_colour_jitter_says_it_needs_images():
    batch = {"landmarks": torch.rand(4, 468, 3, generator=_gen())}
    assert hflip(batch, generator=_gen(), p=1.0)["landmarks"].shape == (4, 468, 3)
    assert affine(batch, generator=_gen(), p=1.0)["landmarks"].shape == (4, 468, 3)
    with pytest.raises(InputError, match=re.escape(NO_IMAGE.format(name="colour_jitter", keys=["landmarks"]))):
        colour_jitter(batch, generator=_gen())


@pytest.mark.parametrize(("name", "options", "arg", "expected"), [
    ("hflip", {"p": 1.5}, "p", "a number in [0, 1]"),
    ("affine", {"degrees": -1}, "degrees", "a number >= 0"),
    ("affine", {"scale": (1.2, 0.8)}, "scale", "a pair (low, high) with 0 < low <= high"),
    ("affine", {"padding": "wrap"}, "padding", "one of zeros, border, reflection"),
    ("colour_jitter", {"brightness": 2.0}, "brightness", "a number in [0, 1]"),
    ("colour_jitter", {"gamma": 1.0}, "gamma", "a number in [0, 1)"),
])
def test_bad_option_values(name, options, arg, expected):
    value = next(iter(options.values()))
    message = BAD_VALUE.format(arg=arg, expected=expected, received=repr(value),
                               fix="Fix the value in the call or in the recipe's augment list.")
    with pytest.raises(InputError, match=re.escape(message)):
        _augment(name, _batch(2), **options)


def test_bad_batches():
    with pytest.raises(InputError, match=re.escape(NOT_A_FACE_BATCH.format(received="keys ['pixels']"))):
        hflip({"pixels": torch.zeros(2, 1, 8, 8)}, generator=_gen())
    batch = _batch(2)
    batch["reference_image"] = torch.zeros(2, 1, 32, 32)
    message = SHAPE.format(arg="reference_image", expected="(batch, C, H, W) of floats, as the target's",
                           received="Tensor of shape (2, 1, 32, 32) and dtype torch.float32",
                           fix="Stack the face samples per key.")
    with pytest.raises(InputError, match=re.escape(message)):
        affine(batch, generator=_gen())
    refined = {"landmarks": torch.rand(2, 478, 3)}
    with pytest.raises(InputError, match=re.escape("landmarks must have shape (batch, 468, 2 or 3) for hflip's")):
        hflip(refined, generator=_gen(), p=1.0)


def test_recipe_entries_are_checked_on_a_probe():
    probe = _batch(2, paired=True)
    pipeline = build_pipeline([{"name": "hflip"}, {"name": "affine", "degrees": 5}], AUGMENTATIONS, probe=probe,
                              example=EXAMPLE)
    assert set(pipeline(probe, _gen())) == set(probe)
    with pytest.raises(ConfigError, match=re.escape(UNKNOWN_PARAMETER.format(
            name="affine", key="angle", valid="p, degrees, scale, translate, padding"))):
        build_pipeline([{"name": "affine", "angle": 5}], AUGMENTATIONS, probe=probe, example=EXAMPLE)
    error = BAD_VALUE.format(arg="gamma", expected="a number in [0, 1)", received="2",
                             fix="Fix the value in the call or in the recipe's augment list.")
    with pytest.raises(ConfigError, match=re.escape(BAD_ENTRY.format(index=0, name="colour_jitter", error=error))):
        build_pipeline([{"name": "colour_jitter", "gamma": 2}], AUGMENTATIONS, probe=probe, example=EXAMPLE)
