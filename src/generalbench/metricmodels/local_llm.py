"""A local causal LM (transformers; GGUF files through the `gguf` package) used as a judge.

Greedy decoding with the model's own chat template, so the same prompt gives the same verdict.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

from generalbench.metricmodels.base import MetricModel, pick_device, require


class LocalCausalLM(MetricModel):
    """Chat completion with a local model folder or GGUF file."""

    def _load(self) -> None:
        torch = require("torch", purpose="a local judge")
        transformers = require("transformers", purpose="a local judge")
        self._torch = torch
        self.device = pick_device(self.device_request)
        root = self.weights.root
        gguf = [p for p in self.weights.files.values() if p.suffix == ".gguf"]
        if root.is_file() and root.suffix == ".gguf":
            gguf = [root]
        kwargs: dict[str, Any] = {}
        if gguf:
            require("gguf", purpose="loading GGUF weights")
            folder, kwargs["gguf_file"] = str(gguf[0].parent), gguf[0].name
        else:
            folder = str(root)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder, **kwargs)
        self.model = transformers.AutoModelForCausalLM.from_pretrained(folder, **kwargs).to(self.device).eval()

    def chat(self, messages: list[dict[str, Any]], *, max_new_tokens: int = 64) -> str:
        """One greedy completion for a list of {'role', 'content'} messages (text content)."""
        self.load()
        text_messages = [{"role": m["role"], "content": _text_only(m["content"])} for m in messages]
        prompt = self.tokenizer.apply_chat_template(text_messages, tokenize=False,
                                                    add_generation_prompt=True)
        inputs = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        with self._torch.no_grad():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                      pad_token_id=self.tokenizer.eos_token_id)
        return self.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


    def choose(self, messages: list[dict[str, Any]], choices: list[str], *,
               prefix: str = "") -> str:
        """The choice with the highest log-likelihood as the assistant's reply (after `prefix`).

        Small local judges rarely follow 'answer with one integer'; scoring the allowed answers
        instead of free generation keeps the verdict on the rubric's scale and deterministic.
        """
        self.load()
        torch = self._torch
        text_messages = [{"role": m["role"], "content": _text_only(m["content"])} for m in messages]
        prompt = self.tokenizer.apply_chat_template(text_messages, tokenize=False,
                                                    add_generation_prompt=True) + prefix
        base = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = self.model(base.to(self.device), use_cache=True)
        first_logp = torch.log_softmax(out.logits[0, -1].float(), -1)
        # transformers >= 5.x names the KV cache `cache`; older versions `past_key_values`
        cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        cached = getattr(out, "cache", None) or out.past_key_values
        best, best_lp = choices[0], -float("inf")
        for choice in choices:
            ids = self.tokenizer(prompt + choice, return_tensors="pt")["input_ids"][0]
            if not bool((ids[: base.shape[1]] == base[0]).all()) or len(ids) <= base.shape[1]:
                continue  # the choice merged with the prompt's last token: not comparable
            cont = ids[base.shape[1]:]
            lp = float(first_logp[cont[0]])
            if len(cont) > 1:  # continue from the prompt's cached keys/values
                with torch.no_grad():
                    more = self.model(cont[None, :-1].to(self.device), use_cache=True,
                                      **{cache_arg: copy.deepcopy(cached)}).logits[0].float()
                logp = torch.log_softmax(more, -1)
                lp += float(logp.gather(1, cont[1:, None].to(logp.device)).sum())
            if lp > best_lp:
                best, best_lp = choice, lp
        return best


def _text_only(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
