"""A tiny Llama with random weights, built from a config and saved locally, with a word-level
tokenizer and a chat template: a real transformers model folder for testing the hf and vllm
backends (and benchmarking them) without downloading anything. Its answers are noise."""

from __future__ import annotations

from pathlib import Path


def build_tiny_llama(folder: Path | str, *, vocab_size: int = 512, hidden: int = 64,
                     layers: int = 2, heads: int = 4, seed: int = 0, dtype: str = "float32") -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for i in range(vocab_size - len(specials)):
        vocab[f"w{i}"] = len(vocab)
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789:?.,":
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="<pad>")
    fast.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                          "{% if add_generation_prompt %}assistant:{% endif %}")
    fast.save_pretrained(folder)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=heads,
                         num_key_value_heads=heads, max_position_embeddings=1024,
                         bos_token_id=1, eos_token_id=2, pad_token_id=3)
    torch.manual_seed(seed)
    LlamaForCausalLM(config).to(getattr(torch, dtype)).save_pretrained(folder)
    return folder


def build_tiny_vlm(folder: Path | str, *, seed: int = 0) -> Path:
    """A tiny LLaVA (CLIP vision tower + Llama) with random weights and a LlavaProcessor whose
    chat template places `<image>` tokens, for the hf backend's vision-language path."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )
    try:
        from transformers import CLIPImageProcessorPil as ImageProcessor
    except ImportError:  # older transformers
        from transformers import CLIPImageProcessor as ImageProcessor

    folder = Path(folder)
    specials = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for i in range(300):
        vocab[f"w{i}"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", pad_token="<pad>",
                                   extra_special_tokens={"image_token": "<image>"})
    template = ("{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}"
                "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}"
                "{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
    images = ImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    LlavaProcessor(image_processor=images, tokenizer=fast, patch_size=14,
                   vision_feature_select_strategy="default", chat_template=template,
                   image_token="<image>", num_additional_image_tokens=1).save_pretrained(folder)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=2, image_size=28, patch_size=14),
        text_config=LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                                num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                bos_token_id=1, eos_token_id=2, pad_token_id=3),
        image_token_index=vocab["<image>"], vision_feature_select_strategy="default",
        vision_feature_layer=-1)
    torch.manual_seed(seed)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    return folder
