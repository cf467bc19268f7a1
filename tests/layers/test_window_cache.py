"""Bounded KV caches: what they keep, where their keys sit, and the memory a layer pattern implies."""

import pytest
import torch

from snippets.layers.attention import kv_cache_bytes
from snippets.layers.positional import RotaryEmbedding
from snippets.layers.window_cache import RollingKVCache, layered_cache_bytes
from snippets.models.llama import Llama, LlamaConfig


def test_shift_moves_rotated_keys_as_if_rotated_at_the_new_position():
    rope = RotaryEmbedding(8)
    k = torch.randn(1, 2, 5, 8, dtype=torch.float64)
    torch.testing.assert_close(rope.shift(rope(k, 40), -33), rope(k, 7), rtol=0, atol=1e-12)


def test_the_cache_keeps_the_sinks_and_the_last_window_minus_one():
    cache = RollingKVCache(window=4, sinks=2)
    positions = torch.arange(10, dtype=torch.float64).view(1, 1, 10, 1)   # a key that names its position
    for t in range(10):
        k, _ = cache.append(positions[:, :, t:t + 1], positions[:, :, t:t + 1])
    assert k.flatten().tolist() == [0, 1, 6, 7, 8, 9]           # attended: 2 sinks + 4 of the window
    assert cache.k.flatten().tolist() == [0, 1, 7, 8, 9]        # kept: the next token brings the 4th
    assert cache.seen == cache.length == 10                      # absolute positions: the text's
    with pytest.raises(ValueError, match="window >= 1"):
        RollingKVCache(window=0)


def tiny(n_layers: int) -> Llama:
    torch.manual_seed(0)
    return Llama(LlamaConfig(vocab_size=23, context_length=64, n_layers=n_layers, n_heads=2,
                             n_kv_heads=1, d_model=16, d_ff=24)).double().eval()


@torch.no_grad()
def test_one_layer_streamingllm_equals_reading_the_sinks_and_the_window_afresh():
    # With one layer, a key depends only on its token and its position, so the cache with keys
    # re-numbered inside it must give exactly the logits of a fresh pass over sinks + window.
    model, W, S = tiny(1), 5, 2
    ids = torch.randint(0, 23, (2, 20), generator=torch.Generator().manual_seed(1))
    caches = model.rolling_caches(window=W, sinks=S, positions="cache")
    for t in range(20):
        got = model.logits(ids[:, t:t + 1], caches)[:, -1]
        kept = ids[:, :t + 1] if t < S + W else torch.cat([ids[:, :S], ids[:, t - W + 1:t + 1]], 1)
        want = model.logits(kept)[:, -1]
        assert (got - want).abs().max() <= 1e-12, t
    assert caches[0].length == S + W - 1
    with pytest.raises(ValueError, match="at most sinks \\+ window = 7 positions fit"):
        model.logits(ids[:, :3], caches)


@torch.no_grad()
def test_one_layer_window_cache_equals_recomputing_the_window():
    # RoPE scores depend on offsets only: absolute positions in the cache read like a fresh pass.
    model, W = tiny(1), 6
    ids = torch.randint(0, 23, (1, 16), generator=torch.Generator().manual_seed(2))
    caches = model.rolling_caches(window=W)
    for t in range(16):
        got = model.logits(ids[:, t:t + 1], caches)[:, -1]
        want = model.logits(ids[:, max(0, t - W + 1):t + 1])[:, -1]
        assert (got - want).abs().max() <= 1e-12, t


def test_cache_memory_of_a_layer_pattern():
    full = kv_cache_bytes(n_layers=4, n_kv_heads=8, d_head=128, tokens=10_000)
    assert layered_cache_bytes([None] * 4, 8, 128, 10_000) == full
    assert layered_cache_bytes([1000] * 4, 8, 128, 10_000) == full // 10
    assert layered_cache_bytes([1000, None], 8, 128, 500) == kv_cache_bytes(2, 8, 128, 500)  # window not yet full
    with pytest.raises(ValueError, match="windows=\\[0\\]"):
        layered_cache_bytes([0], 8, 128, 10)
