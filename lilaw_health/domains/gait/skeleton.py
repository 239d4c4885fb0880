"""The 22-joint SMPL body of HumanML3D: joint names, kinematic tree, rest offsets, mirror pairs.

Coordinates are in metres with y up; a body in its rest pose faces +z, so its left side is +x
(HumanML3D's convention: ``forward = cross(up, r_hip - l_hip)``).

- ``PARENTS[j]`` is the parent of joint ``j`` (-1 for the pelvis), from HumanML3D's
  ``t2m_kinematic_chain`` (``KINEMATIC_CHAIN``: legs, spine to head, arms from spine3).
- ``REST_OFFSETS[j]`` is the vector from ``PARENTS[j]`` to ``j`` of an adult of about 1.72 m
  standing with the arms at the sides (SMPL's neutral template, whose T-pose arm offsets are
  turned down here), used by the walking model.
- ``RAW_DIRECTIONS[j]`` is HumanML3D's ``t2m_raw_offsets`` row: the unit rest direction of the
  bone ending at ``j``, against which the 6-D joint rotations of the features are measured.
- ``MIRROR[j]`` is the joint that ``j`` becomes in a left/right mirror image (``LEFT``/``RIGHT``
  are CARE-PD's ``MirrorReflection`` lists).
"""

from __future__ import annotations

import numpy as np

from lilaw_health.core.errors import SHAPE, InputError

JOINTS = ("pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle", "spine3",
          "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder", "r_shoulder", "l_elbow",
          "r_elbow", "l_wrist", "r_wrist")
N_JOINTS = len(JOINTS)
JOINTS_FIX = "Pass SMPL's first 22 joints in HumanML3D order, in metres with y up."
INDEX = {name: j for j, name in enumerate(JOINTS)}

KINEMATIC_CHAIN = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21),
                   (9, 13, 16, 18, 20))
PARENTS = np.full(N_JOINTS, -1, dtype=np.int64)
for _chain in KINEMATIC_CHAIN:
    PARENTS[list(_chain[1:])] = _chain[:-1]

LEFT = (1, 4, 7, 10, 13, 16, 18, 20)
RIGHT = (2, 5, 8, 11, 14, 17, 19, 21)
MIRROR = np.arange(N_JOINTS)
MIRROR[list(LEFT + RIGHT)] = RIGHT + LEFT

FOOT_LEFT = (INDEX["l_ankle"], INDEX["l_foot"])  # HumanML3D's fid_l: the foot-contact joints
FOOT_RIGHT = (INDEX["r_ankle"], INDEX["r_foot"])
FACE_JOINTS = (INDEX["r_hip"], INDEX["l_hip"], INDEX["r_shoulder"], INDEX["l_shoulder"])  # the facing direction

RAW_DIRECTIONS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0],
    [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)

_LEFT_SIDE_OFFSETS = {  # metres, parent -> joint, for the left joints; the right ones mirror x
    "l_hip": (0.059, -0.082, -0.018), "l_knee": (0.043, -0.386, 0.008), "l_ankle": (-0.015, -0.427, -0.037),
    "l_foot": (0.041, -0.060, 0.122), "l_collar": (0.072, 0.114, -0.019), "l_shoulder": (0.123, 0.045, -0.019),
    "l_elbow": (0.030, -0.262, -0.015), "l_wrist": (0.010, -0.250, 0.012)}
_MIDLINE_OFFSETS = {"spine1": (0.0, 0.124, -0.038), "spine2": (0.0, 0.138, 0.027), "spine3": (0.0, 0.056, 0.003),
                    "neck": (0.0, 0.212, -0.034), "head": (0.0, 0.089, 0.050)}


def _rest_offsets() -> np.ndarray:
    offsets = np.zeros((N_JOINTS, 3))
    for name, offset in _MIDLINE_OFFSETS.items():
        offsets[INDEX[name]] = offset
    for name, offset in _LEFT_SIDE_OFFSETS.items():
        offsets[INDEX[name]] = offset
        offsets[INDEX["r" + name[1:]]] = (-offset[0], offset[1], offset[2])
    return offsets


REST_OFFSETS = _rest_offsets()
ANKLE_HEIGHT = 0.075  # metres from the sole to the ankle joint in the rest pose


def rest_pose(offsets: np.ndarray = REST_OFFSETS) -> np.ndarray:
    """Joint positions (22, 3) of the rest pose, pelvis at the origin."""
    positions = np.zeros((N_JOINTS, 3))
    for j in range(1, N_JOINTS):  # parents precede their children in SMPL order
        positions[j] = positions[PARENTS[j]] + offsets[j]
    return positions


def leg_length(offsets: np.ndarray = REST_OFFSETS) -> float:
    """Pelvis height above the sole in the rest pose (metres)."""
    return float(-rest_pose(offsets)[INDEX["l_ankle"], 1] + ANKLE_HEIGHT)


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """The left/right mirror image of joint positions (..., 22, 3): x negated, sides swapped.

    This is CARE-PD's ``MirrorReflection``, which made PD-GaM's ``<seq_id>_M`` files.
    """
    joints = np.asarray(joints)
    if joints.ndim < 2 or joints.shape[-2:] != (N_JOINTS, 3):
        raise InputError(SHAPE.format(arg="joints", expected="(..., 22, 3)", received=joints.shape, fix=JOINTS_FIX))
    mirrored = joints[..., MIRROR, :].copy()
    mirrored[..., 0] *= -1
    return mirrored
