"""Prefix tuning: P trainable key/value vectors per layer that every query can attend to
(Li & Liang, 2021, arXiv:2101.00190). The whole model stays frozen.

Unlike prompt tuning, the prefix enters every layer directly as attention keys and values,
not as an input that the layers must first transform. The paper trains the prefix through
an MLP reparameterisation for stability; peft's default (prefix_projection=False), like this
module, learns the (P, L·2·C) table directly.
Shape legend: B batch, T time, P prefix length, L layers, H heads, D head size, C = H·D.
"""

# --8<-- [start:imports]
import torch
from torch import nn

from snippets.layers.attention import KVCache
from snippets.models.gpt import GPT
# --8<-- [end:imports]


# --8<-- [start:prefix]
class Prefix(nn.Module):
    """Keys and values for P virtual positions in each of L layers, one (P, L·2·C) table."""

    def __init__(self, n_virtual: int, n_layers: int, n_heads: int, d_head: int):
        super().__init__()
        if n_virtual < 1:
            raise ValueError(f"n_virtual must be >= 1, got {n_virtual}")
        self.shape = (n_virtual, n_layers, n_heads, d_head)
        self.table = nn.Parameter(torch.randn(n_virtual, n_layers * 2 * n_heads * d_head))

    def caches(self, batch: int, extra: int) -> list[KVCache]:
        """One KV cache per layer, pre-filled with the prefix, room for `extra` positions."""
        P, L, H, D = self.shape
        kv = self.table.view(P, 2 * L, H, D).permute(1, 2, 0, 3)     # (2L, H, P, D)
        caches = []
        for layer in range(L):
            cache = KVCache(batch, H, P + extra, D, dtype=self.table.dtype)
            cache.append(kv[2 * layer].expand(batch, H, P, D),        # keys (B, H, P, D)
                         kv[2 * layer + 1].expand(batch, H, P, D))    # values
            caches.append(cache)
        return caches


def prefix_tuned_logits(model: GPT, prefix: Prefix, idx: torch.Tensor) -> torch.Tensor:
    """Logits (B, T, V) of the frozen GPT with the prefix in every layer's KV cache.

    As with a real cache the tokens take positions P..P+T−1 (what transformers' GPT-2 does).
    """
    model.check_ids(idx)
    B, T = idx.shape
    P = prefix.shape[0]
    if P + T > model.config.context_length:
        raise ValueError(f"P + T = {P} + {T} exceeds context_length={model.config.context_length}")
    return model.logits(idx, prefix.caches(B, T))                     # (B, T, V)
# --8<-- [end:prefix]
