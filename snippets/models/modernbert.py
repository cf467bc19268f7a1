"""ModernBERT (Warner et al., 2024, arXiv:2412.13663): the BERT encoder rebuilt with the
decoder-era parts. No position table: rotary positions (Su et al., 2021, arXiv:2104.09864)
with a different base in global and local layers; a GeGLU feed-forward network (Shazeer, 2020,
arXiv:2002.05202); Pre-LN blocks with bias-free LayerNorms and linear layers; a LayerNorm on the
embeddings and one after the last block; every third layer attends globally, the others to a
window of neighbours (the alternation of Gemma 2, Team et al., 2024, arXiv:2408.00118).

Every part is a library layer; this module only assembles them.

Shape legend: B batch, T time, C model width (d_model), V vocabulary, H heads, D head width,
F feed-forward width (d_ff).
"""

# --8<-- [start:imports]
from dataclasses import dataclass

import torch
from torch import nn

from snippets.layers.blocks import SelfAttentionBlock
from snippets.layers.normalization import make_norm
from snippets.layers.positional import RotaryEmbedding
from snippets.models.llama import half_to_interleaved
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class ModernBertConfig:
    """Every number that fixes the architecture; CPU-sized defaults.

    ModernBERT-base is (V=50368, T=8192, 22 layers, 12 heads, C=768, F=1152).
    """

    vocab_size: int = 512
    context_length: int = 256
    n_layers: int = 6
    n_heads: int = 4
    d_model: int = 64
    d_ff: int = 96                   # GeGLU width: W_in is C x 2F (gate and up), W_out F x C
    local_window: int = 128          # a local layer's query sees keys with |i - j| <= window // 2
    global_every: int = 3            # layers 0, 3, 6, ... attend globally
    global_rope_base: float = 160_000.0
    local_rope_base: float = 10_000.0
    norm_eps: float = 1e-5
    pad_id: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layers", "n_heads", "d_model", "d_ff",
                     "local_window", "global_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads != 0 or (self.d_model // self.n_heads) % 2 != 0:
            raise ValueError(f"d_model={self.d_model} must split into n_heads={self.n_heads} "
                             "heads of even width (RoPE rotates pairs of channels)")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id={self.pad_id} is outside [0, {self.vocab_size})")

    def is_global(self, layer: int) -> bool:
        """Whether layer (0-based) attends to the whole sequence or to its window."""
        return layer % self.global_every == 0
# --8<-- [end:config]


# --8<-- [start:masks]
def local_window_mask(t: int, window: int) -> torch.Tensor:
    """Bidirectional local attention: query i sees key j when |i - j| <= window // 2.
    Boolean (T, T), True where attention is allowed: a band of width window + 1 (odd window: window)."""
    if t < 1 or window < 1:
        raise ValueError(f"need t >= 1 and window >= 1, got t={t}, window={window}")
    i = torch.arange(t).unsqueeze(1)  # (T, 1)
    j = torch.arange(t).unsqueeze(0)  # (1, T)
    return (i - j).abs() <= window // 2  # (T, T)


def layer_masks(attention_mask: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The keep-masks of a global and of a local layer, from a (B, T) padding mask (1 = token).

    Global: no query sees a padding key, (B, 1, 1, T). Local: also only keys in the band,
    (B, 1, T, T). A padding query far from every real token would have no key left in its band;
    its output is never read, so it may look at every key rather than at none.
    """
    real = attention_mask.bool()                                         # (B, T)
    B, T = real.shape
    global_keep = real[:, None, None, :]                                 # (B, 1, 1, T)
    band = local_window_mask(T, window).to(real.device)                  # (T, T)
    local_keep = (band & global_keep) | ~real[:, None, :, None]          # (B, 1, T, T)
    return global_keep, local_keep
# --8<-- [end:masks]


# --8<-- [start:checks]
def check_inputs(config: ModernBertConfig, ids: torch.Tensor,
                 attention_mask: torch.Tensor | None) -> None:
    """Clear errors for the ways an encoder's input goes wrong."""
    if ids.dim() != 2 or ids.dtype != torch.long or ids.numel() == 0:
        raise ValueError(f"ids must be a non-empty (B, T) LongTensor, got {ids.dtype} {tuple(ids.shape)}")
    B, T = ids.shape
    if T > config.context_length:
        raise ValueError(f"sequence length {T} exceeds context_length={config.context_length}")
    if ids.min() < 0 or ids.max() >= config.vocab_size:
        bad = ids[(ids < 0) | (ids >= config.vocab_size)]
        raise ValueError(f"token ids {sorted(set(bad.tolist()))[:10]} are outside "
                         f"[0, {config.vocab_size})")
    if attention_mask is not None:
        if attention_mask.shape != ids.shape:
            raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} must equal "
                             f"ids shape (B={B}, T={T})")
        if not attention_mask.bool().any(dim=1).all():
            raise ValueError("attention_mask hides every token of at least one sequence")
# --8<-- [end:checks]


# --8<-- [start:model]
class ModernBert(nn.Module):
    """hidden = LN_f(blocks(LN_emb(E_tok[ids]))); each block is Pre-LN, x + Attn(LN x), then
    x + GeGLU(LN x), with RoPE and a global or a local mask by layer. No biases anywhere."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.config = config
        C, D = config.d_model, config.d_model // config.n_heads
        self.tok = nn.Embedding(config.vocab_size, C)                    # (V, C), no position table
        self.norm_emb = make_norm("layer", C, eps=config.norm_eps, bias=False)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(C, config.n_heads, config.d_ff, norm_first=True, norm="layer",
                               activation="geglu", bias=False, eps=config.norm_eps)
            for _ in range(config.n_layers))
        self.blocks[0].norm1 = nn.Identity()  # the embedding norm has just normalised x
        self.norm_f = make_norm("layer", C, eps=config.norm_eps, bias=False)
        # a longer wavelength where attention spans the sequence, the classic one in the window
        self.rotary_global = RotaryEmbedding(D, base=config.global_rope_base)
        self.rotary_local = RotaryEmbedding(D, base=config.local_rope_base)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """ids (B, T); attention_mask (B, T), 1 = token, 0 = padding. Returns (B, T, C)."""
        check_inputs(self.config, ids, attention_mask)
        if attention_mask is None:
            attention_mask = torch.ones_like(ids)
        global_keep, local_keep = layer_masks(attention_mask, self.config.local_window)
        x = self.norm_emb(self.tok(ids))                                 # (B, T, C)
        for i, block in enumerate(self.blocks):
            if self.config.is_global(i):
                x = block(x, mask=global_keep, rotary=self.rotary_global)  # (B, T, C)
            else:
                x = block(x, mask=local_keep, rotary=self.rotary_local)    # (B, T, C)
        return self.norm_f(x)
# --8<-- [end:model]


# --8<-- [start:from_hf]
def modernbert_config_from_hf(hf_config) -> ModernBertConfig:
    """Our config from a transformers ModernBertConfig (read by attribute: no import needed)."""
    types = list(hf_config.layer_types)
    global_layers = [i for i, kind in enumerate(types) if kind == "full_attention"]
    every = global_layers[1] if len(global_layers) > 1 else len(types)  # the gap between them
    if types != ["sliding_attention" if i % every else "full_attention" for i in range(len(types))]:
        raise ValueError(f"layer_types {types} are not 'global every {every}': not supported here")
    rope = hf_config.rope_parameters
    return ModernBertConfig(
        vocab_size=hf_config.vocab_size, context_length=hf_config.max_position_embeddings,
        n_layers=hf_config.num_hidden_layers, n_heads=hf_config.num_attention_heads,
        d_model=hf_config.hidden_size, d_ff=hf_config.intermediate_size,
        local_window=hf_config.local_attention, global_every=every,
        global_rope_base=rope["full_attention"]["rope_theta"],
        local_rope_base=rope["sliding_attention"]["rope_theta"],
        norm_eps=hf_config.norm_eps, pad_id=hf_config.pad_token_id)


def from_hf_modernbert(state: dict[str, torch.Tensor], config: ModernBertConfig) -> ModernBert:
    """Build ours from a transformers ModernBertModel state dict.

    Three layouts differ: W_qkv (3C, C) is one matrix there, three here; W_i (2F, C) holds the
    GELU-activated half first, then the linear half; and the query and key rows go from
    rotate-half RoPE pairs to interleaved ones (as for Llama).
    """
    state = {k.removeprefix("model."): v for k, v in state.items()}
    model = ModernBert(config).to(state["embeddings.tok_embeddings.weight"].dtype)
    C, F, H = config.d_model, config.d_ff, config.n_heads
    ours = {"tok.weight": state["embeddings.tok_embeddings.weight"],
            "norm_emb.weight": state["embeddings.norm.weight"],
            "norm_f.weight": state["final_norm.weight"]}
    for i in range(config.n_layers):
        h, b = f"layers.{i}.", f"blocks.{i}."
        w_q, w_k, w_v = state[h + "attn.Wqkv.weight"].split(C)          # 3 x (C, C)
        w_act, w_lin = state[h + "mlp.Wi.weight"].split(F)              # 2 x (F, C)
        ours |= {
            b + "attn.q_proj.weight": half_to_interleaved(w_q, H),
            b + "attn.k_proj.weight": half_to_interleaved(w_k, H),
            b + "attn.v_proj.weight": w_v,
            b + "attn.out_proj.weight": state[h + "attn.Wo.weight"],
            b + "norm2.weight": state[h + "mlp_norm.weight"],
            b + "ffn.gate.weight": w_act,
            b + "ffn.up.weight": w_lin,
            b + "ffn.down.weight": state[h + "mlp.Wo.weight"],
        }
        if i > 0:  # layer 0 has no attention norm there either
            ours[b + "norm1.weight"] = state[h + "attn_norm.weight"]
    model.load_state_dict({k: v.contiguous() for k, v in ours.items()}, strict=True)
    return model
# --8<-- [end:from_hf]


# --8<-- [start:count]
def modernbert_parameters(config: ModernBertConfig) -> int:
    """Closed-form parameter count of ModernBert(config), without building it.

    Per block: 4 C^2 for W_q, W_k, W_v, W_o; 3 C F for GeGLU; C per LayerNorm weight (two,
    but the first block has one). Plus V C for the embedding and C for each of two outer norms.
    """
    C, F, L = config.d_model, config.d_ff, config.n_layers
    return config.vocab_size * C + L * (4 * C * C + 3 * C * F + 2 * C) - C + 2 * C
# --8<-- [end:count]
