"""The two rules published by Cao et al. (InstructMining, arXiv 2307.06290 v1 and COLM 2024 v3).

Both were fitted on LLaMA-2-7B fine-tunes (target: log loss on SELF-INSTRUCT with GPT-4-written
references), with the indicator models named in each definition below. Applying them with other
indicator models changes what each column means; the definitions say which models they assume.

Assumption (Len): the v1 rule's `Len` is taken to be the response (output) length in tokens,
counted by the LLaMA-2 tokenizer in the paper. Here `output_len` is counted by the indicator
stage's tokenizer; token counts of English text differ between such tokenizers by a few percent,
which at 8.257e-5 per token moves a prediction by well under 0.01.
"""

from __future__ import annotations

from instructmining.rule.model import Rule
from instructmining.rule.targets import FIT, Target

REWARD_MODEL = "OpenAssistant/oasst-rm-2.1-pythia-1.4b-epoch-2.5"
UNIEVAL_MODEL = "MingZhong/unieval-dialog"
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
LLAMA2 = "meta-llama/Llama-2-7b-hf"

_DEFINITIONS = {
    "reward": {"indicator": "reward", "paper_name": "Rew", "model": REWARD_MODEL},
    "output_len": {
        "indicator": "length",
        "paper_name": "Len",
        "tokenizer": LLAMA2,
        "note": "assumed: response length in tokens (see instructmining.rule.published)",
    },
    "knn6": {"indicator": "knn", "paper_name": "Knn6", "model": EMBEDDER, "k": 6},
    "unieval_und": {"indicator": "unieval", "paper_name": "Und", "model": UNIEVAL_MODEL},
    "unieval_nat": {"indicator": "unieval", "paper_name": "Nat", "model": UNIEVAL_MODEL},
    "unieval_coh": {"indicator": "unieval", "paper_name": "Coh", "model": UNIEVAL_MODEL},
}


def _published(name: str, intercept: float, coefficients: dict[str, float], source: str) -> Rule:
    return Rule(
        name=name,
        model="published",
        indicators=list(coefficients),
        intercept=intercept,
        coefficients=coefficients,
        definitions={c: {"column": c, **_DEFINITIONS[c]} for c in coefficients},
        target=Target(FIT, [FIT], {FIT: 1.0}, "the paper's fit set: SELF-INSTRUCT, GPT-4 answers"),
        info={
            "source": source,
            "fitted_on": {
                "base_model": "LLaMA-2-7B",
                "eval_set": "SELF-INSTRUCT (GPT-4 references)",
                "n_runs": 129,
            },
        },
    )


PUBLISHED_RULES: dict[str, Rule] = {
    "paper-v1": _published(
        "paper-v1",
        1.0694,
        {"reward": -0.1498, "output_len": 8.257e-5, "knn6": -0.9350},
        "Cao et al., arXiv 2307.06290v1 (2023): log L = 1.0694 - 0.1498 Rew + 8.257e-5 Len "
        "- 0.9350 Knn6",
    ),
    "paper-v3": _published(
        "paper-v3",
        0.0274,
        {"reward": -0.0078, "unieval_und": 0.4421, "unieval_nat": -0.3212, "unieval_coh": -0.1520},
        "Cao et al., COLM 2024 (arXiv 2307.06290v3): log L = 0.0274 - 0.0078 Rew + 0.4421 Und "
        "- 0.3212 Nat - 0.1520 Coh",
    ),
}
