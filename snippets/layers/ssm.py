"""A selective state-space layer (Mamba's S6: Gu and Dao, 2023, arXiv:2312.00752) with a
sequential and a parallel (associative-scan) form, and the state-space duality of Mamba-2
(Dao and Gu, 2024, arXiv:2405.21060): with a scalar decay per step, the recurrence is a
masked attention-like matrix.

Discretisation as in Mamba's reference scan (selective_scan_ref): A_bar = exp(delta A) (the
zero-order hold), B_bar x = delta B x (the first-order form of the hold's B_bar).

Shape legend: B batch, T time, C channels (each an independent SSM), N state size per channel,
P channels of one SSD head.
"""

# --8<-- [start:imports]
import math

import torch
import torch.nn.functional as F
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:discretise]
def discretise(delta: torch.Tensor, A: torch.Tensor,
               B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """delta (B, T, C) > 0, A (C, N) < 0, B (B, T, N) -> A_bar, B_bar, each (B, T, C, N).

    A_bar = exp(delta A) lies in (0, 1): a small step keeps the state, a large one resets it."""
    if delta.dim() != 3 or A.dim() != 2 or delta.shape[-1] != A.shape[0]:
        raise ValueError(f"need delta (B, T, C) and A (C, N), got {tuple(delta.shape)}, {tuple(A.shape)}")
    if B.shape != (*delta.shape[:2], A.shape[1]):
        raise ValueError(f"B must be (B, T, N) = {(*delta.shape[:2], A.shape[1])}, got {tuple(B.shape)}")
    A_bar = torch.exp(delta.unsqueeze(-1) * A)                             # (B, T, C, N)
    B_bar = delta.unsqueeze(-1) * B.unsqueeze(2)                           # (B, T, C, N)
    return A_bar, B_bar
# --8<-- [end:discretise]


# --8<-- [start:sequential]
def selective_scan_sequential(x: torch.Tensor, delta: torch.Tensor, A: torch.Tensor,
                              B: torch.Tensor, C: torch.Tensor,
                              D: torch.Tensor) -> torch.Tensor:
    """h_t = A_bar_t * h_{t-1} + B_bar_t x_t, y_t = C_t . h_t + D x_t, one step after another.
    x, delta (B, T, C); A (C, N); B, C (B, T, N); D (C,) -> y (B, T, C)."""
    A_bar, B_bar = discretise(delta, A, B)
    h = x.new_zeros(x.shape[0], x.shape[2], A.shape[1])                    # (B, C, N): h_0 = 0
    ys = []
    for t in range(x.shape[1]):
        h = A_bar[:, t] * h + B_bar[:, t] * x[:, t, :, None]               # (B, C, N)
        ys.append((h * C[:, t, None, :]).sum(-1))                          # (B, C)
    return torch.stack(ys, dim=1) + D * x                                  # (B, T, C)
# --8<-- [end:sequential]


# --8<-- [start:scan]
def linear_recurrence_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All h_t of h_t = a_t * h_{t-1} + b_t (h_0 = 0) along dim 1, in ceil(log2 T) rounds.

    Each element holds the pair (a, b) of the map h -> a h + b over a span of steps; composing
    an earlier span (a1, b1) with a later (a2, b2) gives (a2 a1, a2 b1 + b2), an associative
    operator. Round r combines each span with the one 2^r positions back (Hillis and Steele):
    depth O(log T), work O(T log T)."""
    if a.shape != b.shape or a.dim() < 2:
        raise ValueError(f"a and b need one shape (B, T, ...), got {tuple(a.shape)}, {tuple(b.shape)}")
    offset = 1
    while offset < a.shape[1]:
        b = torch.cat([b[:, :offset], a[:, offset:] * b[:, :-offset] + b[:, offset:]], dim=1)
        a = torch.cat([a[:, :offset], a[:, offset:] * a[:, :-offset]], dim=1)
        offset *= 2
    return b                                                               # b_t is now h_t


def selective_scan_parallel(x: torch.Tensor, delta: torch.Tensor, A: torch.Tensor,
                            B: torch.Tensor, C: torch.Tensor,
                            D: torch.Tensor) -> torch.Tensor:
    """The same outputs as selective_scan_sequential, every step of a round computed at once."""
    A_bar, B_bar = discretise(delta, A, B)
    h = linear_recurrence_scan(A_bar, B_bar * x.unsqueeze(-1))             # (B, T, C, N)
    return torch.einsum("btcn,btn->btc", h, C) + D * x                     # (B, T, C)
# --8<-- [end:scan]


# --8<-- [start:layer]
class SelectiveSSM(nn.Module):
    """Mamba's selective SSM (S6): x (B, T, C) -> y (B, T, C), one N-state SSM per channel.

    delta, B and C are computed from x at every step (the selection); A is diagonal and fixed,
    A = -exp(A_log), started at -1, -2, ..., -N for every channel (S4D-real, as Mamba does).
    delta = softplus(W_dt (W_r x) + b_dt) through a rank-R bottleneck, R = ceil(C / 16).
    """

    def __init__(self, d_model: int, d_state: int = 16, dt_min: float = 1e-3, dt_max: float = 0.1):
        super().__init__()
        if d_model < 1 or d_state < 1 or not 0 < dt_min <= dt_max:
            raise ValueError(f"need d_model, d_state >= 1 and 0 < dt_min <= dt_max, got "
                             f"d_model={d_model}, d_state={d_state}, dt=({dt_min}, {dt_max})")
        self.d_model, self.d_state, self.dt_rank = d_model, d_state, math.ceil(d_model / 16)
        self.x_proj = nn.Linear(d_model, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, d_model)
        # Initial steps log-uniform in [dt_min, dt_max]: the bias is softplus's inverse of them.
        dt = torch.exp(torch.rand(d_model) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1.0)).repeat(d_model, 1))
        self.D = nn.Parameter(torch.ones(d_model))

    def parameters_at(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """x (..., C) -> delta (..., C), A (C, N), B (..., N), C (..., N): the SSM at these inputs."""
        if x.shape[-1] != self.d_model:
            raise ValueError(f"input width {x.shape[-1]} does not match d_model={self.d_model}")
        r, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = F.softplus(self.dt_proj(r))                                # > 0, per channel
        return delta, -torch.exp(self.A_log), B, C

    def forward(self, x: torch.Tensor, parallel: bool = True) -> torch.Tensor:
        scan = selective_scan_parallel if parallel else selective_scan_sequential
        return scan(x, *self.parameters_at(x), self.D)

    def step(self, x_t: torch.Tensor,
             h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One token x_t (B, C) -> (y_t (B, C), h (B, C, N)): decoding with a state of C x N
        numbers per sequence, however long the sequence."""
        delta, A, B, C = self.parameters_at(x_t)
        A_bar, B_bar = discretise(delta.unsqueeze(1), A, B.unsqueeze(1))   # (B, 1, C, N)
        h = B_bar[:, 0] * x_t.unsqueeze(-1) if h is None else A_bar[:, 0] * h + B_bar[:, 0] * x_t.unsqueeze(-1)
        return (h * C.unsqueeze(1)).sum(-1) + self.D * x_t, h
# --8<-- [end:layer]


# --8<-- [start:ssd]
def ssd_recurrent(x: torch.Tensor, a: torch.Tensor, B: torch.Tensor,
                  C: torch.Tensor) -> torch.Tensor:
    """One SSD head as a recurrence: H_t = a_t H_{t-1} + B_t x_t^T (N x P), y_t = H_t^T C_t.
    x (B, T, P); a (B, T) scalar decays in (0, 1]; B, C (B, T, N) -> y (B, T, P)."""
    h = x.new_zeros(x.shape[0], B.shape[-1], x.shape[-1])                  # (B, N, P)
    ys = []
    for t in range(x.shape[1]):
        h = a[:, t, None, None] * h + B[:, t, :, None] * x[:, t, None, :]  # (B, N, P)
        ys.append((C[:, t, :, None] * h).sum(1))                           # (B, P)
    return torch.stack(ys, dim=1)
# --8<-- [end:ssd]


# --8<-- [start:ssd_matrix]
def ssd_mask(a: torch.Tensor) -> torch.Tensor:
    """L[i, j] = a_{j+1} a_{j+2} ... a_i for j <= i (1 on the diagonal), 0 above it.
    a (B, T) in (0, 1] -> (B, T, T). Products as exp of sums of logs, summed in the (T, T)
    layout so that no large cumulative sum is subtracted from another."""
    if (a <= 0).any() or (a > 1).any():
        raise ValueError(f"decays must lie in (0, 1], got min {a.min().item()}, max {a.max().item()}")
    t = a.shape[-1]
    below = torch.ones(t, t, dtype=torch.bool, device=a.device).tril(-1)  # k > j
    logs = a.log().unsqueeze(-1).expand(*a.shape, t).masked_fill(~below, 0.0)  # [k, j] = log a_k
    segment = logs.cumsum(dim=-2)                                          # [i, j] = sum_{j<k<=i}
    causal = torch.ones(t, t, dtype=torch.bool, device=a.device).tril()
    return segment.exp().masked_fill(~causal, 0.0)                         # (B, T, T)


def ssd_matrix(x: torch.Tensor, a: torch.Tensor, B: torch.Tensor,
               C: torch.Tensor) -> torch.Tensor:
    """The same head as one matrix product: y = (L o C B^T) x, attention-like with the decay
    mask L in place of softmax. x (B, T, P) -> (B, T, P)."""
    scores = C @ B.transpose(-2, -1)                                       # (B, T, T): C_i . B_j
    return (ssd_mask(a) * scores) @ x
# --8<-- [end:ssd_matrix]


# --8<-- [start:memory]
def ssm_state_bytes(n_layers: int, d_inner: int, d_state: int, batch: int = 1,
                    bytes_per_value: int = 2) -> int:
    """Bytes of a selective SSM's decoding state: d_inner x d_state per layer (Mamba also keeps
    its short convolution's last inputs, a few d_inner more, not counted here)."""
    sizes = dict(n_layers=n_layers, d_inner=d_inner, d_state=d_state, batch=batch,
                 bytes_per_value=bytes_per_value)
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        raise ValueError(f"state sizes must be positive, got {bad}")
    return n_layers * d_inner * d_state * batch * bytes_per_value
# --8<-- [end:memory]
