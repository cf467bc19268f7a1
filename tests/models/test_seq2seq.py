"""The encoder-decoder: shapes, masks, counts, schedule, label smoothing, and learning."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close
from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

from snippets.models.seq2seq import (BOS, EOS, PAD, Seq2SeqConfig, Seq2SeqTransformer, approx_parameters,
                              bert_parameters, count_parameters, exact_match, gpt2_parameters,
                              is_held_out, label_smoothed_cross_entropy, noam_lr, reverse_batch,
                              train_reverse, training_flops_per_token, warmup_linear_lr)


def test_shapes_tying_and_final_norms():
    torch.manual_seed(0)
    model = Seq2SeqTransformer(Seq2SeqConfig())
    src, tgt_in = torch.randint(3, 13, (2, 7)), torch.randint(3, 13, (2, 5))
    assert model(src, tgt_in).shape == (2, 5, 13)
    assert model.lm_head.weight is model.embed.weight
    untied = Seq2SeqTransformer(Seq2SeqConfig(tie_weights=False))
    assert count_parameters(untied) - count_parameters(model) == 13 * 64
    post = Seq2SeqTransformer(Seq2SeqConfig(norm_first=False))
    assert count_parameters(model) - count_parameters(post) == 2 * 2 * 64  # two final LayerNorms


def test_padding_in_the_source_changes_nothing():
    torch.manual_seed(0)
    model = Seq2SeqTransformer(Seq2SeqConfig()).eval()
    src, tgt_in = torch.tensor([[5, 6, 7]]), torch.tensor([[BOS, 7, 6]])
    padded = torch.tensor([[5, 6, 7, PAD, PAD]])
    assert_close(model(src, tgt_in), model(padded, tgt_in), atol=1e-5, rtol=1e-5)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="d_model=64 is not divisible by n_heads=5"):
        Seq2SeqTransformer(Seq2SeqConfig(n_heads=5))
    model = Seq2SeqTransformer(Seq2SeqConfig(max_len=8))
    with pytest.raises(ValueError, match="max_len=8"):
        model(torch.randint(3, 13, (1, 9)), torch.randint(3, 13, (1, 3)))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model.encode(torch.randint(3, 13, (4,)))


def test_reverse_batch_is_reversed_and_shifted():
    src, tgt_in, tgt_out = reverse_batch(50, 2, 6, torch.Generator().manual_seed(0))
    for s, ti, to in zip(src, tgt_in, tgt_out, strict=True):
        digits = s[s != PAD].tolist()
        assert to.tolist()[: len(digits) + 1] == digits[::-1] + [EOS]
        assert ti.tolist()[: len(digits) + 1] == [BOS] + digits[::-1]


def test_held_out_split_is_a_stable_tenth():
    src, _, _ = reverse_batch(20_000, 3, 10, torch.Generator().manual_seed(1))
    held = is_held_out(src)
    assert 0.08 < held.float().mean() < 0.12
    assert torch.equal(is_held_out(src[held]), torch.ones(int(held.sum()), dtype=torch.bool))
    # the same string is held out whatever batch it appears in
    assert torch.equal(is_held_out(src[:10]), held[:10])


def test_greedy_decoding_stops_and_pads():
    torch.manual_seed(0)
    model = Seq2SeqTransformer(Seq2SeqConfig()).eval()
    out = model.greedy_decode(torch.randint(3, 13, (3, 4)), BOS, EOS, max_new=6)
    assert out.shape[0] == 3 and out.shape[1] <= 6
    for row in out.tolist():  # after an EOS, only padding
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1:])


def test_learns_to_reverse_well_above_chance():
    cfg = Seq2SeqConfig(n_encoder_layers=1, n_decoder_layers=1)
    model, losses = train_reverse(cfg, steps=150, max_len=5, warmup=40, lr_scale=0.25)
    src, _, tgt_out = reverse_batch(2000, 3, 5, torch.Generator().manual_seed(123))
    held = is_held_out(src)
    # chance of guessing a string of 3 to 5 digits plus EOS is at most 1e-3
    assert exact_match(model, src[held], tgt_out[held]) > 0.05
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])


def test_noam_schedule_peaks_at_warmup():
    lrs = [noam_lr(s, 512, 4000) for s in range(1, 20001)]
    peak = max(range(len(lrs)), key=lrs.__getitem__) + 1
    assert peak == 4000
    assert lrs[peak - 1] == pytest.approx(512**-0.5 * 4000**-0.5)
    assert lrs[1999] == pytest.approx(lrs[999] * 2)              # linear warm-up
    assert lrs[15999] == pytest.approx(lrs[3999] / 2)            # 1/sqrt(step) decay
    with pytest.raises(ValueError, match="step=0"):
        noam_lr(0, 512, 4000)


def test_linear_decay_keeps_the_warm_up_then_falls_to_zero():
    lrs = [warmup_linear_lr(s, 1000, 64, 100) for s in range(1, 1001)]
    assert lrs[:100] == [noam_lr(s, 64, 100) for s in range(1, 101)]  # the same warm-up and peak
    falls = [a - b for a, b in zip(lrs[99:], lrs[100:])]
    assert min(falls) == pytest.approx(max(falls)) and min(falls) > 0  # a straight line down
    assert lrs[-1] == pytest.approx(lrs[99] / 901)                      # one step above zero
    with pytest.raises(ValueError, match="0 < warmup < steps"):
        warmup_linear_lr(1, 100, 64, 100)
    with pytest.raises(ValueError, match="decay must be 'noam' or 'linear'"):
        train_reverse(Seq2SeqConfig(), steps=2, warmup=1, decay="cosine")


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_label_smoothing_matches_torch(eps):
    torch.manual_seed(0)
    logits, target = torch.randn(20, 11), torch.randint(0, 11, (20,))
    target[::4] = PAD
    ours = label_smoothed_cross_entropy(logits, target, eps, ignore_index=PAD)
    assert_close(ours, F.cross_entropy(logits, target, label_smoothing=eps, ignore_index=PAD))


def test_parameter_counts_match_transformers_and_formula():
    with torch.device("meta"):
        gpt2 = sum(p.numel() for p in GPT2Model(GPT2Config()).parameters())
        bert = sum(p.numel() for p in BertModel(BertConfig()).parameters())
    assert gpt2_parameters(12, 768, 12, 50257, 1024) == gpt2 == 124_439_808
    assert bert_parameters(12, 768, 12, 30522, 512) == bert == 109_482_240
    assert abs(approx_parameters(12, 768, 50257, 1024) / gpt2 - 1) < 0.01


def test_original_base_count_and_flops():
    cfg = Seq2SeqConfig(vocab_size=37000, d_model=512, n_heads=8, d_ff=2048, n_encoder_layers=6,
                        n_decoder_layers=6, max_len=512, norm_first=False)
    with torch.device("meta"):
        n = count_parameters(Seq2SeqTransformer(cfg))
    # 6 encoder layers of 12 d^2 + 6 decoder layers of 16 d^2 (one more attention) + embeddings
    per_d2 = (6 * 12 + 6 * 16) * 512**2
    assert abs(n - per_d2 - 37000 * 512) / n < 0.002
    assert training_flops_per_token(100, 2, 8, 16) == 600 + 12 * 2 * 16 * 8


def test_training_flops_close_to_6n_per_token():
    from torch.utils.flop_counter import FlopCounterMode

    from snippets.layers.blocks import SelfAttentionBlock
    torch.manual_seed(0)
    L, d, T, B = 2, 64, 32, 2
    blocks = torch.nn.Sequential(*[SelfAttentionBlock(d, 4, 4 * d, attn_impl="ours") for _ in range(L)])
    x = torch.randn(B, T, d)
    with FlopCounterMode(display=False) as counter:
        blocks(x).square().mean().backward()
    n = sum(p.numel() for p in blocks.parameters() if p.dim() == 2)  # matmul weights
    per_token = counter.get_total_flops() / (B * T)
    assert per_token == pytest.approx(training_flops_per_token(n, L, d, T), rel=0.01)


@pytest.mark.parametrize("d_model", [64, 256])
def test_tied_sqrt_c_embedding_makes_the_model_predict_its_input_at_initialisation(d_model):
    # Derivation on the Transformer page: with std C^-1/2, input x sqrt(C) and a tied head, the
    # input token's logit is about sqrt(C) / rms(residual stream), every other logit about N(0, 1).
    g = torch.Generator().manual_seed(1)
    src, tgt_in, tgt_out = reverse_batch(128, 3, 5, g)
    real = tgt_out != PAD
    results = {}
    for tie in (True, False):
        torch.manual_seed(0)
        cfg = Seq2SeqConfig(d_model=d_model, d_ff=4 * d_model, tie_weights=tie)
        model = Seq2SeqTransformer(cfg).double().eval()
        with torch.no_grad():
            logits = model(src, tgt_in)
        own = logits.gather(-1, tgt_in[..., None]).squeeze(-1)[real].mean().item()
        copies = (logits.argmax(-1) == tgt_in)[real].double().mean().item()
        loss = F.cross_entropy(logits[real], tgt_out[real]).item()
        results[tie] = own, copies, loss
    own, copies, loss = results[True]
    C = d_model
    assert (C / 1.5) ** 0.5 * 0.9 < own < C ** 0.5 * 1.05   # between sqrt(C/1.5) and sqrt(C)
    assert copies > 0.95                                     # the arg-max is the input token
    assert loss > 0.8 * own > math.log(13)                   # the loss is set by that logit
    own_u, copies_u, loss_u = results[False]
    assert abs(own_u) < 1 and copies_u < 0.3 and abs(loss_u - math.log(13)) < 0.5  # untied: ~ ln V
