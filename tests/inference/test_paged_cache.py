"""The paged KV cache: the block pool hands out and takes back blocks and refuses what it cannot
do; a layer's view writes positions into their blocks and reads back exactly what a contiguous
KVCache would hold."""

import pytest
import torch

from snippets.inference.paged_cache import BlockPool, PagedKVCache
from snippets.layers.attention import KVCache


def test_pool_allocates_distinct_blocks_and_takes_them_back():
    pool = BlockPool(5)
    a, b = pool.allocate(2), pool.allocate(3)
    assert sorted(a + b) == [0, 1, 2, 3, 4] and pool.n_free == 0
    pool.free(a)
    assert pool.n_free == 2 and sorted(pool.allocate(2)) == sorted(a)


def test_pool_refuses_to_overcommit_and_takes_nothing():
    pool = BlockPool(3)
    pool.allocate(2)
    with pytest.raises(RuntimeError, match="exhausted: 2 blocks wanted, 1 of 3 free"):
        pool.allocate(2)
    assert pool.n_free == 1


@pytest.mark.parametrize("bad", [[7], [0, 0]])
def test_pool_refuses_blocks_it_did_not_hand_out(bad):
    pool = BlockPool(8)
    pool.allocate(1)
    with pytest.raises(ValueError, match="not all held"):
        pool.free(bad)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="n_blocks=0"):
        BlockPool(0)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        PagedKVCache(1, 1, 4, n_blocks=2, block_size=0)


def test_paged_layers_hold_what_contiguous_caches_hold():
    """Two sequences of different lengths, fed in uneven pieces and then one step together:
    each one's gathered keys and values equal a KVCache fed the same pieces."""
    torch.manual_seed(0)
    H, D, S = 2, 3, 4
    paged = PagedKVCache(1, H, D, n_blocks=8, block_size=S)
    plain = {0: KVCache(1, H, 32, D), 1: KVCache(1, H, 32, D)}
    for seq in (0, 1):
        paged.add(seq)
    for seq, n in [(0, 5), (1, 2), (0, 3), (1, 6)]:            # prefills, one sequence at a time
        k, v = torch.randn(1, H, n, D), torch.randn(1, H, n, D)
        paged.reserve(seq, n)
        [layer] = paged.layers([seq])
        got = layer.append(k, v)
        paged.advance([seq], n)
        want = plain[seq].append(k, v)
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    k, v = torch.randn(2, H, 1, D), torch.randn(2, H, 1, D)    # one decoding step, batch 2
    for seq in (0, 1):
        paged.reserve(seq, 1)
    [layer] = paged.layers([0, 1])
    k_all, v_all = layer.append(k, v)
    mask = layer.key_mask(1)[:, 0, 0]                           # (B, T_k)
    for b in (0, 1):
        want_k, want_v = plain[b].append(k[b:b + 1], v[b:b + 1])
        n = plain[b].length
        assert mask[b].sum() == n and mask[b, :n].all()
        assert torch.equal(k_all[b, :, :n], want_k[0]) and torch.equal(v_all[b, :, :n], want_v[0])
    assert paged.tables[0] != paged.tables[1] and len(paged.tables[0]) == 3   # 9 positions, S = 4
    paged.release(0)
    paged.release(1)
    assert paged.pool.n_free == 8 and paged.tables == {}
