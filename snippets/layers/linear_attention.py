"""Causal linear attention as a recurrent network (Katharopoulos et al., 2020, arXiv:2006.16236).

Two forms of one layer: the parallel form builds the masked (T, T) matrix of feature-map scores,
as softmax attention builds its scores; the recurrent form keeps a (d_k, d_v) matrix S and a
(d_k,) normaliser z per head, whatever the number of tokens seen. The one-token update is
snippets.layers.attention.linear_attention_step; this module wraps it in a multi-head layer.

Shape legend: B batch, T time, C model width, H heads, D head width (d_k = d_v = D).
"""

# --8<-- [start:imports]
import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.attention import linear_attention_step

LinearState = tuple[torch.Tensor, torch.Tensor]  # S (B, H, D, D), z (B, H, D)
# --8<-- [end:imports]


# --8<-- [start:parallel]
def masked_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                            eps: float = 1e-6) -> torch.Tensor:
    """The parallel form: out_i = sum_{j<=i} phi(q_i).phi(k_j) v_j / sum_{j<=i} phi(q_i).phi(k_j),
    phi(x) = elu(x) + 1. q, k (..., T, d_k), v (..., T, d_v) -> (..., T, d_v). O(T^2) like softmax
    attention, and just as parallel; only the exp(q.k) has become a product of features."""
    if q.shape != k.shape or v.shape[:-1] != q.shape[:-1]:
        raise ValueError(f"q, k need one shape and v their leading dims, got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    t = q.shape[-2]
    scores = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-2, -1)            # (..., T, T), all > 0
    causal = torch.ones(t, t, dtype=torch.bool, device=q.device).tril()   # j <= i
    scores = scores.masked_fill(~causal, 0.0)
    return (scores @ v) / (scores.sum(-1, keepdim=True) + eps)            # (..., T, d_v)
# --8<-- [end:parallel]


# --8<-- [start:layer]
class CausalLinearAttention(nn.Module):
    """Multi-head causal linear attention: x (B, T, C) -> (B, T, C).

    forward() runs the parallel form (training, prefill); step() runs one token of the
    recurrent form (decoding) and returns the state it carries to the next token.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model < 1 or n_heads < 1 or d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be a positive multiple of n_heads={n_heads}")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., C) -> q, k, v, each (..., H, D)."""
        if x.shape[-1] != self.d_model:
            raise ValueError(f"input width {x.shape[-1]} does not match d_model={self.d_model}")
        q, k, v = self.qkv(x).chunk(3, dim=-1)                             # (..., C) each
        return tuple(u.unflatten(-1, (self.n_heads, self.d_head)) for u in (q, k, v))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (u.transpose(1, 2) for u in self.heads(x))               # (B, H, T, D)
        y = masked_linear_attention(q, k, v)                               # (B, H, T, D)
        return self.out(y.transpose(1, 2).flatten(2))                      # (B, T, C)

    def step(self, x_t: torch.Tensor,
             state: LinearState | None = None) -> tuple[torch.Tensor, LinearState]:
        """One token x_t (B, C) -> (y_t (B, C), state). The state is S (B, H, D, D) and
        z (B, H, D) after token 1 and after token 10,000 alike."""
        q, k, v = self.heads(x_t)                                          # (B, H, D)
        y, state = linear_attention_step(state, q, k, v)                   # y (B, H, D)
        return self.out(y.flatten(1)), state
# --8<-- [end:layer]


# --8<-- [start:memory]
def state_bytes(tensors: tuple[torch.Tensor, ...]) -> int:
    """Bytes the tensors of a decoding state occupy (a recurrent state, or a KV cache's K and V)."""
    return sum(t.numel() * t.element_size() for t in tensors)


def linear_state_bytes(n_layers: int, n_heads: int, d_head: int, batch: int = 1,
                       bytes_per_value: int = 2) -> int:
    """Bytes of linear attention's decoding state: S (D x D) and z (D) per head and layer,
    whatever the number of tokens. Compare snippets.layers.attention.kv_cache_bytes."""
    sizes = dict(n_layers=n_layers, n_heads=n_heads, d_head=d_head, batch=batch,
                 bytes_per_value=bytes_per_value)
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        raise ValueError(f"state sizes must be positive, got {bad}")
    return n_layers * n_heads * (d_head * d_head + d_head) * batch * bytes_per_value
# --8<-- [end:memory]
