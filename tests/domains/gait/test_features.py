"""HumanML3D's 263-d features: the documented slices, exact recovery of the joints, real 6-D rotations."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from lilaw_health.core.errors import SHAPE, InputError
from lilaw_health.domains.gait import features as F
from lilaw_health.domains.gait.skeleton import (
    INDEX,
    JOINTS_FIX,
    KINEMATIC_CHAIN,
    RAW_DIRECTIONS,
    mirror_joints,
    rest_pose,
)
from lilaw_health.domains.gait.walker import subject_params, walk

TOLERANCE_M = 1e-5  # recovered joints vs the canonical input joints, features stored as float32


def _walk(severity: int, seed: int, n_frames: int = 150) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return walk(severity, n_frames=n_frames, rng=rng, subject_params=subject_params(rng))


def _turning(n_frames: int = 240) -> np.ndarray:
    """A walk whose heading turns a full circle (a test of angle unwrapping)."""
    joints = _walk(1, 7, n_frames)
    turn = np.linspace(0.0, 2 * np.pi, n_frames)[:, None]
    centred = joints - joints[:, :1] * [1, 0, 1]
    return F.rotate_y(turn, centred) + joints[:, :1] * [1, 0, 1]


def test_slices_are_the_documented_contiguous_blocks():
    assert (F.ROOT_ROT_VEL, F.ROOT_LIN_VEL, F.ROOT_HEIGHT, F.RIC, F.ROT6D, F.LOCAL_VEL, F.FOOT_CONTACT) == (
        slice(0, 1), slice(1, 3), slice(3, 4), slice(4, 67), slice(67, 193), slice(193, 259), slice(259, 263))
    blocks = list(F.SLICES.values())
    assert blocks[0].start == 0 and blocks[-1].stop == F.FEATURE_WIDTH == 263
    assert all(a.stop == b.start for a, b in pairwise(blocks))


@pytest.mark.parametrize("joints", [_walk(0, 1), _walk(1, 2), _walk(2, 3), _walk(3, 4, 300), _turning()],
                         ids=["severity0", "severity1", "severity2", "severity3-freezing", "turning"])
def test_joints_are_recovered_from_the_features(joints):
    moved = F.rotate_y(2.5, joints) + [4.0, 0.3, -7.0]  # anywhere, facing anywhere
    features = F.joints_to_features(moved, fps=30).astype(np.float32)
    assert features.shape == (len(joints) - 1, 263) and features.dtype == np.float32
    recovered = F.features_to_joints(features)
    canonical = F.canonicalise(moved)
    assert np.abs(recovered - canonical[:-1]).max() < TOLERANCE_M
    assert np.abs(canonical - F.canonicalise(joints)).max() < 1e-9  # canonical frame: only floor, origin, +z facing
    assert np.allclose(canonical[0, 0, [0, 2]], 0) and canonical[..., 1].min() == 0


def test_recovery_works_on_batches():
    features = np.stack([F.joints_to_features(_walk(s, s)) for s in range(2)])
    batch = F.features_to_joints(features)
    assert batch.shape == (2, 149, 22, 3)
    assert np.allclose(batch[1], F.features_to_joints(features[1]))


def _matrices_from_6d(six: np.ndarray) -> np.ndarray:
    first, second = six[..., :3], six[..., 3:]
    return np.stack([first, second, np.cross(first, second)], axis=-1)


def test_6d_rotations_rebuild_every_bone_direction():
    joints = _walk(2, 11)
    features = F.joints_to_features(joints)
    canonical = F.canonicalise(joints)[:-1]
    local = _matrices_from_6d(features[:, F.ROT6D].reshape(len(features), 21, 6))
    assert np.allclose(np.swapaxes(local, -1, -2) @ local, np.eye(3), atol=1e-9)  # real rotations
    heading = 2 * np.concatenate([[0.0], np.cumsum(features[:-1, 0])])
    cos, sin = np.cos(heading), np.sin(heading)
    inverse_heading = np.zeros((len(heading), 3, 3))
    inverse_heading[:, 0, 0], inverse_heading[:, 0, 2], inverse_heading[:, 1, 1] = cos, -sin, 1.0
    inverse_heading[:, 2, 0], inverse_heading[:, 2, 2] = sin, cos
    for chain in KINEMATIC_CHAIN:
        swing = inverse_heading
        for parent, child in pairwise(chain):
            swing = swing @ local[:, child - 1]
            bone = canonical[:, child] - canonical[:, parent]
            assert np.allclose(swing @ RAW_DIRECTIONS[child], bone / np.linalg.norm(bone, axis=-1, keepdims=True),
                               atol=1e-9)


def test_features_do_not_depend_on_where_the_walk_is():
    joints = _walk(1, 5)
    moved = F.rotate_y(-1.1, joints) + [10.0, 0.0, 3.0]
    assert np.abs(F.joints_to_features(moved) - F.joints_to_features(joints)).max() < 1e-9


def test_mirrored_features_give_the_mirrored_walk():
    joints = _walk(2, 6)
    plain = F.features_to_joints(F.joints_to_features(joints))
    mirrored = F.features_to_joints(F.joints_to_features(mirror_joints(joints)))
    assert np.abs(mirrored - mirror_joints(plain)).max() < 1e-9


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_foot_contact_is_a_speed_threshold_at_any_frame_rate(fps):
    def gliding(speed: float) -> np.ndarray:  # the rest pose sliding forward at ``speed`` m/s
        return rest_pose() + np.arange(int(fps))[:, None, None] * [0.0, 0.0, speed / fps]

    assert np.all(F.joints_to_features(gliding(1.0), fps=fps)[:, F.FOOT_CONTACT] == 1.0)
    assert np.all(F.joints_to_features(gliding(2.0), fps=fps)[:, F.FOOT_CONTACT] == 0.0)
    velocity = F.joints_to_features(gliding(1.0), fps=fps)[:, F.ROOT_LIN_VEL] * fps
    assert np.allclose(velocity, [0.0, 1.0])  # root velocity in the heading frame, per frame


def test_walking_features_show_the_stance_foot_and_the_pelvis_height():
    joints = _walk(0, 9, 300)
    features = F.joints_to_features(joints)
    contact = features[:, F.FOOT_CONTACT]
    assert 0.3 < contact.mean() < 0.95 and (contact == 0).any()
    assert np.allclose(features[:, 3], F.canonicalise(joints)[:-1, INDEX["pelvis"], 1])


def test_wrong_shapes_are_refused_with_the_fix():
    with pytest.raises(InputError) as error:
        F.joints_to_features(np.zeros((10, 21, 3)))
    assert str(error.value) == SHAPE.format(arg="joints", expected="(T >= 2, 22, 3)", received=(10, 21, 3),
                                            fix=JOINTS_FIX)
    with pytest.raises(InputError) as error:
        F.features_to_joints(np.zeros((10, 262)))
    assert str(error.value) == SHAPE.format(arg="features", expected="(..., T, 263)", received=(10, 262),
                                            fix=F.FEATURES_FIX)
