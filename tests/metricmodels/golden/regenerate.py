"""Regenerate the golden files of this folder by running the REFERENCE implementations (not
generalbench) on the seeded weights and inputs of golden_cases.py. Not imported by the tests.

    python tests/metricmodels/golden/regenerate.py REFS [MODEL ...]

REFS holds the reference repositories unpacked at the commits listed in README.md (one folder
per repository, named owner+name) and, for pytorch-fid and pyiqa, an importable torchvision;
see README.md for the exact commands. MODEL is any of raft, vggish, inception, musiq, cotracker,
frechet (default: all).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import golden_cases as gc  # noqa: E402

COMMITS = {
    "princeton-vl+RAFT": "2888e15a51fa41140771d3f498ed8023cff098d1",
    "harritaylor+torchvggish": "f3f90969ce8fb77a05d984b892ddf662e8466377",
    "mseitzer+pytorch-fid": "b9c18118d082cbd263c1b8963fc4221dc1cbb659",
    "chaofengc+IQA-PyTorch": "01ae427f9afd66842031d3a7cb694dcad5b5cbb8",
    "facebookresearch+co-tracker": "82e02e8029753ad4ef13cf06be7f4fc5facdda4d",
    "Vchitect+VBench": "45e79ec14e69a2187202c675d2dbce1a71843d53",
}


def reference(repo: str, entry: str) -> dict[str, str]:
    owner, name = repo.split("+")
    return {"repo": f"https://github.com/{owner}/{name}", "commit": COMMITS[repo], "entry": entry}


def meta() -> dict[str, str]:
    return {"torch": torch.__version__, "numpy": np.__version__}


def raft(refs: Path) -> dict[str, Any]:
    sys.path.insert(0, str(refs / "princeton-vl+RAFT" / "core"))
    from raft import RAFT  # type: ignore[import-not-found]
    from utils.utils import InputPadder  # type: ignore[import-not-found]

    model = RAFT(argparse.Namespace(small=False, mixed_precision=False, alternate_corr=False, dropout=0))
    gc.fill_seeded(model, gc.RAFT["seed"])
    model.eval()
    frames = gc.raft_frames()
    flows = []
    with torch.no_grad():
        for a, b in zip(frames[:-1], frames[1:], strict=True):
            ta, tb = (torch.from_numpy(f).permute(2, 0, 1).float()[None] for f in (a, b))
            ta, tb = InputPadder(ta.shape).pad(ta, tb)  # VBench's call: sintel padding, test mode
            _, flow = model(ta, tb, iters=gc.RAFT["iters"], test_mode=True)
            flows.append(flow[0].numpy())
    full = np.stack(flows)
    return {"reference": reference("princeton-vl+RAFT", "core/raft.py RAFT(small=False), "
                                   "InputPadder(mode='sintel'), model(a, b, iters=8, test_mode=True)[1]"),
            "layout": gc.layout(model),
            "outputs": {"flow_sampled": gc.raft_sample(full), "flow_abs_mean": np.abs(full).mean((1, 2, 3))}}


def vggish(refs: Path) -> dict[str, Any]:
    sys.path.insert(0, str(refs / "harritaylor+torchvggish"))
    from torchvggish import vggish_input  # type: ignore[import-not-found]
    from torchvggish.vggish import VGG, make_layers  # type: ignore[import-not-found]

    net = VGG(make_layers())
    gc.fill_seeded(net, gc.VGGISH["seed"], gain=gc.VGGISH["gain"])
    net.eval()
    out: dict[str, Any] = {}
    for name, (samples, rate) in gc.vggish_clips().items():
        examples = vggish_input.waveform_to_examples(samples, rate, return_tensor=True)
        with torch.no_grad():
            emb = net(examples)
        out[f"{name}_examples_sampled"] = gc.vggish_sample(examples[:, 0].detach().numpy())
        out[f"{name}_embeddings"] = emb.numpy()
    return {"reference": reference("harritaylor+torchvggish", "torchvggish/vggish_input.py "
                                   "waveform_to_examples, torchvggish/vggish.py VGG(make_layers()) (pre-PCA)"),
            "layout": gc.layout(net), "outputs": out}


def inception(refs: Path) -> dict[str, Any]:
    sys.path.insert(0, str(refs / "mseitzer+pytorch-fid" / "src"))
    from pytorch_fid import inception as fid  # type: ignore[import-not-found]

    holder: dict[str, Any] = {}

    def seeded_state(*_: Any, **__: Any) -> dict[str, torch.Tensor]:
        return holder["state"]

    # fid_inception_v3 builds torchvision's Inception3 with the FID blocks, then loads the FID
    # weights from a URL: build it once to read its layout, fill that seeded, and hand the
    # seeded state dict to the same loading code
    fid.load_state_dict_from_url = lambda *_a, **_k: holder["state"]
    template = fid._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    template.Mixed_5b, template.Mixed_5c = fid.FIDInceptionA(192, 32), fid.FIDInceptionA(256, 64)
    template.Mixed_5d = fid.FIDInceptionA(288, 64)
    template.Mixed_6b = fid.FIDInceptionC(768, 128)
    template.Mixed_6c, template.Mixed_6d = fid.FIDInceptionC(768, 160), fid.FIDInceptionC(768, 160)
    template.Mixed_6e = fid.FIDInceptionC(768, 192)
    template.Mixed_7b, template.Mixed_7c = fid.FIDInceptionE_1(1280), fid.FIDInceptionE_2(2048)
    gc.fill_seeded(template, gc.INCEPTION["seed"], gain=gc.INCEPTION["gain"])
    holder["state"] = template.state_dict()
    model = fid.InceptionV3([fid.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                            normalize_input=True, use_fid_inception=True).eval()
    feats = []
    with torch.no_grad():
        for image in gc.inception_images():
            x = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 255.0  # ToTensor
            feats.append(model(x)[0][0, :, 0, 0].numpy())
    return {"reference": reference("mseitzer+pytorch-fid", "src/pytorch_fid/inception.py "
                                   "InceptionV3([3], resize_input=True, normalize_input=True, "
                                   "use_fid_inception=True), pool3 output"),
            "layout": gc.layout(template), "outputs": {"pool3": np.stack(feats)}}


def musiq(refs: Path) -> dict[str, Any]:
    root = refs / "chaofengc+IQA-PyTorch" / "pyiqa"
    for name, sub in (("pyiqa", ""), ("pyiqa.archs", "archs"), ("pyiqa.data", "data"), ("pyiqa.utils", "utils")):
        module = types.ModuleType(name)  # skip the package __init__ files (they import every metric)
        module.__path__ = [str(root / sub)]
        sys.modules[name] = module
    from pyiqa.archs.musiq_arch import MUSIQ  # type: ignore[import-not-found]

    out: dict[str, Any] = {}
    layouts = {}
    for case in gc.MUSIQ["nets"]:
        net = MUSIQ(pretrained=False, num_class=case["classes"], hidden_size=case["hidden"],
                    mlp_dim=case["mlp"], num_heads=case["heads"], num_layers=case["layers"])
        gc.fill_seeded(net, case["seed"])
        layouts[f"{case['classes']}_classes"] = gc.layout(net)
        net.eval()
        scores = []
        with torch.no_grad():
            for image in gc.musiq_images():
                x = torch.from_numpy(image).permute(2, 0, 1).float()[None] / 255.0
                scores.append(float(net(x).reshape(-1)[0]))
        out[f"scores_{case['classes']}_classes"] = np.array(scores)
    return {"reference": reference("chaofengc+IQA-PyTorch", "pyiqa/archs/musiq_arch.py "
                                   "MUSIQ(pretrained=False, ...).eval()(x in [0, 1])"),
            "layout": layouts, "layout_full_size": gc.layout(MUSIQ(pretrained=False)),  # 1-bin head (SPAQ, KonIQ)
            "outputs": out}


def cotracker(refs: Path) -> dict[str, Any]:
    sys.path.insert(0, str(refs / "facebookresearch+co-tracker"))
    import cotracker.models.core.cotracker.cotracker as ref  # type: ignore[import-not-found]
    from cotracker.models.core.model_utils import get_points_on_a_grid  # type: ignore[import-not-found]
    from cotracker.predictor import CoTrackerPredictor  # type: ignore[import-not-found]

    c = gc.COTRACKER
    full_former = ref.EfficientUpdateFormer

    def small_former(**kw: Any) -> Any:  # the reference hard-codes the transformer's size
        kw.update(hidden_size=c["dim"], num_heads=c["heads"], time_depth=c["time_depth"],
                  space_depth=c["space_depth"])
        return full_former(**kw)

    ref.EfficientUpdateFormer = small_former
    try:
        model = ref.CoTracker2(window_len=c["window"], stride=4, num_virtual_tracks=c["virtual"],
                               model_resolution=tuple(c["resolution"]))
    finally:
        ref.EfficientUpdateFormer = full_former
    gc.fill_seeded(model, c["seed"])
    model.eval()
    predictor = CoTrackerPredictor(checkpoint=None, window_len=c["window"], v2=True)  # hub "cotracker2"
    predictor.model, predictor.interp_shape = model, model.model_resolution
    video = torch.from_numpy(gc.cotracker_video()).permute(0, 3, 1, 2).float()[None]
    queries = torch.from_numpy(gc.cotracker_queries()).float()[None]
    with torch.no_grad():
        resized = torch.nn.functional.interpolate(video[0], tuple(c["resolution"]), mode="bilinear",
                                                  align_corners=True)[None]
        coords, vis, *_ = model(video=resized, queries=queries, iters=c["model_iters"])
        tracks, visible = predictor(video, grid_size=c["grid"])
        # how far the grid's visibility probabilities are from the 0.9 threshold (a flip would
        # make the boolean comparison fail on rounding alone)
        grid = get_points_on_a_grid(c["grid"], model.model_resolution)
        _, grid_vis, *_ = model(video=resized, queries=torch.cat([torch.zeros_like(grid[..., :1]), grid], -1),
                                iters=6)
        margin = float((grid_vis[:, 1:] - 0.9).abs().min())
    return {"reference": reference("facebookresearch+co-tracker",
                                   "cotracker/models/core/cotracker/cotracker.py CoTracker2 (its "
                                   "EfficientUpdateFormer built smaller, see README) and "
                                   "cotracker/predictor.py CoTrackerPredictor(v2=True, window_len=8)"
                                   "(video, grid_size=4)"),
            "layout": gc.layout(model), "grid_visibility_margin": margin,
            "layout_full_size": gc.layout(ref.CoTracker2(window_len=8, stride=4)),  # hub "cotracker2"
            "outputs": {"model_tracks": coords[0].numpy(), "model_visibility": vis[0].numpy(),
                        "grid_tracks": tracks[0].numpy(), "grid_visible": visible[0].numpy().astype(float)}}


def frechet(refs: Path) -> dict[str, Any]:
    sys.path.insert(0, str(refs / "mseitzer+pytorch-fid" / "src"))
    from pytorch_fid.fid_score import calculate_frechet_distance  # type: ignore[import-not-found]

    values = []
    for a, b in gc.frechet_sets():
        values.append(calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False),
                                                 b.mean(0), np.cov(b, rowvar=False)))
    return {"reference": reference("mseitzer+pytorch-fid", "src/pytorch_fid/fid_score.py "
                                   "calculate_frechet_distance(mu, np.cov(rowvar=False), ...)"),
            "outputs": {"distances": np.array(values, dtype=np.float64)}}


def vbench(refs: Path) -> dict[str, Any]:
    """VBench's dynamic-degree rule (vbench/dynamic_degree.py: get_score, set_params, check_move,
    get_frames' frame sampling) on seeded flows, frame shapes and score lists; and VBench's
    vendored RAFT against the authors' on the RAFT case."""
    import cv2

    root = refs / "Vchitect+VBench" / "vbench"
    stubs = {"vbench": root, "vbench.third_party": root / "third_party",
             "vbench.third_party.RAFT": root / "third_party" / "RAFT",
             "vbench.third_party.RAFT.core": root / "third_party" / "RAFT" / "core"}
    for name, path in stubs.items():  # skip the package __init__ files (they import every dimension)
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module
    sys.modules["vbench.utils"] = types.SimpleNamespace(load_dimension_info=None)  # type: ignore[assignment]
    sys.modules.setdefault("easydict", types.SimpleNamespace(EasyDict=dict))  # type: ignore[arg-type]
    from vbench.dynamic_degree import RAFT, DynamicDegree, InputPadder  # type: ignore[import-not-found]

    dd = DynamicDegree.__new__(DynamicDegree)  # without load_model (no checkpoint)
    dd.device = "cpu"
    top = [dd.get_score(torch.zeros(1, 3, *f.shape[1:]), torch.from_numpy(f)[None]) for f in gc.vbench_flows()]
    params = []
    for h, w in gc.VBENCH["frames"]:
        for count in gc.VBENCH["counts"]:
            dd.set_params(frame=torch.zeros(1, 3, h, w), count=count)
            params.append([dd.params["thres"], dd.params["count_num"]])
    decisions = []
    for scores in gc.vbench_score_lists():
        for thres, count_num in params:
            dd.params = {"thres": thres, "count_num": count_num}
            decisions.append(float(dd.check_move(scores)))
    kept = []
    with tempfile.TemporaryDirectory() as tmp:
        for fps in gc.VBENCH["fps"]:  # the frame rate get_frames reads decides which frames are kept
            path = str(Path(tmp) / f"v{fps}.avi")
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (16, 16))
            for t in range(gc.VBENCH["video_frames"]):
                writer.write(np.full((16, 16, 3), 10 * t, np.uint8))
            writer.release()
            frames = dd.get_frames(path)
            kept.append([round(float(f[0, 0, 8, 8]) / 10) for f in frames] + [-1] * (gc.VBENCH["video_frames"] - len(frames)))
    # VBench runs its own copy of RAFT: the same flows as the authors' on the RAFT case?
    model = RAFT(argparse.Namespace(small=False, mixed_precision=False, alternate_corr=False, dropout=0))
    gc.fill_seeded(model, gc.RAFT["seed"])
    model.eval()
    golden_raft = gc.read_golden("raft")["outputs"]["flow_sampled"]
    frames = gc.raft_frames()
    flows = []
    with torch.no_grad():
        for a, b in zip(frames[:-1], frames[1:], strict=True):
            ta, tb = (torch.from_numpy(f).permute(2, 0, 1).float()[None] for f in (a, b))
            ta, tb = InputPadder(ta.shape).pad(ta, tb)
            flows.append(model(ta, tb, iters=gc.RAFT["iters"], test_mode=True)[1][0].numpy())
    vendored = float(np.abs(gc.raft_sample(np.stack(flows)) - golden_raft).max())
    return {"reference": reference("Vchitect+VBench", "vbench/dynamic_degree.py DynamicDegree.get_score, "
                                   "set_params, check_move, get_frames (OpenCV)"),
            "vendored_raft_max_abs_difference_px": vendored,
            "outputs": {"top_motion": np.array(top), "params": np.array(params), "decisions": np.array(decisions),
                        "kept_frames": np.array(kept, dtype=np.float64)}}


MAKERS = {"raft": raft, "vggish": vggish, "inception": inception, "musiq": musiq, "cotracker": cotracker,
          "frechet": frechet, "vbench": vbench}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("refs", type=Path)
    ap.add_argument("models", nargs="*", default=list(MAKERS))
    args = ap.parse_args()
    for name in args.models:
        record = MAKERS[name](args.refs.resolve())
        record = {"model": name, "reference": record["reference"], "case": gc.CASES[name],
                  "weights": "golden_cases.fill_seeded (seed and gain in case)", "made_with": meta(),
                  "input_checksums": gc.input_checksums(name),
                  **{k: v for k, v in record.items() if k not in ("reference", "outputs")},
                  "outputs": record["outputs"]}
        print(gc.write_golden(name, record))


if __name__ == "__main__":
    main()
