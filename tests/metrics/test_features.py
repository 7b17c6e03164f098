"""Model-based metrics end to end on tiny random-weight models built here, saved and reloaded.

Each model is created from a config with tiny dimensions, written with save_pretrained (or as a
state dict / TorchScript file in the format of the real weights), and then loaded through the
same resolution and loading code a real run uses (weights=<path>). Values are cross-checked
against a direct computation with the same model, so the plumbing (preprocessing, projections,
normalisation, averaging, conventions) is what is tested; the tiny models' numbers mean nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generalbench.errors import MetricError, MissingWeightsError
from generalbench.metricmodels.featmath import temporal_consistency
from generalbench.metrics import compute, compute_detailed

torch = pytest.importorskip("torch", reason="pip install torch==2.13.0")
transformers = pytest.importorskip("transformers", reason="pip install 'generalbench[models]'")


@pytest.fixture(autouse=True)
def _isolated(isolated_weights: Path) -> None:
    """No weights, HF cache or generalbench cache from the machine (tests/conftest.py)."""


from generalbench.metricmodels.tiny import bpe_tokenizer, byte_chars  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = [RNG.integers(0, 256, size=(40 + 4 * i, 48, 3), dtype=np.uint8) for i in range(4)]
VIDEO = RNG.integers(0, 256, size=(5, 36, 36, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_clip")
    chars = byte_chars()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars + [c + "</w>" for c in chars]:
        vocab.setdefault(c, len(vocab))
    tok = bpe_tokenizer(transformers.CLIPTokenizer, vocab, folder)
    torch.manual_seed(0)
    cfg = transformers.CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                         projection_dim=16, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8, projection_dim=16),
        projection_dim=16)
    model = transformers.CLIPModel(cfg)
    proc = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(size={"shortest_edge": 32},
                                                        crop_size={"height": 32, "width": 32}),
        tokenizer=tok)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder


def _direct_clip(folder: Path) -> tuple[Any, Any]:
    return transformers.CLIPModel.from_pretrained(str(folder)).eval(), transformers.CLIPProcessor.from_pretrained(str(folder))


def _feats(out: Any) -> np.ndarray:
    t = out if hasattr(out, "detach") else out.pooler_output
    arr = t.detach().double().numpy()
    return arr / np.linalg.norm(arr, axis=1, keepdims=True)


def test_clip_score_text_alignment_matches_direct_computation(tiny_clip: Path) -> None:
    prompts = ["a red cat", "a blue dog", "a small house", "the sea"]
    result = compute_detailed("clip_score", IMAGES, prompts, weights=str(tiny_clip), batch_size=3)
    model, proc = _direct_clip(tiny_clip)
    with torch.no_grad():
        img = _feats(model.get_image_features(pixel_values=proc(images=IMAGES, return_tensors="pt")["pixel_values"]))
        txt = _feats(model.get_text_features(**proc.tokenizer(prompts, padding=True, return_tensors="pt")))
    expected = 100 * (img * txt).sum(axis=1)
    assert result.per_instance == pytest.approx(expected.tolist(), abs=1e-4)
    assert result.value == pytest.approx(expected.mean(), abs=1e-4)
    assert result.details["model"] == "clip-vit-base-patch32" and result.details["origin"] == "explicit"
    # CLIPScore convention (Hessel et al.): 2.5 * max(cos, 0) * 100
    hessel = compute("clip_score", IMAGES, prompts, weights=str(tiny_clip), clipscore_w=2.5)
    assert hessel == pytest.approx(np.mean(250 * np.maximum(expected / 100, 0)), abs=1e-4)


def test_prompts_option_and_missing_predictions(tiny_clip: Path) -> None:
    prompts = ["a red cat", "a blue dog"]
    by_ref = compute_detailed("clip_score", IMAGES[:2], prompts, weights=str(tiny_clip))
    by_opt = compute_detailed("clip_score", IMAGES[:2], [IMAGES[2], IMAGES[3]], weights=str(tiny_clip),
                              prompts=prompts)
    assert by_opt.per_instance == pytest.approx(by_ref.per_instance)
    missing = compute_detailed("clip_score", [None, IMAGES[1]], prompts, weights=str(tiny_clip))
    assert missing.per_instance == pytest.approx([0.0, by_ref.per_instance[1]])


def test_clip_image_score_and_style(tiny_clip: Path) -> None:
    same = compute("clip_image_score", IMAGES[:2], IMAGES[:2], weights=str(tiny_clip))
    assert same == pytest.approx(100.0, abs=1e-3)
    other = compute("clip_image_score", IMAGES[:2], IMAGES[2:], weights=str(tiny_clip))
    assert other < 100.0
    # CLIP-Style: every frame against the style image, averaged
    style = compute_detailed("clip_style", [VIDEO], [IMAGES[0]], weights=str(tiny_clip))
    model, proc = _direct_clip(tiny_clip)
    with torch.no_grad():
        fr = _feats(model.get_image_features(pixel_values=proc(images=list(VIDEO), return_tensors="pt")["pixel_values"]))
        st = _feats(model.get_image_features(pixel_values=proc(images=[IMAGES[0]], return_tensors="pt")["pixel_values"]))
    assert style.value == pytest.approx(100 * float((fr @ st[0]).mean()), abs=1e-4)


def test_background_consistency_variant_from_task(tiny_clip: Path) -> None:
    task = "video-generation-background-consistency-text-to-video-geneation"
    result = compute_detailed("clip_score", [VIDEO], ["a prompt"], weights=str(tiny_clip), task=task)
    model, proc = _direct_clip(tiny_clip)
    with torch.no_grad():
        fr = _feats(model.get_image_features(pixel_values=proc(images=list(VIDEO), return_tensors="pt")["pixel_values"]))
    assert result.value == pytest.approx(100 * temporal_consistency(fr), abs=1e-4)
    static = compute("clip_score", [np.stack([VIDEO[0]] * 4)], ["x"], weights=str(tiny_clip), task=task)
    assert static == pytest.approx(100.0, abs=1e-3)


def test_frame_acc_and_zero_shot_classifier(tiny_clip: Path) -> None:
    ref = {"target": "a cat in snow", "source": "a dog on grass"}
    result = compute_detailed("frame_acc", [VIDEO], [ref], weights=str(tiny_clip))
    model, proc = _direct_clip(tiny_clip)
    with torch.no_grad():
        fr = _feats(model.get_image_features(pixel_values=proc(images=list(VIDEO), return_tensors="pt")["pixel_values"]))
        tx = _feats(model.get_text_features(**proc.tokenizer([ref["target"], ref["source"]], padding=True, return_tensors="pt")))
    sims = fr @ tx.T
    assert result.value == pytest.approx(100 * float(np.mean(sims[:, 0] > sims[:, 1])))
    with pytest.raises(MetricError, match="target"):
        compute("frame_acc", [VIDEO], ["only a prompt"], weights=str(tiny_clip))
    labels = ["cat", "dog", "car"]
    acc = compute_detailed("classifier_acc", IMAGES[:3], labels, weights=str(tiny_clip))
    with torch.no_grad():
        img = _feats(model.get_image_features(pixel_values=proc(images=IMAGES[:3], return_tensors="pt")["pixel_values"]))
        lab = _feats(model.get_text_features(**proc.tokenizer([f"a photo of a {c}" for c in sorted(labels)], padding=True, return_tensors="pt")))
    predicted = [sorted(labels)[i] for i in np.argmax(img @ lab.T, axis=1)]
    assert acc.per_instance == [100.0 * (p == t) for p, t in zip(predicted, labels, strict=True)]


def test_clip_score_on_point_clouds_renders_views(tiny_clip: Path) -> None:
    pts = np.random.default_rng(1).normal(size=(500, 3))
    value = compute("clip_score", [pts], ["a sphere"], weights=str(tiny_clip))
    assert -100.0 <= value <= 100.0


def test_aesthetic_with_linear_head(tiny_clip: Path, tmp_path: Path) -> None:
    torch.manual_seed(1)
    head = torch.nn.Linear(16, 1)
    head_file = tmp_path / "head.pth"
    torch.save(head.state_dict(), head_file)
    weights = {"clip-vit-large-patch14": str(tiny_clip), "laion-aesthetic-linear-vit-l-14": str(head_file)}
    result = compute_detailed("aesthetic", [VIDEO], [None], weights=weights)
    model, proc = _direct_clip(tiny_clip)
    with torch.no_grad():
        fr = _feats(model.get_image_features(pixel_values=proc(images=list(VIDEO), return_tensors="pt")["pixel_values"]))
        expected = head(torch.from_numpy(fr).float()).double().numpy().mean() * 10
    assert result.value == pytest.approx(float(expected), abs=1e-3)
    assert result.details["head"]["model"] == "laion-aesthetic-linear-vit-l-14"


@pytest.fixture(scope="module")
def tiny_dinov2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_dinov2")
    torch.manual_seed(0)
    cfg = transformers.Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=64, patch_size=8, image_size=32)
    transformers.Dinov2Model(cfg).save_pretrained(folder)
    transformers.BitImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                   do_convert_rgb=True).save_pretrained(folder)
    return folder


def test_dino_subject_consistency(tiny_dinov2: Path) -> None:
    task = "video-generation-subject-consistency-text-to-video-generation"
    result = compute_detailed("dino_score", [VIDEO], ["a prompt"], weights=str(tiny_dinov2), task=task)
    model = transformers.Dinov2Model.from_pretrained(str(tiny_dinov2)).eval()
    proc = transformers.AutoImageProcessor.from_pretrained(str(tiny_dinov2))
    with torch.no_grad():
        cls = model(pixel_values=proc(images=list(VIDEO), return_tensors="pt")["pixel_values"]).last_hidden_state[:, 0]
    assert result.value == pytest.approx(100 * temporal_consistency(cls.double().numpy()), abs=1e-4)
    assert compute("dino_score", [np.stack([VIDEO[1]] * 3)], [None], weights=str(tiny_dinov2)) == pytest.approx(100.0, abs=1e-3)


@pytest.fixture(scope="module")
def tiny_clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny_clap")
    vocab = {s: i for i, s in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for c in byte_chars():
        vocab.setdefault(c, len(vocab))
    tok = bpe_tokenizer(transformers.RobertaTokenizer, vocab, folder)
    torch.manual_seed(0)
    cfg = transformers.ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=80, projection_dim=16),
        audio_config=dict(spec_size=256, num_mel_bins=64, window_size=8, patch_size=4, patch_stride=[4, 4],
                          patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1],
                          num_attention_heads=[2, 2], enable_fusion=False, projection_dim=16),
        projection_dim=16)
    transformers.ClapModel(cfg).save_pretrained(folder)
    fe = transformers.ClapFeatureExtractor(feature_size=64, sampling_rate=48000, truncation="rand_trunc",
                                           padding="repeatpad")
    transformers.ClapProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(folder)
    return folder


def test_clap_text_and_style_scores(tiny_clap: Path) -> None:
    from scipy.signal import resample_poly

    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.1 * np.random.default_rng(2).standard_normal(16000)).astype(np.float32)
    result = compute_detailed("clap", [(tone, 16000), (noise, 16000)], ["a sine tone", "white noise"],
                              weights=str(tiny_clap))
    model = transformers.ClapModel.from_pretrained(str(tiny_clap)).eval()
    proc = transformers.ClapProcessor.from_pretrained(str(tiny_clap))
    waves = [resample_poly(x.astype(np.float64), 3, 1).astype(np.float32) for x in (tone, noise)]
    with torch.no_grad():
        aud = _feats(model.get_audio_features(**proc.feature_extractor(waves, sampling_rate=48000, return_tensors="pt")))
        txt = _feats(model.get_text_features(**proc.tokenizer(["a sine tone", "white noise"], padding=True, return_tensors="pt")))
    assert result.per_instance == pytest.approx((100 * (aud * txt).sum(axis=1)).tolist(), abs=1e-3)
    same = compute("style_clap", [(tone, 16000)], [(tone, 16000)], weights=str(tiny_clap))
    assert same == pytest.approx(100.0, abs=1e-3)


@pytest.mark.slow
def test_fid_with_inception_state_dict(tmp_path: Path) -> None:
    from generalbench.metricmodels.featmath import frechet_distance, gaussian_stats
    from generalbench.metricmodels.inception import FIDInceptionV3

    torch.manual_seed(0)
    net = FIDInceptionV3()
    weights = tmp_path / "pt_inception.pth"
    torch.save(net.state_dict(), weights)  # same layout as pytorch-fid's FID weights file
    cache = tmp_path / "stats"
    refs, preds = IMAGES[:2], IMAGES[1:3]
    first = compute_detailed("fid", preds, refs, weights=str(weights), cache_dir=cache)
    again = compute_detailed("fid", preds, refs, weights=str(weights), cache_dir=cache)
    assert (first.details["reference_stats_cached"], again.details["reference_stats_cached"]) == (False, True)
    assert again.value == pytest.approx(first.value, rel=1e-9) and first.value > 0

    # direct: Frechet distance of the network's pool3 features of the resized, [0, 1] images
    x = [torch.nn.functional.interpolate(torch.from_numpy(i).permute(2, 0, 1)[None].float() / 255,
                                         size=(299, 299), mode="bilinear", align_corners=False)[0]
         for i in IMAGES[:3]]
    with torch.no_grad():
        f = net.eval()(torch.stack(x)).double().numpy()
    expected = frechet_distance(gaussian_stats(f[1:3]), gaussian_stats(f[:2]))
    assert first.value == pytest.approx(expected, rel=1e-5)


def test_fvd_with_torchscript_i3d(tmp_path: Path) -> None:
    from generalbench.metricmodels.tiny import build_i3d

    torch.manual_seed(0)
    path = tmp_path / "i3d_torchscript.pt"
    build_i3d(path, min_frames=9)  # like I3D, whose temporal pooling fails on very short clips
    rng = np.random.default_rng(3)
    real = [rng.integers(0, 256, (10, 24, 24, 3), dtype=np.uint8) for _ in range(3)]
    fake = [np.clip(v.astype(int) + 60, 0, 255).astype(np.uint8) for v in real]
    assert compute("fvd", real, real, weights=str(path)) == pytest.approx(0.0, abs=1e-6)
    assert compute("fvd", fake, real, weights=str(path)) > 0
    partial = compute_detailed("fvd", [fake[0], None, fake[2]], real, weights=str(path))
    assert partial.details["n_missing"] == 1 and partial.details["n_pred"] == 2
    with pytest.raises(MetricError, match="cannot embed a video"):
        compute("fvd", [v[:4] for v in real], real, weights=str(path))


def test_fad_with_vggish_state_dict(tmp_path: Path) -> None:
    from generalbench.metricmodels.video_audio_nets import (
        VGGish,
        vggish_examples,
        vggish_mel_matrix,
    )

    mel = vggish_mel_matrix()
    assert mel.shape == (257, 64) and (mel[0] == 0).all() and (mel.sum(axis=0) > 0).all()
    assert vggish_examples(np.zeros(32000, np.float32) + 0.1, 16000).shape == (2, 96, 64)
    torch.manual_seed(0)
    path = tmp_path / "vggish.pth"
    torch.save({k: v.half() for k, v in VGGish().state_dict().items()}, path)  # smaller file
    rng = np.random.default_rng(4)
    t = np.arange(32000) / 16000
    real = [(np.sin(2 * np.pi * f * t).astype(np.float32) * 0.5, 16000) for f in (220, 330, 440)]
    fake = [((0.3 * rng.standard_normal(32000)).astype(np.float32), 16000) for _ in range(3)]
    same = compute_detailed("fad", real, real, weights=str(path))
    assert same.value == pytest.approx(0.0, abs=1e-6) and same.details["n_ref"] == 6  # 2 patches/clip
    assert compute("fad", fake, real, weights=str(path)) > 0


MODEL_METRICS = ["fid", "fvd", "fad", "clip_score", "clip_image_score", "clip_style", "dino_score",
                 "clap", "style_clap", "aesthetic", "frame_acc", "classifier_acc", "musiq"]


@pytest.mark.parametrize("metric", MODEL_METRICS)
def test_missing_weights_is_one_clear_error(metric: str) -> None:
    image = IMAGES[0]
    audio = (np.zeros(16000, np.float32), 16000)
    pred = {"fvd": VIDEO, "fad": audio, "clap": audio, "style_clap": audio, "musiq": VIDEO}.get(metric, image)
    with pytest.raises(MissingWeightsError) as err:
        compute(metric, [pred, pred], ["text", "text"])
    msg = str(err.value)
    assert f"metric {metric!r}" in msg and "generalbench weights fetch" in msg and "GENERALBENCH_WEIGHTS" in msg


def test_vbench_dimensions_need_the_extra_or_a_declared_dimension() -> None:
    with pytest.raises(MetricError, match="no VBench dimension"):
        compute("success_rate", [VIDEO], ["a cat"], task="some-task-without-a-dimension")
    # Material-Specific T2V is VBench-2.0 video QA (metrics/video_qa.py): it needs a VLM judge
    prompt = ("A timelapse captures the rusting of a metal fence exposed to outdoor elements over "
              "several years.")
    with pytest.raises(MetricError, match="needs an LLM judge"):
        compute("success_rate", [VIDEO], [prompt], task="video-generation-material-specific-text-to-video-generation")


def test_flicker_and_flow_score_through_the_registry() -> None:
    static = np.stack([IMAGES[0][:40]] * 6)
    assert compute("temporal_flicker", [static], [None]) == pytest.approx(100.0)
    # the model-free Lucas-Kanade path (RAFT, the default, is tested in tests/metricmodels/test_raft.py)
    assert compute("flow_score", [static], [None], flow="lucas-kanade") == 0.0


def test_uncomputable_metrics_say_why() -> None:
    with pytest.raises(MetricError, match="human preference study"):
        compute("user_preference", [VIDEO], [None])
    with pytest.raises(MetricError, match="E-Acc .* no piano input"):  # computed: metrics/e_acc.py
        compute("e_acc", [(np.zeros(1600, np.float32), 16000)], [None])


def test_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from generalbench.metricmodels import loaders

    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if not installed
    with pytest.raises(MetricError, match=r"generalbench\[models\]"):
        loaders.model_class("whisper_ct2")


def test_core_imports_stay_light() -> None:
    code = ("import sys, generalbench.metricmodels, generalbench.metrics.features, "
            "generalbench.metrics.judge, generalbench.commands.weights_cmd;"
            "heavy = [m for m in ('torch', 'transformers', 'onnxruntime', 'faster_whisper') if m in sys.modules];"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
