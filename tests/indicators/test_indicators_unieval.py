"""UniEval mechanics on a tiny random T5: UniEval's exact inputs and its Yes/No scoring rule."""

from __future__ import annotations

import pytest
import torch

from instructmining.indicators import IndicatorOptions, compute_indicators
from instructmining.indicators.unieval import boolqa_input, dialogue_history
from instructmining.models.loader import load_seq2seq


def test_boolean_questions_are_unievals_dialogue_inputs():
    history = dialogue_history("Name a fruit.", "")
    assert history == "Name a fruit. \n\n"
    assert dialogue_history("Summarise.", "Some text.") == "Summarise. \n Some text. \n\n"
    assert boolqa_input("naturalness", "An apple.", history) == (
        "question: Is this a natural response in the dialogue? </s> response: An apple."
    )
    assert boolqa_input("coherence", "An apple.", history) == (
        "question: Is this a coherent response given the dialogue history? </s> response: "
        "An apple. </s> dialogue history: Name a fruit. \n\n"
    )
    assert boolqa_input("understandability", "An apple.", history) == (
        "question: Is this an understandable response in the dialogue? </s> response: An apple."
    )
    with pytest.raises(ValueError):
        boolqa_input("engagingness", "An apple.")


def _unieval_score(evaluator, text: str) -> float:
    """UniEvaluator.score for one input, step by step as UniEval writes it."""
    tok, model = evaluator.tokenizer, evaluator.model
    enc = tok([text], max_length=1024, truncation=True, padding=True, return_tensors="pt")
    target = tok(["No"], max_length=1024, truncation=True, padding=True, return_tensors="pt")
    labels = target["input_ids"][:, 0].unsqueeze(-1)
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=labels)
    probs = torch.softmax(out.logits.view(-1, model.config.vocab_size), dim=1)
    yes, no = tok("Yes")["input_ids"][0], tok("No")["input_ids"][0]
    return (probs[0, yes] / (probs[0, yes] + probs[0, no])).item()


def test_scores_match_unievals_scorer_on_whole_responses(tiny_unieval_model, sample_pool, tmp_path):
    """Naturalness, coherence and understandability are turn-level in UniEval's DialogEvaluator."""
    pool = sample_pool.iloc[[0, 1, 2, 25, 26, 27]]  # Alpaca and Dolly (with input) records
    assert any(". " in text for text in pool.output)  # multi-sentence responses are one input
    options = IndicatorOptions(unieval_model=str(tiny_unieval_model), bf16=False, batch_size=4)
    table = compute_indicators(pool, "unieval", options, cache_dir=tmp_path, progress=False)
    assert list(table.columns) == ["id", "unieval_nat", "unieval_coh", "unieval_und"]
    evaluator = load_seq2seq(str(tiny_unieval_model), "cpu")
    dims = {
        "unieval_nat": "naturalness",
        "unieval_coh": "coherence",
        "unieval_und": "understandability",
    }
    for position, row in enumerate(pool.itertuples()):
        history = dialogue_history(row.instruction, row.input)
        for column, dimension in dims.items():
            expected = _unieval_score(evaluator, boolqa_input(dimension, row.output, history))
            assert table[column].iloc[position] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    values = table[list(dims)].to_numpy()
    assert ((values > 0) & (values < 1)).all()
