"""Turn examples into token ids with the loss on the response only.

The prompt is rendered with the model's chat template when it has one (else an Alpaca-style
prompt) and its tokens get label -100, so fine-tuning and the evaluation loss measure how well
the model writes the reference response, never how well it predicts the instruction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IGNORE = -100

_ALPACA_PROMPT = "### Instruction:\n{instruction}\n\n### Response:\n"


@dataclass(frozen=True)
class Encoded:
    """One example's token ids and the number of leading prompt tokens (masked from the loss)."""

    ids: tuple[int, ...]
    prompt_len: int

    @property
    def labels(self) -> list[int]:
        return [IGNORE] * self.prompt_len + list(self.ids[self.prompt_len :])

    @property
    def loss_tokens(self) -> int:
        """Scored tokens: each response token, predicted from the token before it."""
        return len(self.ids) - max(self.prompt_len, 1)


def _user_text(example: dict[str, Any]) -> str:
    instruction = str(example.get("instruction") or "")
    extra = str(example.get("input") or "")
    return f"{instruction}\n\n{extra}" if extra else instruction


def render(example: dict[str, Any], tokenizer: Any) -> tuple[str, str]:
    """(prompt text, response text) for an example, through the chat template when there is one."""
    output = str(example.get("output") or "")
    if getattr(tokenizer, "chat_template", None):
        messages = []
        if example.get("system"):
            messages.append({"role": "system", "content": str(example["system"])})
        messages.append({"role": "user", "content": _user_text(example)})
        prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(
            [*messages, {"role": "assistant", "content": output}], tokenize=False
        )
        if full.startswith(prompt):  # templates that rewrite earlier turns fall through
            return prompt, full[len(prompt) :]
    else:
        system = f"{example['system']}\n\n" if example.get("system") else ""
        prompt = system + _ALPACA_PROMPT.format(instruction=_user_text(example))
    return prompt, output + (tokenizer.eos_token or "")


def leading_bos(tokenizer: Any) -> int | None:
    """The BOS id when the tokenizer starts ordinary text with it (Llama does), else None."""
    bos = tokenizer.bos_token_id
    return bos if bos is not None and tokenizer("a")["input_ids"][:1] == [bos] else None


def encode(example: dict[str, Any], tokenizer: Any, max_length: int, bos: int | None) -> Encoded:
    """Token ids of prompt + response, cut to `max_length`; `bos` is prepended when not there.

    Long examples keep the end of the prompt (where the assistant turn starts) and the start of
    the response; the response keeps at least a quarter of `max_length` when it is that long.
    """
    prompt_text, response_text = render(example, tokenizer)
    prompt = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    response = tokenizer(response_text, add_special_tokens=False)["input_ids"]
    if bos is not None and prompt[:1] != [bos]:
        prompt = [bos, *prompt]
    if len(prompt) + len(response) > max_length:
        keep_response = min(len(response), max(max_length - len(prompt), max_length // 4))
        response = response[:keep_response]
        prompt = prompt[-(max_length - keep_response) :]
    return Encoded(ids=tuple(prompt + response), prompt_len=len(prompt))


def encode_all(examples: list[dict[str, Any]], tokenizer: Any, max_length: int) -> list[Encoded]:
    bos = leading_bos(tokenizer)
    return [encode(example, tokenizer, max_length, bos) for example in examples]
