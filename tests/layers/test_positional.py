"""Each positional encoding's defining property."""

import math

import pytest
import torch
from torch.testing import assert_close
from transformers.models.t5.modeling_t5 import T5Attention

from snippets.layers.attention import MultiHeadAttention
from snippets.layers.positional import (LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding,
                                 T5RelativeBias, alibi_bias, alibi_slopes, sinusoidal_table, t5_bucket)


def test_sinusoidal_shift_is_a_fixed_linear_map():
    d, k = 16, 7
    pe = sinusoidal_table(100, d)
    # PE[pos + k] = PE[pos] M with M block-diagonal 2x2 rotations by k*theta_i, whatever pos is
    theta = 10000 ** (-torch.arange(0, d, 2).double() / d)
    c, s = torch.cos(k * theta).float(), torch.sin(k * theta).float()
    m = torch.zeros(d, d)
    m[0::2, 0::2], m[0::2, 1::2] = torch.diag(c), torch.diag(-s)
    m[1::2, 0::2], m[1::2, 1::2] = torch.diag(s), torch.diag(c)
    assert_close(pe[: 100 - k] @ m, pe[k:], atol=1e-5, rtol=0)
    # the same map for another shift would be wrong: it depends on k, not on pos
    assert not torch.allclose(pe[: 100 - k - 1] @ m, pe[k + 1:], atol=1e-3)


def test_sinusoidal_first_rows_known_values():
    pe = sinusoidal_table(3, 4)
    assert_close(pe[1], torch.tensor([math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)]))


def test_sinusoidal_raises_beyond_table():
    enc = SinusoidalPositionalEncoding(8, max_len=10)
    assert enc(torch.zeros(1, 10, 8)).shape == (1, 10, 8)
    with pytest.raises(ValueError, match="max_len=10"):
        enc(torch.zeros(1, 11, 8))
    with pytest.raises(ValueError, match="even d_model"):
        sinusoidal_table(4, 7)


def test_learned_is_a_lookup_that_raises_beyond_max_len():
    torch.manual_seed(0)
    emb = LearnedPositionalEmbedding(6, 4)
    x = torch.zeros(2, 3, 4)
    assert_close(emb(x, start=2)[1], emb.table.weight[2:5])
    with pytest.raises(ValueError, match="max_len=6"):
        emb(torch.zeros(1, 7, 4))
    with pytest.raises(ValueError, match="max_len=6"):
        emb(x, start=4)


def test_rope_scores_depend_only_on_offset():
    torch.manual_seed(0)
    rope = RotaryEmbedding(8)
    q, k = torch.randn(8), torch.randn(8)

    def score(m: int, n: int) -> torch.Tensor:
        return rope(q.view(1, 1, 1, 8), m).flatten() @ rope(k.view(1, 1, 1, 8), n).flatten()

    for offset in (0, 3, -5):
        base = score(10, 10 - offset)
        for m in (20, 37, 100):
            assert_close(score(m, m - offset), base, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(score(10, 7), score(10, 4))  # and it does change with the offset


def test_rope_preserves_norm_and_position_zero_is_identity():
    torch.manual_seed(0)
    rope, x = RotaryEmbedding(6), torch.randn(2, 3, 5, 6)
    assert_close(rope(x, 4).norm(dim=-1), x.norm(dim=-1))
    assert_close(rope(x[:, :, :1], 0), x[:, :, :1])
    with pytest.raises(ValueError, match="even"):
        RotaryEmbedding(5)


def test_rope_as_attention_hook_is_shift_invariant():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, 2, impl="ours").eval()
    rope = RotaryEmbedding(8)
    x = torch.randn(1, 5, 16)
    out = attn(x, rotary=rope)
    shifted = attn(x, rotary=lambda t, start: rope(t, start + 50))  # every position + 50
    assert_close(out, shifted, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out, attn(x))


def test_alibi_slopes_as_in_the_paper():
    assert_close(alibi_slopes(8), torch.tensor([2.0 ** -i for i in range(1, 9)]))
    assert_close(alibi_slopes(4), torch.tensor([2.0 ** -(2 * i) for i in range(1, 5)]))
    # 12 heads: the 8 slopes of n=8, then the odd-indexed slopes of n=16
    expected = [2.0 ** -i for i in range(1, 9)] + [2.0 ** -(i / 2) for i in (1, 3, 5, 7)]
    assert_close(alibi_slopes(12), torch.tensor(expected))


def test_alibi_bias_monotone_in_distance():
    bias = alibi_bias(4, 6)  # (H, T, T)
    assert bias.shape == (4, 6, 6)
    assert (bias.diagonal(dim1=1, dim2=2) == 0).all()
    for h in range(4):
        row = bias[h, 5, :6]  # last query over keys 0..5: farther keys get lower bias
        assert (row[1:] > row[:-1]).all()
    # steeper for the first head
    assert (bias[0, 5, :5] < bias[3, 5, :5]).all()
    assert_close(alibi_bias(2, 2, 5)[:, -1], alibi_bias(2, 5)[:, -1])


@pytest.mark.parametrize("bidirectional", [True, False])
def test_t5_buckets_match_transformers(bidirectional):
    rel = torch.arange(-300, 301).unsqueeze(0)
    ours = t5_bucket(rel, bidirectional, 32, 128)
    theirs = T5Attention._relative_position_bucket(rel, bidirectional, 32, 128)
    assert torch.equal(ours, theirs)


def test_t5_buckets_exact_then_logarithmic():
    rel = -torch.arange(0, 200)  # keys to the left, causal
    b = t5_bucket(rel, bidirectional=False, n_buckets=32, max_distance=128)
    assert torch.equal(b[:16], torch.arange(16))            # one bucket per small distance
    assert (b[1:] >= b[:-1]).all() and b.max() == 31          # monotone, capped
    assert (b[128:] == 31).all()                              # beyond max_distance: shared
    assert b[16] == b[17] != b[30]                            # log range: buckets widen
    bi = t5_bucket(torch.tensor([-3, 3]), bidirectional=True)
    assert bi[0] == 3 and bi[1] == 16 + 3                     # right-hand keys use the upper half


def test_t5_bias_shape_and_lookup():
    torch.manual_seed(0)
    t5 = T5RelativeBias(n_heads=3, n_buckets=8, max_distance=16)
    bias = t5(4, 6)
    assert bias.shape == (1, 3, 4, 6)
    # query 0 sits at absolute position 2; key 2 is offset 0 -> bucket 0
    assert_close(bias[0, :, 0, 2], t5.bias.weight[0])
