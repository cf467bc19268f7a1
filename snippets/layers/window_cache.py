"""Bounded KV caches: a rolling window of the last positions, as sliding-window attention
needs (Mistral, Jiang et al., 2023, arXiv:2310.06825), optionally with the first positions kept
as attention sinks (StreamingLLM, Xiao et al., 2023, arXiv:2309.17453); and the cache memory
that a model's pattern of local and global layers implies.

Shape legend: B batch, H_kv key/value heads, T new positions, T_k positions attended, D head
width.
"""

# --8<-- [start:imports]
import torch

from snippets.layers.positional import RotaryEmbedding
# --8<-- [end:imports]


# --8<-- [start:rolling]
class RollingKVCache:
    """Keeps the first `sinks` positions and the last `window - 1`; a new position attends to
    those plus itself, so at most sinks + window keys, however long the stream.

    Positions are absolute by default (Mistral: keys keep the rotation of their place in the
    text, so `length` counts every token seen). With `rotary`, positions are those inside the
    cache (StreamingLLM): the next token takes the slot after the last one held, and keys that
    move down when older ones leave are turned back by as many positions (RoPE's R_a R_b = R_a+b).
    window=None keeps every position: a global layer among local ones.
    """

    def __init__(self, window: int | None, sinks: int = 0, rotary: RotaryEmbedding | None = None):
        if (window is not None and window < 1) or sinks < 0:
            raise ValueError(f"need window >= 1 and sinks >= 0, got window={window}, sinks={sinks}")
        self.window, self.sinks, self.rotary = window, sinks, rotary
        self.k: torch.Tensor | None = None  # (B, H_kv, <= sinks + window - 1, D)
        self.v: torch.Tensor | None = None
        self.seen = 0      # tokens appended so far
        self.length = 0    # the position the next token takes: what attention's RoPE reads

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new positions' k, v (B, H_kv, T, D); return what they attend to, then evict."""
        if k.dim() != 4 or v.shape != k.shape:
            raise ValueError(f"k and v must be one (B, H_kv, T, D) shape, got {tuple(k.shape)} "
                             f"and {tuple(v.shape)}")
        if self.k is not None:
            k, v = torch.cat([self.k, k], dim=-2), torch.cat([self.v, v], dim=-2)  # (B, H_kv, T_k, D)
        if self.window is None:  # global: nothing leaves
            self.k, self.v, self.seen = k, v, k.shape[-2]
            self.length = self.seen
            return k, v
        keep = self.sinks + self.window - 1
        held = 0 if self.k is None else self.k.shape[-2]
        if self.rotary is not None and k.shape[-2] > keep + 1:  # no slot for the extra ones
            raise ValueError(f"with positions inside the cache, at most sinks + window = {keep + 1} "
                             f"positions fit: it holds {held}, got {k.shape[-2] - held} more")
        self.seen += k.shape[-2] - held
        drop = max(k.shape[-2] - keep, 0)
        window_k = k[:, :, self.sinks + drop:]
        if self.rotary is not None and drop:  # they moved down `drop` slots: turn them back
            window_k = self.rotary.shift(window_k, -drop)
        self.k = torch.cat([k[:, :, :self.sinks], window_k], dim=-2)
        self.v = torch.cat([v[:, :, :self.sinks], v[:, :, self.sinks + drop:]], dim=-2)
        self.length = self.k.shape[-2] if self.rotary is not None else self.seen
        return k, v
# --8<-- [end:rolling]


# --8<-- [start:memory]
def layered_cache_bytes(windows: list[int | None], n_kv_heads: int, d_head: int, tokens: int,
                        batch: int = 1, bytes_per_value: int = 2) -> int:
    """KV-cache bytes for a context of `tokens` when layer l keeps min(tokens, windows[l])
    positions (None: a global layer keeps them all): 2 (K and V) x H_kv x D x bytes each."""
    if not windows or tokens < 1 or any(w is not None and w < 1 for w in windows):
        raise ValueError(f"need at least one layer, windows >= 1 and tokens >= 1, got "
                         f"windows={windows}, tokens={tokens}")
    kept = sum(tokens if w is None else min(tokens, w) for w in windows)
    return 2 * kept * n_kv_heads * d_head * batch * bytes_per_value
# --8<-- [end:memory]
