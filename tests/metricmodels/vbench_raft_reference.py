"""Runs INSIDE VBench's interpreter (vbench 0.1.5): VBench's own RAFT and dynamic-degree code on
the inputs given, for tests/metricmodels/test_raft.py to compare with generalbench's port.

    python vbench_raft_reference.py WEIGHTS OUT.npz [--pairs FRAMES.npy] [--iters N] [--videos VIDEO ...]

- WEIGHTS is loaded by vbench.dynamic_degree.DynamicDegree.load_model (the real loading code);
- FRAMES.npy (T x H x W x 3 uint8): flow of each consecutive pair as DynamicDegree.infer gets it
  (InputPadder, model(..., test_mode=True)), saved as `flow_<i>`;
- each VIDEO goes through DynamicDegree.infer (the decision, `dynamic_<j>`), and, through the
  same methods infer calls (get_frames, set_params, get_score), its per-pair scores
  (`scores_<j>`), threshold and needed count (`params_<j>`) and the decoded frames
  (`frames_<j>`, the kept frames as uint8).
Only the standard library, numpy, torch and vbench are used; this file is not imported by tests.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from easydict import EasyDict
from vbench.dynamic_degree import DynamicDegree
from vbench.third_party.RAFT.core.utils_core.utils import InputPadder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("out")
    ap.add_argument("--pairs")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--videos", nargs="*", default=[])
    args = ap.parse_args()
    torch.set_num_threads(1)
    dd = DynamicDegree(EasyDict(model=args.weights, small=False, mixed_precision=False,
                                alternate_corr=False), "cpu")
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        if args.pairs:
            frames = np.load(args.pairs)
            tensors = [torch.from_numpy(f).permute(2, 0, 1).float()[None] for f in frames]
            for i, (a, b) in enumerate(zip(tensors[:-1], tensors[1:], strict=True)):
                a, b = InputPadder(a.shape).pad(a, b)
                _, flow = dd.model(a, b, iters=args.iters, test_mode=True)
                out[f"flow_{i}"] = flow[0].numpy()
        for j, path in enumerate(args.videos):
            out[f"dynamic_{j}"] = np.array(dd.infer(path))
            frames = dd.get_frames(path)
            dd.set_params(frame=frames[0], count=len(frames))
            scores = []
            for a, b in zip(frames[:-1], frames[1:], strict=True):
                a, b = InputPadder(a.shape).pad(a, b)
                _, flow = dd.model(a, b, iters=20, test_mode=True)
                scores.append(dd.get_score(a, flow))
            out[f"scores_{j}"] = np.array(scores, dtype=np.float64)
            out[f"params_{j}"] = np.array([dd.params["thres"], dd.params["count_num"]], np.float64)
            out[f"frames_{j}"] = np.stack([f[0].permute(1, 2, 0).numpy() for f in frames]).astype(np.uint8)
    np.savez(args.out, **out)


if __name__ == "__main__":
    main()
