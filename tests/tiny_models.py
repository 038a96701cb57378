"""Tiny randomly initialised models of the families users pass by Hub id, saved like checkpoints.

They exercise the real loading and batching code of each family in seconds; values that matter
are tested on the bundled real models. Importable from every test (tests/ is on sys.path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

# A minimal chat template: system and user turns, then the assistant's, as SmolLM2's does.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(texts: list[str], specials: list[str], append: str | None = None, **named):
    """A small BPE tokenizer trained on `texts`, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=600, special_tokens=specials))
    if append is not None:
        template = processors.TemplateProcessing(
            single=f"$A {append}", special_tokens=[(append, tok.token_to_id(append))]
        )
        tok.post_processor = template
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", **named)


def chat_tokenizer(texts: list[str]) -> Any:
    """A trained tokenizer with ChatML special tokens and a chat template (no download needed)."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>"]
    tok = train_tokenizer(
        texts, specials, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def save_tiny_llama(folder: Path, tokenizer: Any) -> Path:
    """A 2-layer Llama with random weights, saved with `tokenizer`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        initializer_range=0.3,  # large enough that logits can move far from uniform
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return _save_random(folder, LlamaForCausalLM, config, tokenizer)


def save_tiny_reward_model(folder: Path, texts: list[str]) -> Path:
    """A random GPT-NeoX sequence classifier with OpenAssistant's special tokens."""
    from transformers import GPTNeoXConfig, GPTNeoXForSequenceClassification

    specials = ["<|padding|>", "<|endoftext|>", "<|prompter|>", "<|assistant|>", "<unk>"]
    tok = train_tokenizer(
        texts,
        specials,
        eos_token="<|endoftext|>",
        pad_token="<|padding|>",
        additional_special_tokens=["<|prompter|>", "<|assistant|>"],
    )
    config = GPTNeoXConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=1,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    return _save_random(folder, GPTNeoXForSequenceClassification, config, tok)


def save_tiny_unieval_model(folder: Path, texts: list[str]) -> Path:
    """A random T5 with a tokenizer that knows `</s>` and appends it, as T5's does."""
    from transformers import T5Config, T5ForConditionalGeneration

    tok = train_tokenizer(
        texts, ["<pad>", "</s>", "<unk>"], append="</s>", eos_token="</s>", pad_token="<pad>"
    )
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        decoder_start_token_id=tok.pad_token_id,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    return _save_random(folder, T5ForConditionalGeneration, config, tok)


def _save_random(folder: Path, model_class: Any, config: Any, tokenizer: Any) -> Path:
    """Weights drawn from seed 0 (so every build of a model is the same), saved with `tokenizer`."""
    torch.manual_seed(0)
    model_class(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
