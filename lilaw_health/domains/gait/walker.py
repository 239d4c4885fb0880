"""A kinematic walking model on the 22-joint SMPL chain, with Parkinsonian severity 0-3.

Joint angles are periodic functions of a gait phase (hip flexion, two-peaked knee flexion, a
foot pitch with heel strike, flat foot and push-off, arm swing opposite the legs), turned into
joint positions by forward kinematics. The pelvis is then placed so that the lowest point of
either foot (heel or toe) stays where it touched the floor: the stance foot does not slide, the
body progresses by rotating over it and the pelvis height rises and falls with each step.

Severity changes what the MDS-UPDRS gait item scores (``SEVERITIES``): shorter strides (hip
range), less knee flexion in swing (shuffling), reduced and asymmetric arm swing, a slower
cadence, more step-to-step variability, more left/right asymmetry, a stooped trunk, and freezing
episodes at severity 3 and sometimes 2 (the phase stops just after a heel strike, so both feet are
down, and the knees tremble at 5.5 Hz). The heading drifts by a few degrees, and every joint gets
the person's pose-estimation noise (``SubjectParams.jitter``).
A person (``SubjectParams``) has one body and walking style across walks; ``walk`` draws the
rest (starting phase, variability, freezes, noise) from ``rng``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.gait.skeleton import (
    ANKLE_HEIGHT,
    INDEX,
    N_JOINTS,
    PARENTS,
    REST_OFFSETS,
)

_LEG_BONES = [INDEX[name] for name in ("l_knee", "r_knee", "l_ankle", "r_ankle")]  # thigh and shank
FREEZE_RAMP_S = 0.2
_FREEZE_AT = 0.94  # half-cycle phase at which a freeze starts: it stops ~0.1 half-cycle after heel strike


@dataclass(frozen=True)
class Severity:
    """Gait parameters of one severity (angles in radians, frequencies in Hz)."""

    hip_amplitude: float   # half range of hip flexion; sets the stride length
    knee_swing: float      # peak knee flexion in swing (foot clearance)
    arm_swing: float       # half range of shoulder flexion
    stride_hz: float       # strides per second (cadence / 120)
    trunk_flexion: float   # forward bend of the spine
    variability: float     # coefficient of variation of stride duration and length
    asymmetry: float       # fraction by which the affected side's hip range is reduced
    freeze_per_s: float    # expected freezing episodes per second
    freeze_s: tuple[float, float]  # episode duration range (seconds)


SEVERITIES = {
    0: Severity(0.33, 1.00, 0.32, 0.95, 0.05, 0.02, 0.03, 0.0, (0.0, 0.0)),
    1: Severity(0.27, 0.90, 0.21, 0.92, 0.14, 0.035, 0.08, 0.0, (0.0, 0.0)),
    2: Severity(0.20, 0.76, 0.12, 0.87, 0.24, 0.06, 0.14, 0.04, (0.4, 0.9)),
    3: Severity(0.13, 0.58, 0.06, 0.80, 0.38, 0.10, 0.20, 0.22, (0.7, 2.0)),
}


def severity_params(level: float) -> Severity:
    """Gait parameters at a severity ``level`` in [0, 3]: the anchors of :data:`SEVERITIES`,
    linearly interpolated between neighbouring scores (a clinician's integer score is a
    rounded view of a continuous impairment, so walks of adjacent scores overlap)."""
    low = min(int(np.floor(level)), 2)
    weight = float(level) - low
    a, b = SEVERITIES[low], SEVERITIES[low + 1]
    mixed = {name: (1 - weight) * getattr(a, name) + weight * getattr(b, name)
             for name in Severity.__dataclass_fields__ if name != "freeze_s"}
    # a freeze lasts as long as the scores' it lies between (scores 0 and 1 have none)
    freeze = a.freeze_s if weight == 0 else b.freeze_s if a.freeze_s == (0.0, 0.0) else tuple((1 - weight) * x + weight * y
                                                                for x, y in zip(a.freeze_s, b.freeze_s))
    return Severity(**mixed, freeze_s=freeze)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SubjectParams:
    """One person's body and walking style, shared by all of their walks."""

    height_scale: float = 1.0   # multiplies every bone (1.0: about 1.72 m tall)
    leg_scale: float = 1.0      # multiplies thigh and shank on top of height_scale
    stride_scale: float = 1.0   # multiplies the hip range (stride length)
    cadence_scale: float = 1.0  # multiplies the stride frequency
    arm_scale: float = 1.0      # multiplies the arm swing
    affected_side: int = 1      # +1: the left side is the more affected one, -1: the right
    variability_scale: float = 1.0  # multiplies step-to-step variability
    jitter: float = 0.003       # standard deviation (m) of per-joint, per-frame pose-estimation noise
    posture: float = 0.0        # this person's extra trunk flexion (radians)


def subject_params(rng: np.random.Generator) -> SubjectParams:
    """A random adult: height 1.55-1.90 m, and personal stride, cadence, arm swing and posture,
    spread widely enough that a person's style overlaps the next severity's."""
    return SubjectParams(height_scale=float(rng.uniform(0.90, 1.10)), leg_scale=float(rng.uniform(0.96, 1.04)),
                         stride_scale=float(rng.uniform(0.80, 1.20)), cadence_scale=float(rng.uniform(0.88, 1.12)),
                         arm_scale=float(rng.uniform(0.5, 1.5)), affected_side=int(rng.choice([-1, 1])),
                         variability_scale=float(rng.uniform(0.8, 1.25)), jitter=float(rng.uniform(0.002, 0.005)),
                         posture=float(rng.normal(0.0, 0.06)))


def walk(severity: float, *, n_frames: int, fps: float = 30.0, rng: np.random.Generator,
         subject_params: SubjectParams | None = None) -> np.ndarray:
    """Joint positions (n_frames, 22, 3) in metres of one walk along +z (y up, floor at y=0).

    Parameters
    ----------
    severity : UPDRS gait score 0-3, or a level in between (:func:`severity_params`).
    n_frames, fps : length and frame rate.
    rng : the source of every random choice (phase, variability, freezes, noise).
    subject_params : the walker's body and style; ``SubjectParams()`` when None.
    """
    if isinstance(severity, bool) or not isinstance(severity, (int, float, np.integer, np.floating)) \
            or not 0 <= severity <= 3:
        raise InputError(BAD_VALUE.format(arg="severity", expected="a number in [0, 3]", received=repr(severity),
                                          fix=""))
    if not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise InputError(BAD_VALUE.format(arg="n_frames", expected="an integer >= 2", received=repr(n_frames),
                                          fix=""))
    person = subject_params or SubjectParams()
    params = severity_params(float(severity))
    time = np.arange(n_frames) / fps
    phase, freeze = _phase_and_freezing(params, person, time, rng)
    stride_noise = params.variability * person.variability_scale
    amplitude = params.hip_amplitude * person.stride_scale * (1 + stride_noise * _smooth_noise(time, rng))
    angles = _joint_angles(params, person, phase, amplitude, freeze, time, rng)
    offsets = REST_OFFSETS * person.height_scale
    offsets[_LEG_BONES] *= person.leg_scale
    relative, foot_rotation = _forward_kinematics(angles, offsets)
    stance = ((phase[:, None] + [0.03, 0.53]) % 1.0 < 0.68) | (freeze[:, None] > 0.5)  # [left, right]
    joints = relative + _planted_root(relative, foot_rotation, stance, person.height_scale)[:, None, :]
    return joints + rng.normal(0.0, person.jitter, size=joints.shape)


def _smooth_noise(time: np.ndarray, rng: np.random.Generator, knot_s: float = 0.55) -> np.ndarray:
    """Standard-normal values at knots every ``knot_s`` seconds, linearly interpolated."""
    knots = np.arange(0.0, time[-1] + 2 * knot_s, knot_s)
    return np.interp(time, knots, rng.standard_normal(len(knots)))


def _phase_and_freezing(params: Severity, person: SubjectParams, time: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Gait phase (T,) in cycles (left heel strike at integers) and freezing weight (T,) in [0, 1].

    A freeze starts as the phase passes a heel strike, so that the walker stops in double
    support (both feet on the floor); the phase slows to a stop over ``FREEZE_RAMP_S``.
    """
    rate = params.stride_hz * person.cadence_scale * (
        1 + params.variability * person.variability_scale * _smooth_noise(time, rng))
    start_phase, freeze = rng.uniform(0, 1), np.zeros_like(time)
    phase = start_phase + _integral(rate, time)
    for _ in range(rng.poisson(params.freeze_per_s * time[-1])):
        stops = np.flatnonzero(np.diff(np.floor(2 * phase - _FREEZE_AT)) > 0)  # half-cycle boundaries
        if not stops.size:
            break
        start, length = time[rng.choice(stops)], rng.uniform(*params.freeze_s)
        inside = np.clip(np.minimum(time - start, start + length - time) / FREEZE_RAMP_S, 0, 1)
        freeze = np.maximum(freeze, 0.5 - 0.5 * np.cos(np.pi * inside))
        phase = start_phase + _integral(rate * (1 - freeze), time)
    return phase, freeze


def _integral(rate: np.ndarray, time: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(rate[:-1] * np.diff(time))])


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    distance = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (distance / width) ** 2)


def _joint_angles(params: Severity, person: SubjectParams, phase: np.ndarray, amplitude: np.ndarray,
                  freeze: np.ndarray, time: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every animated angle (radians), each (T,) or (T, 2) for [left, right]."""
    legs = np.stack([phase % 1.0, (phase + 0.5) % 1.0], axis=1)  # per leg, 0 = heel strike
    affected = np.array([1.0, 0.0] if person.affected_side > 0 else [0.0, 1.0])
    hip_range = amplitude[:, None] * (1 - params.asymmetry * affected)
    push = hip_range / SEVERITIES[0].hip_amplitude  # heel strike and push-off shrink with the stride
    hip = hip_range * (0.3 + np.cos(2 * np.pi * (legs + 0.08)))
    knee_swing = params.knee_swing * (1 + 0.05 * rng.standard_normal())
    tremble = 0.03 * freeze * np.sin(2 * np.pi * 5.5 * time)  # knee trembling while frozen
    loading = 0.75 * hip_range  # knee flexion after heel strike, in proportion to the stride
    knee = loading * _bump(legs, 0.12, 0.08) + knee_swing * _bump(legs, 0.70, 0.11) + 0.06 + tremble[:, None]
    foot = (push * (0.45 * _bump(legs, 0.61, 0.07) - 0.25 * _bump(legs, 0.0, 0.06))
            - 0.15 * _bump(legs, 0.88, 0.08))  # global foot pitch, positive: toe down
    cycle = 2 * np.pi * phase
    pitch, roll = 0.03 * np.sin(2 * cycle), 0.05 * np.sin(cycle)
    arm_range = params.arm_swing * person.arm_scale * (1 - 2 * params.asymmetry * affected)
    arm = 0.05 - arm_range * np.cos(2 * np.pi * legs)  # forward while the other leg is
    trunk = np.full_like(time, params.trunk_flexion + person.posture)
    return {"hip": hip, "knee": knee, "ankle": foot - pitch[:, None] + hip - knee,
            "adduction": 0.04 + 0.03 * np.sin(2 * np.pi * legs), "pitch": pitch, "roll": roll,
            "heading": 0.06 * _smooth_noise(time, rng, knot_s=2.0) + rng.normal(0.0, 0.05),
            "arm": arm, "elbow": 0.3 + 0.8 * params.trunk_flexion + 0.3 * np.maximum(arm, 0.0), "trunk": trunk,
            "torso_yaw": 0.25 * arm_range.mean() * np.sin(cycle)}


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about the x (0), y (1) or z (2) axis."""
    cos, sin = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    matrix = np.zeros(angle.shape + (3, 3))
    matrix[..., axis, axis] = 1.0
    matrix[..., i, i], matrix[..., j, j] = cos, cos
    matrix[..., i, j], matrix[..., j, i] = -sin, sin
    return matrix


def _local_rotations(angles: dict[str, np.ndarray]) -> np.ndarray:
    """Each joint's rotation (T, 22, 3, 3) relative to its parent; the pelvis's is global."""
    n = len(angles["heading"])
    local = np.broadcast_to(np.eye(3), (n, N_JOINTS, 3, 3)).copy()
    rx, ry, rz = (lambda a: _rotation(0, a)), (lambda a: _rotation(1, a)), (lambda a: _rotation(2, a))
    local[:, 0] = ry(angles["heading"]) @ rx(angles["pitch"]) @ rz(angles["roll"])
    for side, sign in ((0, 1.0), (1, -1.0)):
        hip, knee, ankle, shoulder, elbow = (INDEX[f"{'lr'[side]}_{name}"] for name in
                                             ("hip", "knee", "ankle", "shoulder", "elbow"))
        local[:, hip] = rz(-angles["roll"] - sign * angles["adduction"][:, side]) @ rx(-angles["hip"][:, side])
        local[:, knee] = rx(angles["knee"][:, side])
        local[:, ankle] = rx(angles["ankle"][:, side])
        local[:, shoulder] = rz(np.full(n, sign * 0.12)) @ rx(-angles["arm"][:, side])
        local[:, elbow] = rx(-angles["elbow"][:, side])
    for name, share in (("spine1", 0.3), ("spine2", 0.35), ("spine3", 0.35)):
        local[:, INDEX[name]] = rx(share * angles["trunk"])
    local[:, INDEX["spine3"]] = ry(-angles["torso_yaw"]) @ local[:, INDEX["spine3"]]
    local[:, INDEX["neck"]] = rx(-0.6 * angles["trunk"])
    return local


def _forward_kinematics(angles: dict[str, np.ndarray], offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions (T, 22, 3) relative to the pelvis, and the global rotations (T, 2, 3, 3) of the
    two feet (the ankles' frames)."""
    local = _local_rotations(angles)
    rotation = np.empty_like(local)
    positions = np.zeros(local.shape[:2] + (3,))
    rotation[:, 0] = local[:, 0]
    for j in range(1, N_JOINTS):
        parent = PARENTS[j]
        positions[:, j] = positions[:, parent] + rotation[:, parent] @ offsets[j]
        rotation[:, j] = rotation[:, parent] @ local[:, j]
    return positions, rotation[:, [INDEX["l_ankle"], INDEX["r_ankle"]]]


def _planted_root(relative: np.ndarray, foot_rotation: np.ndarray, stance: np.ndarray, scale: float) -> np.ndarray:
    """Pelvis positions (T, 3) keeping the lowest heel or toe of the feet in stance (T, 2) fixed on the floor."""
    heel = relative[:, [INDEX["l_ankle"], INDEX["r_ankle"]]] + foot_rotation @ (np.array(
        [0.0, -ANKLE_HEIGHT, -0.05]) * scale)
    toe = relative[:, [INDEX["l_foot"], INDEX["r_foot"]]] + foot_rotation @ (np.array([0.0, -0.015, 0.03]) * scale)
    contacts = np.concatenate([heel, toe], axis=1)  # (T, 4, 3)
    lowest = np.argmin(np.where(np.tile(stance, 2), contacts[..., 1], np.inf), axis=1)
    frames = np.arange(len(contacts))
    step = contacts[frames[1:], lowest[1:]] - contacts[frames[:-1], lowest[1:]]
    root = np.zeros((len(contacts), 3))
    root[1:, [0, 2]] = -np.cumsum(step[:, [0, 2]], axis=0)
    root[:, 1] = -contacts[frames, lowest, 1]
    return root
