"""A mixture-of-experts feed-forward layer: a router sends each token to k of E expert FFNs
(Shazeer et al., 2017, arXiv:1701.06538), with Mixtral's placement of the softmax (Jiang et al.,
2024, arXiv:2401.04088), the load-balancing loss of Switch Transformers (Fedus et al., 2021,
arXiv:2101.03961), the router z-loss of ST-MoE (Zoph et al., 2022, arXiv:2202.08906) and an
optional expert capacity with token dropping (GShard, Lepikhin et al., 2020, arXiv:2006.16668).

Shape legend: B batch, T time, N = B * T tokens, C model width, F expert hidden width,
E experts, k experts per token.
"""

# --8<-- [start:imports]
import math

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.feedforward import FeedForward
# --8<-- [end:imports]


# --8<-- [start:router]
class TopKRouter(nn.Module):
    """p = softmax(x W_r^T) over all E experts; keep the k largest; renormalise those k to sum to 1.

    Returns the router logits (N, E), the k gate weights (N, k) and the k expert ids (N, k).
    """

    def __init__(self, d_model: int, n_experts: int, top_k: int):
        super().__init__()
        if n_experts < 1 or not 1 <= top_k <= n_experts:
            raise ValueError(f"need 1 <= top_k <= n_experts, got top_k={top_k}, n_experts={n_experts}")
        self.top_k = top_k
        self.proj = nn.Linear(d_model, n_experts, bias=False)  # W_r (E, C)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = self.proj(x)                                   # (N, E)
        probs = torch.softmax(logits, dim=-1)                   # over all E experts
        weights, experts = probs.topk(self.top_k, dim=-1)       # (N, k) each
        return logits, weights / weights.sum(dim=-1, keepdim=True), experts
# --8<-- [end:router]


# --8<-- [start:capacity]
def expert_capacity(n_tokens: int, n_experts: int, top_k: int, capacity_factor: float) -> int:
    """Slots per expert: ceil(capacity_factor * k * N / E); factor 1.0 is exactly a fair share."""
    if capacity_factor <= 0:
        raise ValueError(f"capacity_factor must be > 0, got {capacity_factor}")
    return math.ceil(capacity_factor * top_k * n_tokens / n_experts)


def within_capacity(experts: torch.Tensor, n_experts: int, capacity: int) -> torch.Tensor:
    """Which of the (N, k) assignments fit: each expert takes the first `capacity` that reach it,
    every token's first choice before any token's second choice (GShard's order), then by
    position. Returns a boolean (N, k); False marks a dropped assignment."""
    order = experts.T.reshape(-1)                               # (k * N,) first choices first
    one_hot = F.one_hot(order, n_experts)                       # (k * N, E)
    seat = (one_hot.cumsum(dim=0) * one_hot).sum(dim=-1)        # 1-based place in its expert's queue
    return (seat <= capacity).view(experts.shape[1], -1).T      # (N, k)
# --8<-- [end:capacity]


# --8<-- [start:moe]
class SparseMoE(nn.Module):
    """y = sum over the k chosen experts e of g_e(x) * SwiGLU_e(x); each token runs k of E experts.

    capacity_factor=None routes every token (dropless, as Mixtral); a number gives each expert
    a fixed number of slots and drops the assignments that overflow (their share is zero, and the
    residual connection carries the token through). The last call's router logits are kept in
    `router_logits` for the auxiliary losses, as transformers' output_router_logits does.
    """

    def __init__(self, d_model: int, d_ff: int, n_experts: int, top_k: int = 2,
                 capacity_factor: float | None = None):
        super().__init__()
        self.router = TopKRouter(d_model, n_experts, top_k)
        self.experts = nn.ModuleList(FeedForward(d_model, d_ff, activation="swiglu", bias=False)
                                     for _ in range(n_experts))
        self.capacity_factor = capacity_factor
        self.router_logits: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        if x.dim() != 3 or x.shape[-1] != self.router.proj.in_features:
            raise ValueError(f"x must be (B, T, {self.router.proj.in_features}), got {tuple(x.shape)}")
        B, T, C = x.shape
        tokens = x.reshape(B * T, C)                                      # (N, C)
        logits, weights, experts = self.router(tokens)                    # (N, E), (N, k), (N, k)
        keep = torch.ones_like(experts, dtype=torch.bool)                 # (N, k) dropless
        if self.capacity_factor is not None:
            capacity = expert_capacity(B * T, len(self.experts), self.router.top_k,
                                       self.capacity_factor)
            keep = within_capacity(experts, len(self.experts), capacity)
        out = torch.zeros_like(tokens)                                    # (N, C)
        for e, expert in enumerate(self.experts):
            # the tokens sent to e (and kept), and which of their k choices e was
            token, slot = torch.where((experts == e) & keep)
            if token.numel() == 0:
                continue
            # gather, run the expert on its tokens only, scale by the gate, scatter back
            out.index_add_(0, token, expert(tokens[token]) * weights[token, slot, None])
        self.router_logits = logits
        return out.view(B, T, C)
# --8<-- [end:moe]


# --8<-- [start:losses]
def tokens_per_expert(router_logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """How many of the N * k assignments each expert receives: (E,) integers."""
    experts = router_logits.topk(top_k, dim=-1).indices                    # (N, k)
    return torch.bincount(experts.reshape(-1), minlength=router_logits.shape[-1])


def load_balancing_loss(router_logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """E * sum_i f_i * P_i over router logits (N, E), pooled over every token (and layer) given.

    f_i: the fraction of tokens that have expert i among their top k (so sum_i f_i = k);
    P_i: the mean router probability of expert i. Only P carries a gradient. Perfectly uniform
    routing gives k (1 for Switch's top-1); a collapse onto k experts gives about E.
    """
    if router_logits.dim() != 2 or not 1 <= top_k <= router_logits.shape[-1]:
        raise ValueError(f"router_logits must be (N, E) with 1 <= top_k <= E, got "
                         f"{tuple(router_logits.shape)} and top_k={top_k}")
    N, E = router_logits.shape
    probs = torch.softmax(router_logits, dim=-1)                          # (N, E)
    f = tokens_per_expert(router_logits, top_k).to(probs.dtype) / N        # (E,)
    P = probs.mean(dim=0)                                                 # (E,)
    return E * (f * P).sum()


def router_z_loss(router_logits: torch.Tensor) -> torch.Tensor:
    """mean over tokens of (log sum_j exp(logit_j))^2: keeps the router's logits small."""
    if router_logits.dim() < 2:
        raise ValueError(f"router_logits must be (..., E), got {tuple(router_logits.shape)}")
    return torch.logsumexp(router_logits, dim=-1).pow(2).mean()
# --8<-- [end:losses]


# --8<-- [start:count]
def moe_ffn_parameters(d_model: int, d_ff: int, n_experts: int, top_k: int) -> tuple[int, int]:
    """(total, active per token) parameters of one SparseMoE layer: the router's C * E, plus
    3 * C * F for each SwiGLU expert, all E of them stored, k of them run for a token."""
    expert = 3 * d_model * d_ff
    router = d_model * n_experts
    return router + n_experts * expert, router + top_k * expert
# --8<-- [end:count]
