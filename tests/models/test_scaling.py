"""Scaling arithmetic: LLaMA counts against the module that implements them, the
compute-optimal split, the loss fits' direction and the KV-cache formula."""

import math

import pytest
import torch
from torch import nn

from snippets.layers.attention import MultiHeadAttention
from snippets.layers.feedforward import FeedForward
from snippets.layers.normalization import RMSNorm
from snippets.models.scaling import (chinchilla_loss, chinchilla_optimal, kaplan_loss_vs_params,
                              kv_cache_bytes_per_token, llama_parameter_count, swiglu_hidden,
                              training_flops)


def test_swiglu_hidden_matches_llama_widths():
    # 4096 -> 11008, 5120 -> 13824, 8192 -> 22016: the widths in the released LLaMA weights
    assert [swiglu_hidden(d) for d in (4096, 5120, 6656, 8192)] == [11008, 13824, 17920, 22016]


def test_llama_count_matches_a_module_built_the_same_way():
    V, d, L = 50, 32, 3
    F = swiglu_hidden(d, multiple_of=8)
    layers = nn.ModuleList(nn.ModuleList([RMSNorm(d), MultiHeadAttention(d, 4, bias=False),
                                          RMSNorm(d), FeedForward(d, F, "swiglu", bias=False)])
                           for _ in range(L))
    model = nn.ModuleList([nn.Embedding(V, d), layers, RMSNorm(d), nn.Linear(d, V, bias=False)])
    assert sum(p.numel() for p in model.parameters()) == llama_parameter_count(V, d, L, d_ff=F)


def test_llama_7b_is_6_7b():
    assert round(llama_parameter_count(32000, 4096, 32) / 1e9, 2) == 6.74


def test_chinchilla_optimal_spends_the_budget_at_20_tokens_per_param():
    n, d = chinchilla_optimal(5.76e23)
    assert training_flops(n, d) == pytest.approx(5.76e23)
    assert d / n == pytest.approx(20.0)
    assert 60e9 < n < 75e9     # Chinchilla itself: 70B parameters, 1.4T tokens
    with pytest.raises(ValueError):
        chinchilla_optimal(0.0)


def test_optimal_split_beats_others_under_the_chinchilla_fit():
    C = 1e21
    n_opt, d_opt = chinchilla_optimal(C)
    best = chinchilla_loss(n_opt, d_opt)
    for factor in (0.1, 0.3, 3.0, 10.0):  # same compute, other splits
        n = n_opt * factor
        assert chinchilla_loss(n, C / (6 * n)) > best - 0.01


def test_losses_fall_with_scale():
    assert kaplan_loss_vs_params(1e9) < kaplan_loss_vs_params(1e8)
    assert chinchilla_loss(1e9, 1e11) < chinchilla_loss(1e8, 1e11)
    assert chinchilla_loss(1e12, 1e15) > 1.69


def test_kv_bytes_match_the_tensors_a_cache_holds():
    from snippets.layers.attention import KVCache
    cache = KVCache(1, 2, 10, 8, dtype=torch.float16)
    stored = (cache.k.numel() + cache.v.numel()) * cache.k.element_size() // 10  # per position
    assert kv_cache_bytes_per_token(1, 2, 8) == stored
    assert kv_cache_bytes_per_token(32, 32, 128) == 524288  # LLaMA-7B in fp16: 0.5 MiB
    assert math.isclose(kv_cache_bytes_per_token(2, 4, 16, 4), 1024)
