"""A paged KV cache (Kwon et al., 2023, "Efficient Memory Management for Large Language Model
Serving with PagedAttention", arXiv:2309.06180): keys and values live in fixed-size blocks taken
from one shared pool, and each sequence keeps a block table, the list of its blocks in order,
so a sequence holds memory for the positions it has, rounded up to a block, not for the whole
context window.

Shape legend: L layers, N blocks in the pool, S positions per block (block size), H heads,
D head width, B sequences in a batch, T new positions, T_k positions attended to.
"""

# --8<-- [start:imports]
import math

import torch
# --8<-- [end:imports]


# --8<-- [start:pool]
class BlockPool:
    """Hands out block ids 0..n_blocks-1 and takes them back; nothing else."""

    def __init__(self, n_blocks: int):
        if n_blocks < 1:
            raise ValueError(f"a block pool needs at least one block, got n_blocks={n_blocks}")
        self.n_blocks = n_blocks
        self.free_ids = list(range(n_blocks - 1, -1, -1))  # a stack: pop() gives 0 first

    @property
    def n_free(self) -> int:
        return len(self.free_ids)

    def allocate(self, n: int) -> list[int]:
        """n blocks, or an error (and none taken) when fewer are free."""
        if n > self.n_free:
            raise RuntimeError(f"KV block pool exhausted: {n} blocks wanted, {self.n_free} of "
                               f"{self.n_blocks} free")
        return [self.free_ids.pop() for _ in range(n)]

    def free(self, ids: list[int]) -> None:
        held = set(range(self.n_blocks)) - set(self.free_ids)
        if not set(ids) <= held or len(set(ids)) != len(ids):
            raise ValueError(f"blocks {sorted(ids)} are not all held (free: {sorted(self.free_ids)})")
        self.free_ids.extend(reversed(ids))
# --8<-- [end:pool]


# --8<-- [start:cache]
class PagedKVCache:
    """Every layer's keys and values in one pool of blocks, k and v (L, N, S, H, D), and one
    block table and length per sequence. reserve() before a forward pass, advance() after it.
    A block holds S positions with all their heads, so gathering a sequence's blocks in order
    lays its positions out one after another with no further copy."""

    def __init__(self, n_layers: int, n_heads: int, d_head: int, n_blocks: int, block_size: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        self.block_size = block_size
        self.pool = BlockPool(n_blocks)
        self.k = torch.zeros(n_layers, n_blocks, block_size, n_heads, d_head, dtype=dtype,
                             device=device)                                  # (L, N, S, H, D)
        self.v = torch.zeros_like(self.k)
        self.tables: dict[int, list[int]] = {}   # sequence id -> its blocks, in position order
        self.lengths: dict[int, int] = {}        # sequence id -> positions written

    def blocks_for(self, positions: int) -> int:
        return math.ceil(positions / self.block_size)

    def add(self, seq: int) -> None:
        if seq in self.tables:
            raise ValueError(f"sequence {seq} is already in the cache")
        self.tables[seq], self.lengths[seq] = [], 0

    def reserve(self, seq: int, n_new: int) -> None:
        """Take the blocks that n_new more positions of seq need from the pool."""
        table = self.tables[seq]
        table += self.pool.allocate(self.blocks_for(self.lengths[seq] + n_new) - len(table))

    def advance(self, seqs: list[int], n_new: int) -> None:
        for seq in seqs:
            self.lengths[seq] += n_new

    def release(self, seq: int) -> None:
        """Give a finished sequence's blocks back to the pool."""
        self.pool.free(self.tables.pop(seq))
        del self.lengths[seq]

    def layers(self, seqs: list[int]) -> list["PagedLayer"]:
        """One view per layer for a forward pass over the sequences seqs, in this order."""
        return [PagedLayer(self, i, seqs) for i in range(self.k.shape[0])]
# --8<-- [end:cache]


# --8<-- [start:layer]
class PagedLayer:
    """What one attention layer sees of a PagedKVCache for a batch of sequences: the KVCache
    interface (length, append) that snippets.layers.attention's MultiHeadAttention calls."""

    def __init__(self, cache: PagedKVCache, layer: int, seqs: list[int]):
        self.cache, self.layer, self.seqs = cache, layer, seqs
        self.starts = torch.tensor([cache.lengths[s] for s in seqs])     # (B,) first new position
        self.length = int(self.starts[0]) if len(seqs) == 1 else None    # positions for one sequence
        width = max(len(cache.tables[s]) for s in seqs)
        # padded with block 0: whatever it holds lies beyond a sequence's length and is masked
        self.table = torch.tensor([cache.tables[s] + [0] * (width - len(cache.tables[s]))
                                   for s in seqs])                       # (B, blocks)

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write the new positions' k, v (B, H, T, D) into their blocks; return every sequence's
        keys and values gathered from its blocks, (B, H, T_k, D), padded to the longest."""
        B, H, T, D = k.shape
        S = self.cache.block_size
        pos = self.starts[:, None] + torch.arange(T)                     # (B, T) positions
        block = self.table.gather(1, pos // S)                           # (B, T) block ids
        k_pool, v_pool = self.cache.k[self.layer], self.cache.v[self.layer]  # (N, S, H, D)
        k_pool[block, pos % S] = k.transpose(1, 2)                       # (B, T, H, D) into place
        v_pool[block, pos % S] = v.transpose(1, 2)
        T_k = int(self.starts.max()) + T
        # the gather: vLLM's kernel reads the blocks where they lie; here they are copied out
        blocks = self.table.flatten()                                    # (B * blocks,)
        k_all = k_pool.index_select(0, blocks).view(B, -1, H, D)[:, :T_k]  # (B, T_k, H, D)
        v_all = v_pool.index_select(0, blocks).view(B, -1, H, D)[:, :T_k]
        return k_all.transpose(1, 2), v_all.transpose(1, 2)              # (B, H, T_k, D)

    def key_mask(self, n_new: int) -> torch.Tensor:
        """(B, 1, 1, T_k) True where a key is one of the sequence's own positions."""
        ends = self.starts + n_new                                       # (B,)
        return (torch.arange(int(ends.max()))[None] < ends[:, None])[:, None, None]
# --8<-- [end:layer]
