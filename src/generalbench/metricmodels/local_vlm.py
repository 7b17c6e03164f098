"""A local vision-language model (transformers AutoModelForImageTextToText + AutoProcessor) used
as a judge that sees images, e.g. a video's sampled frames for VBench-2.0's video questions.

It takes the same OpenAI-style chat messages as an endpoint: image_url parts (data URLs, as
judges.py builds them) become the processor's images, in order, and the model's own chat template
places them; decoding is greedy. Nothing depends on the model's name: any image-text-to-text
checkpoint in transformers format whose processor has a chat template works.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from generalbench.errors import MetricError
from generalbench.metricmodels.base import MetricModel, pick_device, require


class LocalVisionLM(MetricModel):
    """Greedy chat completion over text and images with a local transformers VLM folder."""

    multimodal = True

    def _load(self) -> None:
        torch = require("torch", purpose="a local vision-language judge")
        transformers = require("transformers", purpose="a local vision-language judge")
        self._torch = torch
        self.device = pick_device(self.device_request)
        folder = str(self.weights.root)
        self.processor = transformers.AutoProcessor.from_pretrained(folder)
        if getattr(self.processor, "chat_template", None) is None:
            raise MetricError(f"{folder}: the processor has no chat template; the judge needs one to "
                              "place the images and the question (save the model with its template)")
        self.model = transformers.AutoModelForImageTextToText.from_pretrained(folder).to(self.device).eval()

    def info(self) -> dict[str, Any]:
        info = super().info()
        config = self.weights.root / "config.json"
        if config.is_file():  # which architecture the folder holds (a path may hold any VLM)
            raw = json.loads(config.read_text("utf-8"))
            info["architecture"] = ",".join(raw.get("architectures") or [raw.get("model_type", "?")])
        return info

    def chat(self, messages: list[dict[str, Any]], *, max_new_tokens: int = 64) -> str:
        """One greedy completion for OpenAI-style messages whose content may hold image parts."""
        self.load()
        torch = self._torch
        hf_messages, images = to_hf_messages(messages)
        text = self.processor.apply_chat_template(hf_messages, add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=[text], images=[images] if images else None, return_tensors="pt")
        dtype = self.model.dtype
        inputs = {k: (v.to(self.device, dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items() if hasattr(v, "to")}
        with torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new, skip_special_tokens=True)[0]


def to_hf_messages(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
    """OpenAI chat messages -> transformers chat messages and the images in order of appearance.

    Text becomes {"type": "text"} parts; each image_url data URL becomes an {"type": "image"}
    part, which the processor's chat template expands into the model's image tokens, plus the
    decoded PIL image; other media (audio) cannot be given to an image-text model.
    """
    from PIL import Image

    out: list[dict[str, Any]] = []
    images: list[Any] = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            out.append({"role": message["role"], "content": [{"type": "text", "text": content}]})
            continue
        parts = []
        for part in content:
            if part.get("type") == "text":
                parts.append({"type": "text", "text": part["text"]})
            elif part.get("type") == "image_url":
                url = part["image_url"]["url"]
                if not url.startswith("data:"):
                    raise MetricError("a local vision-language judge takes images as data URLs, not "
                                      f"{url[:40]!r}")
                data = base64.b64decode(url.split(",", 1)[1])
                images.append(Image.open(io.BytesIO(data)).convert("RGB"))
                parts.append({"type": "image"})
            else:
                raise MetricError(f"a local vision-language judge cannot take {part.get('type')!r} parts")
        out.append({"role": message["role"], "content": parts})
    return out, images
