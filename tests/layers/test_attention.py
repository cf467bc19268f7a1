"""Scaled dot-product attention against torch's fused implementation."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.testing import assert_close

from snippets.layers.attention import causal_mask, scaled_dot_product_attention


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


def test_causal_with_fewer_queries_than_keys_is_lower_right_unlike_torch_is_causal():
    # Ours: the queries are the last T_q positions (a KV cache). torch's is_causal=True aligns
    # the mask to the top left instead; its causal_lower_right bias is what ours computes.
    from torch.nn.attention.bias import causal_lower_right
    g = torch.Generator().manual_seed(3)
    q, k, v = torch.randn(2, 3, 8, generator=g), torch.randn(2, 5, 8, generator=g), torch.randn(2, 5, 4, generator=g)
    out, _ = scaled_dot_product_attention(q, k, v, is_causal=True)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(3, 5)))
    top_left = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert (out - top_left).abs().max() > 0.1


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

from snippets.layers.attention import KVCache, MultiHeadAttention  # noqa: E402


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


# ---- additive attention ---------------------------------------------------------------

from snippets.layers.attention import (  # noqa: E402
    AdditiveAttention, attention_entropy, kv_cache_bytes, linear_attention, linear_attention_step,
    sliding_window_mask, tiled_attention,
)


def test_additive_attention_matches_the_formula_computed_pair_by_pair():
    torch.manual_seed(4)
    attn = AdditiveAttention(d_q=6, d_k=5, d_hidden=7)
    q, k, v = torch.randn(2, 3, 6), torch.randn(2, 4, 5), torch.randn(2, 4, 3)
    out, weights = attn(q, k, v)
    scores = torch.empty(2, 3, 4)
    for b in range(2):
        for i in range(3):
            for j in range(4):
                h = torch.tanh(attn.w_q.weight @ q[b, i] + attn.w_k.weight @ k[b, j] + attn.w_k.bias)
                scores[b, i, j] = attn.w.weight[0] @ h
    expected = torch.softmax(scores, -1)
    assert_close(weights, expected)
    assert_close(out, expected @ v)


def test_additive_attention_padding_mask_zeroes_padded_keys():
    torch.manual_seed(5)
    attn = AdditiveAttention(4, 4, 8)
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 2)
    keep = torch.tensor([[True] * 5, [True, True, True, False, False]])[:, None, :]  # (B, 1, T_k)
    out, weights = attn(q, k, v, mask=keep)
    assert torch.all(weights[1, :, 3:] == 0)
    # Padding keys must not change the result: dropping them gives the same output.
    out_short, _ = attn(q[1:], k[1:, :3], v[1:, :3])
    assert_close(out[1:], out_short)


@pytest.mark.parametrize("q_shape, k_shape, v_shape", [
    ((1, 2, 5), (1, 3, 4), (1, 3, 2)),   # q width differs from d_q
    ((1, 2, 4), (1, 3, 4), (1, 4, 2)),   # k and v lengths differ
])
def test_additive_attention_bad_shapes_raise(q_shape, k_shape, v_shape):
    attn = AdditiveAttention(4, 4, 8)
    with pytest.raises(ValueError, match=r"\(1, "):
        attn(torch.zeros(q_shape), torch.zeros(k_shape), torch.zeros(v_shape))


# ---- online-softmax tiling --------------------------------------------------------------

@pytest.mark.parametrize("block_q, block_k", [(1, 1), (3, 5), (4, 4), (7, 2), (16, 16), (64, 64)])
@pytest.mark.parametrize("is_causal", [False, True])
def test_tiled_attention_equals_standard_for_any_tile_size(block_q, block_k, is_causal):
    g = torch.Generator().manual_seed(6)
    q = torch.randn(2, 3, 13, 8, generator=g) * 3  # large scores exercise the running max
    k = torch.randn(2, 3, 13, 8, generator=g) * 3
    v = torch.randn(2, 3, 13, 5, generator=g)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    assert_close(tiled_attention(q, k, v, block_q, block_k, is_causal=is_causal), expected,
                 atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("block_q, block_k", [(2, 3), (5, 5)])
def test_tiled_attention_with_queries_after_a_cache(block_q, block_k):
    g = torch.Generator().manual_seed(7)
    q, k, v = torch.randn(1, 4, 8, generator=g), torch.randn(1, 11, 8, generator=g), torch.randn(1, 11, 3, generator=g)
    expected, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(4, 11))
    assert_close(tiled_attention(q, k, v, block_q, block_k, is_causal=True), expected)


def test_tiled_attention_survives_scores_that_overflow_a_naive_exp():
    q = torch.full((1, 4, 2), 100.0)
    k = torch.full((1, 6, 2), 100.0)
    v = torch.arange(12.0).view(1, 6, 2)
    assert torch.isinf(torch.exp(q @ k.transpose(-2, -1))).all()  # naive softmax would be nan
    assert_close(tiled_attention(q, k, v, 3, 4), v.mean(dim=1, keepdim=True).expand(1, 4, 2))


def test_tiled_attention_rejects_bad_blocks_and_shapes():
    x = torch.zeros(1, 4, 8)
    with pytest.raises(ValueError, match="block sizes must be positive"):
        tiled_attention(x, x, x, block_q=0)
    with pytest.raises(ValueError, match=r"share d_k: q \(1, 4, 8\), k \(1, 4, 6\)"):
        tiled_attention(x, torch.zeros(1, 4, 6), x)
    with pytest.raises(ValueError, match="T_k >= T_q"):
        tiled_attention(x, torch.zeros(1, 2, 8), torch.zeros(1, 2, 8), is_causal=True)


# ---- local and linear attention ----------------------------------------------------------

def test_sliding_window_mask_pattern():
    assert sliding_window_mask(4, 2).int().tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    assert torch.equal(sliding_window_mask(5, 5), causal_mask(5))  # a window as long as T is causal
    # after a cache, queries are the last rows, as causal_mask(t_q, t_k) aligns them
    assert torch.equal(sliding_window_mask(2, 3, t_k=6), sliding_window_mask(6, 3)[-2:])
    with pytest.raises(ValueError, match="window=0"):
        sliding_window_mask(4, 0)


def test_sliding_window_attention_matches_torch_with_the_same_mask():
    g = torch.Generator().manual_seed(8)
    q, k, v = (torch.randn(2, 9, 4, generator=g) for _ in range(3))
    keep = sliding_window_mask(9, 3)
    out, weights = scaled_dot_product_attention(q, k, v, mask=keep)
    assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=keep))
    assert (weights > 0).sum(-1).max() == 3


def linear_attention_by_definition(q, k, v, is_causal):
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1
    sim = phi_q @ phi_k.transpose(-2, -1)  # (T_q, T_k): the kernel, materialised
    if is_causal:
        sim = sim * causal_mask(q.shape[-2], k.shape[-2])
    return (sim @ v) / (sim.sum(-1, keepdim=True) + 1e-6)


@pytest.mark.parametrize("is_causal", [False, True])
def test_linear_attention_equals_the_quadratic_kernel_form(is_causal):
    g = torch.Generator().manual_seed(9)
    q, k, v = (torch.randn(2, 3, 7, 4, generator=g) for _ in range(3))
    assert_close(linear_attention(q, k, v, is_causal=is_causal),
                 linear_attention_by_definition(q, k, v, is_causal), atol=1e-5, rtol=1e-5)


def test_linear_attention_step_by_step_equals_the_prefix_sum_form():
    g = torch.Generator().manual_seed(11)
    q, k, v = torch.randn(2, 3, 7, 4, generator=g), torch.randn(2, 3, 7, 4, generator=g), torch.randn(2, 3, 7, 5, generator=g)
    state, outs = None, []
    for t in range(7):
        out, state = linear_attention_step(state, q[..., t, :], k[..., t, :], v[..., t, :])
        outs.append(out)
        assert state[0].shape == (2, 3, 4, 5) and state[1].shape == (2, 3, 4)  # constant size
    assert_close(torch.stack(outs, dim=-2), linear_attention(q, k, v, is_causal=True))


def test_linear_attention_step_names_bad_shapes():
    with pytest.raises(ValueError, match="q, k need one shape"):
        linear_attention_step(None, torch.randn(2, 4), torch.randn(2, 3), torch.randn(2, 4))


def test_causal_linear_attention_does_not_see_the_future():
    g = torch.Generator().manual_seed(10)
    q, k, v = (torch.randn(1, 6, 4, generator=g) for _ in range(3))
    out = linear_attention(q, k, v, is_causal=True)
    k2, v2 = k.clone(), v.clone()
    k2[:, 4:], v2[:, 4:] = 5.0, -5.0
    assert_close(linear_attention(q, k2, v2, is_causal=True)[:, :4], out[:, :4])


# ---- entropy and KV-cache memory ------------------------------------------------------------

def test_attention_entropy_of_uniform_and_one_hot_rows():
    weights = torch.tensor([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0]])
    assert_close(attention_entropy(weights), torch.tensor([torch.log(torch.tensor(4.0)).item(), 0.0]))


def test_unscaled_scores_saturate_as_d_k_grows():
    g = torch.Generator().manual_seed(11)
    def mean_entropy(d_k: int, scale: bool) -> float:
        q, k = torch.randn(64, d_k, generator=g), torch.randn(64, d_k, generator=g)
        scores = q @ k.T / (d_k ** 0.5 if scale else 1.0)
        return attention_entropy(torch.softmax(scores, -1)).mean().item()
    assert mean_entropy(512, scale=False) < 0.5 < 3.0 < mean_entropy(512, scale=True)


def test_kv_cache_bytes_matches_an_allocated_cache():
    cache = KVCache(batch=3, n_kv_heads=2, max_len=5, d_head=4, dtype=torch.float16)
    allocated = cache.k.element_size() * (cache.k.numel() + cache.v.numel())
    assert kv_cache_bytes(n_layers=1, n_kv_heads=2, d_head=4, tokens=5, batch=3, bytes_per_value=2) == allocated


def test_kv_cache_bytes_for_llama2_7b_and_rejects_zero():
    # LLaMA-2-7B: 32 layers, 32 KV heads of width 128 (Touvron et al., 2023): 512 KiB per token in fp16.
    assert kv_cache_bytes(32, 32, 128) == 512 * 1024
    assert kv_cache_bytes(32, 8, 128, tokens=4096) * 4 == kv_cache_bytes(32, 32, 128, tokens=4096)
    with pytest.raises(ValueError, match="n_kv_heads"):
        kv_cache_bytes(32, 0, 128)


# ---- more cross-checks and bad input for multi-head attention -----------------------------

def test_mha_heads_that_do_not_divide_width_raise():
    with pytest.raises(ValueError, match="d_model=30 is not divisible by n_heads=4"):
        MultiHeadAttention(30, 4)
    with pytest.raises(ValueError, match="n_heads=6 is not a multiple of n_kv_heads=4"):
        MultiHeadAttention(24, 6, n_kv_heads=4)


def test_mha_wrong_input_width_names_the_shape():
    with pytest.raises(ValueError, match=r"\(B, T, 16\), got \(2, 3, 8\)"):
        MultiHeadAttention(16, 2)(torch.zeros(2, 3, 8))


def test_mha_padding_plus_causal_matches_torch_batched():
    torch.manual_seed(12)
    ours = MultiHeadAttention(16, 4, impl="ours").eval()
    reference = torch_mha_with_our_weights(ours, 16, 4)
    x = torch.randn(3, 6, 16)
    padding = torch.zeros(3, 6, dtype=torch.bool)
    padding[0, 4:] = True
    padding[2, 5:] = True
    future = torch.ones(6, 6, dtype=torch.bool).triu(diagonal=1)  # torch: True means "ignore"
    expected, _ = reference(x, x, x, key_padding_mask=padding, attn_mask=future, need_weights=False)
    got = ours(x, mask=~padding[:, None, None, :], is_causal=True)
    assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_mha_with_one_kv_head_is_multi_query_and_matches_explicit_sharing():
    torch.manual_seed(13)
    mqa = MultiHeadAttention(16, 4, n_kv_heads=1, impl="ours").eval()
    x = torch.randn(2, 5, 16)
    q = mqa.split_heads(mqa.q_proj(x), 4)                 # (B, 4, T, 4)
    k = mqa.k_proj(x).unsqueeze(1)                        # (B, 1, T, 4): one K head for all
    v = mqa.v_proj(x).unsqueeze(1)
    out, _ = scaled_dot_product_attention(q, k, v, is_causal=True)  # broadcasts over heads
    expected = mqa.out_proj(out.transpose(1, 2).reshape(2, 5, 16))
    assert_close(mqa(x, is_causal=True), expected)
    assert mqa.k_proj.weight.shape == (4, 16)


# --- A query with every key masked: both kernels refuse it (issue 15) ----------------------

@pytest.mark.parametrize("impl", ["ours", "torch"])
@pytest.mark.parametrize("is_causal", [False, True])
def test_both_kernels_refuse_a_query_with_no_key(impl, is_causal):
    from snippets.layers.attention import MultiHeadAttention

    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2, impl=impl)
    x = torch.randn(2, 4, 8)
    keep = torch.ones(2, 1, 4, 4, dtype=torch.bool)
    keep[1, :, 2, :] = False                              # batch 1, query 2 sees nothing
    with pytest.raises(ValueError, match="no key to attend to"):
        mha(x, mask=keep, is_causal=is_causal)
    additive = torch.zeros(2, 1, 4, 4).masked_fill(~keep, float("-inf"))
    with pytest.raises(ValueError, match="no key to attend to"):
        mha(x, mask=additive)
    keep[1, :, 2, 0] = True                               # one key is enough
    assert torch.isfinite(mha(x, mask=keep, is_causal=is_causal)).all()


def test_a_kv_cache_of_the_wrong_shape_is_a_clear_error():
    from snippets.layers.attention import KVCache

    cache = KVCache(batch=2, n_kv_heads=2, max_len=8, d_head=4)
    with pytest.raises(ValueError, match=r"holds \(B, H_kv, T, D\) = \(2, 2, T, 4\).*\(2, 3, 1, 4\)"):
        cache.append(torch.zeros(2, 3, 1, 4), torch.zeros(2, 3, 1, 4))
    with pytest.raises(ValueError, match="KV cache holds"):
        cache.append(torch.zeros(2, 2, 1, 4), torch.zeros(2, 2, 1, 5))
    with pytest.raises(ValueError, match="KV cache holds"):
        cache.append(torch.zeros(1, 2, 1, 4), torch.zeros(1, 2, 1, 4))
    assert cache.length == 0
