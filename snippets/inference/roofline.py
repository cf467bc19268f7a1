"""Prefill and decode on the roofline (Williams, Waterman and Patterson, 2009, "Roofline: an
insightful visual performance model"; for Transformer inference, Pope et al., 2022,
arXiv:2211.05102): FLOPs and bytes moved by one forward pass of our GPT, and their ratio, the
arithmetic intensity, which says whether a pass is limited by arithmetic or by memory.

Counted: the matrix products (2 FLOPs a multiply-add) over the weights, the head on the last
position of each sequence only (sampling needs nothing else), and attention's two products over
the keys each query sees; bytes of every weight read once and of the KV cache read and written.
Not counted: activations, norms, the softmax (small next to the products at these shapes).
Shape legend: B batch, T new positions per sequence, P positions already cached, C d_model,
F the MLP's hidden width, L layers, V vocabulary size.
"""

# --8<-- [start:imports]
from dataclasses import dataclass

from snippets.models.gpt import GPTConfig
# --8<-- [end:imports]


# --8<-- [start:intensity]
@dataclass(frozen=True)
class PassCost:
    flops: float
    bytes: float

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved."""
        return self.flops / self.bytes


def forward_cost(config: GPTConfig, batch: int, new: int, past: int = 0,
                 bytes_per_value: int = 4) -> PassCost:
    """One forward pass over `new` positions of each of `batch` sequences after `past` cached
    ones: prefill is (B, T = prompt, P = 0), a decoding step is (B, T = 1, P = context so far)."""
    C, F, L, V = config.d_model, config.hidden, config.n_layers, config.vocab_size
    block_weights = L * (4 * C * C + 2 * C * F)          # W_q, W_k, W_v, W_o, up, down
    keys_seen = new * past + new * (new + 1) // 2        # causal: query i sees past + i + 1 keys
    flops = (2 * block_weights * batch * new             # every new position through every block
             + 2 * V * C * batch                         # the head, last position only
             + L * 2 * 2 * C * keys_seen * batch)        # q k^T and (weights) v, per layer
    kv_values = L * 2 * C * batch * (past + new)         # K and V: the cached read, the new written
    weight_values = block_weights + V * C                # each weight read once per pass
    return PassCost(flops, (weight_values + kv_values) * bytes_per_value)


def roofline(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The most FLOP/s a pass of this intensity can reach: min(peak, bandwidth x intensity)."""
    return min(peak_flops, bandwidth * intensity)
# --8<-- [end:intensity]
