"""Five ways to tell a Transformer where a token sits.

- Sinusoidal absolute encoding (Vaswani et al., 2017, arXiv:1706.03762).
- Learned absolute embeddings (BERT, GPT-2).
- Rotary position embedding, RoPE (Su et al., 2021, arXiv:2104.09864).
- ALiBi, attention with linear biases (Press et al., 2021, arXiv:2108.12409).
- T5's bucketed relative position bias (Raffel et al., 2019, arXiv:1910.10683), after
  Shaw et al. (2018, arXiv:1803.02155).

The first two are added to the token embeddings; RoPE rotates queries and keys (use it as
MultiHeadAttention's `rotary` hook); ALiBi and T5 produce an additive bias for the scores
(pass it as `mask`).

Shape legend: B batch, H heads, T time, C model width, D head width.
"""

# --8<-- [start:imports]
import math

import torch
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:sinusoidal]
def sinusoidal_table(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)). (T, C)."""
    if d_model % 2 != 0 or d_model < 2:
        raise ValueError(f"sinusoidal encoding needs an even d_model, got {d_model}")
    pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)        # (T, 1)
    inv_freq = base ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (C/2,)
    angles = pos * inv_freq                                               # (T, C/2)
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(angles), torch.cos(angles)
    return pe.float()


class SinusoidalPositionalEncoding(nn.Module):
    """Adds a fixed sinusoidal table to (B, T, C) embeddings; nothing to train."""

    def __init__(self, d_model: int, max_len: int = 512):
        super().__init__()
        self.register_buffer("pe", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        T = x.shape[1]
        if start + T > self.pe.shape[0]:
            raise ValueError(f"positions {start}..{start + T - 1} exceed the table of "
                             f"max_len={self.pe.shape[0]}")
        return x + self.pe[start:start + T]
# --8<-- [end:sinusoidal]


# --8<-- [start:learned]
class LearnedPositionalEmbedding(nn.Module):
    """A trainable (max_len, C) table, one row per position: a lookup, no formula."""

    def __init__(self, max_len: int, d_model: int):
        super().__init__()
        self.table = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.table.weight, std=0.02)  # the BERT/GPT-2 initialisation

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        T, max_len = x.shape[1], self.table.num_embeddings
        if start + T > max_len:
            raise ValueError(f"positions {start}..{start + T - 1} exceed the learned table of "
                             f"max_len={max_len}: there is no row to look up")
        return x + self.table(torch.arange(start, start + T, device=x.device))
# --8<-- [end:learned]


# --8<-- [start:rope]
class RotaryEmbedding:
    """Rotate each pair (x_2i, x_2i+1) of a query or key at position m by angle m * theta_i.

    Call it as rotary(x, start) with x of shape (B, H, T, D): MultiHeadAttention's hook.
    """

    def __init__(self, d_head: int, base: float = 10000.0, *, theta: torch.Tensor | None = None,
                 attention_factor: float = 1.0):
        if d_head % 2 != 0:
            raise ValueError(f"RoPE rotates pairs of channels: d_head must be even, got {d_head}")
        if theta is None:
            theta = base ** (-torch.arange(0, d_head, 2, dtype=torch.float64) / d_head)  # (D/2,)
        if theta.shape != (d_head // 2,):
            raise ValueError(f"theta must hold d_head / 2 = {d_head // 2} frequencies, got shape "
                             f"{tuple(theta.shape)}")
        # theta and the factor (on cos and sin) may come from a context-extension recipe
        # (rope_scaling.py); the factor scales queries and keys, so the scores by its square
        self.theta, self.attention_factor = theta.double(), attention_factor

    def __call__(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        T, D = x.shape[-2], x.shape[-1]
        if D != 2 * self.theta.numel():
            raise ValueError(f"RoPE built for d_head={2 * self.theta.numel()}, got last dim {D}")
        m = torch.arange(start, start + T, dtype=torch.float64).unsqueeze(1)  # (T, 1)
        angle = m * self.theta                                                 # (T, D/2)
        cos = (angle.cos() * self.attention_factor).to(x.dtype)
        sin = (angle.sin() * self.attention_factor).to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]                                    # (..., T, D/2)
        out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)  # (..., T, D/2, 2)
        return out.flatten(-2)                                                 # (..., T, D)

    def shift(self, x: torch.Tensor, delta: int) -> torch.Tensor:
        """Move already rotated keys (..., T, D) by delta positions, all by the same angle:
        R_delta R_m k = R_(m+delta) k. No attention factor: that was applied once already."""
        angle = delta * self.theta                                             # (D/2,)
        cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]                                    # (..., T, D/2)
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)
# --8<-- [end:rope]


# --8<-- [start:alibi]
def alibi_slopes(n_heads: int) -> torch.Tensor:
    """Head h (1-based) gets slope 2^(-8h/n): a geometric sequence from 2^(-8/n) down to 2^-8.

    For n not a power of two, the paper takes the slopes of the nearest lower power of two
    and fills up with every other slope of the next power of two.
    """
    if n_heads < 1:
        raise ValueError(f"n_heads must be positive, got {n_heads}")

    def power_of_two(n: int) -> list[float]:
        return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]

    lower = 2 ** math.floor(math.log2(n_heads))
    slopes = power_of_two(lower)
    if lower != n_heads:
        slopes += power_of_two(2 * lower)[0::2][: n_heads - lower]
    return torch.tensor(slopes)


def alibi_bias(n_heads: int, t_q: int, t_k: int | None = None) -> torch.Tensor:
    """Additive bias -slope_h * (i - j) for query i, key j: (H, T_q, T_k). Causal use assumed;
    queries are the last t_q of t_k positions."""
    t_k = t_q if t_k is None else t_k
    i = torch.arange(t_k - t_q, t_k).unsqueeze(1)  # (T_q, 1) absolute query positions
    j = torch.arange(t_k).unsqueeze(0)             # (1, T_k)
    distance = (i - j).abs().float()               # (T_q, T_k)
    return -alibi_slopes(n_heads).view(-1, 1, 1) * distance  # (H, T_q, T_k)
# --8<-- [end:alibi]


# --8<-- [start:t5_bias]
def t5_bucket(relative: torch.Tensor, bidirectional: bool = True, n_buckets: int = 32,
              max_distance: int = 128) -> torch.Tensor:
    """Map relative position (key - query) to a bucket id in [0, n_buckets).

    Half of the buckets (per direction) hold exact small distances; the rest cover
    distances up to max_distance on a log scale; farther distances share the last bucket.
    """
    bucket = torch.zeros_like(relative)
    if bidirectional:
        n_buckets //= 2
        bucket += (relative > 0).long() * n_buckets  # keys to the right use the upper half
        distance = relative.abs()
    else:
        distance = (-relative).clamp(min=0)  # causal: only keys to the left matter
    exact = n_buckets // 2
    is_small = distance < exact
    # log-spaced buckets from `exact` to max_distance, clipped to the last bucket
    log_ratio = torch.log(distance.float().clamp(min=1) / exact) / math.log(max_distance / exact)
    large = exact + (log_ratio * (n_buckets - exact)).long()
    large = large.clamp(max=n_buckets - 1)
    return bucket + torch.where(is_small, distance, large)


class T5RelativeBias(nn.Module):
    """One learned scalar per (bucket, head), added to the scores: (1, H, T_q, T_k)."""

    def __init__(self, n_heads: int, n_buckets: int = 32, max_distance: int = 128,
                 bidirectional: bool = True):
        super().__init__()
        self.n_buckets, self.max_distance, self.bidirectional = n_buckets, max_distance, bidirectional
        self.bias = nn.Embedding(n_buckets, n_heads)

    def forward(self, t_q: int, t_k: int) -> torch.Tensor:
        q_pos = torch.arange(t_k - t_q, t_k).unsqueeze(1)  # (T_q, 1)
        k_pos = torch.arange(t_k).unsqueeze(0)             # (1, T_k)
        buckets = t5_bucket(k_pos - q_pos, self.bidirectional, self.n_buckets, self.max_distance)
        return self.bias(buckets).permute(2, 0, 1).unsqueeze(0)  # (1, H, T_q, T_k)
# --8<-- [end:t5_bias]
