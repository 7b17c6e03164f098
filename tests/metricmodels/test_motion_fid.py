"""Motion FID end to end with a tiny random-weight HumanML3D evaluator saved in the official layout.

The reference network below is written the way the official evaluator declares it
(EricGuo5513/text-to-motion networks/modules.py: nn.Sequential with dropout layers, a GRU with a
learned initial state, padded batches and packed sequences), so a strict load of its state dicts
into generalbench's port checks the parameter names, and its embeddings check the computation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from generalbench.errors import MetricError, MissingWeightsError  # noqa: E402
from generalbench.metricmodels import loaders  # noqa: E402
from generalbench.metricmodels.featmath import frechet_distance, gaussian_stats  # noqa: E402
from generalbench.metrics.registry import compute_detailed  # noqa: E402

MODEL_ID = "humanml3d-t2m-evaluator"
DIM = 263
MAX_LEN = 196


class OfficialMovement(nn.Module):
    def __init__(self, d_in: int, hidden: int, out: int) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv1d(d_in, hidden, 4, 2, 1), nn.Dropout(0.2),
                                  nn.LeakyReLU(0.2), nn.Conv1d(hidden, out, 4, 2, 1),
                                  nn.Dropout(0.2), nn.LeakyReLU(0.2))
        self.out_net = nn.Linear(out, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(x.permute(0, 2, 1)).permute(0, 2, 1))


class OfficialMotion(nn.Module):
    def __init__(self, d_in: int, hidden: int, out: int) -> None:
        super().__init__()
        self.input_emb = nn.Linear(d_in, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LayerNorm(hidden),
                                        nn.LeakyReLU(0.2), nn.Linear(hidden, out))
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        emb = pack_padded_sequence(self.input_emb(x), lengths.tolist(), batch_first=True,
                                   enforce_sorted=False)
        _, last = self.gru(emb, self.hidden.repeat(1, x.shape[0], 1))
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


@pytest.fixture(autouse=True)
def _fresh_models() -> None:
    loaders.clear_cache()


def _tiny_evaluator(folder: Path, *, mean_name: str = "Mean.npy") -> tuple[nn.Module, nn.Module, np.ndarray, np.ndarray]:
    """Random official-layout evaluator + statistics written as the official files."""
    torch.manual_seed(0)
    movement, motion = OfficialMovement(DIM - 4, 16, 8).eval(), OfficialMotion(8, 12, 6).eval()
    text = nn.Linear(4, 4)  # the checkpoint also holds the text encoder; motion FID ignores it
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"movement_encoder": movement.state_dict(), "motion_encoder": motion.state_dict(),
                "text_encoder": text.state_dict(), "epoch": 3}, folder / "finest.tar")
    rng = np.random.default_rng(1)
    mean = rng.normal(0.0, 0.5, DIM).astype(np.float32)
    std = rng.uniform(0.5, 2.0, DIM).astype(np.float32)
    np.save(folder / mean_name, mean)
    np.save(folder / mean_name.replace("ean", "td").replace("Mtd", "Std").replace("mtd", "std"), std)
    return movement, motion, mean, std


def _official_embeddings(movement: nn.Module, motion: nn.Module, mean: np.ndarray, std: np.ndarray,
                         motions: list[np.ndarray]) -> np.ndarray:
    """The official get_motion_embeddings on a zero-padded batch of normalised motions."""
    lengths = [m.shape[0] // 4 * 4 for m in motions]
    batch = np.zeros((len(motions), MAX_LEN, DIM), np.float32)
    for i, (m, n) in enumerate(zip(motions, lengths, strict=True)):
        batch[i, :n] = (m[:n] - mean) / std
    with torch.no_grad():
        moves = movement(torch.from_numpy(batch)[..., :-4])
        return motion(moves, torch.tensor(lengths) // 4).double().numpy()


def _motions(n: int, seed: int, shift: float = 0.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(shift, 1.0, (int(rng.integers(40, MAX_LEN + 1)), DIM)).astype(np.float32)
            for _ in range(n)]


def test_motion_fid_matches_the_official_computation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    movement, motion, mean, std = _tiny_evaluator(tmp_path / "weights" / MODEL_ID)
    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tmp_path / "weights"))
    refs, preds = _motions(7, seed=2), _motions(6, seed=3, shift=0.3)

    result = compute_detailed("motion_fid", preds + [None], refs, cache_dir=tmp_path / "stats")
    expected = frechet_distance(gaussian_stats(_official_embeddings(movement, motion, mean, std, preds)),
                                gaussian_stats(_official_embeddings(movement, motion, mean, std, refs)))
    assert result.value == pytest.approx(expected, rel=1e-5)
    assert result.value > 0
    assert result.details["model"] == MODEL_ID and result.details["origin"] == "weights-folder"
    assert (result.details["n_pred"], result.details["n_ref"], result.details["n_missing"]) == (6, 7, 1)

    # the same network through an explicit weights folder, with the lower-case statistics names
    _tiny_evaluator(tmp_path / "explicit", mean_name="mean.npy")
    again = compute_detailed("motion_fid", preds + [None], refs, weights=str(tmp_path / "explicit"))
    assert again.value == pytest.approx(expected, rel=1e-5)


def test_identical_sets_score_zero_and_order_does_not_matter(tmp_path: Path) -> None:
    _tiny_evaluator(tmp_path / "w")
    refs = _motions(5, seed=4)
    same = compute_detailed("motion_fid", refs, refs, weights=str(tmp_path / "w")).value
    shuffled = compute_detailed("motion_fid", refs[::-1], refs, weights=str(tmp_path / "w")).value
    assert same == pytest.approx(0.0, abs=1e-6) and shuffled == pytest.approx(0.0, abs=1e-6)


def test_missing_weights_say_how_to_obtain_them() -> None:
    with pytest.raises(MissingWeightsError) as err:
        compute_detailed("motion_fid", _motions(2, seed=5), _motions(2, seed=6))
    msg = str(err.value)
    assert "metric 'motion_fid'" in msg and MODEL_ID in msg and "GENERALBENCH_WEIGHTS" in msg
    assert "finest.tar" in msg and "Google Drive" in msg


def test_fetch_refuses_a_manual_source(tmp_path: Path) -> None:
    from generalbench.metricmodels.weights import fetch

    with pytest.raises(MissingWeightsError, match="cannot be downloaded"):
        fetch(MODEL_ID, tmp_path)


def test_joint_positions_and_bad_statistics_are_refused(tmp_path: Path) -> None:
    _tiny_evaluator(tmp_path / "w")
    joints = [np.zeros((40, 22, 3), np.float32)] * 2  # every bone of length zero
    with pytest.raises(MetricError, match="two joints coincide"):
        compute_detailed("motion_fid", joints, joints, weights=str(tmp_path / "w"))
    with pytest.raises(MetricError, match="T x 22 x 3 joints"):
        compute_detailed("motion_fid", [np.ones((40, 24, 3))] * 2, _motions(2, seed=8),
                         weights=str(tmp_path / "w"))
    np.save(tmp_path / "w" / "Mean.npy", np.zeros(DIM - 1, np.float32))
    loaders.clear_cache()
    with pytest.raises(MissingWeightsError, match="statistics do not fit"):
        compute_detailed("motion_fid", _motions(2, seed=7), _motions(2, seed=8), weights=str(tmp_path / "w"))


def test_port_loads_the_official_layout_strictly() -> None:
    from generalbench.metricmodels.t2m_evaluator import evaluator_from_state

    movement, motion = OfficialMovement(DIM - 4, 16, 8), OfficialMotion(8, 12, 6)
    state = {"movement_encoder": movement.state_dict(), "motion_encoder": motion.state_dict()}
    net = evaluator_from_state(state, np.zeros(DIM), np.ones(DIM))
    assert set(net.movement_encoder.state_dict()) == set(movement.state_dict())
    assert set(net.motion_encoder.state_dict()) == set(motion.state_dict())
    state["motion_encoder"] = {**motion.state_dict(), "extra.weight": torch.zeros(1)}
    with pytest.raises(RuntimeError, match="Unexpected key"):
        evaluator_from_state(state, np.zeros(DIM), np.ones(DIM))


def test_joint_positions_score_as_their_humanml3d_features(tmp_path: Path) -> None:
    from generalbench.metricmodels.humanml3d_features import joints_to_features

    _tiny_evaluator(tmp_path / "w")
    rng = np.random.default_rng(4)
    rest = rng.normal(0.0, 0.3, (22, 3)) + [0.0, 1.0, 0.0]
    walks = [rest + 0.04 * np.arange(30)[:, None, None] * [0, 0, 1] + 0.01 * rng.normal(size=(30, 22, 3))
             for _ in range(4)]
    feats = [joints_to_features(w).astype(np.float32) for w in walks]
    refs = _motions(4, seed=9)
    from_joints = compute_detailed("motion_fid", walks, refs, weights=str(tmp_path / "w")).value
    from_features = compute_detailed("motion_fid", feats, refs, weights=str(tmp_path / "w")).value
    assert from_joints == pytest.approx(from_features, rel=1e-6) and from_joints > 0
