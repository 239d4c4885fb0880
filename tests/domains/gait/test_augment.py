"""Gait augmentations: seeding, per-sample probability, padding, geometric oracles, option errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.augment import BAD_ENTRY, build_pipeline
from lilaw_health.core.errors import (
    BAD_VALUE,
    SHAPE,
    ConfigError,
    InputError,
    UnknownNameError,
)
from lilaw_health.domains.gait.augment import (
    AUGMENTATIONS,
    BAD_PART,
    NOT_A_BATCH,
    OPTION_FIX,
    mirror,
    rotate,
    speed,
    temporal_crop,
    with_feature_stats,
)
from lilaw_health.domains.gait.features import features_to_joints, joints_to_features
from lilaw_health.domains.gait.skeleton import MIRROR, mirror_joints
from lilaw_health.domains.gait.walker import walk

NAMES = ["jitter", "mirror", "rotate", "speed", "temporal_crop"]
LENGTH = 48
PARTNER = MIRROR.tolist()
REFLECT = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))


def _close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float | None = None,
           atol: float | None = None) -> None:
    """torch.testing.assert_close's default tolerances, without its first call's slow import."""
    default_rtol, default_atol = (1.3e-6, 1e-5) if actual.dtype == torch.float32 else (1e-7, 1e-7)
    np.testing.assert_allclose(actual.detach().double().numpy(), expected.detach().double().numpy(),
                               rtol=default_rtol if rtol is None else rtol, atol=default_atol if atol is None else atol)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rotations(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(*shape, 3, 3, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def _walk(n: int = 6, *, real: tuple[int, ...] | None = None, seed: int = 0) -> dict[str, torch.Tensor]:
    """A batch whose features agree with its joints: ric = joints 1..21, local velocities = joint steps."""
    generator = _gen(seed)
    n = len(real) if real else n
    lengths = torch.tensor(real) if real else torch.randint(30, LENGTH + 1, (n,), generator=generator)
    mask = (torch.arange(LENGTH) < lengths[:, None]).double()
    joints = torch.randn(n, LENGTH, 22, 3, generator=generator, dtype=torch.float64).cumsum(dim=1) * 0.05
    rotations = _rotations((n, LENGTH, 21), generator)
    steps = torch.diff(joints, dim=1, append=joints[:, -1:])
    features = torch.cat([torch.randn(n, LENGTH, 4, generator=generator, dtype=torch.float64),
                          joints[:, :, 1:].flatten(2), rotations[..., :2].transpose(-1, -2).flatten(2),
                          steps.flatten(2), torch.randint(0, 2, (n, LENGTH, 4), generator=generator).double()], dim=2)
    keep = mask.unsqueeze(-1)
    batch = {"features": features * keep, "joints": joints * keep.unsqueeze(-1), "mask": mask}
    return {key: value.float() for key, value in batch.items()}


def _stats(seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = _gen(seed)
    return torch.randn(263, generator=generator, dtype=torch.float64), 0.5 + torch.rand(263, generator=generator,
                                                                                         dtype=torch.float64)


def _normalised(batch: dict[str, torch.Tensor], stats) -> dict[str, torch.Tensor]:
    mean, std = stats
    features = ((batch["features"].double() - mean) / std) * batch["mask"].double().unsqueeze(-1)
    return {**batch, "features": features.float()}


def _physical(features: torch.Tensor, stats) -> torch.Tensor:
    return features.double() * stats[1] + stats[0]


def _apply(name: str, batch, seed: int = 0, **options):
    return AUGMENTATIONS.get(name)(batch, generator=_gen(seed), **options)


def _assert_padding_is_zero(out: dict[str, torch.Tensor]) -> None:
    padded = out["mask"] == 0
    assert torch.equal(out["mask"], (out["mask"].cumprod(dim=1) > 0).to(out["mask"].dtype))  # still a prefix
    for key in ("features", "joints"):
        assert not out[key][padded].any(), key


def test_every_augmentation_is_registered():
    assert AUGMENTATIONS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_seeded_per_sample_and_padding_stays_zero(name):
    batch = {**_walk(64), "embedding": torch.randn(64, 8)}
    out = _apply(name, batch, seed=1, p=1.0)
    assert all(torch.equal(out[k], again) for k, again in _apply(name, batch, seed=1, p=1.0).items())
    half = _apply(name, batch, seed=1, p=0.5)
    assert all(torch.equal(half[k], again) for k, again in _apply(name, batch, seed=1, p=0.5).items())
    assert not torch.equal(half["features"], _apply(name, batch, seed=2, p=0.5)["features"])
    assert out["embedding"] is batch["embedding"] and out.keys() == batch.keys()
    assert all(out[k].shape == batch[k].shape and out[k].dtype == batch[k].dtype for k in batch)
    _assert_padding_is_zero(out)
    assert not torch.equal(out["features"], batch["features"])
    identity = _apply(name, batch, p=0.0)
    assert all(torch.equal(identity[k], batch[k]) for k in batch)
    same = torch.tensor([torch.equal(half["features"][i], batch["features"][i]) for i in range(64)])
    assert 0.3 < same.float().mean() < 0.7
    assert torch.equal(half["features"][~same], out["features"][~same])  # the draws do not depend on p


@pytest.mark.parametrize("name", ["mirror", "rotate", "speed"])
def test_padding_stays_zero_when_transforming_normalised_features(name):
    batch, stats = _walk(8), _stats()
    out = _apply(name, _normalised(batch, stats), p=1.0, feature_mean=stats[0], feature_std=stats[1])
    _assert_padding_is_zero(out)


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(0, LENGTH), min_size=1, max_size=5), seed=st.integers(0, 2**16),
       name=st.sampled_from(NAMES), p=st.sampled_from([0.0, 0.5, 1.0]))
def test_any_lengths_keep_a_prefix_mask_and_zero_padding(lengths, seed, name, p):
    batch = _walk(real=tuple(lengths))
    out = _apply(name, batch, seed=seed, p=p)
    _assert_padding_is_zero(out)
    grown = out["mask"].sum(dim=1) > batch["mask"].sum(dim=1)
    assert not grown.any() or name == "speed"  # only a slower walk gets longer
    assert ((out["mask"].sum(dim=1) == 0) == (batch["mask"].sum(dim=1) == 0)).all()  # empty stays empty


def test_mirror_twice_is_the_identity():
    batch, stats = _walk(), _stats()
    twice = mirror(mirror(batch, generator=_gen(), p=1.0), generator=_gen(), p=1.0)
    assert all(torch.equal(twice[k], batch[k]) for k in batch)
    normalised = _normalised(batch, stats)
    options = {"feature_mean": stats[0], "feature_std": stats[1].numpy()}
    twice = mirror(mirror(normalised, generator=_gen(), p=1.0, **options), generator=_gen(), p=1.0, **options)
    _close(twice["features"], normalised["features"], rtol=0, atol=1e-5)


@pytest.mark.parametrize("normalise", [False, True])
def test_mirrored_features_are_the_features_of_the_mirrored_joints(normalise):
    batch, stats = _walk(real=(48, 40, 33)), _stats()
    options = {"feature_mean": stats[0].tolist(), "feature_std": stats[1].tolist()} if normalise else {}
    out = mirror(_normalised(batch, stats) if normalise else batch, generator=_gen(), p=1.0, **options)
    features = _physical(out["features"], stats) if normalise else out["features"].double()
    joints = out["joints"].double()
    keep = batch["mask"].bool()
    expected_joints = batch["joints"].double()[:, :, PARTNER] * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    _close(joints, expected_joints * keep[..., None, None])
    close = {"atol": 1e-5, "rtol": 1e-5}  # normalised features round to float32 on the way
    _close(features[..., 4:67][keep], joints[:, :, 1:].flatten(2)[keep], **close)
    steps = torch.diff(joints, dim=1, append=joints[:, -1:]).flatten(2)
    inside = keep & torch.roll(keep, -1, dims=1)  # frames whose next frame is real too
    _close(features[..., 193:259][inside], steps[inside], **close)
    original = batch["features"].double()
    signs = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)  # root turn and lateral velocity flip
    _close(features[..., :4][keep], (original[..., :4] * signs)[keep], **close)
    _close(features[..., 259:][keep], original[..., [261, 262, 259, 260]][keep], **close)


def _encoded_walk(severity: int = 1, n_frames: int = 81) -> dict[str, torch.Tensor]:
    """One walk of the walking model as HumanML3D features and the joints recovered from them (float64)."""
    joints = walk(severity, n_frames=n_frames, rng=np.random.default_rng(severity))
    features = torch.from_numpy(joints_to_features(joints))[None]
    return {"features": features, "joints": torch.from_numpy(features_to_joints(features[0].numpy()))[None],
            "mask": torch.ones(1, n_frames - 1, dtype=torch.float64)}


def test_mirrored_features_of_a_walk_are_the_features_of_the_mirrored_walk():
    batch = _encoded_walk()
    out = mirror(batch, generator=_gen(), p=1.0)
    expected = joints_to_features(mirror_joints(walk(1, n_frames=81, rng=np.random.default_rng(1))))
    np.testing.assert_allclose(out["features"][0].numpy(), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(features_to_joints(out["features"][0].numpy()), out["joints"][0].numpy(), atol=1e-9)


def test_rotated_features_recover_the_rotated_joints():
    batch = _encoded_walk(2)
    out = rotate(batch, generator=_gen(1), p=1.0, max_degrees=40)
    assert not torch.allclose(out["joints"], batch["joints"])
    np.testing.assert_allclose(features_to_joints(out["features"][0].numpy()), out["joints"][0].numpy(), atol=1e-9)


def test_sped_up_features_recover_the_resampled_walk():
    batch = _encoded_walk(0)
    out = speed(batch, generator=_gen(), p=1.0, low=1.5, high=1.5)
    kept = int(out["mask"].sum())
    recovered = features_to_joints(out["features"][0, :kept].numpy())
    frames = np.arange(kept) * 1.5  # the original walk read at frames 0, 1.5, 3, ...
    below = np.floor(frames).astype(int)
    weight = (frames - below)[:, None, None]
    original = batch["joints"][0].numpy()
    expected = (1 - weight) * original[below] + weight * original[np.minimum(below + 1, len(original) - 1)]
    assert kept == 53 and np.abs(original[-1, 0] - original[0, 0]).max() > 1.5  # the walk covers > 1.5 m
    assert np.abs(recovered - expected).max() < 0.1  # unscaled velocities would miss by about a metre


def test_mirrored_6d_rotations_are_the_reflected_rotation_matrices():
    batch = _walk(real=(48, 48))
    out = mirror(batch, generator=_gen(), p=1.0)
    before = batch["features"][..., 67:193].double().unflatten(-1, (21, 2, 3)).transpose(-1, -2)  # 2 columns
    after = out["features"][..., 67:193].double().unflatten(-1, (21, 2, 3)).transpose(-1, -2)
    third = torch.linalg.cross(before[..., 0], before[..., 1])
    rotation = torch.cat([before, third.unsqueeze(-1)], dim=-1)
    reflected = REFLECT @ rotation @ REFLECT
    _close(after, reflected[:, :, [p - 1 for p in PARTNER[1:]], :, :2], atol=1e-6, rtol=0)


def test_mirror_takes_the_dataset_mirror_features_when_given():
    batch = _walk(8)
    given = {**batch, "mirror_features": torch.randn(8, LENGTH, 263) * batch["mask"].unsqueeze(-1)}
    out = mirror(given, generator=_gen(4), p=0.5)
    chosen = torch.tensor([not torch.equal(out["features"][i], batch["features"][i]) for i in range(8)])
    assert chosen.any() and not chosen.all()
    assert torch.equal(out["features"][chosen], given["mirror_features"][chosen])
    assert torch.equal(out["mirror_features"][chosen], batch["features"][chosen])
    twice = mirror(out, generator=_gen(4), p=0.5)
    assert all(torch.equal(twice[k], given[k]) for k in given)


def test_temporal_crop_keeps_a_contiguous_run_of_real_frames():
    batch = _walk(16)
    out = temporal_crop(batch, generator=_gen(), p=1.0, min_fraction=0.5)
    lengths, kept = batch["mask"].sum(dim=1).long(), out["mask"].sum(dim=1).long()
    assert (kept <= lengths).all() and (kept >= (0.5 * lengths).round()).all() and (kept < lengths).any()
    for i in range(16):
        k = int(kept[i])
        starts = [s for s in range(int(lengths[i]) - k + 1)
                  if torch.equal(out["features"][i, :k], batch["features"][i, s:s + k])
                  and torch.equal(out["joints"][i, :k], batch["joints"][i, s:s + k])]
        assert starts, i
    whole = temporal_crop(batch, generator=_gen(), p=1.0, min_fraction=1.0)
    assert all(torch.equal(whole[k], batch[k]) for k in batch)


def test_speed_resamples_time_and_scales_velocities():
    batch = _walk(real=(48, 41, 20))
    same = speed(batch, generator=_gen(), p=1.0, low=1.0, high=1.0)
    assert all(torch.equal(same[k], batch[k]) for k in batch)
    double = speed(batch, generator=_gen(), p=1.0, low=2.0, high=2.0)
    assert double["mask"].sum(dim=1).tolist() == [24.0, 21.0, 10.0]
    velocity = [0, 1, 2, *range(193, 259)]
    still = [i for i in range(259) if i not in velocity]
    _close(double["features"][0, :24, still], batch["features"][0, 0:48:2, still])
    _close(double["features"][1, :21, velocity], 2 * batch["features"][1, 0:41:2, velocity])
    _close(double["joints"][2, :10], batch["joints"][2, 0:20:2])
    half = speed(batch, generator=_gen(), p=1.0, low=0.5, high=0.5)
    assert half["mask"].sum(dim=1).tolist() == [48.0, 48.0, 39.0]  # lengthened, cut at L
    middle = (batch["features"][2, 3] + batch["features"][2, 4]) / 2
    _close(half["features"][2, 7, still], middle[still])
    _close(half["features"][2, 7, velocity], 0.5 * middle[velocity])
    assert set(half["features"][..., 259:].unique().tolist()) <= {0.0, 1.0}  # contacts: nearest frame


def test_speed_scales_velocities_in_physical_units_when_given_the_statistics():
    batch, stats = _walk(real=(48, 40)), _stats()
    options = {"feature_mean": stats[0], "feature_std": stats[1]}
    out = speed(_normalised(batch, stats), generator=_gen(), p=1.0, low=2.0, high=2.0, **options)
    velocity = [0, 1, 2, *range(193, 259)]
    expected = 2 * batch["features"][0, 0:48:2, velocity].double()
    _close(_physical(out["features"], stats)[0, :24, velocity], expected, atol=1e-5, rtol=1e-5)


def test_jitter_adds_noise_of_sigma_to_real_frames_only():
    batch = _walk(32)
    out = _apply("jitter", batch, p=1.0, sigma=0.2, joint_sigma=0.0)
    real = batch["mask"].bool()
    noise = (out["features"] - batch["features"])[real]
    assert abs(noise.std().item() - 0.2) < 0.005 and abs(noise.mean().item()) < 0.005
    assert torch.equal(out["joints"], batch["joints"])
    _assert_padding_is_zero(out)


def test_rotate_turns_joints_and_features_about_the_vertical_axis():
    batch = _walk(16)
    given = {**batch, "mirror_features": mirror(batch, generator=_gen(), p=1.0)["features"]}
    out = rotate(given, generator=_gen(), p=1.0, max_degrees=30)
    before, after = batch["joints"].double(), out["joints"].double()
    _close(after[..., 1], before[..., 1])
    _close(after[..., [0, 2]].norm(dim=-1), before[..., [0, 2]].norm(dim=-1))
    turned = torch.atan2(after[:, 0, 3, 0], after[:, 0, 3, 2]) - torch.atan2(before[:, 0, 3, 0], before[:, 0, 3, 2])
    degrees = torch.rad2deg(torch.remainder(turned + math.pi, 2 * math.pi) - math.pi)
    assert (degrees.abs() <= 30 + 1e-4).all() and degrees.abs().max() > 10
    keep = batch["mask"].bool()
    features = out["features"]
    _close(features[..., 4:67][keep], out["joints"][:, :, 1:].flatten(2)[keep])
    assert torch.equal(features[..., [0, 3, *range(67, 193), *range(259, 263)]],
                       batch["features"][..., [0, 3, *range(67, 193), *range(259, 263)]])
    without = {key: value for key, value in out.items() if key != "mirror_features"}
    mirrored_after = mirror(without, generator=_gen(), p=1.0)["features"]
    _close(out["mirror_features"], mirrored_after, atol=1e-5, rtol=0)
    assert all(torch.equal(v, batch[k]) for k, v in rotate(batch, generator=_gen(), p=1.0, max_degrees=0).items())


@pytest.mark.parametrize(("name", "options", "arg", "expected", "received"), [
    ("mirror", {"p": 1.5}, "p", "a number in [0, 1]", 1.5),
    ("temporal_crop", {"min_fraction": 0.0}, "min_fraction", "a number in (0, 1]", 0.0),
    ("speed", {"low": 1.3, "high": 1.1}, "low, high", "numbers with 0 < low <= high", (1.3, 1.1)),
    ("speed", {"low": 0, "high": 1}, "low, high", "numbers with 0 < low <= high", (0, 1)),
    ("jitter", {"sigma": -0.1}, "sigma", "a number >= 0", -0.1),
    ("jitter", {"joint_sigma": float("nan")}, "joint_sigma", "a number >= 0", float("nan")),
    ("rotate", {"max_degrees": 270}, "max_degrees", "a number in [0, 180]", 270),
    ("rotate", {"feature_mean": [0.0] * 262, "feature_std": [1.0] * 263}, "feature_mean",
     "263 finite numbers, one per feature (give feature_mean and feature_std together)", "values of shape (262,)"),
    ("mirror", {"feature_mean": [0.0] * 263}, "feature_std",
     "263 finite numbers > 0, one per feature (give feature_mean and feature_std together)", "None"),
])
def test_bad_option_values_raise_value_error(name, options, arg, expected, received):
    with pytest.raises(ValueError) as info:
        _apply(name, _walk(2), **options)
    assert isinstance(info.value, InputError)
    assert str(info.value) == BAD_VALUE.format(arg=arg, expected=expected, received=repr(received), fix=OPTION_FIX)


def test_bad_batches_are_refused_with_the_fix():
    with pytest.raises(InputError) as info:
        _apply("jitter", {"embedding": torch.zeros(2, 8)})
    assert str(info.value) == NOT_A_BATCH.format(name="jitter", received="keys ['embedding']")
    narrow = {"features": torch.zeros(2, LENGTH, 12), "mask": torch.ones(2, LENGTH)}
    assert _apply("temporal_crop", narrow)["features"].shape == (2, LENGTH, 12)  # any width: no layout needed
    with pytest.raises(InputError) as info:
        _apply("mirror", narrow)
    assert str(info.value) == BAD_PART.format(arg="features", expected="(batch, L, 263) of floats",
                                              mask=(2, LENGTH), received="Tensor of shape (2, 48, 12)",
                                              fix="Augment the gait domain's batches.")
    with pytest.raises(InputError, match=re.escape("generator must be a CPU torch.Generator; received None")):
        mirror(_walk(2), generator=None)
    with pytest.raises(InputError) as info:
        _apply("jitter", {**_walk(2), "mask": torch.ones(2, LENGTH, 1)})
    assert str(info.value) == SHAPE.format(arg="mask", expected="(batch, L)", received="Tensor of shape (2, 48, 1)",
                                           fix="Stack the samples' (L,) masks.")
    gap = _walk(2)
    gap["mask"][0, 3] = 0
    with pytest.raises(InputError, match=re.escape("sample 0 is not. Pad sequences at the end")):
        _apply("speed", gap)


def test_core_pipeline_checks_gait_entries_on_a_probe_batch():
    probe = _walk(2)
    pipeline = build_pipeline([{"name": "mirror", "p": 1.0}, {"name": "speed", "low": 0.9, "high": 1.1}],
                              AUGMENTATIONS, probe=probe, example="")
    assert pipeline(probe, _gen())["features"].shape == probe["features"].shape
    with pytest.raises(UnknownNameError, match="unknown gait augmentation 'flip'; valid names are: jitter, mirror"):
        build_pipeline([{"name": "flip"}], AUGMENTATIONS, probe=probe, example="")
    error = BAD_VALUE.format(arg="min_fraction", expected="a number in (0, 1]", received="2", fix=OPTION_FIX)
    with pytest.raises(ConfigError, match=re.escape(BAD_ENTRY.format(index=0, name="temporal_crop", error=error))):
        build_pipeline([{"name": "temporal_crop", "min_fraction": 2}], AUGMENTATIONS, probe=probe, example="")


def test_with_feature_stats_fills_only_the_transforms_that_take_them():
    mean, std = np.zeros(263), np.ones(263)
    specs = [{"name": "mirror"}, {"name": "jitter", "sigma": 0.1}, {"name": "speed", "feature_std": "mine"}]
    filled = with_feature_stats(specs, mean=mean, std=std)
    assert filled[0]["feature_mean"] is mean and filled[0]["feature_std"] is std
    assert filled[1] == {"name": "jitter", "sigma": 0.1}
    assert filled[2]["feature_std"] == "mine" and filled[2]["feature_mean"] is mean
    assert specs[0] == {"name": "mirror"}  # the recipe's entries are left alone
