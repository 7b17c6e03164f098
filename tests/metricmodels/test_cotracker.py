"""CoTracker2 (metricmodels/cotracker.py): fixed embeddings and the query grid on worked examples,
and strict loading of a tiny random-weight checkpoint written to disk. Parity with Meta's own
code (network, offline predictor, parameter layout) is checked against golden values in
test_golden.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from generalbench.errors import MetricError

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")

from generalbench.metricmodels import cotracker as ct  # noqa: E402

TINY = dict(latent=32, dim=48, heads=1, mlp_hidden=96, time_depth=2, space_depth=1, virtual=8,
            window=8, resolution=(64, 96))


def test_sincos_embeddings_match_their_formulas() -> None:
    pos = torch.tensor([0.0, 1.0, 5.0])
    emb = ct.sincos_1d(8, pos)
    freq = [1.0, 10000 ** -0.25, 10000 ** -0.5, 10000 ** -0.75]
    expected = [[math.sin(p * f) for f in freq] + [math.cos(p * f) for f in freq] for p in pos.tolist()]
    assert np.allclose(emb.numpy(), expected, atol=1e-7)
    grid = ct.sincos_2d(8, 3, 4)  # 1 x 8 x 3 x 4: columns in the first half, rows in the second
    assert grid.shape == (1, 8, 3, 4)
    assert torch.allclose(grid[0, :4, 2, 3], ct.sincos_1d(4, torch.tensor([3.0]))[0])
    assert torch.allclose(grid[0, 4:, 2, 3], ct.sincos_1d(4, torch.tensor([2.0]))[0])


def test_flow_embedding_interleaves_sines_and_cosines() -> None:
    flow = torch.tensor([[[0.5, -2.0]]])
    emb = ct.flow_embedding(flow, 8)  # frequencies 0, 250, 500, 750
    assert emb.shape == (1, 1, 2 + 16)
    x, y = 0.5, -2.0
    expected = [x, y]
    for v in (x, y):
        for f in (0.0, 250.0, 500.0, 750.0):
            expected += [math.sin(v * f), math.cos(v * f)]
    assert np.allclose(emb[0, 0].numpy(), expected, atol=2e-4)


def test_query_grid_is_row_major_with_a_width_64th_margin() -> None:
    g = ct.grid_points(10, 384, 512)
    assert g.shape == (100, 2)
    assert g[0].tolist() == [8.0, 8.0] and g[9].tolist() == [504.0, 8.0] and g[99].tolist() == [504.0, 376.0]
    assert torch.allclose(g[10], torch.tensor([8.0, 8.0 + 368 / 9]))
    assert ct.grid_points(1, 384, 512).tolist() == [[256.0, 192.0]]


def test_sampling_uses_pixel_centres_and_clamps_at_the_border() -> None:
    img = torch.arange(12.0).view(1, 1, 3, 4)
    pts = torch.tensor([[[[0.0, 0.0], [3.0, 2.0], [1.5, 0.5], [-5.0, 1.0]]]])
    assert ct.sample_at(img, pts).flatten().tolist() == [0.0, 11.0, 3.5, 4.0]
    vol = torch.arange(24.0).view(1, 1, 2, 3, 4)  # (t, x, y) points
    assert ct.sample_at(vol, torch.tensor([[[[[1.0, 2.0, 1.0]]]]])).item() == 12 + 4 + 2


def test_chunked_encoding_equals_one_pass() -> None:
    torch.manual_seed(0)
    net = ct.CoTracker2Net(**TINY).eval()
    video = torch.rand(1, 5, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(net.encode(video, chunk=2), net.encode(video, chunk=16), atol=1e-5)


def test_tiny_checkpoint_round_trip_through_the_loader(isolated_weights: Path, tmp_path: Path) -> None:
    from generalbench.metricmodels.loaders import clear_cache, load_model
    from generalbench.metricmodels.tiny import make_tiny

    folder = make_tiny(tmp_path, ["cotracker2"])[0]
    ckpt = folder / "cotracker2.pth"
    clear_cache()
    model = load_model("cotracker2", weights=ckpt, device="cpu", batch_size=4)
    frames = np.random.default_rng(0).integers(0, 255, (9, 30, 44, 3), dtype=np.uint8)
    tracks, visible = model.track(frames)
    assert tracks.shape == (9, 100, 2) and visible.shape == (9, 100) and visible[0].all()
    saved = torch.load(ckpt, weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in model.net.state_dict().items())
    info = model.info()
    assert info["tiny_random_weights"] is True and info["window"] == 8 and info["resolution"] == [64, 96]
    # the same weights wrapped as {"model": ...} load too; a missing tensor is a clear error
    torch.save({"model": saved}, tmp_path / "wrapped.pth")
    clear_cache()
    wrapped = load_model("cotracker2", weights=tmp_path / "wrapped.pth", device="cpu")
    assert np.array_equal(wrapped.track(frames)[0], tracks)
    broken = dict(saved)
    broken.pop("vis_predictor.0.bias")
    torch.save(broken, tmp_path / "broken.pth")
    clear_cache()
    with pytest.raises(MetricError, match=r"do not fit the network \(missing: vis_predictor.0.bias\)"):
        load_model("cotracker2", weights=tmp_path / "broken.pth", device="cpu").track(frames)
    broken = {k: v for k, v in saved.items() if k != "pos_emb"}
    torch.save(broken, tmp_path / "no_pos.pth")
    clear_cache()
    with pytest.raises(MetricError, match="not a CoTracker2 checkpoint: tensor 'pos_emb'"):
        load_model("cotracker2", weights=tmp_path / "no_pos.pth", device="cpu").track(frames)
