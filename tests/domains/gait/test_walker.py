"""The kinematic walker: plausible walking (planted feet, bobbing pelvis) and what severity changes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.gait.skeleton import INDEX
from lilaw_health.domains.gait.walker import (
    SEVERITIES,
    SubjectParams,
    subject_params,
    walk,
)

FPS = 30


def _walks(severity: int, *, n: int = 3, n_frames: int = 300, seed: int = 0) -> list[np.ndarray]:
    """``n`` noise-free walks of different people."""
    rng = np.random.default_rng(1000 * severity + seed)
    return [walk(severity, n_frames=n_frames, rng=rng, subject_params=replace(subject_params(rng), jitter=0.0))
            for _ in range(n)]


def _speed(joints: np.ndarray) -> float:
    return float(np.linalg.norm(joints[-1, 0, [0, 2]] - joints[0, 0, [0, 2]]) / (len(joints) / FPS))


def _longest_still_s(joints: np.ndarray, window: int = 15) -> float:
    """Longest time (s) during which the pelvis moves less than 5 cm per half second."""
    still = np.linalg.norm(joints[window:, 0, [0, 2]] - joints[:-window, 0, [0, 2]], axis=1) < 0.05
    best = run = 0
    for frame_still in still:
        run = run + 1 if frame_still else 0
        best = max(best, run)
    return best / FPS


@pytest.fixture(scope="module")
def walks_by_severity() -> dict[int, list[np.ndarray]]:
    return {severity: _walks(severity) for severity in SEVERITIES}


def test_walk_shape_determinism_and_direction():
    person = subject_params(np.random.default_rng(1))
    first = walk(1, n_frames=90, rng=np.random.default_rng(5), subject_params=person)
    again = walk(1, n_frames=90, rng=np.random.default_rng(5), subject_params=person)
    other = walk(1, n_frames=90, rng=np.random.default_rng(6), subject_params=person)
    assert first.shape == (90, 22, 3) and np.isfinite(first).all()
    assert np.array_equal(first, again) and not np.allclose(first, other)
    assert first[-1, 0, 2] - first[0, 0, 2] > 1.0  # three seconds along +z
    assert abs(first[-1, 0, 0] - first[0, 0, 0]) < 0.5


def test_feet_stay_planted_and_on_the_floor(walks_by_severity):
    for joints in (w for walks in walks_by_severity.values() for w in walks):
        assert joints[..., 1].min() > 0.005  # no joint under the floor
        for foot in (INDEX["l_foot"], INDEX["r_foot"]):
            height = joints[1:, foot, 1]
            flat = height < height.min() + 0.003  # the foot is down
            speed = np.linalg.norm(np.diff(joints[:, foot, [0, 2]], axis=0), axis=1) * FPS
            assert 0.1 < flat.mean() < 0.7
            assert np.percentile(speed[flat], 90) < 0.03  # m/s: no sliding


def test_pelvis_height_oscillates_with_each_step(walks_by_severity):
    for joints in walks_by_severity[0]:
        height = joints[:, 0, 1]
        assert 0.015 < np.ptp(height) < 0.06
        spectrum = np.abs(np.fft.rfft(height - height.mean()))
        step_hz = np.fft.rfftfreq(len(height), 1 / FPS)[np.argmax(spectrum)]
        assert 1.5 < step_hz < 2.2  # two bobs per stride of about 0.95 Hz


def test_severity_shortens_strides_reduces_arm_swing_and_stoops(walks_by_severity):
    speed, arm, stoop = {}, {}, {}
    for severity, walks in walks_by_severity.items():
        speed[severity] = np.mean([_speed(joints) for joints in walks])
        arm[severity] = np.mean([np.ptp(joints[:, INDEX[wrist], 2] - joints[:, 0, 2]) for joints in walks
                                 for wrist in ("l_wrist", "r_wrist")])
        neck = [joints[:, INDEX["neck"]] - joints[:, 0] for joints in walks]
        stoop[severity] = np.mean([np.arctan2(vector[:, 2], vector[:, 1]).mean() for vector in neck])
    for low, high in ((0, 1), (1, 2), (2, 3)):
        assert speed[high] < speed[low] and arm[high] < arm[low] and stoop[high] > stoop[low]
    assert speed[0] > 0.8 and speed[3] < 0.45


def test_the_affected_side_swings_its_arm_less_at_high_severity():
    person = SubjectParams(affected_side=1, jitter=0.0)
    ratios = {}
    for severity in (0, 3):
        joints = walk(severity, n_frames=300, rng=np.random.default_rng(3), subject_params=person)
        left, right = (np.ptp(joints[:, INDEX[w], 2] - joints[:, 0, 2]) for w in ("l_wrist", "r_wrist"))
        ratios[severity] = left / right
    assert ratios[3] < 0.8 and ratios[0] > 0.9


def test_severity_three_freezes_and_severity_zero_never_does():
    frozen = [_longest_still_s(joints) for joints in _walks(3, n=3, n_frames=600)]
    assert min(frozen) > 0.4
    assert max(_longest_still_s(joints) for joints in _walks(0, n=3, n_frames=600)) == 0.0


def test_bad_severity_and_length_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(InputError) as error:
        walk(4, n_frames=30, rng=rng)
    assert str(error.value) == BAD_VALUE.format(arg="severity", expected="a number in [0, 3]", received="4", fix="")
    with pytest.raises(InputError) as error:
        walk(0, n_frames=1, rng=rng)
    assert str(error.value) == BAD_VALUE.format(arg="n_frames", expected="an integer >= 2", received="1", fix="")


def test_levels_between_scores_interpolate_the_gait_parameters():
    from lilaw_health.domains.gait.walker import SEVERITIES, severity_params

    assert severity_params(1.0) == SEVERITIES[1] and severity_params(3.0) == SEVERITIES[3]
    half = severity_params(1.5)
    assert half.hip_amplitude == pytest.approx((SEVERITIES[1].hip_amplitude + SEVERITIES[2].hip_amplitude) / 2)
    assert half.freeze_s == SEVERITIES[2].freeze_s  # no freezing at 1: a freeze lasts as at 2
