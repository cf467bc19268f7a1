"""DeBERTa's disentangled attention score (He et al., 2020, arXiv:2006.03654, section 3.1):
content and relative position are kept as separate vectors, and the score of query i on
key j sums content-to-content, content-to-position and position-to-content terms, scaled
by 1/sqrt(3 D) because three terms of variance D are added.

Shape legend: B batch, H heads, T time, D head width, k maximum relative distance.
"""

# --8<-- [start:imports]
import math

import torch
# --8<-- [end:imports]


# --8<-- [start:delta]
def relative_bucket(T_q: int, T_k: int, k: int) -> torch.Tensor:
    """delta(i, j) = clamp(i - j, -k, k - 1) + k, in [0, 2k): the row of the position table
    that describes "query i relative to key j". (T_q, T_k)."""
    if k < 1:
        raise ValueError(f"maximum relative distance k must be >= 1, got {k}")
    i = torch.arange(T_q).unsqueeze(1)
    j = torch.arange(T_k).unsqueeze(0)
    return (i - j).clamp(-k, k - 1) + k
# --8<-- [end:delta]


# --8<-- [start:score]
def disentangled_scores(q_c: torch.Tensor, k_c: torch.Tensor, q_r: torch.Tensor,
                        k_r: torch.Tensor, k: int) -> torch.Tensor:
    """A_ij = q^c_i . k^c_j + q^c_i . k^r_{delta(i,j)} + k^c_j . q^r_{delta(j,i)}, over sqrt(3 D).

    q_c, k_c (B, H, T, D): content projections of the hidden states.
    q_r, k_r (H, 2k, D): projections of the shared relative-position table P (2k, C).
    Returns scores (B, H, T, T), before the softmax.
    """
    B, H, T, D = q_c.shape
    if k_c.shape != q_c.shape or q_r.shape != (H, 2 * k, D) or k_r.shape != (H, 2 * k, D):
        raise ValueError(f"need q_c, k_c (B, H, T, D) equal and q_r, k_r (H, 2k={2 * k}, D); got "
                         f"{tuple(q_c.shape)}, {tuple(k_c.shape)}, {tuple(q_r.shape)}, {tuple(k_r.shape)}")
    delta = relative_bucket(T, T, k)                                      # (T, T)
    c2c = q_c @ k_c.transpose(-2, -1)                                     # (B, H, T, T)
    c2p_all = q_c @ k_r.transpose(-2, -1).unsqueeze(0)                    # (B, H, T, 2k): q_i against every offset
    c2p = c2p_all.gather(-1, delta.expand(B, H, T, T))                    # pick offset delta(i, j)
    p2c_all = k_c @ q_r.transpose(-2, -1).unsqueeze(0)                    # (B, H, T, 2k): k_j against every offset
    p2c = p2c_all.gather(-1, delta.expand(B, H, T, T)).transpose(-2, -1)  # [i, j] uses delta(j, i)
    return (c2c + c2p + p2c) / math.sqrt(3 * D)
# --8<-- [end:score]
