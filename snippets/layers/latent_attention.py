"""Multi-head latent attention, MLA (DeepSeek-AI, 2024, DeepSeek-V2, arXiv:2405.04434, section
2.1; kept in DeepSeek-V3, arXiv:2412.19437): keys and values are rebuilt, head by head, from one
small latent vector per token, and only that latent (plus one shared rotary key) is cached.

Per token t (the paper's names):
    c_t^KV = RMSNorm(W^DKV h_t)                     (d_c)        the latent that is cached
    k_t^R  = RoPE(W^KR h_t)                          (d_R)        one rotary key for all heads
    k_t,i^C = W_i^UK c_t^KV, v_t,i = W_i^UV c_t^KV   (d_n), (d_v) head i's key and value
    q_t,i = [W_i^UQ c_t^Q ; RoPE(W_i^QR c_t^Q)]      (d_n + d_R)  c_t^Q = RMSNorm(W^DQ h_t)
    score_i(t, s) = (q_t,i^C . k_s,i^C + q_t,i^R . k_s^R) * scale

Because W_i^UK sits between q^C and c^KV with nothing position-dependent in between, it can be
folded into the query (q^C W_i^UK is a d_c vector), and W_i^UV into the output: decoding then
attends straight to the cached latents (the absorbed path below).

Shape legend: B batch, T time (T_q new, T_k cached), C model width, H heads, d_c latent width
(kv_lora_rank), d_q query latent width (q_lora_rank), d_n per-head key width without RoPE
(qk_nope_head_dim), d_R rotary width (qk_rope_head_dim), d_v per-head value width.
"""

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import torch
from torch import nn

from snippets.layers.attention import causal_mask
from snippets.layers.positional import RotaryEmbedding
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class MLAConfig:
    """The widths that fix an MLA layer (DeepSeek-V3's in the comments)."""

    d_model: int = 64                # C (7168)
    n_heads: int = 4                 # H (128)
    q_lora_rank: int | None = 24     # d_q (1536); None: one full-rank query projection
    kv_lora_rank: int = 32           # d_c (512): the cached latent
    qk_nope_head_dim: int = 16       # d_n (128)
    qk_rope_head_dim: int = 8        # d_R (64): the cached rotary key
    v_head_dim: int = 16             # d_v (128)
    rope_base: float = 10000.0
    norm_eps: float = 1e-6           # of the two latent RMSNorms
    softmax_scale: float | None = None  # None: 1 / sqrt(d_n + d_R)

    def __post_init__(self) -> None:
        widths = {k: getattr(self, k) for k in ("d_model", "n_heads", "kv_lora_rank",
                                                "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")}
        if self.q_lora_rank is not None:
            widths["q_lora_rank"] = self.q_lora_rank
        bad = {k: v for k, v in widths.items() if v < 1}
        if bad or self.qk_rope_head_dim % 2:
            raise ValueError(f"MLA widths must be >= 1 and qk_rope_head_dim even, got {widths}")

    @property
    def scale(self) -> float:
        return self.softmax_scale or 1.0 / math.sqrt(self.qk_nope_head_dim + self.qk_rope_head_dim)
# --8<-- [end:config]


# --8<-- [start:cache]
class LatentCache:
    """What MLA keeps per token and layer: the latent c^KV (d_c) and the rotary key k^R (d_R),
    one of each for all H heads. Pre-allocated to max_len, like KVCache."""

    def __init__(self, batch: int, max_len: int, kv_lora_rank: int, qk_rope_head_dim: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        self.c_kv = torch.zeros(batch, max_len, kv_lora_rank, dtype=dtype, device=device)
        self.k_rope = torch.zeros(batch, max_len, qk_rope_head_dim, dtype=dtype, device=device)
        self.length = 0

    def append(self, c_kv: torch.Tensor, k_rope: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new positions' c_kv (B, T, d_c) and k_rope (B, T, d_R); return all so far."""
        B, T_max, d_c = self.c_kv.shape
        end = self.length + c_kv.shape[1]
        if c_kv.shape[::2] != (B, d_c) or k_rope.shape != (*c_kv.shape[:2], self.k_rope.shape[2]):
            raise ValueError(f"latent cache holds c_kv (B={B}, T, {d_c}) and k_rope (B, T, "
                             f"{self.k_rope.shape[2]}); got {tuple(c_kv.shape)}, {tuple(k_rope.shape)}")
        if end > T_max:
            raise ValueError(f"latent cache holds {T_max} positions; appending {c_kv.shape[1]} "
                             f"to {self.length} overflows it")
        self.c_kv[:, self.length:end], self.k_rope[:, self.length:end] = c_kv, k_rope
        self.length = end
        return self.c_kv[:, :end], self.k_rope[:, :end]   # (B, T_k, d_c), (B, T_k, d_R)
# --8<-- [end:cache]


# --8<-- [start:mla]
class MultiHeadLatentAttention(nn.Module):
    """Causal self-attention whose keys and values come from a cached low-rank latent.

    forward(x, cache, absorb=False) decompresses the cached latents into every head's keys and
    values (the naive path); absorb=True folds W^UK into the queries and W^UV into the output
    and attends to the latents themselves. Both give the same output; the cache is the same.
    """

    def __init__(self, config: MLAConfig):
        super().__init__()
        c = self.config = config
        C, H, d_qk = c.d_model, c.n_heads, c.qk_nope_head_dim + c.qk_rope_head_dim
        if c.q_lora_rank is None:   # DeepSeek-V2-Lite: a plain query projection
            self.q_proj = nn.Linear(C, H * d_qk, bias=False)
        else:                       # low-rank queries: less activation memory in training
            self.q_down = nn.Linear(C, c.q_lora_rank, bias=False)                  # W^DQ
            self.q_norm = nn.RMSNorm(c.q_lora_rank, eps=c.norm_eps)
            self.q_up = nn.Linear(c.q_lora_rank, H * d_qk, bias=False)             # W^UQ, W^QR
        self.kv_down = nn.Linear(C, c.kv_lora_rank + c.qk_rope_head_dim, bias=False)  # W^DKV, W^KR
        self.kv_norm = nn.RMSNorm(c.kv_lora_rank, eps=c.norm_eps)
        self.kv_up = nn.Linear(c.kv_lora_rank, H * (c.qk_nope_head_dim + c.v_head_dim),
                               bias=False)                                         # W^UK, W^UV
        self.out_proj = nn.Linear(H * c.v_head_dim, C, bias=False)                 # W^O
        self.rotary = RotaryEmbedding(c.qk_rope_head_dim, c.rope_base)

    def queries(self, x: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> q^C (B, H, T, d_n) and the rotated q^R (B, H, T, d_R)."""
        c, (B, T, _) = self.config, x.shape
        q = self.q_proj(x) if c.q_lora_rank is None else self.q_up(self.q_norm(self.q_down(x)))
        q = q.view(B, T, c.n_heads, -1).transpose(1, 2)               # (B, H, T, d_n + d_R)
        q_nope, q_rope = q.split([c.qk_nope_head_dim, c.qk_rope_head_dim], dim=-1)
        return q_nope, self.rotary(q_rope, start)

    def latents(self, x: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C) -> what the cache stores: c^KV (B, T, d_c) and the rotated k^R (B, T, d_R)."""
        c_kv, k_rope = self.kv_down(x).split([self.config.kv_lora_rank,
                                              self.config.qk_rope_head_dim], dim=-1)
        return self.kv_norm(c_kv), self.rotary(k_rope.unsqueeze(1), start).squeeze(1)

    def up_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """W^UK (H, d_n, d_c) and W^UV (H, d_v, d_c): kv_up's rows, head by head."""
        c = self.config
        w = self.kv_up.weight.view(c.n_heads, c.qk_nope_head_dim + c.v_head_dim, c.kv_lora_rank)
        return w.split([c.qk_nope_head_dim, c.v_head_dim], dim=1)

    def forward(self, x: torch.Tensor, cache: LatentCache | None = None,
                absorb: bool = False) -> torch.Tensor:
        c = self.config
        if x.dim() != 3 or x.shape[-1] != c.d_model:
            raise ValueError(f"x must be (B, T, {c.d_model}), got {tuple(x.shape)}")
        B, T_q, _ = x.shape
        start = cache.length if cache is not None else 0
        q_nope, q_rope = self.queries(x, start)                     # (B, H, T_q, d_n), (.., d_R)
        c_kv, k_rope = self.latents(x, start)                       # (B, T_q, d_c), (B, T_q, d_R)
        if cache is not None:
            c_kv, k_rope = cache.append(c_kv, k_rope)               # (B, T_k, d_c), (B, T_k, d_R)
        w_uk, w_uv = self.up_weights()                              # (H, d_n, d_c), (H, d_v, d_c)
        rope_scores = q_rope @ k_rope.unsqueeze(1).transpose(-2, -1)  # (B, H, T_q, T_k): shared k^R
        if absorb:  # q^C . (W^UK c) = (q^C W^UK) . c: score against the latents themselves
            q_latent = torch.einsum("bhtn,hnc->bhtc", q_nope, w_uk)      # (B, H, T_q, d_c)
            scores = q_latent @ c_kv.unsqueeze(1).transpose(-2, -1) + rope_scores
        else:       # decompress every cached token into H keys, then attend as usual
            k_nope = torch.einsum("bsc,hnc->bhsn", c_kv, w_uk)           # (B, H, T_k, d_n)
            scores = q_nope @ k_nope.transpose(-2, -1) + rope_scores
        keep = causal_mask(T_q, c_kv.shape[1]).to(x.device)          # queries are the last T_q
        weights = torch.softmax((scores * c.scale).masked_fill(~keep, float("-inf")), dim=-1)
        if absorb:  # sum the latents first, then W^UV once per query: sum_s p_s W^UV c_s
            context = weights @ c_kv.unsqueeze(1)                       # (B, H, T_q, d_c)
            out = torch.einsum("bhtc,hvc->bhtv", context, w_uv)         # (B, H, T_q, d_v)
        else:
            v = torch.einsum("bsc,hvc->bhsv", c_kv, w_uv)               # (B, H, T_k, d_v)
            out = weights @ v                                           # (B, H, T_q, d_v)
        return self.out_proj(out.transpose(1, 2).reshape(B, T_q, c.n_heads * c.v_head_dim))

    def new_cache(self, batch: int, max_len: int) -> LatentCache:
        c = self.config
        return LatentCache(batch, max_len, c.kv_lora_rank, c.qk_rope_head_dim,
                           dtype=self.kv_up.weight.dtype, device=self.kv_up.weight.device)
# --8<-- [end:mla]


# --8<-- [start:scale]
def yarn_softmax_scale(qk_head_dim: int, factor: float = 1.0, mscale_all_dim: float = 0.0) -> float:
    """DeepSeek's softmax scale: 1/sqrt(d_n + d_R), times YaRN's m^2 with
    m = 0.1 * mscale_all_dim * ln(factor) + 1 when the context is stretched (factor > 1).
    DeepSeek-V3's checkpoint (factor 40, mscale_all_dim 1) multiplies the scale by about 1.874."""
    scale = qk_head_dim ** -0.5
    if factor > 1 and mscale_all_dim:
        scale *= (0.1 * mscale_all_dim * math.log(factor) + 1.0) ** 2
    return scale
# --8<-- [end:scale]


# --8<-- [start:from_hf]
def mla_from_hf(state: dict[str, torch.Tensor], hf_config, prefix: str = "") -> MultiHeadLatentAttention:
    """Our MLA from a transformers DeepseekV3Attention's state dict (keys after `prefix`).

    With rope_interleave=True (DeepSeek's own layout, transformers' default) the rotary
    channels pair as (2i, 2i + 1), as our RotaryEmbedding does: the weights load unchanged.
    """
    if not hf_config.rope_interleave:
        raise ValueError("rope_interleave=False pairs channel i with i + d_R/2: permute the "
                         "rotary rows first (as llama.half_to_interleaved does)")
    if hf_config.attention_bias:
        raise ValueError("attention_bias=True is not supported: DeepSeek-V2/V3 use no biases")
    rope = hf_config.rope_parameters
    if rope.get("rope_type", "default") != "default":
        raise ValueError(f"only plain RoPE is supported here, got rope_parameters {rope}")
    config = MLAConfig(
        d_model=hf_config.hidden_size, n_heads=hf_config.num_attention_heads,
        q_lora_rank=hf_config.q_lora_rank, kv_lora_rank=hf_config.kv_lora_rank,
        qk_nope_head_dim=hf_config.qk_nope_head_dim, qk_rope_head_dim=hf_config.qk_rope_head_dim,
        v_head_dim=hf_config.v_head_dim, rope_base=rope["rope_theta"])
    names = {"kv_down": "kv_a_proj_with_mqa", "kv_norm": "kv_a_layernorm", "kv_up": "kv_b_proj",
             "out_proj": "o_proj"}
    names |= ({"q_proj": "q_proj"} if config.q_lora_rank is None else
              {"q_down": "q_a_proj", "q_norm": "q_a_layernorm", "q_up": "q_b_proj"})
    ours = {f"{mine}.weight": state[f"{prefix}{theirs}.weight"] for mine, theirs in names.items()}
    model = MultiHeadLatentAttention(config).to(ours["kv_up.weight"].dtype)
    model.load_state_dict(ours, strict=True)
    return model
# --8<-- [end:from_hf]


# --8<-- [start:bytes]
def latent_cache_bytes(n_layers: int, kv_lora_rank: int, qk_rope_head_dim: int, tokens: int = 1,
                       batch: int = 1, bytes_per_value: int = 2) -> int:
    """Bytes an MLA cache holds: layers x (d_c + d_R) x tokens x batch x bytes per number.
    No factor 2 for K and V and none for heads: one latent serves both, for every head."""
    sizes = dict(n_layers=n_layers, kv_lora_rank=kv_lora_rank, qk_rope_head_dim=qk_rope_head_dim,
                 tokens=tokens, batch=batch, bytes_per_value=bytes_per_value)
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        raise ValueError(f"latent cache sizes must be positive, got {bad}")
    return n_layers * (kv_lora_rank + qk_rope_head_dim) * tokens * batch * bytes_per_value
# --8<-- [end:bytes]


# --8<-- [start:flops]
def decode_flops(config: MLAConfig, t_k: int) -> dict[str, int]:
    """Multiply-adds x 2 for one new token attending to t_k cached ones, one layer, attention
    core only (the projections of the new token are the same in both paths and left out).

    naive:    decompress t_k latents into H keys and values (2 H t_k d_c (d_n + d_v)), then
              scores and weighted sum at widths d_n + d_R and d_v;
    absorbed: fold W^UK into the query and W^UV into the output (2 H d_c (d_n + d_v), once),
              scores and weighted sum at widths d_c + d_R and d_c, against the latents.
    """
    c = config
    H, d_c, d_n, d_r, d_v = (c.n_heads, c.kv_lora_rank, c.qk_nope_head_dim,
                             c.qk_rope_head_dim, c.v_head_dim)
    naive = 2 * H * t_k * d_c * (d_n + d_v) + 2 * H * t_k * (d_n + d_r + d_v)
    absorbed = 2 * H * d_c * (d_n + d_v) + 2 * H * t_k * (d_c + d_r + d_c)
    return {"naive": naive, "absorbed": absorbed}
# --8<-- [end:flops]
