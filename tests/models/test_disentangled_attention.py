import math

import pytest
import torch

from snippets.models.disentangled_attention import disentangled_scores, relative_bucket


def projections(B=2, H=3, T=9, D=4, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, H, T, D, generator=g, dtype=torch.float64),
            torch.randn(B, H, T, D, generator=g, dtype=torch.float64),
            torch.randn(H, 2 * k, D, generator=g, dtype=torch.float64),
            torch.randn(H, 2 * k, D, generator=g, dtype=torch.float64))


def test_equals_the_three_term_sum_written_out():
    q_c, k_c, q_r, k_r = projections()
    delta = relative_bucket(9, 9, 3)
    expected = torch.empty(2, 3, 9, 9, dtype=torch.float64)
    for i in range(9):
        for j in range(9):
            expected[..., i, j] = ((q_c[..., i, :] * k_c[..., j, :]).sum(-1)
                                   + (q_c[..., i, :] * k_r[:, delta[i, j]]).sum(-1)
                                   + (k_c[..., j, :] * q_r[:, delta[j, i]]).sum(-1)) / math.sqrt(12)
    torch.testing.assert_close(disentangled_scores(q_c, k_c, q_r, k_r, 3), expected)


def test_position_terms_depend_only_on_the_offset():
    """With the same content at every position, only c2p and p2c vary, and A_ij is a function
    of i - j (a Toeplitz matrix), clipped beyond distance k."""
    q_c, k_c, q_r, k_r = projections(T=9, k=3)
    q_c = q_c[:, :, :1].expand_as(q_c)
    k_c = k_c[:, :, :1].expand_as(k_c)
    scores = disentangled_scores(q_c, k_c, q_r, k_r, 3)
    torch.testing.assert_close(scores[..., 1:, 1:], scores[..., :-1, :-1])  # constant along diagonals
    far = [scores[..., i, j] for i in range(9) for j in range(9) if i - j >= 3]
    near = [scores[..., i, j] for i in range(9) for j in range(9) if i - j <= -3]
    for group in (far, near):       # beyond distance k every offset shares one bucket
        for s in group:
            torch.testing.assert_close(s, group[0])
    assert not torch.allclose(scores[..., 4, 3], scores[..., 3, 4])   # direction matters


def test_bucket_range_and_errors():
    d = relative_bucket(6, 6, 2)
    assert d.min() == 0 and d.max() == 3 and d[5, 0] == 3 and d[0, 5] == 0
    with pytest.raises(ValueError, match="k must be >= 1"):
        relative_bucket(3, 3, 0)
    q_c, k_c, q_r, k_r = projections()
    with pytest.raises(ValueError, match="2k=8"):
        disentangled_scores(q_c, k_c, q_r, k_r, 4)
