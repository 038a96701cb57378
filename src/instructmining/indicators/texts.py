"""How an example becomes text: the user turn, chat messages, and the text that is embedded.

Every indicator formats examples through these helpers, so "the instruction" means the same
thing to the perplexity, the reward model, the judge and the kNN embedding.
"""

from __future__ import annotations

from typing import Any


def user_text(instruction: str, input_: str) -> str:
    """The user's turn: the instruction, then its input (if any) after a blank line."""
    return f"{instruction}\n\n{input_}" if input_ else instruction


def messages(system: str, user: str, assistant: str | None = None) -> list[dict[str, str]]:
    """Chat messages; no system message when the example has none (the template's default)."""
    turns = [{"role": "system", "content": system}] if system else []
    turns.append({"role": "user", "content": user})
    if assistant is not None:
        turns.append({"role": "assistant", "content": assistant})
    return turns


def embedding_text(instruction: str, input_: str, output: str) -> str:
    """What kNN embeds: instruction, input and response, one per line."""
    return "\n".join(part for part in (instruction, input_, output) if part)


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def chat_prompt(tokenizer: Any, turns: list[dict[str, str]]) -> str:
    """The template's text up to where the assistant starts writing."""
    return tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
