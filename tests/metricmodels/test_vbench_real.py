"""The VBench bridge against the real vbench package, with random-weight checkpoints.

Runs only where VBench is set up in its own interpreter (`GENERALBENCH_VBENCH_PYTHON`, see
docs/metrics.md); CI's environment has none (vbench pins numpy<2 and needs torchvision). The
checkpoints VBench would download are replaced by random-weight ones of the same architecture,
written into a fresh VBENCH_CACHE_DIR: RAFT, AMT-S, ViCLIP and UMT are built by vbench's own
classes inside the VBench interpreter, MUSIQ by generalbench's port (pyiqa parameter names). So:

- imaging_quality, computed by VBench with pyiqa's MUSIQ, must equal generalbench's native
  `musiq` metric on the same frames and weights (the task whose protocol is VBench's);
- dynamic_degree (RAFT) and motion_smoothness (AMT) must come back through the driver in order,
  with values in their ranges (random weights: the values themselves mean nothing);
- the whole i2v_composite (DINO here, ViCLIP, RAFT and AMT in VBench) runs end to end and equals
  the mean of its four parts;
- the Action-Specific success rate (human_action, UMT) reads each video's action from its prompt
  through the driver's file naming: with a classifier that always answers "riding a bike", the
  video prompted so succeeds and the other fails.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

VBENCH_PYTHON = os.environ.get("GENERALBENCH_VBENCH_PYTHON")
pytestmark = pytest.mark.skipif(
    not VBENCH_PYTHON or not Path(VBENCH_PYTHON).expanduser().is_file(),
    reason="needs VBench in its own interpreter: set GENERALBENCH_VBENCH_PYTHON (docs/metrics.md)")

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
cv2 = pytest.importorskip("cv2", reason="pip install 'generalbench[video]'")

SCENE_T2V = "video-generation-scene-text-to-video-generation"
BUILD_IN_VBENCH = """
import os, sys, torch
from easydict import EasyDict
from omegaconf import OmegaConf
import vbench
from vbench.third_party.RAFT.core.raft import RAFT
from vbench.third_party.amt.utils.build_utils import build_from_cfg
root = sys.argv[1]
torch.manual_seed(0)
os.makedirs(f"{root}/raft_model/models", exist_ok=True)
raft = RAFT(EasyDict(small=False, mixed_precision=False, alternate_corr=False))
torch.save(raft.state_dict(), f"{root}/raft_model/models/raft-things.pth")
cfg = os.path.join(os.path.dirname(vbench.__file__), "third_party/amt/cfgs/AMT-S.yaml")
os.makedirs(f"{root}/amt_model", exist_ok=True)
torch.save({"state_dict": build_from_cfg(OmegaConf.load(cfg).network).state_dict()},
           f"{root}/amt_model/amt-s.pth")
import clip, shutil  # ViCLIP's tokenizer reads CLIP's BPE vocabulary from the cache folder
os.makedirs(f"{root}/ViCLIP", exist_ok=True)
bpe = shutil.copy(os.path.join(os.path.dirname(clip.__file__), "bpe_simple_vocab_16e6.txt.gz"),
                  f"{root}/ViCLIP/")
from vbench.third_party.ViCLIP.viclip import ViCLIP
from vbench.third_party.ViCLIP.simple_tokenizer import SimpleTokenizer
viclip = ViCLIP(SimpleTokenizer(bpe), pretrain=None)
with torch.no_grad():  # without a checkpoint some tensors stay uninitialised or zero (projections)
    for p in viclip.parameters():
        if not torch.isfinite(p).all() or (p.ndim >= 2 and float(p.std()) < 1e-6):
            p.normal_(0.0, 0.02)
torch.save({"model": viclip.state_dict()}, f"{root}/ViCLIP/ViClip-InternVid-10M-FLT.pth")
from timm.models import create_model
import vbench.human_action  # registers UMT's video ViT-L with timm
umt = create_model("vit_large_patch16_224", pretrained=False, num_classes=400, all_frames=16,
                   tubelet_size=1, use_learnable_pos_emb=False, fc_drop_rate=0., drop_rate=0.,
                   drop_path_rate=0.2, attn_drop_rate=0., drop_block_rate=None, use_checkpoint=False,
                   checkpoint_num=16, use_mean_pooling=True, init_scale=0.001)
with torch.no_grad():  # Kinetics class 0 is "riding a bike": make it the sure answer for any video
    umt.head.bias[0] = 20.0
os.makedirs(f"{root}/umt_model", exist_ok=True)
torch.save(umt.state_dict(), f"{root}/umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth")
"""


def _write_mp4(path: Path, shift: int, frames: int = 8) -> np.ndarray:
    """A square sliding `shift` pixels per frame; returns the frames as decoded back."""
    rng = np.random.default_rng(shift)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 8, (256, 192))
    for t in range(frames):
        frame = np.full((192, 256, 3), 90, np.uint8)
        frame[40:120, 10 + shift * t:60 + shift * t] = (50, 50, 200)
        writer.write((frame + rng.integers(0, 20, frame.shape)).clip(0, 255).astype(np.uint8))
    writer.release()
    cap, out = cv2.VideoCapture(str(path)), []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return np.stack(out)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], list[np.ndarray]]:
    from generalbench.metricmodels.musiq import MusiqNet

    root = tmp_path_factory.mktemp("vbench_real")
    cache = root / "cache"
    subprocess.run([str(Path(VBENCH_PYTHON).expanduser()), "-c", BUILD_IN_VBENCH, str(cache)],
                   check=True, capture_output=True, timeout=600,
                   env={**os.environ, "VBENCH_CACHE_DIR": str(cache)})
    torch.manual_seed(1)
    (cache / "pyiqa_model").mkdir(parents=True)
    torch.save(MusiqNet().state_dict(), cache / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth")
    paths = [root / "slow.mp4", root / "fast.mp4"]
    frames = [_write_mp4(paths[0], 1), _write_mp4(paths[1], 12)]
    return cache, paths, frames


def test_vbench_imaging_quality_equals_the_native_musiq(setup) -> None:
    from generalbench.metricmodels.loaders import load_model
    from generalbench.metrics import compute_detailed

    cache, paths, frames = setup
    bridge = load_model("vbench", weights=cache, device="cpu")
    theirs = bridge.run("imaging_quality", paths)
    ours = compute_detailed("musiq", frames, [None, None], task=SCENE_T2V, device="cpu",
                            weights=str(cache / "pyiqa_model" / "musiq_spaq_ckpt-358bb6af.pth"))
    assert theirs.vbench_version == "0.1.5"
    assert [v / 100 for v in ours.per_instance] == pytest.approx(theirs.per_video, abs=1e-6)
    assert ours.value / 100 == pytest.approx(theirs.mean, abs=1e-6)


def test_vbench_raft_and_amt_run_through_the_driver(setup) -> None:
    from generalbench.metricmodels.loaders import load_model

    cache, paths, _ = setup
    bridge = load_model("vbench", weights=cache, device="cpu")
    dynamic = bridge.run("dynamic_degree", paths)
    assert all(v in (0.0, 1.0) for v in dynamic.per_video)
    assert dynamic.mean == pytest.approx(np.mean(dynamic.per_video))
    smooth = bridge.run("motion_smoothness", paths)
    assert len(smooth.per_video) == 2 and all(0.0 <= v <= 1.0 for v in smooth.per_video)
    assert smooth.mean == pytest.approx(np.mean(smooth.per_video))


def test_i2v_composite_end_to_end_with_real_vbench(setup, tmp_path: Path) -> None:
    from generalbench.metricmodels.tiny import make_tiny
    from generalbench.metrics import compute_detailed

    cache, paths, frames = setup
    (dino,) = make_tiny(tmp_path, ["dino-vitb16"])
    refs = [{"image": frames[0][0], "prompt": "a blue square slides slowly"},
            {"image": frames[1][0], "prompt": "a blue square moves fast"}]
    res = compute_detailed("i2v_composite", [frames[0], None, frames[1]], [refs[0], refs[0], refs[1]],
                           task="video-generation-plant-image-to-video-generation", device="cpu",
                           weights={"dino-vitb16": str(dino), "vbench": str(cache)},
                           video_paths=[str(paths[0]), None, str(paths[1])])
    parts = [res.details[k] for k in ("i2v_subject", "viclip", "dynamic_degree", "motion_smoothness")]
    assert res.details["vbench_version"] == "0.1.5" and res.details["n_missing"] == 1
    assert res.per_instance[1] == 0.0 and all(0.0 <= p <= 1.0 for p in parts[2:])
    # averaged over the two present videos, the per-instance composites are the parts' mean
    assert (res.per_instance[0] + res.per_instance[2]) / 2 == pytest.approx(100 * np.mean(parts), rel=1e-6)


def test_action_success_rate_reads_the_action_from_the_prompt(setup) -> None:
    from generalbench.metrics import compute_detailed

    cache, paths, frames = setup
    res = compute_detailed("success_rate", frames, ["A person is riding a bike", "A person is playing guitar"],
                           task="video-generation-action-specific-text-to-video-generation", device="cpu",
                           weights=str(cache), video_paths=[str(p) for p in paths])
    assert res.details["vbench_dimension"] == "human_action"
    assert res.per_instance == [100.0, 0.0] and res.value == pytest.approx(50.0)
