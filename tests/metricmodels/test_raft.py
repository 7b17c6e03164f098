"""RAFT (metricmodels/raft.py) and VBench's dynamic-degree rule (metricmodels/dynamic_degree.py):
components against explicit computations, the rule on worked examples, the flow_score metric end
to end on a random-weight checkpoint written to disk and loaded through the real weights
resolution, and frames decoded as VBench's OpenCV reader decodes them. Parity of the network and
the rule with the authors' RAFT and VBench's DynamicDegree: golden values in test_golden.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generalbench.errors import MetricError, MissingWeightsError
from generalbench.metrics import compute, compute_detailed

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
pytest.importorskip("av", reason="pip install 'generalbench[video]'")

from generalbench.data.media import save_video  # noqa: E402
from generalbench.metricmodels import dynamic_degree as dd  # noqa: E402
from generalbench.metricmodels import raft  # noqa: E402

F = torch.nn.functional
DYNAMIC_T2V = "video-generation-dynamic-video-generation"


# ---- network components -------------------------------------------------------------------


def test_padding_is_the_sintel_input_padder() -> None:
    x = torch.arange(121 * 130, dtype=torch.float32).view(1, 1, 121, 130)
    y = raft.pad_to_multiple(x)
    # 121 -> 128: 3 rows on top, 4 below; 130 -> 136: 3 columns each side; edges replicated
    assert y.shape == (1, 1, 128, 136)
    assert torch.equal(y[..., 3:124, 3:133], x)
    assert torch.equal(y[..., 0, 3:133], x[..., 0, :]) and torch.equal(y[..., 127, 3:133], x[..., 120, :])
    assert torch.equal(y[..., 3:124, 0], x[..., :, 0]) and torch.equal(y[..., 3:124, 135], x[..., :, 129])
    assert raft.pad_to_multiple(torch.zeros(1, 3, 128, 136)).shape == (1, 3, 128, 136)


def test_sample_pixels_is_bilinear_in_pixel_units_with_zeros_outside() -> None:
    img = torch.arange(20, dtype=torch.float32).view(1, 1, 4, 5)
    xy = torch.tensor([[[[2.0, 1.0], [2.5, 1.0], [0.0, 0.5], [-1.0, 0.0], [4.0, 3.0]]]])
    got = raft.sample_pixels(img, xy).flatten().tolist()
    assert got == pytest.approx([7.0, 7.5, 2.5, 0.0, 19.0])
    with pytest.raises(MetricError, match="2 x 2"):
        raft.sample_pixels(torch.zeros(1, 1, 1, 4), xy)


def test_correlation_pyramid_and_window_lookup() -> None:
    torch.manual_seed(0)
    f1, f2 = torch.randn(1, 16, 8, 8), torch.randn(1, 16, 8, 8)
    pyr = raft.correlation_pyramid(f1, f2, levels=2)
    # level 0: the dot product of pixel (y, x) of f1 with pixel (v, u) of f2, / sqrt(channels)
    assert pyr[0].shape == (64, 1, 8, 8)
    assert float(pyr[0][3 * 8 + 5, 0, 6, 2]) == pytest.approx(float(f1[0, :, 3, 5] @ f2[0, :, 6, 2]) / 4, abs=1e-5)
    assert torch.allclose(pyr[1], F.avg_pool2d(pyr[0], 2))
    # the window's first axis steps x, its second y; at integer positions it reads the volume
    offsets = raft.window_offsets(1)
    assert offsets[0, 2].tolist() == [-1.0, 1.0] and offsets[2, 0].tolist() == [1.0, -1.0]
    coords = raft.pixel_grid(1, 8, 8)
    out = raft.lookup(pyr, coords, radius=1)
    assert out.shape == (1, 2 * 9, 8, 8)
    y, x = 4, 3  # channel a * 3 + b holds offset (x + a - 1, y + b - 1) at level 0
    for a in range(3):
        for b in range(3):
            expected = pyr[0][y * 8 + x, 0, y + b - 1, x + a - 1]
            assert float(out[0, a * 3 + b, y, x]) == pytest.approx(float(expected), abs=1e-5)


def test_convex_upsampling() -> None:
    torch.manual_seed(1)
    flow = torch.randn(1, 2, 3, 4)
    centre = torch.full((1, 9, 8, 8, 3, 4), -1e4)
    centre[:, 4] = 0.0  # all weight on the coarse pixel itself: nearest upsampling, in fine pixels
    up = raft.convex_upsample(flow, centre.view(1, 9 * 64, 3, 4))
    assert up.shape == (1, 2, 24, 32)
    assert torch.allclose(up, 8 * flow.repeat_interleave(8, dim=2).repeat_interleave(8, dim=3))
    even = raft.convex_upsample(flow, torch.zeros(1, 9 * 64, 3, 4))  # equal weights: 3 x 3 mean
    box = F.avg_pool2d(F.pad(8 * flow, (1, 1, 1, 1)), 3, stride=1)  # zeros beyond the border
    assert torch.allclose(even[:, :, ::8, ::8], box, atol=1e-5)


def test_network_shape_names_and_size_limits() -> None:
    net = raft.RaftNet()
    state = net.state_dict()
    # the authors' RAFT: 179 tensors (the strided units' norm under two names), 5.26M weights
    assert len(state) == 179
    assert sum(v.numel() for v in state.values() if v.is_floating_point()) == pytest.approx(5.26e6, rel=0.01)
    assert torch.equal(state["cnet.layer2.0.norm3.weight"], state["cnet.layer2.0.downsample.1.weight"])
    assert not any(k.startswith("fnet.") and "norm" in k for k in state)  # instance norm: no tensors
    with pytest.raises(MetricError, match="at least 128"):
        net(torch.zeros(1, 3, 64, 128), torch.zeros(1, 3, 64, 128))
    with pytest.raises(MetricError, match="multiples of 8"):
        net(torch.zeros(1, 3, 130, 128), torch.zeros(1, 3, 130, 128))


def test_a_checkpoint_of_another_shape_is_refused(tmp_path: Path) -> None:
    from generalbench.metricmodels.weights import resolve

    state = {raft.PREFIX + k: v for k, v in raft.RaftNet().state_dict().items()}
    state.pop("module.update_block.mask.2.bias")
    state["module.update_block.extra.weight"] = torch.zeros(1)
    state["module.fnet.conv2.weight"] = torch.zeros(128, 128, 1, 1)  # RAFT-small's feature width
    torch.save(state, tmp_path / "raft-things.pth")
    model = raft.RaftModel(resolve("raft-things", path=tmp_path / "raft-things.pth"), device="cpu")
    with pytest.raises(MetricError, match=r"missing \['update_block.mask.2.bias'\], unexpected "
                                          r"\['update_block.extra.weight'\], wrong shape \['fnet.conv2.weight'\]"):
        model.load()


# ---- VBench's rule ------------------------------------------------------------------------


def test_frame_sampling_follows_vbench_rounding() -> None:
    # max(1, round(fps / 8)) with Python's half-to-even rounding
    cases = {None: 1, 4: 1, 8: 1, 12: 2, 16: 2, 20: 2, 24: 3, 25: 3, 30: 4, 60: 8}
    assert {fps: dd.sampling_interval(fps) for fps in cases} == cases
    assert [dd.pairs_needed(n) for n in (1, 2, 3, 8, 16, 17)] == [0, 0, 1, 2, 4, 4]
    assert dd.threshold(480, 640) == pytest.approx(11.25)


def test_top_motion_and_the_count() -> None:
    flow = np.zeros((2, 10, 10))
    flow[0, 0, :5] = 3.0  # five pixels moving by (3, 4): magnitude 5, exactly the top 5%
    flow[1, 0, :5] = 4.0
    assert dd.top_motion(flow) == pytest.approx(5.0)
    assert np.isnan(dd.top_motion(np.ones((2, 4, 4))))  # 5% of 16 pixels is no pixel
    assert dd.decide([1.0, 5.0, 6.0], 4.0, 2) and not dd.decide([1.0, 5.0, 3.0], 4.0, 2)
    assert dd.decide([0.0], 4.0, 0) and not dd.decide([], 4.0, 0)  # VBench's loop needs one pair
    assert not dd.decide([float("nan")] * 3, 1.0, 1)


def test_dynamic_degree_samples_frames_and_counts_pairs() -> None:
    seen: list[int] = []

    def fake_flows(frames: np.ndarray) -> list[np.ndarray]:
        seen.extend(int(f[0, 0, 0]) for f in frames)
        # the pair's motion is the later frame's index (all pixels): magnitude = index
        return [np.stack([np.full((8, 8), float(f[0, 0, 0])), np.zeros((8, 8))]) for f in frames[1:]]

    video = np.stack([np.full((128, 160, 3), t, np.uint8) for t in range(12)])
    decision = dd.dynamic_degree(video[::dd.sampling_interval(16.0)], fake_flows)
    assert seen == [0, 2, 4, 6, 8, 10] and decision.frames == 6
    # threshold 6 * 128 / 256 = 3: pairs ending at 4, 6, 8, 10 exceed; round(4 * 6 / 16) = 2 needed
    assert decision.scores == [2.0, 4.0, 6.0, 8.0, 10.0] and decision.threshold == 3.0
    assert decision.needed == 2 and decision.dynamic
    slow = dd.dynamic_degree(video[:4] // 4, fake_flows)  # indices 0, 0, 0, 0: no motion
    assert not slow.dynamic and slow.needed == 1


def test_read_video_keeps_the_frames_vbench_keeps(tmp_path: Path) -> None:
    from generalbench.data.media import load_video

    frames = np.random.default_rng(0).integers(0, 256, (7, 32, 48, 3), dtype=np.uint8)
    save_video(tmp_path / "v.mp4", frames, fps=24)
    kept, fps, every = dd.read_video(tmp_path / "v.mp4")
    assert fps == pytest.approx(24.0) and every == 3 and kept.shape == (3, 32, 48, 3)
    assert np.array_equal(kept, load_video(tmp_path / "v.mp4")[::3])  # frames 0, 3, 6
    save_video(tmp_path / "v8.mp4", frames, fps=8)
    assert dd.read_video(tmp_path / "v8.mp4")[0].shape == (7, 32, 48, 3)
    with pytest.raises(MetricError, match="cannot read"):
        dd.read_video(tmp_path / "missing.mp4")


# ---- the metric ---------------------------------------------------------------------------


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    from scipy import ndimage

    noise = np.random.default_rng(seed).uniform(0, 255, (h, w, 3))
    img = ndimage.gaussian_filter(noise, (3, 3, 0))
    return ((img - img.min()) / np.ptp(img) * 255).astype(np.uint8)


def _square(frames: int, h: int = 128, w: int = 128, step: int = 8) -> np.ndarray:
    out = np.full((frames, h, w, 3), 30, np.uint8)
    for t in range(frames):
        out[t, 40:80, 10 + step * t:50 + step * t] = (220, 180, 40)
    return out


@pytest.fixture(scope="module")
def tiny_raft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """raft-things with random weights, its flow head scaled by 0.3 so that the flows of these
    small test videos fall on both sides of VBench's threshold (the decision is not constant)."""
    from generalbench.metricmodels.tiny import make_tiny

    root = tmp_path_factory.mktemp("raft-weights")
    make_tiny(root, ["raft-things"])
    path = root / "raft-things" / "raft-things.pth"
    state = torch.load(path, weights_only=True)
    assert all(k.startswith("module.") for k in state)  # saved like the authors' DataParallel file
    for name in ("weight", "bias"):
        state[f"module.update_block.flow_head.conv2.{name}"] *= 0.3
    torch.save(state, path)
    return root


@pytest.fixture()
def raft_weights(tiny_raft: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from generalbench.metricmodels.loaders import clear_cache

    monkeypatch.setenv("GENERALBENCH_WEIGHTS", str(tiny_raft))
    clear_cache()
    return tiny_raft


def test_flow_score_end_to_end_on_a_tiny_checkpoint(raft_weights: Path, tmp_path: Path) -> None:
    from generalbench.metricmodels.loaders import load_model

    static = np.stack([_texture(128, 128, 1)] * 3)
    moving = _square(6)  # at 24 fps: frames 0 and 3 are kept
    save_video(tmp_path / "moving.mp4", moving, fps=24)
    preds = [static, moving, None]
    result = compute_detailed("flow_score", preds, [None] * 3, task=DYNAMIC_T2V,
                              video_paths=[None, str(tmp_path / "moving.mp4"), None])
    assert result.details["model"] == "raft-things" and result.details["tiny_random_weights"] is True
    assert result.details["flow"] == "RAFT, 20 iterations"
    assert result.details["frames_kept"] == "every 3; every frame (no fps)"
    model = load_model("raft-things")  # the same weights again: the rule applied by hand
    file_frames, _, _ = dd.read_video(tmp_path / "moving.mp4")
    expected = []
    for frames in (static, file_frames):
        scores = [dd.top_motion(f) for f in model.pair_flows(frames)]
        expected.append(100.0 * (sum(s > 3.0 for s in scores) >= round(len(frames) / 4)))
    assert result.per_instance == [*expected, 0.0]  # a missing video scores 0
    assert result.per_instance[:2] == [0.0, 100.0]  # these weights see the square move, not the texture
    assert result.value == pytest.approx(100.0 / 3)

    lk = compute_detailed("flow_score", [static, moving], [None] * 2, flow="lucas-kanade")
    assert "Lucas-Kanade" in lk.details["flow"] and "model" not in lk.details
    assert lk.per_instance == [0.0, 100.0]
    with pytest.raises(MetricError, match="unknown flow"):
        compute("flow_score", [static], [None], flow="farneback")
    with pytest.raises(MetricError, match="at least 128"):
        compute("flow_score", [np.zeros((3, 64, 64, 3), np.uint8)], [None])


def test_flow_score_without_weights_names_the_checkpoint() -> None:
    with pytest.raises(MissingWeightsError, match="raft-things") as err:
        compute("flow_score", [_square(3)], [None])
    assert "4j4z58wuv8o0mfz/models.zip" in str(err.value)  # where VBench gets it


def test_the_scorer_passes_video_files_to_flow_score(raft_weights: Path, tmp_path: Path, catalog) -> None:
    """score_task on the Dynamic T2V task: the predicted file is read with its frame rate (24 fps:
    every 3rd frame), a missing prediction scores 0."""
    from generalbench.data.instances import Instance
    from generalbench.metrics.media_files import reads_video_files
    from generalbench.runner.score import score_task_predictions as score_task

    assert reads_video_files("flow_score")
    task = catalog.get(DYNAMIC_T2V)
    task_dir, pred_dir = tmp_path / "task", tmp_path / "preds"
    task_dir.mkdir()
    pred_dir.mkdir()
    save_video(task_dir / "ref.mp4", _square(4), fps=24)
    save_video(pred_dir / "v0.mp4", _square(7), fps=24)
    instances = [Instance(id=f"i{i}", task_id=DYNAMIC_T2V, inputs={"prompt": "a square"}, target="ref.mp4")
                 for i in range(2)]
    detail, rows = score_task(task, instances, {"i0": "v0.mp4"}, task_folder=task_dir,
                              predictions_folder=pred_dir)
    # tiny random stand-in weights: unsupported, the value kept in the details (issue 11, point 10)
    assert detail.raw is None and "TINY RANDOM" in detail.note
    assert detail.details["value_with_stand_in_weights"] == pytest.approx(50.0)
    assert detail.details["frames_kept"] == "every 3"
    assert [r.status for r in rows] == ["ok", "missing"] and [r.score for r in rows] == [100.0, 0.0]


# ---- decoding as VBench does ----------------------------------------------------------------
# Parity of the network and of the rule with VBench's own code: test_golden.py.


def test_frames_decode_as_vbench_reads_them_with_opencv(tmp_path: Path) -> None:
    """VBench's DynamicDegree.get_frames reads every frame with OpenCV (BGR -> RGB) and keeps every
    round(fps / 8)-th; read_video decodes with PyAV: the same pixels of the same frames."""
    cv2 = pytest.importorskip("cv2", reason="pip install 'generalbench[models]'")
    for name, (frames, fps) in {"square24.mp4": (_square(7, 136, 144, step=6), 24),
                                "texture16.mp4": (np.stack([np.roll(_texture(128, 128, 3), 4 * t, axis=1)
                                                            for t in range(5)]), 16)}.items():
        save_video(tmp_path / name, frames, fps=fps)
        capture = cv2.VideoCapture(str(tmp_path / name))
        every = max(1, round(capture.get(cv2.CAP_PROP_FPS) / 8))
        theirs = []
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            theirs.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        capture.release()
        kept, _, ours_every = dd.read_video(tmp_path / name)
        assert ours_every == every
        assert np.array_equal(kept, np.stack(theirs[::every])), name
