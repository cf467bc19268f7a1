"""The GRU encoder-decoder: shapes, teacher forcing equals step-by-step decoding, attention
rows are distributions, and a short run learns short reversals."""

import torch

from snippets.models.recurrent_seq2seq import (RecurrentSeq2Seq, RecurrentSeq2SeqConfig,
                                               reverse_accuracy, train_reverse_rnn)
from snippets.models.seq2seq import BOS, reverse_batch


def test_shapes_and_attention_rows_sum_to_one():
    torch.manual_seed(0)
    model = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12)).double()
    src, tgt_in, _ = reverse_batch(3, 6, 6, torch.Generator().manual_seed(0))
    assert model(src, tgt_in).shape == (3, 7, 13)
    ids, weights = model.greedy(src, 7)
    assert ids.shape == (3, 7) and weights.shape == (3, 7, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 7, dtype=torch.double))


def test_teacher_forcing_on_own_outputs_equals_greedy():
    torch.manual_seed(1)
    for attention in (True, False):
        model = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12, attention=attention))
        src, _, _ = reverse_batch(4, 5, 5, torch.Generator().manual_seed(1))
        ids, _ = model.greedy(src, 6)
        tgt_in = torch.cat([torch.full((4, 1), BOS), ids[:, :-1]], dim=1)
        assert torch.equal(model(src, tgt_in).argmax(-1), ids)


def test_same_size_with_and_without_attention_but_for_the_scorer():
    a = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(attention=True))
    b = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(attention=False))
    n_a, n_b = (sum(p.numel() for p in m.parameters()) for m in (a, b))
    assert n_a - n_b == sum(p.numel() for p in a.attention.parameters())


def test_short_training_learns_short_reversal():
    cfg = RecurrentSeq2SeqConfig(d_embed=16, hidden=32, attention=True)
    model = train_reverse_rnn(cfg, steps=150, batch=64, min_len=3, max_len=4, lr=1e-2)
    exact, token = reverse_accuracy(model, 4, n=100)
    assert token > 0.9 and exact > 0.7
