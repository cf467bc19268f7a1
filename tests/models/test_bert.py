"""Our BERT against transformers' BertModel and BertForMaskedLM on the same random weights."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"

import pytest
import torch
import transformers

from snippets.models.bert import BertConfig, BertForMaskedLM, BertModel, bert_from_hf, bert_mlm_from_hf

HF = dict(vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
          intermediate_size=64, max_position_embeddings=24, type_vocab_size=2,
          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
OURS = BertConfig(vocab_size=101, max_positions=24, n_layers=2, n_heads=4, d_model=32, d_ff=64)


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three rows of length 12: two segments each, rows 1 and 2 padded at the end."""
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 101, (3, 12), generator=g)
    segments = torch.zeros_like(ids)
    segments[:, 6:] = 1
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    mask[2, 4:] = 0
    ids[mask == 0] = 0
    segments[mask == 0] = 0
    return ids, segments, mask


@pytest.mark.parametrize("attn_impl", ["ours", "torch"])
def test_bert_model_equals_transformers(attn_impl):
    torch.manual_seed(0)
    hf = transformers.BertModel(transformers.BertConfig(**HF)).eval()
    ours = bert_from_hf(hf.state_dict(), BertConfig(**{**OURS.__dict__, "attn_impl": attn_impl})).eval()
    ids, seg, mask = batch()
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask)
        hidden, pooled = ours(ids, seg, mask)
    keep = mask.bool()  # padded rows' outputs are not defined to be equal; real tokens are
    torch.testing.assert_close(hidden[keep], ref.last_hidden_state[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(pooled, ref.pooler_output, atol=1e-5, rtol=1e-5)


def test_masked_lm_equals_transformers_and_ties_weights():
    torch.manual_seed(0)
    hf = transformers.BertForMaskedLM(transformers.BertConfig(**HF)).eval()
    ours = bert_mlm_from_hf(hf.state_dict(), OURS).eval()
    assert ours.decoder.weight is ours.bert.embeddings.tok.weight
    ids, seg, mask = batch()
    labels = torch.full_like(ids, -100)
    labels[0, 3], labels[1, 7] = ids[0, 3], ids[1, 7]
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=seg, attention_mask=mask, labels=labels)
        logits, loss = ours(ids, seg, mask, labels=labels)
    keep = mask.bool()
    torch.testing.assert_close(logits[keep], ref.logits[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(loss, ref.loss, atol=1e-5, rtol=1e-5)


def test_segment_embedding_changes_the_output():
    torch.manual_seed(0)
    model = BertModel(OURS).eval()
    ids, seg, mask = batch()
    with torch.no_grad():
        a, _ = model(ids, seg, mask)
        b, _ = model(ids, torch.zeros_like(seg), mask)
    assert not torch.allclose(a[0, 6:], b[0, 6:])   # sentence B's tokens read differently
    torch.testing.assert_close(a[2, :4], b[2, :4])  # row 2 is all segment 0 where it is real


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = BertModel(OURS).eval()
    ids, seg, mask = batch()
    with torch.no_grad():
        padded, _ = model(ids[2:3], seg[2:3], mask[2:3])
        alone, _ = model(ids[2:3, :4], seg[2:3, :4])
    torch.testing.assert_close(padded[:, :4], alone, atol=1e-5, rtol=1e-5)


def test_output_depends_on_future_tokens():
    """Why BERT cannot generate left to right: position 0 sees position 5."""
    torch.manual_seed(0)
    model = BertModel(OURS).eval()
    ids, seg, _ = batch()
    changed = ids.clone()
    changed[0, 5] = (ids[0, 5] + 1) % 101
    with torch.no_grad():
        a, _ = model(ids[:1], seg[:1])
        b, _ = model(changed[:1], seg[:1])
    assert (a[0, 0] - b[0, 0]).abs().max() > 1e-3


@pytest.mark.parametrize("make, message", [
    (lambda ids, seg, m: (ids + 200, seg, m), "outside \\[0, 101\\)"),
    (lambda ids, seg, m: (ids, seg + 1, m), "segment ids \\[2\\]"),
    (lambda ids, seg, m: (ids, seg, m[:, :5]), "attention_mask shape \\(3, 5\\)"),
    (lambda ids, seg, m: (ids.repeat(1, 3), seg.repeat(1, 3), m.repeat(1, 3)), "exceeds the position table"),
    (lambda ids, seg, m: (ids.float(), seg, m), "LongTensor"),
    (lambda ids, seg, m: (ids, seg, torch.zeros_like(m)), "hides every token"),
])
def test_bad_input_errors(make, message):
    model = BertModel(OURS)
    ids, seg, mask = batch()
    with pytest.raises(ValueError, match=message):
        model(*make(ids, seg, mask))


def test_config_rejects_bad_sizes():
    with pytest.raises(ValueError, match="not divisible"):
        BertConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="n_layers must be >= 1"):
        BertConfig(n_layers=0)


def test_mlm_labels_shape_checked():
    model = BertForMaskedLM(OURS)
    ids, seg, mask = batch()
    with pytest.raises(ValueError, match="labels shape"):
        model(ids, seg, mask, labels=ids[:, :3])
