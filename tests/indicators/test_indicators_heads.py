"""A model whose task head is missing or would be newly initialised is refused with one line
(exit 2), for every indicator that loads a head: reward, UniEval and judge."""

from __future__ import annotations

import pytest


@pytest.fixture
def pool_file(tmp_path, sample_pool):
    path = tmp_path / "pool.parquet"
    sample_pool.head(4).to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def t5_encoder_only(tmp_path_factory, tiny_unieval_model):
    """UniEval's T5 without its decoder and LM head (as a T5EncoderModel checkpoint holds it)."""
    from transformers import AutoTokenizer, T5EncoderModel

    folder = tmp_path_factory.mktemp("t5-encoder")
    T5EncoderModel.from_pretrained(tiny_unieval_model).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_unieval_model).save_pretrained(folder)
    return folder


def _refused(cli, pool_file, tmp_path, indicator, flag, model, head, key):
    out = tmp_path / "ind.parquet"
    code, _, err = cli("indicators", pool_file, "-o", out, "--indicators", indicator,
                       flag, model, "--cache-dir", tmp_path / "c")  # fmt: skip
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"error: cannot load model '{model}': it lacks {head}")
    assert key in lines[0] and "initialise at random" in lines[0]
    assert not out.exists()


def test_causal_lm_as_reward_model(cli, pool_file, tmp_path, tiny_model):
    _refused(cli, pool_file, tmp_path, "reward", "--reward-model", tiny_model,
             "a reward head", "score.weight")  # fmt: skip


def test_encoder_only_t5_as_unieval(cli, pool_file, tmp_path, t5_encoder_only):
    _refused(cli, pool_file, tmp_path, "unieval", "--unieval-model", t5_encoder_only,
             "a sequence-to-sequence head", "decoder.")  # fmt: skip


def test_reward_classifier_as_judge(cli, pool_file, tmp_path, tiny_reward_model):
    _refused(cli, pool_file, tmp_path, "judge", "--judge-model", tiny_reward_model,
             "a language-model head", "lm_head.weight")  # fmt: skip


def test_complete_models_load(tiny_reward_model, tiny_unieval_model, tiny_model):
    from instructmining.models.loader import load_causal_lm, load_seq2seq, load_sequence_classifier

    assert load_sequence_classifier(str(tiny_reward_model), "cpu").model is not None
    assert load_seq2seq(str(tiny_unieval_model), "cpu").model is not None
    assert load_causal_lm(str(tiny_model), "cpu").model is not None
