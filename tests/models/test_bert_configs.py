"""Our closed-form counts against transformers' own classes built on the meta device
(shapes only: no weights are allocated and nothing is downloaded)."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch
import transformers as tr

from snippets.models.bert_configs import FAMILY, EncoderSpec, deberta_parameters, encoder_parameters


def count_on_meta(cls, config) -> int:
    with torch.device("meta"):
        model = cls(config)
    return sum(p.numel() for p in model.parameters())


def transformers_count(name: str, s: EncoderSpec) -> int:
    common = dict(vocab_size=s.vocab_size, num_hidden_layers=s.n_layers, hidden_size=s.d_model,
                  intermediate_size=s.d_ff, num_attention_heads=s.d_model // 64,
                  max_position_embeddings=s.max_positions)
    if name.startswith("BERT"):
        return count_on_meta(tr.BertModel, tr.BertConfig(type_vocab_size=s.n_segments, **common))
    if name.startswith("RoBERTa"):
        return count_on_meta(tr.RobertaModel, tr.RobertaConfig(type_vocab_size=s.n_segments, **common))
    if name.startswith("ALBERT"):
        return count_on_meta(tr.AlbertModel, tr.AlbertConfig(embedding_size=s.d_embed,
                                                             type_vocab_size=s.n_segments, **common))
    if name.startswith("DistilBERT"):
        return count_on_meta(tr.DistilBertModel, tr.DistilBertConfig(
            vocab_size=s.vocab_size, n_layers=s.n_layers, dim=s.d_model, hidden_dim=s.d_ff,
            n_heads=12, max_position_embeddings=s.max_positions))
    if name.startswith("ELECTRA"):
        return count_on_meta(tr.ElectraModel, tr.ElectraConfig(embedding_size=s.d_embed or s.d_model,
                                                               type_vocab_size=s.n_segments, **common))
    raise KeyError(name)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_count_equals_transformers(name):
    assert encoder_parameters(FAMILY[name]) == transformers_count(name, FAMILY[name])


def test_deberta_count_equals_transformers():
    config = tr.DebertaConfig(vocab_size=50265, relative_attention=True, pos_att_type=["c2p", "p2c"],
                              position_biased_input=False, type_vocab_size=0, max_relative_positions=-1)
    assert deberta_parameters() == count_on_meta(tr.DebertaModel, config)


def test_albert_sharing_makes_depth_free():
    """With shared layers, 12 or 24 layers cost the same parameters; without, 12 cost half."""
    base = FAMILY["ALBERT-base"]
    deeper = EncoderSpec(**{**base.__dict__, "n_layers": 24})
    assert encoder_parameters(deeper) == encoder_parameters(base)
    unshared = EncoderSpec(**{**base.__dict__, "shared_layers": False})
    assert encoder_parameters(unshared) > 7 * encoder_parameters(base)


def test_bert_base_is_about_110m_and_embeddings_are_a_fifth():
    n = encoder_parameters(FAMILY["BERT-base"])
    assert 109e6 < n < 110e6
    embeddings = (30522 + 512 + 2) * 768 + 2 * 768
    assert 0.2 < embeddings / n < 0.22
