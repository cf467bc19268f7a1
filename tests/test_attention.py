"""Scaled dot-product attention against torch's fused implementation."""

import pytest
import torch
import torch.nn.functional as F
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
