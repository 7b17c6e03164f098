"""HumanML3D motion features from joint positions: T x 22 x 3 joints -> (T - 1) x 263 features.

Motion FID's evaluator reads HumanML3D's 263-d feature vectors, while a text-to-motion model's
output, and General-Bench's motion files, are often joint positions. This is the conversion
HumanML3D applies to its own data (Guo et al. 2022, `motion_representation.ipynb`,
`process_file`), written here in numpy. Per frame the features are:

  root angular velocity about y (1), root linear velocity on xz (2), root height (1),
  joint positions relative to the root and facing +z (21 x 3), joint rotations as the first two
  columns of their rotation matrices ("continuous 6D", 21 x 6), joint velocities in the root's
  frame (22 x 3), and foot contacts of the left and right ankle and toe (4).

Steps, in HumanML3D's order: put the lowest joint on the floor; move the first root to the xz
origin; turn the body so that it first faces +z (the facing direction is up x (hips + shoulders),
HumanML3D's convention); detect foot contacts (squared per-frame displacement below 0.002);
inverse kinematics along HumanML3D's kinematic chains against its raw bone directions, with the
facing direction smoothed by a Gaussian of sigma 20 frames; express positions and velocities in
the root's heading frame.

One step is not done: HumanML3D first retargets every motion onto the bone lengths of one
reference clip of its data set (`uniform_skeleton`, clip 000021), which is not available here.
Joints that already come from HumanML3D features (HumanML3D's `new_joints`, or a generator's
features recovered with `recover_from_ric`) are on that skeleton and need no retargeting.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from generalbench.errors import MetricError

JOINTS = 22
FEATURES = 263
# HumanML3D's paramUtil: unit rest direction of each joint's incoming bone, and the chains
RAW_OFFSETS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
    [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64)
KINEMATIC_CHAINS = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15),
                    (9, 14, 17, 19, 21), (9, 13, 16, 18, 20))
RIGHT_HIP, LEFT_HIP, RIGHT_SHOULDER, LEFT_SHOULDER = 2, 1, 17, 16
RIGHT_FOOT, LEFT_FOOT = (8, 11), (7, 10)  # ankle, toe
FOOT_CONTACT_THRESHOLD = 0.002
FACING_SIGMA = 20
UP = np.array([0.0, 1.0, 0.0])
FORWARD = np.array([0.0, 0.0, 1.0])


# ---- quaternions (w, x, y, z) -------------------------------------------------------------

def qmul(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hamilton product q * r."""
    w1, x1, y1, z1 = np.moveaxis(q, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(r, -1, 0)
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
                     w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                     w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=-1)


def qconj(q: np.ndarray) -> np.ndarray:
    """The inverse of a unit quaternion."""
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v by unit quaternions q (broadcasting)."""
    axis = q[..., 1:]
    uv = np.cross(axis, v)
    return v + 2.0 * (q[..., :1] * uv + np.cross(axis, uv))


def qbetween(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The shortest rotation taking direction a to direction b.

    Opposite directions have no unique shortest rotation (HumanML3D's formula gives NaN there):
    a half turn about an axis perpendicular to a is used.
    """
    a, b = np.broadcast_arrays(a, b)
    q = np.concatenate([np.sqrt((a * a).sum(-1, keepdims=True) * (b * b).sum(-1, keepdims=True))
                        + (a * b).sum(-1, keepdims=True), np.cross(a, b)], axis=-1)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    flat = norm[..., 0] < 1e-12 * np.maximum(np.linalg.norm(a, axis=-1), 1.0)
    if np.any(flat):
        helper = np.where(np.abs(a[flat][:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        axis = np.cross(a[flat], helper)
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        q = q.copy()
        q[flat] = np.concatenate([np.zeros((axis.shape[0], 1)), axis], axis=-1)
        norm = np.where(flat[..., None], 1.0, norm)
    return q / norm


def quaternion_to_cont6d(q: np.ndarray) -> np.ndarray:
    """First two columns of the rotation matrix of q, concatenated (Zhou et al.'s 6D)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    s = 2.0 / (q * q).sum(-1)
    col0 = np.stack([1 - s * (y * y + z * z), s * (x * y + z * w), s * (x * z - y * w)], axis=-1)
    col1 = np.stack([s * (x * y - z * w), 1 - s * (x * x + z * z), s * (y * z + x * w)], axis=-1)
    return np.concatenate([col0, col1], axis=-1)


# ---- the conversion -----------------------------------------------------------------------

def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _facing(joints: np.ndarray) -> np.ndarray:
    """Forward direction(s) as HumanML3D's inverse kinematics takes them: up x across, where across
    adds the left-to-right shoulder line to the right-to-left hip line (its index order), so the
    wider shoulders set the direction."""
    across = (joints[..., LEFT_HIP, :] - joints[..., RIGHT_HIP, :]) \
        + (joints[..., RIGHT_SHOULDER, :] - joints[..., LEFT_SHOULDER, :])
    return np.cross(UP, _unit(across))


def inverse_kinematics(joints: np.ndarray, smooth_sigma: float = FACING_SIGMA) -> np.ndarray:
    """T x 22 x 4 local joint rotations; joint 0 holds the root's heading rotation."""
    forward = _facing(joints)
    if smooth_sigma:
        forward = gaussian_filter1d(forward, smooth_sigma, axis=0, mode="nearest")
    root = qbetween(_unit(forward), FORWARD)
    quats = np.zeros(joints.shape[:-1] + (4,))
    quats[:, 0] = root
    for chain in KINEMATIC_CHAINS:
        accumulated = root  # every chain starts from the root's heading, as in HumanML3D
        for parent, child in zip(chain[:-1], chain[1:], strict=False):
            bone = _unit(joints[:, child] - joints[:, parent])
            local = qmul(qconj(accumulated), qbetween(RAW_OFFSETS[child], bone))
            quats[:, child] = local
            accumulated = qmul(accumulated, local)
    return quats


def joints_to_features(joints: np.ndarray, feet_threshold: float = FOOT_CONTACT_THRESHOLD
                       ) -> np.ndarray:
    """HumanML3D features of a T x 22 x 3 joint-position motion (y up, metres): (T - 1) x 263."""
    pos = np.array(joints, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[1:] != (JOINTS, 3):
        raise MetricError(f"HumanML3D joints must be T x {JOINTS} x 3 joints, got shape {pos.shape}")
    if pos.shape[0] < 2:
        raise MetricError(f"a motion needs at least 2 frames, got {pos.shape[0]}")
    if not np.all(np.isfinite(pos)):
        raise MetricError("motion joints contain NaN or infinite values")
    with np.errstate(invalid="ignore", divide="ignore"):  # degenerate bones are reported below
        features = _features(pos, feet_threshold)
    if not np.all(np.isfinite(features)):
        raise MetricError("motion joints give undefined bone directions (two joints coincide)")
    return features


def _features(pos: np.ndarray, feet_threshold: float) -> np.ndarray:
    pos[:, :, 1] -= pos[:, :, 1].min()  # on the floor
    first = pos[0].copy()
    pos -= first[0] * np.array([1.0, 0.0, 1.0])  # first root at the xz origin
    # initial facing: HumanML3D's process_file takes the hip difference the other way round
    across = (first[RIGHT_HIP] - first[LEFT_HIP]) + (first[RIGHT_SHOULDER] - first[LEFT_SHOULDER])
    turn = qbetween(_unit(np.cross(UP, _unit(across))), FORWARD)
    pos = qrot(np.broadcast_to(turn, pos.shape[:-1] + (4,)), pos)
    world = pos.copy()

    def contacts(feet: tuple[int, int]) -> np.ndarray:
        step = ((pos[1:, list(feet)] - pos[:-1, list(feet)]) ** 2).sum(-1)
        return (step < feet_threshold).astype(np.float64)

    feet_left, feet_right = contacts(LEFT_FOOT), contacts(RIGHT_FOOT)

    quats = inverse_kinematics(pos)
    heading = quats[:, 0]
    root_step = qrot(heading[1:], pos[1:, 0] - pos[:-1, 0])
    turn_rate = qmul(heading[1:], qconj(heading[:-1]))

    local = pos.copy()  # joints relative to the root on xz, in the root's heading frame
    local[..., 0] -= local[:, :1, 0]
    local[..., 2] -= local[:, :1, 2]
    local = qrot(np.repeat(heading[:, None], JOINTS, axis=1), local)

    velocity = qrot(np.repeat(heading[:-1, None], JOINTS, axis=1), world[1:] - world[:-1])
    n = pos.shape[0]
    return np.concatenate([
        np.arcsin(np.clip(turn_rate[:, 2:3], -1.0, 1.0)),
        root_step[:, [0, 2]],
        local[:-1, 0, 1:2],
        local[:-1, 1:].reshape(n - 1, -1),
        quaternion_to_cont6d(quats[:-1, 1:]).reshape(n - 1, -1),
        velocity.reshape(n - 1, -1),
        feet_left, feet_right], axis=-1)
