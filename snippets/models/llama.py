"""A Llama-style decoder (Touvron et al., 2023, arXiv:2302.13971 and arXiv:2307.09288): the GPT
stack with RMSNorm before each sub-layer (Zhang and Sennrich, 2019, arXiv:1910.07467), a SwiGLU
feed-forward network (Shazeer, 2020, arXiv:2002.05202), rotary positions instead of a position
table (Su et al., 2021, arXiv:2104.09864), grouped-query attention (Ainslie et al., 2023,
arXiv:2305.13245), no biases, and an untied output head. With n_experts > 0 each feed-forward
network is a mixture of experts, as in Mixtral (Jiang et al., 2024, arXiv:2401.04088); with
qk_norm=True each head's queries and keys pass an RMSNorm before RoPE, as in Qwen3.

Every part is a library layer; this module only assembles them.

Shape legend: B batch, T time, C model width (d_model), V vocabulary, H query heads,
H_kv key/value heads, D head width.
"""

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import torch
from torch import nn

from snippets.layers.attention import KVCache
from snippets.layers.blocks import SelfAttentionBlock
from snippets.layers.feedforward import FeedForward
from snippets.layers.moe import SparseMoE
from snippets.layers.normalization import make_norm
from snippets.layers.positional import RotaryEmbedding
from snippets.layers.rope_scaling import scaled_frequencies
from snippets.layers.window_cache import RollingKVCache
from snippets.models.gpt import GPT
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class LlamaConfig:
    """Every number that fixes the architecture; CPU-sized defaults."""

    vocab_size: int = 65
    context_length: int = 64
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2              # < n_heads: grouped-query attention; 1: multi-query
    d_model: int = 128
    d_ff: int = 384                  # SwiGLU width (3 matrices of C x F)
    rope_base: float = 10000.0       # Llama 3 uses 500000
    rope_scaling: dict | None = None  # a longer context than trained: rope_scaling.RECIPES
    norm_eps: float = 1e-5
    tie_weights: bool = False
    n_experts: int = 0               # 0: a dense FFN; > 0: a mixture of experts in every block
    top_k: int = 2                   # experts per token when n_experts > 0
    attn_impl: str = "torch"         # "ours" or "torch" (fused kernel), proven equal
    qk_norm: bool = False            # RMSNorm on each head's q and k (Qwen3, Gemma 3, OLMo 2)
    sliding_window: int | None = None  # each query sees the last W keys (Mistral); None: global
    global_every: int | None = None  # with a window: every k-th layer global (Gemma 2: 2, Gemma 3: 6)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layers", "n_heads", "n_kv_heads",
                     "d_model", "d_ff"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads != 0 or (self.d_model // self.n_heads) % 2 != 0:
            raise ValueError(f"d_model={self.d_model} must split into n_heads={self.n_heads} "
                             "heads of even width (RoPE rotates pairs of channels)")
        if self.n_heads % self.n_kv_heads != 0:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of "
                             f"n_kv_heads={self.n_kv_heads}")
        if self.n_experts < 0 or (self.n_experts and not 1 <= self.top_k <= self.n_experts):
            raise ValueError(f"need n_experts >= 0 and 1 <= top_k <= n_experts, got "
                             f"n_experts={self.n_experts}, top_k={self.top_k}")
        if (self.sliding_window is not None and self.sliding_window < 1) or (
                self.global_every is not None and (self.global_every < 1 or self.sliding_window is None)):
            raise ValueError(f"need sliding_window >= 1 (or None) and global_every >= 1 with a "
                             f"window, got sliding_window={self.sliding_window}, "
                             f"global_every={self.global_every}")

    def layer_windows(self) -> list[int | None]:
        """Each layer's window, None for a global one: layer l (0-based) is global when
        (l + 1) is a multiple of global_every, the rule of transformers' Gemma 2 and 3 configs."""
        every = self.global_every
        return [None if every and (l + 1) % every == 0 else self.sliding_window
                for l in range(self.n_layers)]
# --8<-- [end:config]


# --8<-- [start:model]
class Llama(nn.Module):
    """logits = head(RMSNorm(blocks(wte[idx]))); each block is
    x + Attn_GQA,RoPE(RMSNorm x), then x + SwiGLU(RMSNorm x). No position table, no biases."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        C = config.d_model
        self.wte = nn.Embedding(config.vocab_size, C)                     # (V, C)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(C, config.n_heads, config.d_ff, norm_first=True, norm="rms",
                               activation="swiglu", bias=False, n_kv_heads=config.n_kv_heads,
                               attn_impl=config.attn_impl, eps=config.norm_eps,
                               qk_norm=config.qk_norm, window=window)
            for window in config.layer_windows())
        if config.n_experts:  # Mixtral: the same block, its FFN replaced by E experts
            for block in self.blocks:
                block.ffn = SparseMoE(C, config.d_ff, config.n_experts, config.top_k)
        self.norm_f = make_norm("rms", C, eps=config.norm_eps)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.wte.weight
        # positions enter by rotating queries and keys inside attention: nothing to learn
        theta, factor = scaled_frequencies(C // config.n_heads, config.rope_base, config.rope_scaling)
        self.rotary = RotaryEmbedding(C // config.n_heads, theta=theta, attention_factor=factor)
        self.apply(GPT._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.n_layers)  # as GPT-2, for the same reason
        for module in self.blocks.modules():
            if isinstance(module, FeedForward):
                nn.init.normal_(module.down.weight, mean=0.0, std=residual_std)
        for block in self.blocks:
            nn.init.normal_(block.attn.out_proj.weight, mean=0.0, std=residual_std)

    # The same contract as GPT: these read only config.vocab_size, config.context_length,
    # config.n_layers, and call logits() and new_caches() below.
    check_ids = GPT.check_ids
    forward = GPT.forward
    generate = GPT.generate
    train = GPT.train
    decoding_layout = GPT.decoding_layout

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Trainable parameters, a tied matrix counted once; non_embedding drops wte and the head."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.wte.weight.numel() * (1 if self.config.tie_weights else 2)
        return total

    def logits(self, idx: torch.Tensor, caches: list[KVCache] | None = None, *,
               last_only: bool = False, positions: torch.Tensor | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
        """The network without forward's checks; last_only: the head reads the last position."""
        if positions is not None or mask is not None:  # RoPE would need per-row angles
            raise ValueError("packed rows (positions and mask) are implemented for GPT only, "
                             "not for Llama")
        x = self.wte(idx)                                                 # (B, T, C)
        causal = idx.shape[1] > 1
        for i, block in enumerate(self.blocks):
            x = block(x, is_causal=causal, cache=caches[i] if caches else None,
                      rotary=self.rotary)                                 # (B, T, C)
        if last_only:
            x = x[:, -1:]                                                 # (B, 1, C)
        return self.lm_head(self.norm_f(x))                               # (B, T or 1, V)

    def new_caches(self, batch: int, device: torch.device | str = "cpu") -> list[KVCache]:
        """One empty cache per block, holding H_kv (not H) heads: GQA's saving."""
        c = self.config
        return [KVCache(batch, c.n_kv_heads, c.context_length, c.d_model // c.n_heads,
                        dtype=self.wte.weight.dtype, device=device) for _ in range(c.n_layers)]

    def rolling_caches(self, window: int | None = None, sinks: int = 0,
                       positions: str = "absolute") -> list[RollingKVCache]:
        """Bounded caches, one per block. Without `window`, each sliding-window layer keeps its
        own window and a global layer everything (Mistral, Gemma). With `window`, every layer
        keeps `sinks` first positions and a window of the last (StreamingLLM's cache on a
        full-attention model); positions="cache" numbers them inside the cache, as it does."""
        if positions not in ("absolute", "cache"):
            raise ValueError(f"positions must be 'absolute' or 'cache', got {positions!r}")
        rotary = self.rotary if positions == "cache" else None
        if window is not None:
            return [RollingKVCache(window, sinks, rotary) for _ in range(self.config.n_layers)]
        return [RollingKVCache(w, sinks, rotary) for w in self.config.layer_windows()]

    def router_logits(self) -> list[torch.Tensor]:
        """Each MoE layer's router logits (N, E) from the last forward pass; [] when dense."""
        return [b.ffn.router_logits for b in self.blocks if isinstance(b.ffn, SparseMoE)]
# --8<-- [end:model]


# --8<-- [start:rope_layout]
def half_to_interleaved(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder the rows of a query or key projection (H * D, C), head by head, from the
    rotate-half layout (channel i pairs with i + D/2) to the interleaved one (2i with 2i + 1).

    Within a head, row i of the first half goes to 2i and row i of the second half to 2i + 1;
    the scores q . k are sums over channels, which a permutation applied to both leaves equal.
    """
    rows, C = w.shape
    if rows % (2 * n_heads) != 0:
        raise ValueError(f"{rows} rows do not split into {n_heads} heads of even width")
    D = rows // n_heads
    return w.view(n_heads, 2, D // 2, C).transpose(1, 2).reshape(rows, C)  # (H, D/2, 2, C)
# --8<-- [end:rope_layout]


# --8<-- [start:from_hf]
def llama_config_from_hf(hf_config, context_length: int | None = None) -> LlamaConfig:
    """Our config from a transformers LlamaConfig or Qwen3Config (Llama plus QK-norm), read by
    attribute: no import needed."""
    head_dim = getattr(hf_config, "head_dim", None) or hf_config.hidden_size // hf_config.num_attention_heads
    if head_dim * hf_config.num_attention_heads != hf_config.hidden_size:
        raise ValueError(f"head_dim={head_dim} x {hf_config.num_attention_heads} heads != "
                         f"hidden_size={hf_config.hidden_size}: not supported here")
    return LlamaConfig(
        vocab_size=hf_config.vocab_size, n_layers=hf_config.num_hidden_layers,
        context_length=context_length or hf_config.max_position_embeddings,
        n_heads=hf_config.num_attention_heads, n_kv_heads=hf_config.num_key_value_heads,
        d_model=hf_config.hidden_size, d_ff=hf_config.intermediate_size,
        rope_base=hf_config.rope_parameters["rope_theta"], norm_eps=hf_config.rms_norm_eps,
        rope_scaling=rope_scaling_from_hf(hf_config.rope_parameters),
        tie_weights=hf_config.tie_word_embeddings, qk_norm=hf_config.model_type == "qwen3",
        sliding_window=getattr(hf_config, "sliding_window", None))  # Mistral's; Llama has none


def rope_scaling_from_hf(rope: dict) -> dict | None:
    """Our rope_scaling from transformers' rope_parameters (the recipes rope_scaling.py has)."""
    kind = rope.get("rope_type", "default")
    if kind == "default":
        return None
    if kind == "linear":
        return {"type": "linear", "factor": rope["factor"]}
    if kind == "yarn" and rope.get("attention_factor") is None and not rope.get("mscale"):
        return {"type": "yarn", "factor": rope["factor"],
                "trained_length": rope["original_max_position_embeddings"],
                "beta_fast": rope.get("beta_fast") or 32.0, "beta_slow": rope.get("beta_slow") or 1.0}
    if kind == "llama3":
        return {"type": "llama3", "factor": rope["factor"],
                "trained_length": rope["original_max_position_embeddings"],
                "low_freq_factor": rope["low_freq_factor"], "high_freq_factor": rope["high_freq_factor"]}
    raise ValueError(f"rope_parameters {rope} are not supported here")


def from_hf_llama(state: dict[str, torch.Tensor], config: LlamaConfig) -> Llama:
    """Build our Llama from a transformers LlamaForCausalLM (or Qwen3ForCausalLM) state dict.

    The names differ and one layout does: transformers rotates (q_i, q_{i+D/2}) pairs
    (rotate_half), our RotaryEmbedding rotates (q_2i, q_2i+1), so the query and key rows are
    permuted on the way in, and so are QK-norm's weights, which act on the same channels.
    Nothing is transposed: both store nn.Linear weights (out, in).
    """
    model = Llama(config).to(state["model.embed_tokens.weight"].dtype)  # float64 stays float64
    ours = {"wte.weight": state["model.embed_tokens.weight"],
            "norm_f.weight": state["model.norm.weight"]}
    for i in range(config.n_layers):
        h, b = f"model.layers.{i}.", f"blocks.{i}."
        ours |= {
            b + "norm1.weight": state[h + "input_layernorm.weight"],
            b + "norm2.weight": state[h + "post_attention_layernorm.weight"],
            b + "attn.q_proj.weight": half_to_interleaved(state[h + "self_attn.q_proj.weight"],
                                                          config.n_heads),
            b + "attn.k_proj.weight": half_to_interleaved(state[h + "self_attn.k_proj.weight"],
                                                          config.n_kv_heads),
            b + "attn.v_proj.weight": state[h + "self_attn.v_proj.weight"],
            b + "attn.out_proj.weight": state[h + "self_attn.o_proj.weight"],
            b + "ffn.gate.weight": state[h + "mlp.gate_proj.weight"],
            b + "ffn.up.weight": state[h + "mlp.up_proj.weight"],
            b + "ffn.down.weight": state[h + "mlp.down_proj.weight"],
        }
        if config.qk_norm:  # one (D,) weight for every head: permute it as a one-head row set
            for name in ("q_norm", "k_norm"):
                weight = state[h + f"self_attn.{name}.weight"]
                ours[b + f"attn.{name}.weight"] = half_to_interleaved(weight[:, None], 1)[:, 0]
    ours["lm_head.weight"] = state.get("lm_head.weight", ours["wte.weight"])
    model.load_state_dict({k: v.contiguous() for k, v in ours.items()}, strict=True)
    return model
# --8<-- [end:from_hf]


# --8<-- [start:count]
def llama_parameters(config: LlamaConfig) -> int:
    """Closed-form parameter count of Llama(config), without building it.

    Per block: C * (H + 2 H_kv) * D for W_q, W_k, W_v, C^2 for W_o (and 2 D for QK-norm),
    3 C F for SwiGLU (or E experts of 3 C F plus a C x E router), 2 C for the two RMSNorm weights.
    """
    c = config
    C, D = c.d_model, c.d_model // c.n_heads
    attn = C * (c.n_heads + 2 * c.n_kv_heads) * D + C * C + (2 * D if c.qk_norm else 0)
    ffn = 3 * C * c.d_ff if not c.n_experts else c.n_experts * 3 * C * c.d_ff + C * c.n_experts
    embeddings = c.vocab_size * C * (1 if c.tie_weights else 2)
    return c.n_layers * (attn + ffn + 2 * C) + C + embeddings
# --8<-- [end:count]
