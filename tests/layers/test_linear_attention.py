"""Causal linear attention: the masked (parallel) form equals the recurrent form and the
prefix-sum form of snippets.layers.attention; a hand-computed case; the decoding state does not
grow with the tokens seen while a KV cache does; bad input."""

import pytest
import torch

from snippets.layers.attention import KVCache, kv_cache_bytes, linear_attention
from snippets.layers.linear_attention import (CausalLinearAttention, linear_state_bytes,
                                              masked_linear_attention, state_bytes)

B, T, C, H = 2, 9, 12, 3


def test_masked_form_equals_prefix_sum_form():
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, H, T, 4, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(masked_linear_attention(q, k, v),
                               linear_attention(q, k, v, is_causal=True), rtol=1e-12, atol=1e-12)


def test_zero_queries_and_keys_give_the_running_mean_of_the_values():
    # phi(0) = elu(0) + 1 = 1: every score is d_k, so output i is the mean of v_1 .. v_i.
    v = torch.tensor([[2.0], [4.0], [9.0]], dtype=torch.float64)
    zeros = torch.zeros(3, 2, dtype=torch.float64)
    out = masked_linear_attention(zeros, zeros, v)
    torch.testing.assert_close(out, torch.tensor([[2.0], [3.0], [5.0]], dtype=torch.float64),
                               rtol=1e-6, atol=0.0)


def test_the_recurrent_form_equals_the_parallel_form():
    torch.manual_seed(1)
    layer = CausalLinearAttention(C, H).double()
    x = torch.randn(B, T, C, dtype=torch.float64)
    state, steps = None, []
    for t in range(T):
        y_t, state = layer.step(x[:, t], state)
        steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, dim=1), layer(x), rtol=1e-12, atol=1e-12)


def test_the_future_does_not_change_the_past():
    torch.manual_seed(2)
    layer = CausalLinearAttention(C, H).double()
    x = torch.randn(B, T, C, dtype=torch.float64)
    changed = x.clone()
    changed[:, 5:] = torch.randn(B, T - 5, C, dtype=torch.float64)
    torch.testing.assert_close(layer(changed)[:, :5], layer(x)[:, :5], rtol=0, atol=0)
    assert not torch.allclose(layer(changed)[:, 5:], layer(x)[:, 5:])


def test_the_state_stays_one_size_while_a_kv_cache_grows():
    torch.manual_seed(3)
    layer = CausalLinearAttention(C, H)
    D = C // H
    cache = KVCache(batch=1, n_kv_heads=H, max_len=64, d_head=D, dtype=torch.float32)
    state, sizes, cached = None, [], []
    for t in range(64):
        x_t = torch.randn(1, C)
        _, state = layer.step(x_t, state)
        _, k, v = layer.heads(x_t)
        keys, values = cache.append(k.unsqueeze(2), v.unsqueeze(2))   # (1, H, 1, D) each
        sizes.append(state_bytes(state))
        cached.append(state_bytes((keys, values)))
    assert set(sizes) == {linear_state_bytes(1, H, D, bytes_per_value=4)} == {H * (D * D + D) * 4}
    assert cached == [kv_cache_bytes(1, H, D, tokens=t, bytes_per_value=4) for t in range(1, 65)]


@pytest.mark.parametrize("make", [
    lambda: CausalLinearAttention(10, 3),
    lambda: CausalLinearAttention(12, 3)(torch.randn(1, 4, 8)),
    lambda: masked_linear_attention(torch.randn(4, 3), torch.randn(5, 3), torch.randn(4, 2)),
    lambda: linear_state_bytes(0, 2, 4),
])
def test_bad_input_is_named(make):
    with pytest.raises(ValueError):
        make()
