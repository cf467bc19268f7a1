"""Scaled dot-product attention (Vaswani et al., 2017, arXiv:1706.03762).

Shape legend: B batch, H heads, T_q query positions, T_k key positions,
d_k query/key width, d_v value width.
"""

# --8<-- [start:imports]
import math

import torch
# --8<-- [end:imports]


# --8<-- [start:causal_mask]
def causal_mask(t_q: int, t_k: int | None = None) -> torch.Tensor:
    """Boolean (T_q, T_k) mask, True where query i may look at key j (j <= i).

    With t_k > t_q the queries are the last t_q positions of a longer sequence,
    as when new tokens attend to a KV cache.
    """
    t_k = t_q if t_k is None else t_k
    if t_q < 1 or t_k < t_q:
        raise ValueError(f"causal mask needs 1 <= t_q <= t_k, got t_q={t_q}, t_k={t_k}")
    offset = t_k - t_q
    i = torch.arange(t_q).unsqueeze(1)  # (T_q, 1)
    j = torch.arange(t_k).unsqueeze(0)  # (1, T_k)
    return j <= i + offset  # (T_q, T_k)
# --8<-- [end:causal_mask]


# --8<-- [start:checks]
def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    if q.dim() < 2 or k.dim() < 2 or v.dim() < 2:
        raise ValueError(f"q, k, v need at least 2 dims (..., T, d), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] == 0:
        raise ValueError(f"d_k is zero: q has shape {tuple(q.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share d_k: q {tuple(q.shape)}, k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must share T_k: k {tuple(k.shape)}, v {tuple(v.shape)}")


def _as_additive(mask: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Turn a boolean keep-mask or an additive float mask into a float bias."""
    try:
        torch.broadcast_shapes(mask.shape, scores.shape)
    except RuntimeError:
        raise ValueError(f"mask shape {tuple(mask.shape)} does not broadcast to "
                         f"scores {tuple(scores.shape)}") from None
    if mask.dtype == torch.bool:
        bias = torch.zeros(mask.shape, dtype=scores.dtype, device=scores.device)
        return bias.masked_fill(~mask, float("-inf"))
    return mask.to(scores.dtype)
# --8<-- [end:checks]


# --8<-- [start:sdpa]
def scaled_dot_product_attention(
    q: torch.Tensor,             # (..., T_q, d_k)
    k: torch.Tensor,             # (..., T_k, d_k)
    v: torch.Tensor,             # (..., T_k, d_v)
    mask: torch.Tensor | None = None,  # bool keep-mask or additive float, broadcasts to (..., T_q, T_k)
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d_k) + mask) v. Returns (output, attention weights)."""
    _check_qkv(q, k, v)
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, T_k)
    if is_causal:
        keep = causal_mask(q.shape[-2], k.shape[-2]).to(q.device)
        scores = scores + _as_additive(keep, scores)
    if mask is not None:
        scores = scores + _as_additive(mask, scores)
    # A row with every key masked has no distribution to take: say so, not NaN.
    if torch.isneginf(scores).all(dim=-1).any():
        raise ValueError("mask leaves at least one query with no key to attend to")
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), rows sum to 1
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)
# --8<-- [end:sdpa]
