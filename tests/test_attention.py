"""Scaled dot-product attention against torch's fused implementation."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets.attention import causal_mask, scaled_dot_product_attention


@pytest.fixture
def qkv() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 5, 8, generator=g)  # (B, H, T_q, d_k)
    k = torch.randn(2, 3, 7, 8, generator=g)  # (B, H, T_k, d_k)
    v = torch.randn(2, 3, 7, 4, generator=g)  # (B, H, T_k, d_v)
    return q, k, v


def test_matches_torch_without_mask(qkv):
    q, k, v = qkv
    out, weights = scaled_dot_product_attention(q, k, v)
    assert_close(out, F.scaled_dot_product_attention(q, k, v))
    assert_close(weights.sum(-1), torch.ones(2, 3, 5))


def test_matches_torch_with_boolean_padding_mask(qkv):
    q, k, v = qkv
    keep = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    keep[0, ..., 5:] = False  # the first sequence has two padding keys
    out, weights = scaled_dot_product_attention(q, k, v, mask=keep)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=keep))
    assert torch.all(weights[0, ..., 5:] == 0)


def test_matches_torch_with_additive_float_mask(qkv):
    q, k, v = qkv
    bias = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
    out, _ = scaled_dot_product_attention(q, k, v, mask=bias)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=bias))


def test_matches_torch_causal():
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 6, 8, generator=g) for _ in range(3))
    out, weights = scaled_dot_product_attention(q, k, v, is_causal=True)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert torch.all(weights.triu(diagonal=1) == 0)


def test_causal_mask_with_cache_offset():
    # Two new queries at positions 3 and 4 of a 5-token sequence.
    assert causal_mask(2, 5).tolist() == [[True, True, True, True, False],
                                          [True, True, True, True, True]]


@pytest.mark.parametrize("shapes, message", [
    (((2, 4, 8), (2, 4, 6), (2, 4, 8)), "share d_k"),
    (((2, 4, 8), (2, 5, 8), (2, 4, 8)), "share T_k"),
    (((2, 4, 0), (2, 4, 0), (2, 4, 3)), "d_k is zero"),
    (((8,), (2, 4, 8), (2, 4, 8)), "at least 2 dims"),
])
def test_bad_shapes_raise(shapes, message):
    q, k, v = (torch.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(q, k, v)


def test_mask_that_does_not_broadcast_names_both_shapes(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match=r"mask shape \(3, 3\) does not broadcast.*\(2, 3, 5, 7\)"):
        scaled_dot_product_attention(q, k, v, mask=torch.ones(3, 3, dtype=torch.bool))


def test_fully_masked_row_is_an_error_not_nan(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match="no key to attend to"):
        scaled_dot_product_attention(q, k, v, mask=torch.zeros(7, dtype=torch.bool))


# ---- multi-head attention -------------------------------------------------------------

from snippets.attention import KVCache, MultiHeadAttention  # noqa: E402


def torch_mha_with_our_weights(ours: MultiHeadAttention, d_model: int, n_heads: int) -> nn.MultiheadAttention:
    reference = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        reference.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        reference.out_proj.weight.copy_(ours.out_proj.weight)
        reference.out_proj.bias.copy_(ours.out_proj.bias)
    return reference.eval()


@pytest.mark.parametrize("impl", ["ours", "torch"])
def test_mha_matches_torch_multihead_attention(impl):
    torch.manual_seed(0)
    ours = MultiHeadAttention(32, 4, impl=impl).eval()
    reference = torch_mha_with_our_weights(ours, 32, 4)
    x = torch.randn(3, 9, 32)
    padding = torch.zeros(3, 9, dtype=torch.bool)
    padding[1, 6:] = True  # torch: True means "ignore this key"
    expected, _ = reference(x, x, x, key_padding_mask=padding, need_weights=False)
    keep = ~padding[:, None, None, :]  # (B, 1, 1, T_k)
    assert_close(ours(x, mask=keep), expected, atol=1e-5, rtol=1e-5)
    causal, _ = reference(x, x, x, attn_mask=nn.Transformer.generate_square_subsequent_mask(9),
                          need_weights=False)
    assert_close(ours(x, is_causal=True), causal, atol=1e-5, rtol=1e-5)


def test_mha_cross_attention_matches_torch():
    torch.manual_seed(1)
    ours = MultiHeadAttention(16, 2, impl="ours").eval()
    reference = torch_mha_with_our_weights(ours, 16, 2)
    x, memory = torch.randn(2, 5, 16), torch.randn(2, 8, 16)
    expected, _ = reference(x, memory, memory, need_weights=False)
    assert_close(ours(x, context=memory), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_kv_heads", [4, 2, 1])
def test_kv_cache_gives_the_same_outputs_as_full_recompute(n_kv_heads):
    torch.manual_seed(2)
    mha = MultiHeadAttention(32, 4, n_kv_heads=n_kv_heads).eval()
    x = torch.randn(2, 10, 32)
    full = mha(x, is_causal=True)
    cache = KVCache(2, n_kv_heads, max_len=10, d_head=8)
    prefix = mha(x[:, :6], is_causal=True, cache=cache)                       # prompt at once
    steps = [mha(x[:, t:t + 1], is_causal=True, cache=cache) for t in range(6, 10)]  # then one by one
    assert_close(torch.cat([prefix, *steps], dim=1), full, atol=1e-5, rtol=1e-5)


def test_grouped_query_attention_equals_mha_with_repeated_kv_heads():
    torch.manual_seed(3)
    gqa = MultiHeadAttention(32, 4, n_kv_heads=2, impl="ours").eval()
    mha = MultiHeadAttention(32, 4, impl="ours").eval()
    with torch.no_grad():
        for name in ("q_proj", "out_proj"):
            getattr(mha, name).load_state_dict(getattr(gqa, name).state_dict())
        for name in ("k_proj", "v_proj"):  # head h of MHA uses GQA's K/V head h // 2
            w = getattr(gqa, name).weight.view(2, 8, 32).repeat_interleave(2, dim=0).reshape(32, 32)
            b = getattr(gqa, name).bias.view(2, 8).repeat_interleave(2, dim=0).reshape(32)
            getattr(mha, name).weight.copy_(w)
            getattr(mha, name).bias.copy_(b)
    x = torch.randn(2, 7, 32)
    assert_close(gqa(x, is_causal=True), mha(x, is_causal=True))
    assert sum(p.numel() for p in gqa.parameters()) < sum(p.numel() for p in mha.parameters())


@pytest.mark.parametrize("kwargs, message", [
    (dict(d_model=30, n_heads=4), "not divisible"),
    (dict(d_model=32, n_heads=4, n_kv_heads=3), "not a multiple"),
    (dict(d_model=32, n_heads=4, impl="flash"), "impl must be"),
])
def test_mha_bad_configuration_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)


def test_mha_wrong_input_width_and_cache_overflow_raise():
    mha = MultiHeadAttention(16, 2)
    with pytest.raises(ValueError, match=r"x must be \(B, T, 16\), got \(2, 3, 8\)"):
        mha(torch.zeros(2, 3, 8))
    cache = KVCache(1, 2, max_len=4, d_head=8)
    with pytest.raises(ValueError, match="overflows"):
        mha(torch.zeros(1, 5, 16), is_causal=True, cache=cache)
