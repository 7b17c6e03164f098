"""HumanML3D features from joint positions (metricmodels/humanml3d_features.py), checked by worked
examples and by laws the representation must obey: standing still has no velocity and full foot
contact, walking forward moves the root along +z at the walking speed, the features do not
depend on where the motion starts or which way it faces, and forward kinematics with the
recovered rotations rebuilds the joints.

The conversion was also compared once with a transcription of HumanML3D's `process_file` (which
computes in float32) on four random 40-frame motions: largest difference 3.2e-5.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generalbench.errors import MetricError
from generalbench.metricmodels import humanml3d_features as h

# a stick figure facing +z, left side at +x (HumanML3D / SMPL joint order)
REST = np.array([
    [0, 0.95, 0], [0.1, 0.9, 0], [-0.1, 0.9, 0], [0, 1.1, 0], [0.1, 0.5, 0.02], [-0.1, 0.5, 0.02],
    [0, 1.25, 0], [0.1, 0.08, 0], [-0.1, 0.08, 0], [0, 1.35, 0], [0.1, 0.0, 0.1],
    [-0.1, 0.0, 0.1], [0, 1.5, 0], [0.08, 1.42, 0], [-0.08, 1.42, 0], [0, 1.65, 0.03],
    [0.2, 1.42, 0], [-0.2, 1.42, 0], [0.25, 1.15, 0.05], [-0.25, 1.15, 0.05], [0.28, 0.9, 0.1],
    [-0.28, 0.9, 0.1]])
ROOT_Y, RIC, ROT, VEL, FEET = slice(3, 4), slice(4, 67), slice(67, 193), slice(193, 259), slice(259, 263)


def _walk(frames: int = 30, speed: float = 0.05, seed: int = 0, jitter: float = 0.01) -> np.ndarray:
    rng = np.random.default_rng(seed)
    joints = REST[None] + speed * np.arange(frames)[:, None, None] * np.array([0.0, 0.0, 1.0])
    joints = joints + jitter * rng.standard_normal(joints.shape)  # every joint wobbles a little
    return joints


def _yaw(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def test_standing_still() -> None:
    still = np.repeat(REST[None], 10, axis=0)
    f = h.joints_to_features(still)
    assert f.shape == (9, 263)
    assert np.allclose(f[:, :3], 0) and np.allclose(f[:, VEL], 0)
    assert np.all(f[:, FEET] == 1.0)  # no foot moves: every foot is in contact
    assert np.allclose(f[:, ROOT_Y], 0.95)  # the toes (y = 0) are the floor
    # root-relative joints of a figure already facing +z at the origin are its rest offsets
    assert np.allclose(f[0, RIC].reshape(21, 3), REST[1:] - REST[0] * [1, 0, 1], atol=1e-9)


def test_walking_forward() -> None:
    f = h.joints_to_features(_walk(speed=0.05, jitter=0.001))
    assert np.allclose(f[:, 2], 0.05, atol=0.005) and np.abs(f[:, 1]).max() < 0.005  # +z per frame
    assert np.abs(f[:, 0]).max() < 0.05  # hardly any turning
    # every joint moves 0.05 per frame forward: squared step 0.0025 > 0.002, so no foot contact
    assert f[:, FEET].mean() < 0.2
    slow = h.joints_to_features(np.repeat(REST[None], 20, axis=0)
                                + 0.01 * np.arange(20)[:, None, None] * [0, 0, 1])
    assert np.all(slow[:, FEET] == 1.0)  # 0.0001 per frame is below the contact threshold


@settings(max_examples=25, deadline=None)
@given(angle=st.floats(-3.1, 3.1), dx=st.floats(-5, 5), dz=st.floats(-5, 5), lift=st.floats(0, 2))
def test_features_ignore_start_position_and_heading(angle: float, dx: float, dz: float, lift: float) -> None:
    base = _walk(frames=12, seed=3)
    moved = base @ _yaw(angle).T + np.array([dx, lift, dz])
    assert np.allclose(h.joints_to_features(base), h.joints_to_features(moved), atol=1e-6)


def _matrix_from_6d(six: np.ndarray) -> np.ndarray:
    a, b = six[..., :3], six[..., 3:]
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def test_rotations_rebuild_the_joints_by_forward_kinematics() -> None:
    """Each chain starts from the root's rotation and composes the local ones; the composed
    rotation turns a joint's raw rest direction into its bone, so FK returns the input joints."""
    joints = _walk(frames=8, seed=5)
    six = h.quaternion_to_cont6d(h.inverse_kinematics(joints))
    for t in range(joints.shape[0]):
        rebuilt = np.zeros((22, 3))
        rebuilt[0] = joints[t, 0]
        for chain in h.KINEMATIC_CHAINS:
            rot = _matrix_from_6d(six[t, 0])
            for parent, child in zip(chain[:-1], chain[1:], strict=False):
                rot = rot @ _matrix_from_6d(six[t, child])
                bone = np.linalg.norm(joints[t, child] - joints[t, parent])
                rebuilt[child] = rebuilt[parent] + rot @ (h.RAW_OFFSETS[child] * bone)
        assert np.allclose(rebuilt, joints[t], atol=1e-9), t


def test_quaternion_helpers() -> None:
    q = h.qbetween(np.array([1.0, 0, 0]), np.array([0, 0, 1.0]))
    assert np.allclose(h.qrot(q, np.array([1.0, 0, 0])), [0, 0, 1])
    half = h.qbetween(np.array([0, 1.0, 0]), np.array([0, -1.0, 0]))  # opposite: a half turn
    assert np.allclose(h.qrot(half, np.array([0, 1.0, 0])), [0, -1, 0]) and np.all(np.isfinite(half))
    r = h.qbetween(np.array([0.3, 0.2, 0.9]), np.array([-0.5, 0.1, 0.2]))
    assert np.allclose(h.qmul(r, h.qconj(r)), [1, 0, 0, 0])
    assert np.allclose(_matrix_from_6d(h.quaternion_to_cont6d(r)) @ [1.0, 2, 3],
                       h.qrot(r, np.array([1.0, 2, 3])))


def test_bad_joints_are_refused() -> None:
    with pytest.raises(MetricError, match="T x 22 x 3"):
        h.joints_to_features(np.zeros((5, 21, 3)))
    with pytest.raises(MetricError, match="at least 2 frames"):
        h.joints_to_features(REST[None])
    with pytest.raises(MetricError, match="NaN"):
        h.joints_to_features(np.full((3, 22, 3), np.nan))
    with pytest.raises(MetricError, match="coincide"):
        h.joints_to_features(np.zeros((3, 22, 3)))
