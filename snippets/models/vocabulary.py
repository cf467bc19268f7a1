"""What a vocabulary costs a model: embedding and unembedding parameters, and softmax FLOPs.

A vocabulary of V tokens adds a V x C input table and, unless tied to it (Press and Wolf, 2017),
a V x C output projection whose logits feed the softmax: 2 V C FLOPs a token, forward. The
published configurations are those of the model cards and reports cited on the tokenization
chapter's page "Current vocabularies" (GPT-2 small, Llama 2 7B, Llama 3 8B and 70B, Gemma 2B).
Symbols: V vocabulary, C (d_model) width, N parameters.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

from snippets.models.gpt import GPTConfig, count_parameters
from snippets.models.llama import LlamaConfig, llama_parameters
# --8<-- [end:imports]

# --8<-- [start:published]
PUBLISHED = {
    "GPT-2 small": GPTConfig(vocab_size=50_257, context_length=1024, n_layers=12, n_heads=12,
                             d_model=768, tie_weights=True),
    "Llama 2 7B": LlamaConfig(vocab_size=32_000, n_layers=32, n_heads=32, n_kv_heads=32,
                              d_model=4096, d_ff=11_008),
    "Gemma 2B": LlamaConfig(vocab_size=256_128, n_layers=18, n_heads=8, n_kv_heads=1,
                            d_model=2048, d_ff=16_384, tie_weights=True),  # GeGLU: 3 matrices too
    "Llama 3 8B": LlamaConfig(vocab_size=128_256, n_layers=32, n_heads=32, n_kv_heads=8,
                              d_model=4096, d_ff=14_336),
    "Llama 3 70B": LlamaConfig(vocab_size=128_256, n_layers=80, n_heads=64, n_kv_heads=8,
                               d_model=8192, d_ff=28_672),
}
# --8<-- [end:published]


# --8<-- [start:cost]
@dataclass(frozen=True)
class VocabularyCost:
    params: int            # N, the whole model
    vocab_params: int      # the V x C table(s): one if tied, two if not
    head_flops: int        # 2 V C: the output projection, per token, forward
    matmul_flops: int      # 2 (N - tables only indexed): one multiply-add per parameter per token

    @property
    def param_share(self) -> float:
        return self.vocab_params / self.params

    @property
    def flop_share(self) -> float:
        return self.head_flops / self.matmul_flops


def vocabulary_cost(config: GPTConfig | LlamaConfig) -> VocabularyCost:
    """The vocabulary's share of a model's parameters and of its forward FLOPs per token.

    Attention's T-dependent FLOPs (QK^T and AV) are left out: at short contexts they are small,
    and they would only shrink the head's share further."""
    if isinstance(config, GPTConfig):
        n = count_parameters(config)
        lookups = config.context_length * config.d_model  # learned positions: looked up, no FLOPs
    elif isinstance(config, LlamaConfig):
        n, lookups = llama_parameters(config), 0
    else:
        raise TypeError(f"expected a GPTConfig or LlamaConfig, got {type(config).__name__}")
    V, C = config.vocab_size, config.d_model
    tables = 1 if config.tie_weights else 2
    # an untied input table is only indexed; a tied one is also the head, so it multiplies
    indexed_only = lookups + (0 if config.tie_weights else V * C)
    return VocabularyCost(params=n, vocab_params=tables * V * C, head_flops=2 * V * C,
                          matmul_flops=2 * (n - indexed_only))
# --8<-- [end:cost]
