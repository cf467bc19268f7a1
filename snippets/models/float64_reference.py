"""transformers' Llama, Mixtral and ModernBERT in float64 throughout, for parity checks at 1e-10.

transformers keeps three computations in float32 whatever dtype the model has (a habit for
bf16 training, where they need the range and precision): LlamaRMSNorm casts its input to
float32, LlamaRotaryEmbedding computes the inverse frequencies and the angles' cos and sin in
float32, and MixtralTopKRouter takes its softmax in float32. In a float64 model these are
float32 islands: they limit agreement with any float64 implementation to about 1e-7. The
functions below replace exactly those three forwards, on one model instance, with the same
formulas in the model's own dtype; nothing else of the reference changes. ModernBERT has
two such islands, both in its rotary positions (see modernbert_in_dtype).
"""

# --8<-- [start:imports]
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
# --8<-- [end:imports]


# --8<-- [start:llama]
def rms_norm_in_dtype(norm: nn.Module) -> None:
    """LlamaRMSNorm's formula, weight * x / sqrt(mean(x^2) + eps), without the float32 cast."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        return norm.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon))
    norm.forward = forward


def rotary_in_dtype(rotary: nn.Module, base: float, head_dim: int) -> None:
    """LlamaRotaryEmbedding's (cos, sin), inverse frequencies and angles in the input's dtype."""
    def forward(x: torch.Tensor, position_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=x.dtype) / head_dim)
        freqs = position_ids[..., None].to(x.dtype) * inv_freq          # (B, T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)                          # rotate-half layout
        return emb.cos() * rotary.attention_scaling, emb.sin() * rotary.attention_scaling
    rotary.forward = forward


def llama_in_dtype(model: nn.Module) -> nn.Module:
    """Lift a transformers LlamaForCausalLM's (or Qwen3ForCausalLM's, or MistralForCausalLM's)
    float32 islands; returns the same model."""
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    for module in model.modules():
        # Qwen3: Llama + QK-norm; Mistral: the same code as Llama
        if type(module).__name__ in ("LlamaRMSNorm", "Qwen3RMSNorm", "MistralRMSNorm"):
            rms_norm_in_dtype(module)
    rotary_in_dtype(model.model.rotary_emb, config.rope_parameters["rope_theta"], head_dim)
    return model
# --8<-- [end:llama]


# --8<-- [start:mixtral]
def mixtral_router_in_dtype(router: nn.Module) -> nn.Module:
    """MixtralTopKRouter's softmax, top-k and renormalisation, without the float32 cast."""
    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits = nn.functional.linear(x.reshape(-1, router.hidden_dim), router.weight)
        weights, experts = torch.softmax(logits, dim=-1).topk(router.top_k, dim=-1)
        return logits, weights / weights.sum(dim=-1, keepdim=True), experts
    router.forward = forward
    return router
# --8<-- [end:mixtral]


# --8<-- [start:modernbert]
@contextmanager
def modernbert_in_dtype(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, a transformers ModernBertModel computes RoPE in its own dtype.

    Two float32 islands: ModernBertRotaryEmbedding takes its angles' cos and sin in float32
    (replaced on this instance, for good), and apply_rotary_pos_emb casts q and k to float32
    before rotating them. The latter is a function of the modeling module, which every
    ModernBERT instance calls: it is swapped only inside the block and then put back.
    """
    config = model.config
    head_dim = config.hidden_size // config.num_attention_heads

    def angles(x: torch.Tensor, position_ids: torch.Tensor,
               layer_type: str) -> tuple[torch.Tensor, torch.Tensor]:
        base = config.rope_parameters[layer_type]["rope_theta"]
        inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=x.dtype) / head_dim)
        freqs = position_ids[..., None].to(x.dtype) * inv_freq           # (B, T, D/2)
        emb = torch.cat((freqs, freqs), dim=-1)                           # rotate-half layout
        return emb.cos(), emb.sin()

    def rotate(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
               unsqueeze_dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
        return q * cos + modeling.rotate_half(q) * sin, k * cos + modeling.rotate_half(k) * sin

    model.rotary_emb.forward = angles
    modeling = sys.modules[type(model).__module__]
    original = modeling.apply_rotary_pos_emb
    modeling.apply_rotary_pos_emb = rotate
    try:
        yield model
    finally:
        modeling.apply_rotary_pos_emb = original
# --8<-- [end:modernbert]
