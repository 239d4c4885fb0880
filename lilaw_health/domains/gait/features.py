"""HumanML3D's 263-d motion features (as GAITGen and CARE-PD compute them) and their inverse.

Per frame ``t`` of ``T`` joint frames, ``T - 1`` feature frames (the last frame has no velocity):

=================  =========  ===========================================================
``ROOT_ROT_VEL``   0:1        heading change t -> t+1 about y, as the *half* angle (radians;
                              HumanML3D stores ``arcsin`` of the relative quaternion's y)
``ROOT_LIN_VEL``   1:3        root displacement t -> t+1 in x, z, in the heading frame of t+1
``ROOT_HEIGHT``    3:4        root (pelvis) height above the floor
``RIC``            4:67       joints 1-21 relative to the root in x, z (y absolute), in the
                              heading frame of t ("rotation-invariant coordinates")
``ROT6D``          67:193     joints 1-21: first two columns of the rotation taking each bone's
                              rest direction (``skeleton.RAW_DIRECTIONS``) to its direction at t,
                              relative to the previous bone of its chain, HumanML3D's
                              ``inverse_kinematics_np`` (the first bone of a chain relative to
                              the inverse heading, as there)
``LOCAL_VEL``      193:259    displacement t -> t+1 of all 22 joints, in the heading frame of t
``FOOT_CONTACT``   259:263    1.0 where l_ankle, l_foot, r_ankle, r_foot move less than
                              ``sqrt(CONTACT_THRESHOLD)`` metres per frame (at 30 fps)
=================  =========  ===========================================================

Before encoding, joints are put in HumanML3D's canonical frame (:func:`canonicalise`): floor at
y=0 (lowest joint of the walk), first-frame root at x=z=0, first frame facing +z. The heading is
the horizontal normal of the hips and shoulders, Gaussian-smoothed over time (sigma 20 frames, as
HumanML3D), and taken as zero at the first frame. HumanML3D's retargeting of every body to one
reference skeleton (``uniform_skeleton``) is not done here: the features keep the body's size.

:func:`features_to_joints` is HumanML3D's ``recover_from_ric``: it integrates the heading and the
root velocity and rotates the RIC positions back, giving the canonical joints of frames 0..T-2.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from lilaw_health.core.errors import SHAPE, InputError
from lilaw_health.domains.gait.skeleton import (
    FACE_JOINTS,
    FOOT_LEFT,
    FOOT_RIGHT,
    JOINTS_FIX,
    KINEMATIC_CHAIN,
    N_JOINTS,
    PARENTS,
    RAW_DIRECTIONS,
)

FEATURE_WIDTH = 263
ROOT_ROT_VEL = slice(0, 1)
ROOT_LIN_VEL = slice(1, 3)
ROOT_HEIGHT = slice(3, 4)
RIC = slice(4, 4 + 3 * (N_JOINTS - 1))
ROT6D = slice(RIC.stop, RIC.stop + 6 * (N_JOINTS - 1))
LOCAL_VEL = slice(ROT6D.stop, ROT6D.stop + 3 * N_JOINTS)
FOOT_CONTACT = slice(LOCAL_VEL.stop, LOCAL_VEL.stop + 4)
SLICES = {"root_rot_velocity": ROOT_ROT_VEL, "root_linear_velocity": ROOT_LIN_VEL, "root_height": ROOT_HEIGHT,
          "ric": RIC, "rot6d": ROT6D, "local_velocity": LOCAL_VEL, "foot_contact": FOOT_CONTACT}
CONTACT_THRESHOLD = 0.002  # m^2 per frame at 30 fps (HumanML3D's feet_thre, kept by CARE-PD at 30 fps)
CONTACT_FPS = 30.0
HEADING_SIGMA = 20.0  # frames

FEATURES_FIX = "Pass HumanML3D features (T, 263) of the 22-joint SMPL body (e.g. a new_joint_vecs/*.npy file)."


def _check_joints(joints: np.ndarray, min_frames: int) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (N_JOINTS, 3) or len(joints) < min_frames:
        raise InputError(SHAPE.format(arg="joints", expected=f"(T >= {min_frames}, 22, 3)", received=joints.shape,
                                      fix=JOINTS_FIX))
    return joints


def rotate_y(angle: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (..., 3) rotated by ``angle`` (broadcast over ``vectors[..., 0]``) about +y."""
    cos, sin = np.cos(angle), np.sin(angle)
    x, z = vectors[..., 0], vectors[..., 2]
    return np.stack([cos * x + sin * z, vectors[..., 1], -sin * x + cos * z], axis=-1)


def _facing(joints: np.ndarray) -> np.ndarray:
    """Unit horizontal forward direction (T, 3): normal of the hip and shoulder lines."""
    r_hip, l_hip, r_shoulder, l_shoulder = FACE_JOINTS
    across = joints[:, r_hip] - joints[:, l_hip] + joints[:, r_shoulder] - joints[:, l_shoulder]
    forward = np.stack([across[:, 2], np.zeros(len(across)), -across[:, 0]], axis=-1)  # cross(up, across)
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def _heading_angle(forward: np.ndarray) -> np.ndarray:
    """Angle (T,) of the y-rotation taking ``forward`` to +z, continuous over time."""
    return np.unwrap(-np.arctan2(forward[:, 0], forward[:, 2]))


def canonicalise(joints: np.ndarray) -> np.ndarray:
    """Joints (T, 22, 3) with the floor at y=0, the first root at x=z=0, the first frame facing +z."""
    joints = _check_joints(joints, 1).copy()
    joints[..., 1] -= joints[..., 1].min()
    joints[..., [0, 2]] -= joints[0, 0, [0, 2]]
    return rotate_y(_heading_angle(_facing(joints[:1]))[0], joints)


def joints_to_features(joints: np.ndarray, *, fps: float = CONTACT_FPS) -> np.ndarray:
    """HumanML3D features (T-1, 263) of joint positions (T, 22, 3), T >= 2; see the module docstring.

    ``fps`` scales the foot-contact threshold so that it stays the same speed as
    ``CONTACT_THRESHOLD`` at 30 fps (at 30 fps it is exactly HumanML3D's 0.002).
    """
    joints = canonicalise(_check_joints(joints, 2))
    forward = gaussian_filter1d(_facing(joints), HEADING_SIGMA, axis=0, mode="nearest")
    heading = _heading_angle(forward / np.linalg.norm(forward, axis=-1, keepdims=True))
    heading[0] = 0.0  # HumanML3D sets the first frame's root rotation to the identity
    root = joints[:, 0]
    root_velocity = rotate_y(heading[1:], root[1:] - root[:-1])[:, [0, 2]]
    relative = joints[:, 1:].copy()
    relative[..., [0, 2]] -= root[:, None, [0, 2]]
    ric = rotate_y(heading[:, None], relative).reshape(len(joints), -1)
    local_velocity = rotate_y(heading[:-1, None], joints[1:] - joints[:-1]).reshape(len(joints) - 1, -1)
    threshold = CONTACT_THRESHOLD * (CONTACT_FPS / fps) ** 2
    moved = np.sum((joints[1:] - joints[:-1]) ** 2, axis=-1)
    contacts = (moved[:, list(FOOT_LEFT + FOOT_RIGHT)] < threshold).astype(np.float64)
    return np.concatenate([np.diff(heading)[:, None] / 2, root_velocity, root[:-1, 1:2], ric[:-1],
                           _rotations_6d(joints, heading)[:-1], local_velocity, contacts], axis=1)


def _quaternion_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) as (w, x, y, z) of the shortest rotation taking unit ``u`` to unit ``v``."""
    w = 1.0 + np.sum(u * v, axis=-1, keepdims=True)
    quaternion = np.concatenate([w, np.cross(u, v)], axis=-1)
    opposite = w[..., 0] < 1e-9  # half-turn: any axis perpendicular to u
    if opposite.any():
        axis = np.cross(u, np.array([1.0, 0.0, 0.0]))
        axis = np.where(np.linalg.norm(axis, axis=-1, keepdims=True) < 1e-6, np.cross(u, [0.0, 0.0, 1.0]), axis)
        quaternion[opposite] = np.concatenate([np.zeros_like(w), axis], axis=-1)[opposite]
    return quaternion / np.linalg.norm(quaternion, axis=-1, keepdims=True)


def _matrix(quaternion: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4)."""
    w, x, y, z = np.moveaxis(quaternion, -1, 0)
    rows = [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _previous_bones() -> np.ndarray:
    """For joints 1-21, the joint ending the previous bone of its chain, or 0 for a chain's first bone."""
    previous = np.zeros(N_JOINTS, dtype=np.int64)
    for chain in KINEMATIC_CHAIN:
        previous[list(chain[2:])] = chain[1:-1]
    return previous[1:]


_PREVIOUS_BONE = _previous_bones()


def _rotations_6d(joints: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """HumanML3D's joint rotations (T, 21 * 6): swing of each bone relative to the previous one."""
    n = len(joints)
    bones = joints[:, 1:] - joints[:, PARENTS[1:]]
    swing = _matrix(_quaternion_between(np.broadcast_to(RAW_DIRECTIONS[1:], bones.shape),
                                        bones / np.linalg.norm(bones, axis=-1, keepdims=True)))  # (T, 21, 3, 3)
    cos, sin = np.cos(heading), np.sin(heading)
    inverse_heading = np.zeros((n, 3, 3))  # R_y(-heading): HumanML3D's qinv(root_quat), a chain's start
    inverse_heading[:, 0, 0], inverse_heading[:, 0, 2], inverse_heading[:, 1, 1] = cos, -sin, 1.0
    inverse_heading[:, 2, 0], inverse_heading[:, 2, 2] = sin, cos
    previous = np.concatenate([inverse_heading[:, None], swing], axis=1)[:, _PREVIOUS_BONE]
    local = np.swapaxes(previous, -1, -2) @ swing
    return np.concatenate([local[..., :, 0], local[..., :, 1]], axis=-1).reshape(n, -1)


def features_to_joints(features: np.ndarray) -> np.ndarray:
    """Joint positions (..., T, 22, 3) in the canonical frame from features (..., T, 263).

    The root's x, z are integrated from frame 0 (at the origin, facing +z); its y is the stored
    height. Exact inverse of :func:`joints_to_features` up to float rounding: frame t of the
    result equals frame t of :func:`canonicalise` of the encoded joints.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim < 2 or features.shape[-1] != FEATURE_WIDTH:
        raise InputError(SHAPE.format(arg="features", expected="(..., T, 263)", received=features.shape,
                                      fix=FEATURES_FIX))
    half_angle = np.zeros(features.shape[:-1])
    half_angle[..., 1:] = np.cumsum(features[..., :-1, ROOT_ROT_VEL.start], axis=-1)
    heading = 2 * half_angle
    step = np.zeros(features.shape[:-1] + (3,))
    step[..., 1:, 0], step[..., 1:, 2] = features[..., :-1, 1], features[..., :-1, 2]
    root = np.cumsum(rotate_y(-heading, step), axis=-2)
    root[..., 1] = features[..., ROOT_HEIGHT.start]
    relative = features[..., RIC].reshape(features.shape[:-1] + (N_JOINTS - 1, 3))
    joints = rotate_y(-heading[..., None], relative)
    joints[..., [0, 2]] += root[..., None, [0, 2]]
    return np.concatenate([root[..., None, :], joints], axis=-2)
