"""The GRU encoder-decoder: shapes, teacher forcing equals step-by-step decoding, attention
rows are distributions, and training lowers the loss (the full run is a benchmark)."""

import torch

from snippets.models.recurrent_seq2seq import (RecurrentSeq2Seq, RecurrentSeq2SeqConfig,
                                               train_reverse_rnn)
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


def test_training_lowers_the_loss():
    cfg = RecurrentSeq2SeqConfig(d_embed=8, hidden=16, attention=True)
    losses = []
    train_reverse_rnn(cfg, steps=40, batch=32, min_len=3, max_len=3, lr=1e-2,
                      on_step=lambda step, loss, model: losses.append(loss))
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_torch_kernels_variant_equals_ours_on_the_same_weights():
    from snippets.layers.recurrent import load_torch_weights
    torch.manual_seed(2)
    fast = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12, impl="torch")).double()
    ours = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12)).double()
    state = {k: v for k, v in fast.state_dict().items() if not k.startswith("encoder.")}
    ours.load_state_dict(state, strict=False)
    load_torch_weights(ours.encoder, fast.encoder)
    src, tgt_in, _ = reverse_batch(3, 6, 6, torch.Generator().manual_seed(2))
    torch.testing.assert_close(ours(src, tgt_in), fast(src, tgt_in))


def test_position_accuracy_averages_to_token_accuracy_and_forcing_on_own_outputs_changes_nothing():
    from snippets.models.recurrent_seq2seq import position_accuracy, reverse_accuracy
    torch.manual_seed(3)
    for bidirectional in (True, False):
        model = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12, attention=False,
                                                        bidirectional=bidirectional))
        by_position = position_accuracy(model, 6, n=40)
        assert len(by_position) == 7                                  # 6 digits and EOS
        _, token = reverse_accuracy(model, 6, n=40)
        assert abs(sum(by_position) / 7 - token) < 1e-6
        forced = position_accuracy(model, 6, n=40, teacher_forced=True)
        assert forced[0] == by_position[0]                            # step 1 reads BOS either way


def test_forward_only_encoder_gives_narrower_annotations():
    model = RecurrentSeq2Seq(RecurrentSeq2SeqConfig(d_embed=8, hidden=12, bidirectional=False))
    src, tgt_in, _ = reverse_batch(3, 6, 6, torch.Generator().manual_seed(0))
    annotations, s0, fixed = model.encode(src)
    assert annotations.shape == (3, 6, 12) and fixed.shape == (3, 12) and s0.shape == (3, 12)
    assert model(src, tgt_in).shape == (3, 7, 13)
