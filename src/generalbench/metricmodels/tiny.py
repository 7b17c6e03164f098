"""Tiny random-weight stand-ins for the metric models, for offline demos and CI plumbing checks.

`generalbench weights make-tiny DIR` writes, for every model in models.yaml that has a builder
here (all but the bundled wheels, the judge and VBench), a model of the same architecture family
and file layout but tiny dimensions and random weights into DIR/<model id>/, plus a marker file. With GENERALBENCH_WEIGHTS=DIR every model-based metric runs
end to end through the real loading code. The numbers are meaningless: every result computed
with them carries `tiny_random_weights: true` in its details, and `weights verify` reports their
hashes as mismatches where a hash is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from generalbench.errors import MetricError
from generalbench.metricmodels.base import require
from generalbench.metricmodels.registry import ModelEntry, all_models

MARKER = "TINY_RANDOM_WEIGHTS.txt"
PROJECTION = 16  # shared by the CLIP stand-ins so the aesthetic head fits ViT-L/14's stand-in


def byte_chars() -> list[str]:
    """GPT-2's byte-to-unicode alphabet: a complete byte-level BPE vocabulary without merges."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def bpe_tokenizer(cls: type, vocab: dict[str, int], folder: Path) -> object:
    import inspect
    import json

    if "vocab" in inspect.signature(cls.__init__).parameters:  # transformers >= 5
        return cls(vocab=vocab, merges=[])
    (folder / "_vocab.json").write_text(json.dumps(vocab))
    (folder / "_merges.txt").write_text("#version: 0.2\n")
    return cls(vocab_file=str(folder / "_vocab.json"), merges_file=str(folder / "_merges.txt"))


def build_clip(folder: Path) -> None:
    t = require("transformers")
    chars = byte_chars()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars + [c + "</w>" for c in chars]:
        vocab.setdefault(c, len(vocab))
    tok = bpe_tokenizer(t.CLIPTokenizer, vocab, folder)
    cfg = t.CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                         projection_dim=PROJECTION, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8, projection_dim=PROJECTION),
        projection_dim=PROJECTION)
    t.CLIPModel(cfg).save_pretrained(folder)
    ip = t.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    t.CLIPProcessor(image_processor=ip, tokenizer=tok).save_pretrained(folder)


def build_image_cls(folder: Path) -> None:
    t = require("transformers")
    cfg = t.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, patch_size=8, image_size=32)
    t.ViTModel(cfg, add_pooling_layer=False).save_pretrained(folder)
    t.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)


def build_clap(folder: Path) -> None:
    t = require("transformers")
    vocab = {s: i for i, s in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for c in byte_chars():
        vocab.setdefault(c, len(vocab))
    tok = bpe_tokenizer(t.RobertaTokenizer, vocab, folder)
    cfg = t.ClapConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=80, projection_dim=PROJECTION),
        audio_config=dict(spec_size=256, num_mel_bins=64, window_size=8, patch_size=4, patch_stride=[4, 4],
                          patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1],
                          num_attention_heads=[2, 2], enable_fusion=False, projection_dim=PROJECTION),
        projection_dim=PROJECTION)
    t.ClapModel(cfg).save_pretrained(folder)
    fe = t.ClapFeatureExtractor(feature_size=64, sampling_rate=48000, truncation="rand_trunc",
                                padding="repeatpad")
    t.ClapProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(folder)


def build_inception(path: Path) -> None:
    torch = require("torch")
    from generalbench.metricmodels.inception import FIDInceptionV3

    torch.save(FIDInceptionV3().state_dict(), path)  # full architecture: its layout is fixed


def build_i3d(path: Path, min_frames: int = 0) -> None:
    """`min_frames` > 0 makes short clips fail as the real I3D's temporal pooling does (it needs
    about 9 frames); the default accepts any length, so short demo clips still run."""
    torch = require("torch")

    class TinyI3D(torch.nn.Module):
        """A 3-D conv net with the call signature of StyleGAN-V's i3d_torchscript.pt."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv3d(3, 8, 3, padding=1)
            self.fc = torch.nn.Linear(8, 4)
            self.min_frames = min_frames

        def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = False,
                    return_features: bool = False) -> torch.Tensor:
            if x.shape[2] < self.min_frames:
                raise RuntimeError("input too short for the temporal pooling")
            if rescale:
                x = x / 127.5 - 1
            if resize:
                x = torch.nn.functional.interpolate(x, size=(x.shape[2], 32, 32), mode="trilinear")
            h = torch.relu(self.conv(x)).mean(dim=(2, 3, 4))
            return h if return_features else self.fc(h)

    torch.jit.script(TinyI3D()).save(str(path))


def build_vggish(path: Path) -> None:
    torch = require("torch")
    from generalbench.metricmodels.video_audio_nets import VGGish

    torch.save({k: v.half() for k, v in VGGish().state_dict().items()}, path)


def build_linear_head(path: Path) -> None:
    torch = require("torch")
    torch.save(torch.nn.Linear(PROJECTION, 1).state_dict(), path)


def build_musiq(path: Path) -> None:
    torch = require("torch")
    from generalbench.metricmodels.musiq import HEAD_DIM, MusiqNet

    # real stem, patch size, position grid and scales; a narrow, shallow transformer
    net = MusiqNet(hidden=HEAD_DIM, mlp_dim=2 * HEAD_DIM, layers=2, heads=1)
    torch.save(net.state_dict(), path)


def build_cotracker(path: Path) -> None:
    """CoTracker2's layout with a narrow encoder and transformer, a 64 x 96 model resolution and
    8 virtual tracks; the real window (8) and correlation pyramid, the real parameter names."""
    torch = require("torch")
    from generalbench.metricmodels.cotracker import HEAD_WIDTH, CoTracker2Net

    net = CoTracker2Net(latent=32, dim=HEAD_WIDTH, heads=1, mlp_hidden=2 * HEAD_WIDTH, time_depth=2,
                        space_depth=1, virtual=8, window=8, resolution=(64, 96))
    torch.save(net.state_dict(), path)


def build_raft(path: Path) -> None:
    """The full RAFT (its widths are fixed by the architecture, ~5.3M parameters) with random
    weights, saved with the DataParallel "module." prefix like the authors' raft-things.pth."""
    torch = require("torch")
    from generalbench.metricmodels.raft import PREFIX, RaftNet

    torch.save({PREFIX + k: v for k, v in RaftNet().state_dict().items()}, path)


def build_t2m_evaluator(folder: Path) -> None:
    """The HumanML3D evaluator's files (finest.tar with both encoders, Mean.npy, Std.npy)."""
    torch = require("torch")
    import numpy as np

    from generalbench.metricmodels.humanml3d_features import FEATURES
    from generalbench.metricmodels.t2m_evaluator import (
        FOOT_CONTACT_DIMS,
        MotionEncoderBiGRUCo,
        MovementConvEncoder,
    )

    movement = MovementConvEncoder(FEATURES - FOOT_CONTACT_DIMS, 16, 8)
    motion = MotionEncoderBiGRUCo(8, 12, 6)
    with torch.no_grad():
        motion.hidden.normal_()
    torch.save({"movement_encoder": movement.state_dict(), "motion_encoder": motion.state_dict()},
               folder / "finest.tar")
    np.save(folder / "Mean.npy", np.zeros(FEATURES, np.float32))
    np.save(folder / "Std.npy", np.ones(FEATURES, np.float32))


CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% elif c['type'] == 'text' %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_image_text_to_text(folder: Path, words: tuple[str, ...] = ()) -> None:
    """A LLaVA-style VLM (SigLIP vision tower + Qwen2 decoder, like LLaVA-Video's) with a byte-level
    tokenizer, ChatML chat template and 32x32 images (16 tokens each). `words` become whole-word
    vocabulary entries with the first ids (a test can make greedy decoding emit them)."""
    t = require("transformers")
    vocab: dict[str, int] = {w: i for i, w in enumerate(words)}
    for c in byte_chars():
        vocab.setdefault(c, len(vocab))
    tok = bpe_tokenizer(t.Qwen2Tokenizer, vocab, folder)
    tok.add_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>"], special_tokens=True)
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    cfg = t.LlavaConfig(
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        text_config=dict(model_type="qwen2", vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=8192, tie_word_embeddings=False),
        image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-1,
        vision_feature_select_strategy="full")
    model = t.LlavaForConditionalGeneration(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    image_processor = t.SiglipImageProcessorPil(size={"height": 32, "width": 32})
    t.LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=8,
                     vision_feature_select_strategy="full", chat_template=CHATML_TEMPLATE).save_pretrained(folder)


FOLDER_BUILDERS: dict[str, Callable[[Path], None]] = {
    "clip": build_clip, "hf_image_cls": build_image_cls, "clap": build_clap,
    "t2m_motion_evaluator": build_t2m_evaluator, "hf_image_text_to_text": build_image_text_to_text}
FILE_BUILDERS: dict[str, Callable[[Path], None]] = {
    "inception_fid": build_inception, "i3d_torchscript": build_i3d, "vggish": build_vggish,
    "linear_head": build_linear_head, "musiq": build_musiq, "cotracker": build_cotracker,
    "raft": build_raft}


def make_tiny(dest: Path, model_ids: list[str] | None = None, seed: int = 0) -> list[Path]:
    """Write tiny random stand-ins for hub/URL models into dest/<id>/; returns the folders."""
    torch = require("torch")
    torch.manual_seed(seed)
    chosen: list[ModelEntry] = [m for m in all_models().values()
                                if (model_ids is None or m.id in model_ids)
                                and (m.loader in FOLDER_BUILDERS or m.loader in FILE_BUILDERS)]
    if model_ids is not None and len(chosen) != len(set(model_ids)):
        known = {m.id for m in chosen}
        raise MetricError(f"no tiny stand-in for: {sorted(set(model_ids) - known)}")
    out = []
    for model in chosen:
        folder = Path(dest) / model.id
        folder.mkdir(parents=True, exist_ok=True)
        if model.loader in FOLDER_BUILDERS:
            FOLDER_BUILDERS[model.loader](folder)
        else:
            FILE_BUILDERS[model.loader](folder / model.source.files[0])
        (folder / MARKER).write_text(
            f"Tiny random-weight stand-in for {model.id} ({model.source.describe()}), written by "
            "`generalbench weights make-tiny`. Scores computed with it are meaningless.\n")
        out.append(folder)
    return out
