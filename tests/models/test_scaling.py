"""Scaling arithmetic: LLaMA counts against the module that implements them, the
compute-optimal split, the loss fits' direction and the KV-cache formula."""

import math

import pytest
import torch
from torch import nn

from snippets.layers.attention import MultiHeadAttention
from snippets.layers.feedforward import FeedForward
from snippets.layers.normalization import RMSNorm
from snippets.models.scaling import (CHINCHILLA_UNROUNDED, chinchilla_loss, chinchilla_optimal, fit_optimal_split,
                                     kaplan_loss_vs_params, kv_cache_bytes_per_token,
                                     llama_parameter_count, swiglu_hidden, training_flops)


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


@pytest.mark.parametrize("C", [1e19, 1e21, 5.76e23, 1e25])
def test_fit_optimum_beats_every_neighbouring_split_at_equal_compute(C):
    n_opt, d_opt = fit_optimal_split(C)
    assert training_flops(n_opt, d_opt) == pytest.approx(C)
    best = chinchilla_loss(n_opt, d_opt)
    for factor in (0.5, 0.9, 0.99, 1.01, 1.1, 2.0):  # same compute, other splits, both sides
        n = n_opt * factor
        assert chinchilla_loss(n, C / (6 * n)) > best
    # and it is a minimum found numerically, not only by the closed form
    grid = [n_opt * 10 ** (k / 200) for k in range(-200, 201)]
    n_grid = min(grid, key=lambda n: chinchilla_loss(n, C / (6 * n)))
    assert n_grid == pytest.approx(n_opt, rel=0.012)


def test_the_20_to_1_split_is_not_the_optimum_of_the_published_fit():
    C = 5.76e23  # Chinchilla's budget
    n20, d20 = chinchilla_optimal(C)
    n_opt, d_opt = fit_optimal_split(C)
    assert chinchilla_loss(n_opt, d_opt) < chinchilla_loss(n20, d20)
    assert d_opt / n_opt > 80  # the rounded approach-3 constants favour data: ~93 tokens/param
    # the exponents of N_opt and D_opt in C: beta/(alpha+beta) and alpha/(alpha+beta)
    n_hi, d_hi = fit_optimal_split(10 * C)
    assert math.log10(n_hi / n_opt) == pytest.approx(0.28 / 0.62)
    assert math.log10(d_hi / d_opt) == pytest.approx(0.34 / 0.62)


def test_unrounded_constants_reproduce_table_2_and_move_the_optimum():
    k = CHINCHILLA_UNROUNDED
    # rounded to the paper's printed precision they are the body's constants
    assert (round(k["a"], 1), round(k["b"], 1)) == (406.4, 410.7)
    assert (round(k["alpha"], 2), round(k["beta"], 2)) == (0.34, 0.28)
    # Table 2's a = 0.46 comes from the unrounded exponents; the rounded ones give 0.45
    assert round(k["beta"] / (k["alpha"] + k["beta"]), 2) == 0.46
    assert round(0.28 / 0.62, 2) == 0.45
    C = 5.76e23
    n_r, d_r = fit_optimal_split(C)
    n_u, d_u = fit_optimal_split(C, **k)
    assert n_u > 1.2 * n_r and d_u / n_u < 0.7 * (d_r / n_r)  # rounding biases towards data
    assert d_u / n_u > 20  # but approach 3 still prefers more than 20 tokens per parameter


def test_refit_of_besiroglu_et_al_gives_about_20_tokens_per_param():
    n, d = fit_optimal_split(5.76e23, a=482.01, b=2085.43, alpha=0.3478, beta=0.3658)
    assert 15 < d / n < 25


def test_fit_optimum_rejects_bad_input():
    with pytest.raises(ValueError, match="must be > 0"):
        fit_optimal_split(-1.0)
    with pytest.raises(ValueError, match="must be > 0"):
        fit_optimal_split(1e21, alpha=0.0)


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
