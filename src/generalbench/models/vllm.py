"""The offline vLLM engine: every pending prompt of a task in one `LLM.generate` call.

vLLM schedules and batches internally (continuous batching, paged attention), so the best a
harness can do is hand it all prompts at once and get out of the way; the runner journals the
task's outputs when the call returns. Needs the `vllm` extra and a GPU; imported lazily so the
rest of generalbench works without it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
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
from generalbench.models.messages import media_paths, text_only

ENGINE_PARAMS = ("dtype", "tensor_parallel_size", "gpu_memory_utilization", "max_model_len",
                 "trust_remote_code", "enforce_eager", "seed", "tokenizer", "quantization")
"""Params passed through to `vllm.LLM(...)` as they are."""


def sampling_params(vllm: Any, settings: Any) -> Any:
    return vllm.SamplingParams(max_tokens=settings.max_tokens, temperature=settings.temperature,
                               top_p=settings.top_p if settings.temperature > 0 else 1.0,
                               seed=settings.seed, stop=list(settings.stop) or None)


class VLLMBackend:
    batch_size = 0  # a whole task per call

    def __init__(self, config: ModelConfig) -> None:
        try:
            import vllm
        except ImportError:
            raise ModelError("the vllm backend needs vLLM and a GPU: pip install "
                             "'generalbench[vllm]' (or use --model openai:<name> against a "
                             "`vllm serve` endpoint)") from None
        p = config.params
        if not p.get("path"):
            raise ModelError("vllm backend: set params.path (a local model folder)")
        self.name = config.name
        self._vllm = vllm
        self.llm = vllm.LLM(model=str(p["path"]), **{k: p[k] for k in ENGINE_PARAMS if k in p})

    def _generate_sync(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        results: list[ModelOutput | ModelCallError] = []
        chats, idx = [], []
        for i, r in enumerate(requests):
            if media_paths(r.messages):
                results.append(RequestRejected(f"model {self.name}: media inputs need the "
                                               "openai backend against `vllm serve`"))
            else:
                results.append(RequestRejected("not generated"))
                chats.append(text_only(r.messages))
                idx.append(i)
        if not idx:
            return results
        start = time.perf_counter()
        outs = self.llm.chat(chats, sampling_params(self._vllm, requests[idx[0]].settings),
                             use_tqdm=False)
        per = (time.perf_counter() - start) / len(idx)
        for i, o in zip(idx, outs, strict=True):
            c = o.outputs[0]
            results[i] = ModelOutput(text=c.text.strip(), latency_s=per, usage=Usage(
                input_tokens=len(o.prompt_token_ids or []), output_tokens=len(c.token_ids)))
        return results

    async def generate(self, requests: Sequence[ModelRequest]) -> list[ModelOutput | ModelCallError]:
        return await asyncio.to_thread(self._generate_sync, requests)

    async def aclose(self) -> None:
        return None


def create(config: ModelConfig) -> VLLMBackend:
    return VLLMBackend(config)
