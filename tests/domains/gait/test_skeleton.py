"""The 22-joint SMPL chain: tree, mirror pairs, rest offsets, mirroring joints."""

from __future__ import annotations

import numpy as np
import pytest

from lilaw_health.core.errors import SHAPE, InputError
from lilaw_health.domains.gait import skeleton
from lilaw_health.domains.gait.skeleton import JOINTS_FIX


def test_parents_follow_humanml3d_chains_and_precede_children():
    assert len(skeleton.JOINTS) == skeleton.N_JOINTS == 22
    assert skeleton.PARENTS[0] == -1
    assert all(0 <= skeleton.PARENTS[j] < j for j in range(1, 22))
    assert [skeleton.JOINTS[skeleton.PARENTS[skeleton.INDEX[name]]] for name in ("l_wrist", "head", "r_foot")] == [
        "l_elbow", "neck", "r_ankle"]
    assert sorted(j for chain in skeleton.KINEMATIC_CHAIN for j in chain[1:]) == list(range(1, 22))


def test_mirror_pairs_swap_left_and_right_names():
    mirror = skeleton.MIRROR
    assert np.array_equal(mirror[mirror], np.arange(22))
    for j, name in enumerate(skeleton.JOINTS):
        expected = {"l": "r_", "r": "l_"}.get(name[0], "") + name[2:] if name[1] == "_" else name
        assert skeleton.JOINTS[mirror[j]] == expected


def test_rest_offsets_are_symmetric_and_of_adult_size():
    mirrored = skeleton.REST_OFFSETS[skeleton.MIRROR] * [-1, 1, 1]
    assert np.allclose(mirrored, skeleton.REST_OFFSETS)
    pose = skeleton.rest_pose()
    assert 0.90 < skeleton.leg_length() < 1.0
    assert 1.50 < pose[skeleton.INDEX["head"], 1] + skeleton.leg_length() < 1.65  # head joint; the crown is ~0.1 higher
    assert pose[skeleton.INDEX["l_hip"], 0] > 0 > pose[skeleton.INDEX["r_hip"], 0]  # facing +z, left is +x
    assert pose[skeleton.INDEX["l_foot"], 2] > pose[skeleton.INDEX["l_ankle"], 2]  # toes point forward


def test_mirroring_negates_x_swaps_sides_and_is_an_involution():
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 22, 3))
    mirrored = skeleton.mirror_joints(joints)
    assert np.allclose(mirrored[:, skeleton.INDEX["l_wrist"]], joints[:, skeleton.INDEX["r_wrist"]] * [-1, 1, 1])
    assert np.allclose(mirrored[:, 0], joints[:, 0] * [-1, 1, 1])
    assert np.allclose(skeleton.mirror_joints(mirrored), joints)
    assert np.allclose(skeleton.mirror_joints(skeleton.rest_pose()), skeleton.rest_pose())


def test_mirroring_refuses_other_skeletons():
    with pytest.raises(InputError) as error:
        skeleton.mirror_joints(np.zeros((4, 17, 3)))
    assert str(error.value) == SHAPE.format(arg="joints", expected="(..., 22, 3)", received=(4, 17, 3),
                                            fix=JOINTS_FIX)
