"""A decoder-only Transformer language model in the GPT-2 layout (Radford et al., 2019):
token and learned position embeddings, a stack of Pre-LN causal self-attention blocks,
a final LayerNorm and a language-model head tied to the token embedding.

Shape legend: B batch, T time, C model width (d_model), V vocabulary size.
"""

# --8<-- [start:imports]
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from snippets.layers.attention import KVCache
from snippets.layers.blocks import SelfAttentionBlock
from snippets.layers.normalization import make_norm
from snippets.layers.weight_layout import prepare_for_decoding, store_output_major
from snippets.models.sampling import check_sampling_args, sample_next
# --8<-- [end:imports]


# --8<-- [start:config]
@dataclass(frozen=True)
class GPTConfig:
    """Every number that fixes the architecture; CPU-sized defaults."""

    vocab_size: int = 65
    context_length: int = 64
    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    d_ff: int | None = None          # None -> 4 * d_model
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    activation: str = "gelu_tanh"    # GPT-2's tanh approximation of GELU
    attn_impl: str = "torch"         # "ours" or "torch" (fused kernel), proven equal

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layers", "n_heads", "d_model"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.d_model % self.n_heads != 0:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.d_ff is not None and self.d_ff < 1:
            raise ValueError(f"d_ff must be >= 1 or None, got {self.d_ff}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def hidden(self) -> int:
        return 4 * self.d_model if self.d_ff is None else self.d_ff
# --8<-- [end:config]


# --8<-- [start:count]
def count_parameters(config: GPTConfig, non_embedding: bool = False) -> int:
    """Closed-form parameter count of GPT(config), without building it.

    Per block: 4 C^2 (+4C) attention, 2 C F (+F+C) MLP, 2 LayerNorms of 2C (C without bias).
    """
    C, F_, L, b = config.d_model, config.hidden, config.n_layers, int(config.bias)
    norm = C * (1 + b)                                   # weight (+ bias)
    attn = 4 * C * C + b * 4 * C                         # W_q, W_k, W_v, W_o (+ biases)
    mlp = 2 * C * F_ + b * (F_ + C)                      # up and down (+ biases)
    blocks = L * (attn + mlp + 2 * norm) + norm          # + final LayerNorm
    if non_embedding:                                    # Kaplan et al.'s N
        return blocks
    embeddings = config.vocab_size * C + config.context_length * C
    head = 0 if config.tie_weights else config.vocab_size * C
    return blocks + embeddings + head
# --8<-- [end:count]


# --8<-- [start:model]
class GPT(nn.Module):
    """logits = head(LN(blocks(wte[idx] + wpe[positions]))); blocks are causal and Pre-LN."""

    # generate() lays the weights out for one-row products (snippets/layers/weight_layout.py)
    # and train() lays them back; False keeps nn.Linear's own layout throughout
    decoding_layout: bool = True

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        C = config.d_model
        self.wte = nn.Embedding(config.vocab_size, C)        # token embedding (V, C)
        self.wpe = nn.Embedding(config.context_length, C)    # learned positions (T_max, C)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(C, config.n_heads, config.hidden, dropout=config.dropout,
                               norm_first=True, activation=config.activation, norm="layer",
                               bias=config.bias, attn_impl=config.attn_impl, eps=1e-5)
            for _ in range(config.n_layers))
        self.ln_f = make_norm("layer", C, eps=1e-5, bias=config.bias)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        if config.tie_weights:  # one (V, C) matrix reads tokens in and writes them out
            self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        # Each block adds two residual branches: shrink their output projections so the
        # residual stream's variance does not grow with depth (GPT-2's 1/sqrt(N) scaling).
        residual_std = 0.02 / math.sqrt(2 * config.n_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.out_proj.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.ffn.down.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Trainable parameters, a tied matrix counted once; non_embedding drops wte and wpe."""
        total = sum(p.numel() for p in self.parameters())  # parameters() de-duplicates ties
        if non_embedding:  # Kaplan et al.'s N: no token/position embeddings, no unembedding
            total -= self.wpe.weight.numel() + self.wte.weight.numel()
            if not self.config.tie_weights:
                total -= self.lm_head.weight.numel()
        return total

    def check_ids(self, idx: torch.Tensor) -> None:
        if idx.dim() != 2 or idx.dtype != torch.long:
            raise ValueError(f"idx must be a (B, T) LongTensor, got {idx.dtype} {tuple(idx.shape)}")
        if idx.shape[0] == 0 or idx.shape[1] == 0:
            raise ValueError(f"idx is empty: shape {tuple(idx.shape)}; give at least one token")
        if idx.min() < 0 or idx.max() >= self.config.vocab_size:
            bad = idx[(idx < 0) | (idx >= self.config.vocab_size)]
            raise ValueError(f"token ids {sorted(set(bad.tolist()))[:10]} are outside "
                             f"[0, {self.config.vocab_size})")

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, *,
                caches: list[KVCache] | None = None, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """idx (B, T) -> logits (B, T, V) and, given targets (B, T), mean cross-entropy in nats.

        With caches (one per block) the positions of idx continue after what is cached.
        positions (B, T) and a boolean keep-mask (B, 1, T, T), ANDed with the causal mask,
        let several documents share one packed row (see snippets.adaptation.sft_data).
        """
        self.check_ids(idx)
        B, T = idx.shape
        if caches is not None and (positions is not None or mask is not None):
            raise ValueError("positions and mask are for packed training rows, not with caches")
        if positions is not None and (positions.shape != (B, T) or positions.min() < 0
                                      or positions.max() >= self.config.context_length):
            raise ValueError(f"positions must be ({B}, {T}) in [0, {self.config.context_length}), "
                             f"got {tuple(positions.shape)}")
        if caches is not None and len(caches) != self.config.n_layers:
            raise ValueError(f"got {len(caches)} KV caches for {self.config.n_layers} blocks; "
                             "make them with new_caches()")
        start = caches[0].length if caches else 0
        if start + T > self.config.context_length:
            raise ValueError(f"positions {start}..{start + T - 1} exceed context_length="
                             f"{self.config.context_length}; crop the input first")
        logits = self.logits(idx, caches, positions=positions, mask=mask)  # (B, T, V)
        if targets is None:
            return logits, None
        if targets.shape != idx.shape:
            raise ValueError(f"targets shape {tuple(targets.shape)} != idx shape {tuple(idx.shape)}")
        loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T))
        return logits, loss

    def logits(self, idx: torch.Tensor, caches: list[KVCache] | None = None, *,
               last_only: bool = False, positions: torch.Tensor | None = None,
               mask: torch.Tensor | None = None) -> torch.Tensor:
        """The network itself, without forward's checks: generate checks its input once and
        then calls this for every new token, where a check would cost as much as a layer.

        last_only: the head reads only the last position, (B, 1, V). Sampling needs nothing
        else, and over a T-token prefix the head would otherwise cost T x V x C multiply-adds.
        """
        T = idx.shape[1]
        start = caches[0].length if caches else 0
        pos = torch.arange(start, start + T, device=idx.device) if positions is None \
            else positions                                                # (T,) or (B, T)
        x = self.drop(self.wte(idx) + self.wpe(pos))                      # (B, T, C)
        causal = T > 1  # one new query may see every cached key: no mask to build
        for i, block in enumerate(self.blocks):
            x = block(x, mask=mask, is_causal=causal,
                      cache=caches[i] if caches else None)                # (B, T, C)
        if last_only:
            x = x[:, -1:]                                                 # (B, 1, C)
        return self.lm_head(self.ln_f(x))                                 # (B, T or 1, V)

    def train(self, mode: bool = True) -> "GPT":
        """As nn.Module.train; entering training also restores nn.Linear's own weight layout, so
        a model that generated trains exactly as one that never did."""
        if mode:
            with torch.no_grad():
                store_output_major(self)
        return nn.Module.train(self, mode)

    def new_caches(self, batch: int, device: torch.device | str = "cpu") -> list[KVCache]:
        """One empty KV cache per block, sized to the context window."""
        c = self.config
        return [KVCache(batch, c.n_heads, c.context_length, c.d_model // c.n_heads,
                        dtype=self.wte.weight.dtype, device=device) for _ in range(c.n_layers)]

    def generate(self, idx: torch.Tensor, max_new_tokens: int, *, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None,
                 repetition_penalty: float = 1.0, min_p: float | None = None,
                 generator: torch.Generator | None = None, use_cache: bool = True) -> torch.Tensor:
        """Append max_new_tokens sampled tokens to idx (B, T); returns (B, T + max_new_tokens).

        The model conditions on at most the last context_length tokens: a longer prompt is
        cropped from the left (the returned sequence keeps all of it). With use_cache, once the
        window is full each new step rebuilds the cache from the last context_length tokens,
        because learned absolute positions shift when the window slides.
        """
        self.check_ids(idx)
        check_sampling_args(temperature, top_k, top_p, repetition_penalty, min_p)
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        T_max = self.config.context_length
        caches = None

        def next_logits(seq: torch.Tensor) -> torch.Tensor:  # (B, T) -> (B, V)
            nonlocal caches
            if not use_cache:
                return self.logits(seq[:, -T_max:], last_only=True)[:, -1]
            if caches is None or caches[0].length == T_max:  # prefill, or the window slid
                caches = self.new_caches(seq.shape[0], seq.device)
                return self.logits(seq[:, -T_max:], caches, last_only=True)[:, -1]
            return self.logits(seq[:, -1:], caches)[:, -1]  # one new position

        # inference_mode: no autograd bookkeeping at all, which at batch 1 is a real share of
        # each small operation's cost; the clone hands back an ordinary tensor. eval(): no
        # dropout while sampling, whatever mode the caller left the model in (restored after).
        was_training = self.training
        self.eval()
        if self.decoding_layout:  # outside inference_mode: the re-laid weights stay trainable
            with torch.no_grad():
                prepare_for_decoding(self)
        try:
            with torch.inference_mode():
                for _ in range(max_new_tokens):
                    logits = next_logits(idx)                              # (B, V)
                    nxt = sample_next(logits, idx, temperature=temperature, top_k=top_k,
                                      top_p=top_p, repetition_penalty=repetition_penalty,
                                      min_p=min_p, generator=generator)
                    idx = torch.cat([idx, nxt.unsqueeze(1)], dim=1)       # (B, T + 1)
        finally:
            self.train(was_training)
        return idx.clone()
# --8<-- [end:model]


# --8<-- [start:from_hf]
def from_hf_gpt2(state: dict[str, torch.Tensor], config: GPTConfig) -> GPT:
    """Build our GPT from a transformers GPT2LMHeadModel state dict.

    HF GPT-2 stores its projections as Conv1D, y = x W + b with W of shape (in, out):
    the transpose of nn.Linear's (out, in). c_attn packs W_q, W_k, W_v side by side.
    """
    model = GPT(config)
    C = config.d_model
    ours: dict[str, torch.Tensor] = {
        "wte.weight": state["transformer.wte.weight"],
        "wpe.weight": state["transformer.wpe.weight"],
        "ln_f.weight": state["transformer.ln_f.weight"],
        "ln_f.bias": state["transformer.ln_f.bias"],
    }
    for i in range(config.n_layers):
        h, b = f"transformer.h.{i}.", f"blocks.{i}."
        w_q, w_k, w_v = state[h + "attn.c_attn.weight"].split(C, dim=1)   # 3 x (C, C)
        b_q, b_k, b_v = state[h + "attn.c_attn.bias"].split(C, dim=0)
        ours |= {
            b + "norm1.weight": state[h + "ln_1.weight"], b + "norm1.bias": state[h + "ln_1.bias"],
            b + "norm2.weight": state[h + "ln_2.weight"], b + "norm2.bias": state[h + "ln_2.bias"],
            b + "attn.q_proj.weight": w_q.T, b + "attn.q_proj.bias": b_q,
            b + "attn.k_proj.weight": w_k.T, b + "attn.k_proj.bias": b_k,
            b + "attn.v_proj.weight": w_v.T, b + "attn.v_proj.bias": b_v,
            b + "attn.out_proj.weight": state[h + "attn.c_proj.weight"].T,
            b + "attn.out_proj.bias": state[h + "attn.c_proj.bias"],
            b + "ffn.up.weight": state[h + "mlp.c_fc.weight"].T,
            b + "ffn.up.bias": state[h + "mlp.c_fc.bias"],
            b + "ffn.down.weight": state[h + "mlp.c_proj.weight"].T,
            b + "ffn.down.bias": state[h + "mlp.c_proj.bias"],
        }
    ours["lm_head.weight"] = state.get("lm_head.weight", ours["wte.weight"])
    model.load_state_dict({k: v.contiguous() for k, v in ours.items()}, strict=True)
    return model
# --8<-- [end:from_hf]
